"""CLI commands backed by the zoo, the App, the brain and the demo."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import labellens as ll
from labellens.cli.main import cli
from labellens.session import Session


def test_zoo_lists_datasets_and_models() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["zoo", "datasets"]).output.split() == ["cifar10", "digits"]
    models = runner.invoke(cli, ["zoo", "models"]).output.split()
    assert models[:4] == ["cifar10-resnet20", "cifar10-resnet32", "cifar10-resnet44", "cifar10-resnet56"]


def test_zoo_download_finds_a_cached_model(shared_models_dir: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    weights = shared_models_dir / "resnet20-12fca82f.th"
    if not weights.exists():
        pytest.skip(f"{weights} is missing")
    (tmp_path / weights.name).symlink_to(weights)
    monkeypatch.setenv("LABELLENS_MODEL_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["zoo", "download", "cifar10-resnet20"])
    assert result.exit_code == 0, result.output
    assert "'cifar10-resnet20' is in the cache" in result.output
    unknown = CliRunner().invoke(cli, ["zoo", "download", "nope"])
    assert unknown.exit_code == 1 and "no zoo dataset or model 'nope'" in unknown.output


def test_zoo_download_builds_the_digits_dataset(backend: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELLENS_ZOO_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["zoo", "download", "digits"])
    assert result.exit_code == 0, result.output
    assert "dataset 'digits' is ready (1797 samples)" in result.output
    assert len(ll.load_dataset("digits").default_classes) == 10


@pytest.fixture
def scored(backend: str, tmp_path: Path) -> ll.Dataset:
    """Twenty images with labels and predictions with logits; the first five disagree."""
    rng = np.random.default_rng(0)
    samples = []
    for i in range(20):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (8, 8), (i * 10, 0, 0)).save(path)
        label = ["cat", "dog"][i % 2]
        logits = rng.normal(size=2).astype(np.float32)
        logits[(i % 2) ^ (i < 5)] += 4.0
        predicted = ["cat", "dog"][int(np.argmax(logits))]
        samples.append(ll.Sample(filepath=str(path), ground_truth=ll.Classification(label=label),
                                 pred=ll.Classification(label=predicted, logits=logits)))
    dataset = ll.Dataset("scored", persistent=True)
    dataset.default_classes = ["cat", "dog"]
    dataset.add_samples(samples)
    return dataset


def test_app_launch_serves_the_dataset(scored: ll.Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    answers: list[dict] = []

    def fetch_then_return(session: Session, timeout: float | None = None) -> None:
        with urllib.request.urlopen(session.url.rstrip("/") + "/api/datasets", timeout=10) as response:
            answers.append(json.loads(response.read()))

    monkeypatch.setattr(Session, "wait", fetch_then_return)
    result = CliRunner().invoke(cli, ["app", "launch", "scored", "--port", "0", "--no-browser"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:" in result.output
    assert "scored" in json.dumps(answers)


def test_brain_mistakenness(scored: ll.Dataset) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["brain", "mistakenness", "scored", "--pred-field", "pred", "--no-progress"])
    assert result.exit_code == 0, result.output
    scores = scored.values("mistakenness", as_numpy=True)
    assert np.all((scores >= 0) & (scores <= 1))
    top5 = scored.sort_by("mistakenness", reverse=True).limit(5).values("id")
    assert set(top5) == set(scored.limit(5).values("id"))
    assert "mistakenness" in scored.list_brain_runs()
    missing = runner.invoke(cli, ["brain", "mistakenness", "scored", "--pred-field", "nope"])
    assert missing.exit_code == 1 and "nope" in missing.output
    assert len(missing.output.strip().splitlines()) == 1


def test_brain_label_issues(scored: ll.Dataset) -> None:
    result = CliRunner().invoke(cli, ["brain", "label-issues", "scored", "--pred-field", "pred",
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    scores = scored.values("label_issue", as_numpy=True)
    assert len(scores) == 20 and np.all((scores >= 0) & (scores <= 1))
    top5 = scored.sort_by("label_issue", reverse=True).limit(5).values("id")
    assert len(set(top5) & set(scored.limit(5).values("id"))) >= 4


@pytest.mark.slow
def test_demo_on_digits_finds_the_mistakes_and_opens_the_app(real_mongod: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELLENS_ZOO_DIR", str(tmp_path))
    shown: list[list[dict]] = []
    monkeypatch.setattr(Session, "wait", lambda session, timeout=None: shown.append(session.view.to_json()))
    result = CliRunner().invoke(cli, ["demo", "--no-progress", "--seed", "3", "--port", "0"])
    assert result.exit_code == 0, result.output
    assert "1797 samples, 179 corrupted labels (tag 'mistake')" in result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()
            if line.startswith(("mistakenness ", "label_issue "))}
    assert set(rows) == {"mistakenness", "label_issue"}
    for row in rows.values():
        assert int(row[1]) >= 0.7 * 179 and float(row[-1]) >= 0.8
    best = max(rows, key=lambda name: float(rows[name][-1]))
    assert f"sorted by {best!r}" in result.output
    assert shown == [[{"_cls": "SortBy", "kwargs": {"field_or_expr": best, "reverse": True}}]]
    dataset = ll.load_dataset("demo-digits")
    assert len(dataset.match_tags("mistake")) == 179
    assert {"predictions", "embeddings", "mistakenness", "label_issue"} <= set(dataset.get_field_schema())


@pytest.mark.slow
def test_demo_on_a_cifar10_directory_tree(cifar10_test_dir: Path, shared_models_dir: Path,
                                          real_mongod: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The cifar10 demo, offline: 500 shared test JPEGs and the zoo's resnet20 from a seeded cache."""
    weights = shared_models_dir / "resnet20-12fca82f.th"
    if not weights.exists():
        pytest.skip(f"{weights} is missing")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / weights.name).symlink_to(weights)
    monkeypatch.setenv("LABELLENS_MODEL_DIR", str(tmp_path / "models"))
    subset = tmp_path / "cifar"
    for folder in sorted(p for p in cifar10_test_dir.iterdir() if p.is_dir()):
        (subset / folder.name).mkdir(parents=True)
        for image in sorted(folder.iterdir())[:50]:
            (subset / folder.name / image.name).symlink_to(image)
    result = CliRunner().invoke(cli, ["demo", "--dataset", "cifar10", "--dataset-dir", str(subset),
                                      "--model", "cifar10-resnet20", "--no-app", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "500 samples, 50 corrupted labels" in result.output
    assert "predict (cifar10-resnet20)" in result.output
    assert ll.load_dataset("demo-cifar10").count("embeddings") == 500
