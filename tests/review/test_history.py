"""Label history: decisions, undo, revert, import entries and lifetimes, on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import labellens as ll
from labellens import db
from labellens.dataset import LabelChange
from labellens.errors import SampleNotFoundError, ValidationError

CLASSES = ["cat", "dog", "frog"]


@pytest.fixture
def dataset(backend: str, tmp_path: Path) -> ll.Dataset:
    """Four samples labelled cat/dog/frog/cat with confidence and logits on the label."""
    ds = ll.Dataset()
    ds.default_classes = CLASSES
    ds.add_samples([ll.Sample(filepath=str(tmp_path / f"{i}.png"),
                              ground_truth=ll.Classification(label=CLASSES[i % 3], confidence=0.9,
                                                             logits=[0.1, 0.2, 0.3]))
                    for i in range(4)])
    return ds


def _state(ds: ll.Dataset) -> list[tuple[str | None, list[str]]]:
    return list(zip(ds.values("ground_truth.label"), [sorted(t) for t in ds.values("tags")]))


def test_decisions_write_labels_tags_and_history(dataset: ll.Dataset,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELLENS_REVIEWER", "ana")
    ids = dataset.values("id")
    entries = dataset.apply_label_changes("ground_truth", [
        LabelChange(ids[0], "dog", "accept", score=0.8, suggestion="dog"),
        LabelChange(ids[1], None, "keep"),
        LabelChange(ids[2], None, "unusable"),
        LabelChange(ids[3], "frog", "pick", reviewer="bo"),
    ])
    assert _state(dataset) == [("dog", ["relabeled", "reviewed"]), ("dog", ["reviewed"]),
                               ("frog", ["reviewed", "unusable"]), ("frog", ["relabeled", "reviewed"])]
    changed = dataset[ids[0]].ground_truth
    assert changed.confidence is None and changed.logits is None
    assert dataset[ids[1]].ground_truth.confidence == pytest.approx(0.9)
    assert [(e["old_label"], e["new_label"], e["decision"], e["reviewer"]) for e in entries] == [
        ("cat", "dog", "accept", "ana"), ("dog", "dog", "keep", "ana"),
        ("frog", "frog", "unusable", "ana"), ("cat", "frog", "pick", "bo")]
    first = dataset.label_history(sample_id=ids[0])
    assert len(first) == 1 and first[0]["score"] == pytest.approx(0.8) and first[0]["suggestion"] == "dog"
    assert first[0]["field"] == "ground_truth" and first[0]["time"].tzinfo is not None
    assert len(dataset.label_history(field="ground_truth")) == 4
    assert dataset.label_history(field="other") == []


def test_undo_restores_label_and_tags_and_is_recorded(dataset: ll.Dataset) -> None:
    ids = dataset.values("id")
    before = _state(dataset)
    (entry,) = dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "frog", "pick")])
    dataset.revert_labels([entry])
    assert _state(dataset) == before
    history = dataset.label_history(sample_id=ids[0])
    assert [e["decision"] for e in history] == ["revert", "pick"]
    assert (history[0]["old_label"], history[0]["new_label"]) == ("frog", "cat")
    dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "cat", "undo")])
    assert dataset.label_history(sample_id=ids[0])[0]["decision"] == "undo"


def test_revert_since_restores_the_oldest_label_per_sample(dataset: ll.Dataset) -> None:
    ids = dataset.values("id")
    before = _state(dataset)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "dog", "pick"),
                                                 LabelChange(ids[1], None, "unusable")])
    dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "frog", "pick")])
    reverted = dataset.revert_labels(since=start)
    assert _state(dataset) == before
    assert sorted((e["sample_id"], e["new_label"]) for e in reverted) == sorted([(ids[0], "cat"),
                                                                                 (ids[1], "dog")])
    with pytest.raises(ValidationError, match="either entries"):
        dataset.revert_labels()
    with pytest.raises(ValidationError, match="label_history"):
        dataset.revert_labels([{"sample_id": ids[0]}])


@pytest.mark.parametrize("change, error, message", [
    (LabelChange("0" * 24, "dog", "pick"), SampleNotFoundError, "no samples with ids"),
    (LabelChange("ID", "wolf", "pick"), ValidationError, "default_classes"),
    (LabelChange("ID", "dog", "maybe"), ValidationError, "unknown decision"),
    (LabelChange("ID", None, "pick"), ValidationError, "needs a new_label"),
    (LabelChange("ID", "", "pick"), ValidationError, "non-empty string"),
])
def test_bad_changes_write_nothing(dataset: ll.Dataset, change: LabelChange, error: type[Exception],
                                   message: str) -> None:
    ids = dataset.values("id")
    before = _state(dataset)
    change = LabelChange(ids[0] if change.sample_id == "ID" else change.sample_id, change.new_label,
                         change.decision)
    with pytest.raises(error, match=message):
        dataset.apply_label_changes("ground_truth", [LabelChange(ids[1], "frog", "pick"), change])
    with pytest.raises(ValidationError, match="appears twice"):
        dataset.apply_label_changes("ground_truth", [LabelChange(ids[1], "frog", "pick")] * 2)
    assert _state(dataset) == before and dataset.label_history() == []


def test_import_labels_writes_history(dataset: ll.Dataset, tmp_path: Path) -> None:
    ids = dataset.values("id")
    path = tmp_path / "labels.csv"
    path.write_text(f"id,label\n{ids[0]},frog\n{ids[1]},dog\n")
    dataset.import_labels(path)
    (entry,) = dataset.label_history()
    assert (entry["sample_id"], entry["old_label"], entry["new_label"], entry["decision"]) == \
        (ids[0], "cat", "frog", "import")


def test_history_outlives_its_field_and_dies_with_the_dataset(dataset: ll.Dataset) -> None:
    ids = dataset.values("id")
    dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "dog", "pick")])
    dataset.delete_sample_field("ground_truth")
    assert [e["new_label"] for e in dataset.label_history(field="ground_truth")] == ["dog"]
    name = dataset.name
    history_name = f"history.{dataset.collection_name}"
    dataset.delete()
    assert not ll.dataset_exists(name)
    assert history_name not in db.get_database().list_collection_names()
