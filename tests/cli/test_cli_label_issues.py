"""``labellens brain label-issues``: with a zoo model and flip TTA, and from embeddings alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from click.testing import CliRunner

import labellens as ll
from labellens.cli.main import cli

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def test_label_issues_with_a_zoo_model_and_flip_tta(backend: str, cifar10_test_dir: Path, model_cache: Path,
                                                    tmp_path: Path) -> None:
    dataset = ll.Dataset("cli-li", persistent=True)
    dataset.default_classes = CLASSES
    for name in CLASSES:
        for source in sorted((cifar10_test_dir / name).iterdir())[:3]:
            path = Path(shutil.copy(source, tmp_path / f"{name}-{source.name}"))
            dataset.add_sample(ll.Sample(path, ground_truth=ll.Classification(label=name)))
    result = CliRunner().invoke(cli, ["brain", "label-issues", "cli-li", "--model", "cifar10-resnet20",
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    schema = dataset.get_field_schema()
    assert {"cifar10_resnet20", "cifar10_resnet20_embeddings", "label_issue"} <= set(schema)
    assert "cifar10_resnet20_flip" not in schema                   # flip views averaged into one field
    scores = dataset.values("label_issue", as_numpy=True)
    assert len(scores) == 30 and np.all((scores >= 0) & (scores <= 1))
    assert "sort with: labellens app launch cli-li --sort-by label_issue" in result.output


def test_label_issues_from_embeddings_only_and_usage_errors(backend: str) -> None:
    rng = np.random.default_rng(0)
    dataset = ll.Dataset("cli-emb", persistent=True)
    labels = rng.integers(0, 2, size=40)
    dataset.add_samples(ll.Sample(f"/img/{i}.png", ground_truth=ll.Classification(label=["cat", "dog"][y]),
                                  emb=(np.eye(2)[y] * 3 + rng.normal(size=2)).astype(np.float32))
                        for i, y in enumerate(labels))
    runner = CliRunner()
    result = runner.invoke(cli, ["brain", "label-issues", "cli-emb", "--embeddings-field", "emb",
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    assert dataset.count("label_issue") == 40
    missing = runner.invoke(cli, ["brain", "label-issues", "cli-emb"])
    assert missing.exit_code != 0 and "--pred-field, --model or --embeddings-field" in missing.output


def test_label_issues_with_a_fine_tuned_zoo_model(backend: str, cifar10_test_dir: Path, model_cache: Path,
                                                  tmp_path: Path) -> None:
    dataset = ll.Dataset("cli-ft", persistent=True)
    dataset.default_classes = CLASSES
    for name in CLASSES:
        for source in sorted((cifar10_test_dir / name).iterdir())[:2]:
            path = Path(shutil.copy(source, tmp_path / f"{name}-{source.name}"))
            dataset.add_sample(ll.Sample(path, ground_truth=ll.Classification(label=name)))
    runner = CliRunner()
    result = runner.invoke(cli, ["brain", "label-issues", "cli-ft", "--model", "cifar10-resnet20",
                                 "--fine-tune", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "fine-tuned cifar10-resnet20 out of sample" in result.output
    assert dataset.get_brain_info("cifar10_resnet20")["config"]["folds_done"] == [0, 1, 2, 3, 4]
    assert dataset.count("cifar10_resnet20_embeddings") == dataset.count("label_issue") == 20
    usage = runner.invoke(cli, ["brain", "label-issues", "cli-ft", "--fine-tune", "1"])
    assert usage.exit_code != 0 and "--fine-tune and --extra-train need --model" in usage.output
