"""Label history: decisions, undo, revert, import entries and lifetimes, on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import labellens as ll
from labellens import annotation, db
from labellens.annotation.base import AnnotationResult
from labellens.dataset import LabelChange
from labellens.errors import ConflictError, SampleNotFoundError, ValidationError

CLASSES = ["cat", "dog", "frog"]


@pytest.fixture
def dataset(backend: str, tmp_path: Path) -> ll.Dataset:
    """Four samples labelled cat/dog/frog/cat with confidence, logits and a note on the label,
    and a prediction with logits."""
    ds = ll.Dataset()
    ds.default_classes = CLASSES
    ds.add_samples([ll.Sample(filepath=str(tmp_path / f"{i}.png"),
                              ground_truth=ll.Classification(label=CLASSES[i % 3], confidence=0.9,
                                                             logits=[0.1, 0.2, 0.3], note="blurry"),
                              predictions=ll.Classification(label="dog", confidence=0.5,
                                                            logits=[1.0, 2.0, 3.0]))
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
    assert changed.confidence is None and changed.logits.tolist() == pytest.approx([0.1, 0.2, 0.3])
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


# -- issue 27: the review path ---------------------------------------------------------------


def _rich(ds: ll.Dataset, sample_id: str) -> dict:
    """The stored label document, as a comparable dict (id, label, confidence, logits, attributes)."""
    label = ds[sample_id].ground_truth
    return {**label.field_values(), "logits": None if label.logits is None else label.logits.tolist()}


@pytest.mark.parametrize("field, message", [
    ("ground_truth.label", "'ground_truth.label' is not one"),
    ("nope", "'nope' is not one"),
    ("filepath", "'filepath' is StringField"),
])
def test_label_changes_need_a_declared_top_level_classification_field(dataset: ll.Dataset, field: str,
                                                                        message: str) -> None:
    ids = dataset.values("id")
    schema = dataset.get_field_schema()
    with pytest.raises(ValidationError, match=message) as error:
        dataset.apply_label_changes(field, [LabelChange(ids[0], "dog", "pick")])
    assert "(ground_truth, predictions)" in str(error.value) and "add_sample_field" in str(error.value)
    assert dataset.get_field_schema() == schema and dataset.label_history() == []
    assert dataset.values("ground_truth.label")[0] == "cat"
    assert dataset.count_values("ground_truth.label") == {"cat": 2, "dog": 1, "frog": 1}


def test_a_decision_changes_the_label_and_keeps_logits_and_attributes(dataset: ll.Dataset) -> None:
    ids = dataset.values("id")
    before = _rich(dataset, ids[0])
    (entry,) = dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "dog", "pick")])
    after = _rich(dataset, ids[0])
    assert after == {**before, "label": "dog", "confidence": None}
    assert after["note"] == "blurry" and after["logits"] == pytest.approx([0.1, 0.2, 0.3])
    # a decision on another Classification field keeps its logits too
    dataset.apply_label_changes("predictions", [LabelChange(ids[1], "cat", "pick")])
    assert dataset[ids[1]].predictions.logits.tolist() == pytest.approx([1.0, 2.0, 3.0])
    assert isinstance(entry["old_doc"], ll.Classification)
    assert entry["old_doc"].confidence == pytest.approx(0.9)


def test_undo_and_revert_restore_the_label_document_exactly(dataset: ll.Dataset) -> None:
    ids = dataset.values("id")
    before = [_rich(dataset, i) for i in ids[:2]]
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    (entry,) = dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "frog", "pick")])
    (undone,) = dataset.revert_labels([entry], decision="undo")
    assert _rich(dataset, ids[0]) == before[0] and undone["new_label"] == "cat"
    dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "dog", "pick"),
                                                 LabelChange(ids[1], "cat", "accept")])
    dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "frog", "pick")])
    dataset.revert_labels(since=start)
    assert [_rich(dataset, i) for i in ids[:2]] == before


def test_a_stale_seen_label_is_a_conflict_that_names_who_changed_it(dataset: ll.Dataset) -> None:
    ids = dataset.values("id")
    dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "dog", "pick", reviewer="bo")])
    (latest,) = dataset.label_history()
    named = f"is now 'dog': bo changed it at .*entry {latest['id']}"
    with pytest.raises(ConflictError, match=named) as error:
        dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "frog", "pick", seen_label="cat"),
                                                     LabelChange(ids[1], "frog", "pick", seen_label="dog")])
    assert error.value.sample_ids == [ids[0]] and error.value.written == []
    assert dataset.values("ground_truth.label")[:2] == ["dog", "dog"] and len(dataset.label_history()) == 1
    (entry,) = dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "frog", "pick",
                                                                        seen_label="dog")])
    assert entry["old_label"] == "dog"


def test_a_repeated_decision_id_answers_the_first_entry_and_writes_nothing(dataset: ll.Dataset) -> None:
    ids = dataset.values("id")
    change = LabelChange(ids[0], "dog", "pick", seen_label="cat", decision_id="tab1-7")
    (first,) = dataset.apply_label_changes("ground_truth", [change])
    (again,) = dataset.apply_label_changes("ground_truth", [change])
    assert again["id"] == first["id"] and len(dataset.label_history()) == 1
    assert dataset.values("ground_truth.label")[0] == "dog"
    with pytest.raises(ValidationError, match="was used for sample"):
        dataset.apply_label_changes("ground_truth", [LabelChange(ids[1], "cat", "pick",
                                                                 decision_id="tab1-7")])
    with pytest.raises(ValidationError, match="decision_id must be"):
        dataset.apply_label_changes("ground_truth", [LabelChange(ids[1], "cat", "pick", decision_id="a b")])


def test_undo_after_a_later_decision_is_a_conflict_unless_forced(dataset: ll.Dataset) -> None:
    ids = dataset.values("id")
    (mine,) = dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "dog", "pick")])
    (later,) = dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], None, "unusable",
                                                                        reviewer="bo")])
    with pytest.raises(ConflictError, match=f"changed again by bo at .*entry {later['id']}"):
        dataset.revert_labels([mine], decision="undo")
    assert dataset.values("ground_truth.label")[0] == "dog" and "unusable" in dataset[ids[0]].tags
    assert len(dataset.label_history()) == 2
    (forced,) = dataset.revert_labels([mine], decision="undo", force=True)
    assert forced["new_label"] == "cat" and dataset.values("ground_truth.label")[0] == "cat"
    assert dataset[ids[0]].tags == []


def test_a_label_changed_outside_the_history_is_a_conflict_too(dataset: ll.Dataset) -> None:
    ids = dataset.values("id")
    dataset.set_values("ground_truth.label", ["frog"], ids=[ids[1]])
    with pytest.raises(ConflictError, match="is now 'frog': it was changed outside the label history"):
        dataset.apply_label_changes("ground_truth", [LabelChange(ids[1], "cat", "pick", seen_label="dog")])
    assert dataset.label_history() == []


def test_entries_from_before_old_doc_stay_readable_and_revertible(dataset: ll.Dataset) -> None:
    ids = dataset.values("id")
    dataset.set_values("ground_truth.label", ["frog"], ids=[ids[0]])
    legacy = {"sample_id": ids[0], "field": "ground_truth", "old_label": "cat", "new_label": "frog",
              "decision": "pick", "reviewer": "old", "time": dt.datetime.now(dt.UTC), "score": None,
              "suggestion": None, "old_tags": [], "new_tags": ["reviewed", "relabeled"]}
    db.get_database()[f"history.{dataset.collection_name}"].insert_one(legacy)
    (entry,) = dataset.label_history()
    assert entry["reviewer"] == "old" and "old_doc" not in entry
    dataset.revert_labels([entry])
    restored = dataset[ids[0]].ground_truth
    assert restored.label == "cat" and restored.logits.tolist() == pytest.approx([0.1, 0.2, 0.3])


def test_a_bulk_call_reports_the_samples_changed_under_it_and_writes_the_others(
        dataset: ll.Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = dataset.values("id")
    samples = dataset._record.samples
    real = type(samples).update_where

    def racing(self: object, requests: list) -> list[bool]:  # another reviewer writes first
        other = LabelChange(ids[1], "frog", "pick", reviewer="bo")
        monkeypatch.setattr(type(samples), "update_where", real)
        dataset.apply_label_changes("ground_truth", [other])
        return real(self, requests)

    monkeypatch.setattr(type(samples), "update_where", racing)
    with pytest.raises(ConflictError, match=f"sample '{ids[1]}' is now 'frog': bo changed it") as error:
        dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "dog", "pick"),
                                                     LabelChange(ids[1], "cat", "pick")])
    assert error.value.sample_ids == [ids[1]] and [e["sample_id"] for e in error.value.written] == [ids[0]]
    assert dataset.values("ground_truth.label")[:2] == ["dog", "frog"]
    assert sorted((e["sample_id"], e["reviewer"]) for e in dataset.label_history()) == sorted(
        [(ids[0], e["reviewer"]) for e in error.value.written] + [(ids[1], "bo")])


def test_importing_into_a_new_field_declares_it_first(dataset: ll.Dataset, tmp_path: Path) -> None:
    ids = dataset.values("id")
    path = tmp_path / "labels.csv"
    path.write_text(f"id,label\n{ids[0]},frog\n")
    dataset.import_labels(path, label_field="reviewed_label")
    assert dataset.get_field_schema()["reviewed_label"] == "EmbeddedDocumentField(Classification)"
    assert dataset[ids[0]].reviewed_label.label == "frog"
    assert dataset.label_history()[0]["field"] == "reviewed_label"


class _Tool:
    """An annotation backend in memory: every sample comes back labelled 'frog' by 'lee'."""

    url = "memory://"

    def __init__(self, url: str | None, api_key: str | None, **options: object) -> None:
        self.sample_ids: list[str] = []

    def check(self) -> None:
        return None

    def create_project(self, name: str, classes: list[str], tasks: list) -> dict:
        return {"project_id": 1, "ids": [t.sample_id for t in tasks]}

    def load(self, project: dict) -> tuple[list, int]:
        return [AnnotationResult(i, "frog", "lee") for i in project["ids"]], 0


def test_annotations_loaded_into_a_new_field_declare_it_first(dataset: ll.Dataset,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(annotation.BACKENDS, "memory", _Tool)
    dataset.limit(2).annotate("fix", backend="memory")
    counts = dataset.load_annotations("fix", dest_field="annotated")
    assert counts["imported"] == 2 and dataset.values("annotated.label")[:2] == ["frog", "frog"]
    assert dataset.get_field_schema()["annotated"] == "EmbeddedDocumentField(Classification)"
    assert {e["reviewer"] for e in dataset.label_history(field="annotated")} == {"lee"}


def test_a_sample_deleted_under_a_decision_is_reported_and_leaves_no_trace(
        dataset: ll.Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = dataset.values("id")
    samples = dataset._record.samples
    real = type(samples).update_where

    def deleting(self: object, requests: list) -> list[bool]:  # another process deletes a sample first
        monkeypatch.setattr(type(samples), "update_where", real)
        dataset.delete_samples([ids[1]])
        return real(self, requests)

    monkeypatch.setattr(type(samples), "update_where", deleting)
    gone = f"sample '{ids[1]}' cannot change: the sample was deleted"
    with pytest.raises(ConflictError, match=gone) as error:
        dataset.apply_label_changes("ground_truth", [LabelChange(ids[0], "dog", "pick"),
                                                     LabelChange(ids[1], "cat", "pick")])
    assert error.value.sample_ids == [ids[1]] and len(dataset) == 3
    assert dataset.values("id") == [ids[0], *ids[2:]] and dataset.values("ground_truth.label")[0] == "dog"
    assert [e["sample_id"] for e in dataset.label_history()] == [ids[0]]
