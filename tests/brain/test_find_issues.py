"""find_issues: one report of every issue type that applies, on both backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import labellens as ll
from labellens.brain.find_issues import find_issues, load_issues_report
from labellens.cli.main import cli
from labellens.errors import FieldNotFoundError

CLASSES = ["cat", "dog", "bird", "fish"]


def make_dataset(tmp_path: Path, n: int = 150) -> ll.Dataset:
    """Noisy labels with logits, 8-d embeddings and small images: 3 dark, 2 identical files, 3 'fish'."""
    rng = np.random.default_rng(0)
    true = np.r_[rng.integers(0, 3, size=n - 3), [3, 3, 3]]
    centres = rng.normal(size=(4, 8)) * 2
    embeddings = (centres[true] + rng.normal(size=(n, 8))).astype(np.float32)
    embeddings[5] = -embeddings[5] * 30
    logits = (embeddings @ centres.T / 2 + rng.normal(scale=1.0, size=(n, 4))).astype(np.float32)
    given = np.where(rng.random(n) < 0.1, (true + 1) % 3, true)
    samples = []
    for i in range(n):
        pixels = rng.integers(60, 200, size=(16, 16, 3), dtype=np.uint8) // (10 if i in (1, 2, 3) else 1)
        path = tmp_path / f"{i}.png"
        Image.fromarray(pixels if i != 41 else np.asarray(Image.open(tmp_path / "40.png"))).save(path)
        samples.append(ll.Sample(filepath=str(path), emb=embeddings[i],
                                 ground_truth=ll.Classification(label=CLASSES[given[i]]),
                                 pred=ll.Classification(label=CLASSES[int(logits[i].argmax())],
                                                        logits=logits[i])))
    ds = ll.Dataset()
    ds.default_classes = CLASSES
    ds.add_samples(samples)
    return ds


def test_one_report_of_every_issue_type(backend: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ds = make_dataset(tmp_path)
    report = find_issues(ds, pred_field="pred", embeddings_field="emb", progress=False)
    issues = [t.issue for t in report.tables]
    assert {"label", "outlier", "near_duplicate", "class_imbalance", "dark", "blurry"} <= set(issues)
    fractions = [t.fraction for t in report.tables]
    assert fractions == sorted(fractions, reverse=True) and report.skipped == {}
    assert report["dark"].count == 3 and sorted(i for i, _ in report["dark"].worst) == sorted(
        ds.values("id")[1:4])
    dropped = [i for i, _ in report["near_duplicate"].worst]
    assert ds.values("id")[41] in dropped
    assert report["near_duplicate"].count == len(ds.match({"near_dup_keep": False}))
    assert report["class_imbalance"].per_class == {"fish": 3}
    assert report["outlier"].worst[0][0] == ds.values("id")[5]
    label = report["label"]
    assert label.count == len(ds.match({"label_issue_flag": True})) > 0
    assert sum(label.per_class.values()) == label.count
    assert len(label.view(ds)) == label.count
    assert label.worst[0][1] == max(ds.values("label_issue"))
    print(report)
    out = capsys.readouterr().out
    assert "near_duplicate" in out and "worst dark" in out
    loaded = load_issues_report(ds)
    assert loaded.to_dict() == report.to_dict()


def test_checks_without_inputs_are_skipped_and_bad_fields_raise(backend: str, tmp_path: Path) -> None:
    ds = make_dataset(tmp_path, 60)
    report = find_issues(ds, image_quality=False, key="quick", progress=False)
    assert set(report.skipped) == {"label", "outlier", "image quality"}
    assert [t.issue for t in report.tables] == ["near_duplicate", "class_imbalance"]
    assert report["near_duplicate"].count == 1 and report["class_imbalance"].count == 0  # 3 of 60 is not rare
    with pytest.raises(FieldNotFoundError, match="compute_embeddings"):
        find_issues(ds, embeddings_field="nope")
    ds.set_values("bare", [ll.Classification(label="cat")] * len(ds))
    assert "store_logits" in find_issues(ds, pred_field="bare", image_quality=False).skipped["label"]


def test_cli_issues_visualize_and_evaluate(backend: str, tmp_path: Path) -> None:
    ds = make_dataset(tmp_path, 60)
    ds.persistent = True
    runner = CliRunner()
    result = runner.invoke(cli, ["brain", "issues", ds.name, "--pred-field", "pred",
                                 "--embeddings-field", "emb", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "near_duplicate" in result.output and "issues" in ds.list_runs("issues")
    result = runner.invoke(cli, ["brain", "visualize", ds.name, "--embeddings-field", "emb",
                                 "--method", "pca"])
    assert result.exit_code == 0 and "wrote 60 points" in result.output
    result = runner.invoke(cli, ["evaluate", "classifications", ds.name, "--pred-field", "pred"])
    assert result.exit_code == 0 and "weighted avg" in result.output
    listed = runner.invoke(cli, ["evaluate", "list", ds.name])
    assert "eval" in listed.output and "pred" in listed.output
    assert runner.invoke(cli, ["evaluate", "delete", ds.name, "eval"]).exit_code == 0
    assert "eval" not in ds.get_field_schema()
