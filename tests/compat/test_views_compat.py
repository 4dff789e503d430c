"""FiftyOne's documented view behaviour, on both backends: slicing, first/last, view(),
select_by, select_fields() with no names, excluded_field_names, set_field, select_labels /
exclude_labels, deep copies and deleted datasets."""

from __future__ import annotations

import copy

import pytest

import labellens as ll
from labellens import F
from labellens.errors import (
    DatasetNotFoundError,
    FieldNotFoundError,
    SampleNotFoundError,
    StageError,
    ValidationError,
)

N = 8


@pytest.fixture
def dataset(backend: str) -> ll.Dataset:
    """Eight samples: ``n`` = i, ``gt`` tagged "ok" on even i, ``preds`` with one "bad" label on odd i."""
    dataset = ll.Dataset()
    dataset.add_samples(
        ll.Sample(f"/img/{i}.jpg", tags=["odd"] if i % 2 else ["even"], n=i, score=i / 10,
                  gt=ll.Classification(label="cat" if i % 3 else "dog", tags=[] if i % 2 else ["ok"]),
                  preds=ll.Classifications(classifications=[
                      ll.Classification(label="a", tags=["bad"] if i % 2 else []),
                      ll.Classification(label="b")]))
        for i in range(N))
    return dataset


def paths(view) -> list[str]:
    return view.values("filepath")


def test_slices_are_views_of_skip_and_limit(dataset) -> None:
    all_paths = paths(dataset)
    assert paths(dataset[2:5]) == all_paths[2:5]
    assert paths(dataset[:3]) == all_paths[:3]
    assert paths(dataset[5:]) == all_paths[5:]
    assert paths(dataset[-3:]) == all_paths[-3:]
    assert paths(dataset[1:-1]) == all_paths[1:-1]
    assert paths(dataset[6:100]) == all_paths[6:]
    assert len(dataset[5:2]) == 0
    view = dataset.sort_by("n", reverse=True)
    assert paths(view[1:3]) == paths(view)[1:3]
    assert paths(view[1:3][1:]) == paths(view)[2:3]
    assert isinstance(dataset[:], ll.View) and len(dataset[:]) == N


def test_bad_slices_and_positions_are_refused(dataset) -> None:
    with pytest.raises(ValidationError, match="step"):
        dataset[::2]
    with pytest.raises(ValidationError, match="ints"):
        dataset["a":]
    with pytest.raises(SampleNotFoundError, match="first"):
        dataset[0]


def test_first_and_last(dataset) -> None:
    assert dataset.first().filepath == "/img/0.jpg"
    assert dataset.last().filepath == f"/img/{N - 1}.jpg"
    view = dataset.match(F("n") < 5).sort_by("n", reverse=True)
    assert (view.first().n, view.last().n) == (4, 0)
    with pytest.raises(SampleNotFoundError, match="empty"):
        dataset.match(F("n") > 100).last()


def test_view_of_the_whole_dataset(dataset) -> None:
    view = dataset.view()
    assert isinstance(view, ll.View) and view.stages == ()
    assert len(view) == N and paths(view) == paths(dataset)
    assert view == dataset.view() and view.dataset is dataset
    assert str(view).startswith("Dataset:")


def test_select_by_keeps_matching_samples_optionally_in_the_given_order(dataset) -> None:
    wanted = ["/img/5.jpg", "/img/1.jpg", "/img/nope.jpg", "/img/3.jpg"]
    assert sorted(paths(dataset.select_by("filepath", wanted))) == ["/img/1.jpg", "/img/3.jpg", "/img/5.jpg"]
    ordered = dataset.select_by("filepath", wanted, ordered=True)
    assert paths(ordered) == ["/img/5.jpg", "/img/1.jpg", "/img/3.jpg"]
    assert dataset.select_by("n", [6, 2], ordered=True).values("n") == [6, 2]
    ids = dataset.values("id")
    assert dataset.select_by("id", [ids[3], ids[0]], ordered=True).values("id") == [ids[3], ids[0]]
    with pytest.raises(FieldNotFoundError):
        dataset.select_by("nope", ["x"])


def test_select_fields_without_names_keeps_the_default_fields(dataset) -> None:
    view = dataset.select_fields()
    assert list(view.get_field_schema()) == ["filepath", "tags", "metadata"]
    sample = view.first()
    assert sample.filepath == "/img/0.jpg" and sample.tags == ["even"]
    assert "n" not in sample.field_names()
    assert view.excluded_field_names == ["n", "score", "gt", "preds"]


def test_excluded_field_names(dataset) -> None:
    assert dataset.excluded_field_names == []
    assert dataset.match_tags("odd").excluded_field_names == []
    assert dataset.exclude_fields(["score", "gt"]).excluded_field_names == ["score", "gt"]
    assert dataset.select_fields("gt").excluded_field_names == ["n", "score", "preds"]


def test_set_field_shows_computed_values_and_stores_nothing(dataset) -> None:
    view = dataset.set_field("score", F("n") * 2)
    assert view.values("score") == [2 * i for i in range(N)]
    assert view.match(F("score") > 10).values("n") == [6, 7]
    assert view.sum("score") == 2 * sum(range(N))
    assert dataset.values("score") == [i / 10 for i in range(N)]
    assert dataset.set_field("n", 0).values("n") == [0] * N
    with pytest.raises(ValidationError, match="filtered"):
        view.set_values("score", [0.0] * N)
    with pytest.raises(FieldNotFoundError, match="add_sample_field"):
        dataset.set_field("new_field", 1)
    with pytest.raises(StageError):
        dataset.set_field("gt.label", "x")


def test_set_field_round_trips_through_stage_json(dataset) -> None:
    view = dataset.set_field("score", F("n") + 1).sort_by("score", reverse=True)
    rebuilt = dataset.view_from_json(view.to_json())
    assert rebuilt == view and rebuilt.values("score") == view.values("score")


def test_select_labels_by_tag(dataset) -> None:
    view = dataset.select_labels(tags="ok")
    assert view.values("n") == [0, 2, 4, 6]  # omit_empty drops samples without such a label
    assert view.values("gt.label") == dataset.match(F("n") % 2 == 0).values("gt.label")
    assert view.values("preds.classifications") == [[]] * 4
    kept = dataset.select_labels(tags="ok", omit_empty=False)
    assert len(kept) == N and kept.values("gt")[1] is None


def test_select_labels_by_id_in_one_field_leaves_the_other_label_fields_out(dataset) -> None:
    label_ids = [labels[0] for labels in dataset.values("preds.classifications.id")][:3]
    view = dataset.select_labels(ids=label_ids, fields="preds")
    assert "gt" not in view.get_field_schema() and "gt" in view.excluded_field_names
    assert view.values("preds.classifications.id") == [[i] for i in label_ids]
    labels = [{"label_id": i, "field": "preds", "sample_id": s}
              for i, s in zip(label_ids, dataset.values("id"))]
    assert dataset.select_labels(labels).values("preds.classifications.id") == [[i] for i in label_ids]


def test_exclude_labels(dataset) -> None:
    view = dataset.exclude_labels(tags="bad", fields="preds")
    expected = [["a", "b"] if i % 2 == 0 else ["b"] for i in range(N)]
    assert view.values("preds.classifications.label") == expected
    gt_ids = dataset.values("gt.id")
    assert dataset.exclude_labels(ids=gt_ids[:2], fields="gt").values("n") == list(range(2, N))
    assert len(dataset.exclude_labels(fields="gt")) == 0
    assert dataset.values("preds.classifications.label") == [["a", "b"]] * N  # stored labels unchanged


def test_label_views_refuse_to_save_the_labels_they_filter(dataset) -> None:
    sample = dataset.select_labels(tags="ok").first()
    sample.gt = ll.Classification(label="bird")
    with pytest.raises(ValidationError):
        sample.save()


def test_deep_copies(dataset) -> None:
    view = dataset.match(F("n") > 2).sort_by("score", reverse=True).set_field("score", F("n")).limit(3)
    copied = copy.deepcopy(view)
    assert copied == view and copied is not view and copied.dataset is dataset
    assert copied.values("id") == view.values("id")
    assert copy.copy(view) == view
    assert copy.deepcopy(dataset) is dataset and copy.copy(dataset) is dataset
    assert copy.deepcopy({"view": view})["view"] == view


def test_every_operation_on_a_deleted_dataset_raises(dataset) -> None:
    view = dataset.match_tags("odd")
    name = dataset.name
    dataset.delete()
    assert dataset.deleted and dataset.name == name
    for operation in (lambda: len(dataset), dataset.first, lambda: list(dataset), lambda: dataset.values("n"),
                      lambda: dataset.count_values("tags"), lambda: dataset.match_tags("odd"),
                      lambda: len(view), lambda: view.first(),
                      lambda: dataset.add_sample(ll.Sample("/x.jpg")),
                      lambda: dataset.default_classes, dataset.clear, dataset.delete, dataset.clone,
                      lambda: print(dataset)):
        with pytest.raises(DatasetNotFoundError, match="deleted"):
            operation()


def test_deleting_by_name_makes_every_object_of_the_dataset_raise(dataset) -> None:
    again = ll.load_dataset(dataset.name)
    ll.delete_dataset(dataset.name)
    for obj in (dataset, again):
        with pytest.raises(DatasetNotFoundError, match="deleted"):
            obj.add_sample(ll.Sample("/x.jpg"))
        with pytest.raises(DatasetNotFoundError):
            len(obj)


def test_a_dataset_deleted_by_another_process_raises_on_reads(dataset) -> None:
    from labellens import db

    database = db.get_database()  # delete it as another process would: samples, then the record
    database.drop_collection(dataset.collection_name)
    database["datasets"].delete_one({"name": dataset.name})
    with pytest.raises(DatasetNotFoundError):
        len(dataset)
    with pytest.raises(DatasetNotFoundError):
        dataset.first()


def test_label_references_are_checked(dataset) -> None:
    with pytest.raises(StageError, match="label_id"):
        dataset.select_labels([{"id": "x"}])
    with pytest.raises(StageError, match="label ids"):
        dataset.exclude_labels(ids=["not-an-id"])
