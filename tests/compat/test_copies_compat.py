"""FiftyOne's documented dataset operations, on both backends: clone, add_collection,
merge_samples, clone_sample_field, clear_sample_field and delete_labels."""

from __future__ import annotations

import pytest

import labellens as ll
from labellens import F
from labellens.errors import (
    FieldNotFoundError,
    InvalidFieldNameError,
    SchemaError,
    ValidationError,
)

N = 6


@pytest.fixture
def dataset(backend: str) -> ll.Dataset:
    dataset = ll.Dataset()
    dataset.default_classes = ["cat", "dog"]
    dataset.info = {"source": "test"}
    dataset.save()
    dataset.add_samples(
        ll.Sample(f"/img/{i}.jpg", tags=["odd"] if i % 2 else [], n=i,
                  gt=ll.Classification(label="cat" if i % 2 else "dog", tags=["ok"] if i < 3 else []),
                  preds=ll.Classifications(classifications=[
                      ll.Classification(label="cat", tags=["bad"] if i % 2 else []),
                      ll.Classification(label="dog")]))
        for i in range(N))
    return dataset


def stored(dataset: ll.Dataset, path: str) -> list:
    return dataset.sort_by("filepath").values(path)


def test_clone_copies_samples_schema_classes_and_info(dataset) -> None:
    clone = dataset.clone("the-clone", persistent=True)
    try:
        assert clone.name == "the-clone" and clone.persistent and clone != dataset
        assert clone.get_field_schema() == dataset.get_field_schema()
        assert clone.default_classes == ["cat", "dog"] and clone.info == {"source": "test"}
        assert clone.values("id") == dataset.values("id")
        assert clone.values("gt.label") == dataset.values("gt.label")
        clone.set_values("n", [0] * N)
        assert dataset.values("n") == list(range(N))  # independent copies
        assert ll.load_dataset("the-clone").values("n") == [0] * N
    finally:
        clone.delete()


def test_cloning_a_view_copies_only_what_it_shows(dataset) -> None:
    view = dataset.match(F("n") >= 2).sort_by("n", reverse=True).select_fields("gt").set_field("gt", None)
    clone = view.clone()
    assert len(clone) == N - 2
    assert list(clone.get_field_schema()) == ["filepath", "tags", "metadata", "gt"]
    assert clone.values("gt") == [None] * (N - 2)
    assert clone.values("filepath") == view.values("filepath")
    filtered = dataset.filter_labels("preds", F("label") == "cat").clone()
    assert filtered.values("preds.classifications.label") == [["cat"]] * N


def test_add_collection_keeps_ids_and_expands_the_schema(dataset) -> None:
    other = ll.Dataset()
    other.add_sample(ll.Sample("/other.jpg", extra=1.5))
    other.info = {"source": "other", "more": 1}
    other.save()
    ids = dataset.add_collection(other)
    assert ids == other.values("id") and len(dataset) == N + 1
    assert dataset.get_field_schema()["extra"] == "FloatField"
    assert dataset.info == {"source": "test", "more": 1}
    with pytest.raises(ValidationError, match="new_ids"):
        dataset.add_collection(other)
    assert len(dataset) == N + 1
    new = dataset.add_collection(other, new_ids=True, overwrite_info=True)
    assert new != ids and len(dataset) == N + 2 and dataset.info["source"] == "other"


def test_add_collection_of_a_view(dataset) -> None:
    target = ll.Dataset()
    ids = target.add_collection(dataset.match_tags("odd"))
    assert len(target) == 3 and ids == dataset.match_tags("odd").values("id")
    assert target.values("gt.label") == ["cat"] * 3


def test_add_collection_refuses_a_conflicting_type_before_writing(dataset) -> None:
    other = ll.Dataset()
    other.add_sample(ll.Sample("/x.jpg", n="a string"))
    with pytest.raises(SchemaError, match="'n'"):
        dataset.add_collection(other)
    assert len(dataset) == N


def _updates() -> ll.Dataset:
    source = ll.Dataset()
    source.add_samples([
        ll.Sample("/img/1.jpg", tags=["new"], n=100, note="changed",
                  preds=ll.Classifications(classifications=[ll.Classification(label="bird")])),
        ll.Sample("/img/2.jpg", n=None, note="kept"),
        ll.Sample("/img/new.jpg", n=7),
    ])
    return source


def test_merge_samples_by_filepath(dataset) -> None:
    dataset.merge_samples(_updates())
    assert len(dataset) == N + 1
    by_path = dict(zip(dataset.values("filepath"), dataset.values("n")))
    assert by_path["/img/1.jpg"] == 100 and by_path["/img/2.jpg"] == 2  # None never overwrites
    assert by_path["/img/new.jpg"] == 7
    sample = dataset.select_by("filepath", "/img/1.jpg").first()
    assert sample.tags == ["odd", "new"]  # lists are merged
    assert [c.label for c in sample.preds.classifications] == ["cat", "dog", "bird"]
    assert sample.note == "changed" and dataset.get_field_schema()["note"] == "StringField"


def test_merge_samples_options(dataset) -> None:
    dataset.merge_samples(_updates(), insert_new=False, overwrite=False, fields=["n", "note"])
    assert len(dataset) == N
    assert stored(dataset, "n")[:3] == [0, 1, 2]  # overwrite=False keeps the values that are set
    assert stored(dataset, "note")[1:3] == ["changed", "kept"]
    dataset.merge_samples(_updates(), skip_existing=True, omit_fields="note")
    assert len(dataset) == N + 1 and stored(dataset, "n")[1] == 1
    assert dataset.select_by("filepath", "/img/new.jpg").values("note") == [None]


def test_merge_samples_renames_fields_and_merges_by_id(dataset) -> None:
    clone = dataset.clone()
    clone.set_values("n", [10 * i for i in range(N)])
    dataset.merge_samples(clone.match(F("n") > 20), key_field="id", fields={"n": "n10"})
    assert dataset.values("n10") == [None, None, None, 30, 40, 50]
    assert dataset.values("n") == list(range(N))


def test_merge_samples_from_sample_objects(dataset) -> None:
    dataset.merge_samples([ll.Sample("/img/0.jpg", n=-1), ll.Sample("/img/z.jpg")])
    assert stored(dataset, "n")[0] == -1 and len(dataset) == N + 1


def test_merge_samples_checks_before_writing(dataset) -> None:
    source = ll.Dataset()
    source.add_sample(ll.Sample("/img/1.jpg", n="text"))
    with pytest.raises(SchemaError):
        dataset.merge_samples(source)
    with pytest.raises(SchemaError, match="expand_schema"):
        dataset.merge_samples(_updates(), expand_schema=False)
    with pytest.raises(FieldNotFoundError):
        dataset.merge_samples(_updates(), key_field="nope")
    with pytest.raises(FieldNotFoundError):
        dataset.merge_samples(_updates(), fields=["nope"])
    with pytest.raises(ValidationError):
        dataset.merge_samples(_updates(), overwrite="yes")
    dataset.add_sample(ll.Sample("/img/1.jpg"))
    with pytest.raises(ValidationError, match="unique"):
        dataset.merge_samples(_updates())
    assert len(dataset) == N + 1 and "note" not in dataset.get_field_schema()


def test_clone_sample_field(dataset) -> None:
    dataset.clone_sample_field("gt", "gt_copy")
    assert dataset.get_field_schema()["gt_copy"] == dataset.get_field_schema()["gt"]
    assert dataset.values("gt_copy.label") == dataset.values("gt.label")
    dataset.clone_sample_field("n", "n_copy")
    assert dataset.values("n_copy") == list(range(N))
    with pytest.raises(InvalidFieldNameError):
        dataset.clone_sample_field("n", "gt")
    with pytest.raises(FieldNotFoundError):
        dataset.clone_sample_field("nope", "x")


def test_clear_sample_field(dataset) -> None:
    dataset.clear_sample_field("gt")
    assert dataset.values("gt") == [None] * N and "gt" in dataset.get_field_schema()
    with pytest.raises(InvalidFieldNameError):
        dataset.clear_sample_field("tags")
    with pytest.raises(FieldNotFoundError):
        dataset.clear_sample_field("nope")


def test_delete_labels_by_tag_and_by_id(dataset) -> None:
    dataset.delete_labels(tags="bad")
    assert dataset.values("preds.classifications.label") == [["cat", "dog"] if i % 2 == 0 else ["dog"]
                                                            for i in range(N)]
    gt_ids = dataset.values("gt.id")
    dataset.delete_labels(ids=gt_ids[:2], fields="gt")
    assert dataset.values("gt.label")[:3] == [None, None, "dog"]
    dataset.delete_labels(tags="ok")
    assert dataset.values("gt.label") == [None, None, None, "cat", "dog", "cat"]


def test_delete_labels_of_a_view_and_of_whole_fields(dataset) -> None:
    dataset.delete_labels(view=dataset.filter_labels("preds", F("label") == "dog").match_tags("odd"))
    assert dataset.values("preds.classifications.label") == [["cat", "dog"] if i % 2 == 0 else ["cat"]
                                                            for i in range(N)]
    assert dataset.values("gt.label") == ["dog", None, "dog", None, "dog", None]  # every label the view shows
    dataset.delete_labels(view=dataset.match(F("n") == 0).select_fields("preds"), fields="preds")
    assert dataset.values("preds.classifications.label")[0] == []
    dataset.delete_labels(fields="preds")
    assert dataset.values("preds") == [None] * N and dataset.values("gt.label")[0] == "dog"
    with pytest.raises(ValidationError):
        dataset.delete_labels(view=ll.Dataset().view())
    with pytest.raises(Exception, match="not labels"):
        dataset.delete_labels(fields="n")
