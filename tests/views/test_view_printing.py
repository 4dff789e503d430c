"""``print(dataset)`` and ``print(view)`` match the tutorial's text."""

from __future__ import annotations

from pathlib import Path

import pytest

import labellens as ll

TUTORIAL = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_d8ed130c15bc14ef.txt"
TYPE_NAMES = (("fiftyone.core.fields.", "labellens.fields."),
              ("fiftyone.core.labels.", "labellens.labels."),
              ("fiftyone.core.metadata.Metadata", "labellens.labels.ImageMetadata"))


def _tutorial_block(first_line: str) -> list[str]:
    """The tutorial's printed block that starts with ``first_line``, in labellens' type names."""
    if not TUTORIAL.exists():
        pytest.skip(f"{TUTORIAL} is missing")
    lines = TUTORIAL.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_line))
    end = lines.index("", start)
    block = []
    for line in lines[start:end]:
        for old, new in TYPE_NAMES:
            line = line.replace(old, new)
        block.append(line)
    return block


def _with_count(block: list[str], count: int) -> list[str]:
    return [f"{'Num samples:':<16}{count}" if line.startswith("Num samples:") else line for line in block]


def _tutorial_dataset(num: int = 20) -> ll.Dataset:
    dataset = ll.Dataset("cifar10-test")
    dataset.add_samples(
        ll.Sample(f"/cifar/{i}.jpg", tags=["test"] + (["mistake"] if i % 4 == 0 else []),
                  ground_truth=ll.Classification(label="cat"))
        for i in range(num))
    return dataset


def test_print_dataset_matches_the_tutorial(backend) -> None:
    dataset = _tutorial_dataset()
    assert str(dataset).splitlines() == _with_count(_tutorial_block("Name:"), 20)
    assert repr(dataset) == str(dataset)


def test_print_view_matches_the_tutorial(backend) -> None:
    dataset = _tutorial_dataset()
    processed = dataset.limit(8)  # samples 0 and 4 are tagged "mistake", as the tutorial's view shows
    processed.tag_samples("processed")
    ids = processed.values("id")
    processed.set_values("resnet50", [ll.Classification(label="dog", logits=[0.1, 0.9])] * 8)
    processed.set_values("mistakenness", [i / 10 for i in range(8)])
    mistake_view = dataset.match_tags("processed").sort_by("mistakenness", reverse=True)
    assert str(mistake_view).splitlines() == _with_count(_tutorial_block("Dataset:"), 8)
    assert mistake_view.values("id") == ids[::-1]
    assert str(mistake_view).endswith(
        "View stages:\n    1. MatchTags(tags=['processed'])\n"
        "    2. SortBy(field_or_expr='mistakenness', reverse=True)")


def test_printed_view_lists_every_stage_with_its_parameters(backend) -> None:
    dataset = _tutorial_dataset(6)
    view = (dataset.match_tags(["test", "mistake"], all=True).exists("ground_truth").take(3, seed=4)
            .skip(1).limit(1).select_fields("ground_truth"))
    text = str(view)
    assert text.splitlines()[:3] == ["Dataset:        cifar10-test", "Media type:     image",
                                     "Num samples:    1"]
    assert text.splitlines()[-7:] == [
        "View stages:",
        "    1. MatchTags(tags=['test', 'mistake'], all=True)",
        "    2. Exists(field='ground_truth')",
        "    3. Take(size=3, seed=4)",
        "    4. Skip(skip=1)",
        "    5. Limit(limit=1)",
        "    6. SelectFields(field_names=['ground_truth'])",
    ]
    assert "    ground_truth: labellens.fields.EmbeddedDocumentField(labellens.labels.Classification)" in text
