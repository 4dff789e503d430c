"""FiftyOne's documented view behaviour, second round, on both backends: filter_field,
limit_labels, match_labels, mongo, one, and writing a view back (save, keep, keep_fields)."""

from __future__ import annotations

import pytest

import labellens as ll
from labellens import F
from labellens.errors import StageError, ValidationError


@pytest.fixture
def dataset(backend: str) -> ll.Dataset:
    """Four samples: ``n`` = 1, 2, 3 and none; ``gt`` cat/dog/cat; ``preds`` with i + 1 labels."""
    dataset = ll.Dataset()
    dataset.add_samples([
        *(ll.Sample(f"/img/{i}.jpg", n=i + 1, gt=ll.Classification(label="dog" if i == 1 else "cat"),
                    preds=ll.Classifications(classifications=[
                        ll.Classification(label=f"l{j}", confidence=j / 4, tags=["ok"] if j == i else [])
                        for j in range(i + 1)]))
          for i in range(3)),
        ll.Sample("/img/3.jpg"),
    ])
    return dataset


def test_filter_field_shows_the_value_where_the_filter_holds(dataset) -> None:
    view = dataset.filter_field("gt", F("label") == "cat")
    assert view.values("gt.label") == ["cat", "cat"]
    assert dataset.filter_field("n", F() > 1, only_matches=False).values("n") == [None, 2, 3, None]


def test_limit_labels_keeps_the_first_labels(dataset) -> None:
    view = dataset.limit_labels("preds", 2)
    assert view.values("preds.classifications.label") == [["l0"], ["l0", "l1"], ["l0", "l1"], None]
    assert len(dataset.values("preds.classifications.label")[2]) == 3  # the dataset is unchanged


def test_match_labels_by_tags_filter_and_bool(dataset) -> None:
    assert dataset.match_labels(tags="ok").values("n") == [1, 2, 3]
    assert dataset.match_labels(filter=F("confidence") > 0.4).values("n") == [3]
    assert dataset.match_labels(filter=F("label") == "dog", fields="gt").values("n") == [2]
    assert dataset.match_labels(tags="ok", filter=F("confidence") < 0.3).values("n") == [1, 2]
    assert dataset.match_labels(filter=F("confidence") > 0.4, bool=False).values("n") == [1, 2, None]
    label_id = dataset.values("preds.classifications.id")[1][1]
    assert dataset.match_labels([{"label_id": label_id, "field": "preds"}]).values("n") == [2]


def test_mongo_runs_checked_raw_stages(dataset) -> None:
    assert dataset.mongo([{"$sort": {"n": -1}}, {"$limit": 2}]).values("n") == [3, 2]
    with pytest.raises(StageError, match="refuses"):
        dataset.mongo([{"$out": "stolen"}])
    with pytest.raises(ValidationError, match="filtered"):
        dataset.mongo([{"$limit": 1}]).set_values("n", [5])


def test_one_returns_the_single_match(dataset) -> None:
    assert dataset.one(F("n") == 2).filepath == "/img/1.jpg"
    assert dataset.one(F("gt.label") == "cat").n == 1
    with pytest.raises(ValidationError, match="no sample"):
        dataset.one(F("n") == 9)
    with pytest.raises(ValidationError, match="more than one"):
        dataset.one(F("gt.label") == "cat", exact=True)


def test_save_writes_the_views_values_back(dataset) -> None:
    sample = dataset.first()
    dataset.limit(2).set_field("n", F("n") + 10).save()
    assert dataset.values("n") == [11, 12, 3, None]
    assert sample.n == 11  # in-memory samples see the write
    view = dataset.filter_labels("preds", F("label") == "l0", only_matches=False).set_field("n", None)
    view.save(fields="preds")
    assert dataset.values("preds.classifications.label") == [["l0"], ["l0"], ["l0"], None]
    assert dataset.values("n") == [11, 12, 3, None]
    view.save()
    assert len(dataset.exists("n")) == 0 and len(dataset) == 4


def test_save_refuses_fields_the_view_does_not_show(dataset) -> None:
    with pytest.raises(ValidationError, match="cannot save 'n'"):
        dataset.exclude_fields("n").save(fields="n")
    with pytest.raises(ValidationError, match="cannot save 'nope'"):
        dataset.limit(1).save(fields=["n", "nope"])
    with pytest.raises(ValidationError, match="mongo"):
        dataset.mongo([{"$set": {"n": "text"}}]).save()
    assert dataset.values("n") == [1, 2, 3, None]


def test_keep_deletes_the_samples_the_view_leaves_out(dataset) -> None:
    dataset.match(F("n") > 1).keep()
    assert dataset.values("n") == [2, 3]
    dataset.filter_labels("preds", F("label") == "l2").keep()
    assert dataset.values("n") == [3]
    assert dataset.values("preds.classifications.label") == [["l0", "l1", "l2"]]  # labels unchanged


def test_keep_fields_deletes_the_fields_the_view_leaves_out(dataset) -> None:
    dataset.exclude_fields("preds").keep_fields()
    assert "preds" not in dataset.get_field_schema()
    dataset.select_fields("n").keep_fields()
    assert set(dataset.get_field_schema()) == {"filepath", "tags", "metadata", "n"}
    assert dataset.values("n") == [1, 2, 3, None]


def test_concat_appends_another_views_samples(real_mongod) -> None:  # mongomock has no $unionWith
    dataset = ll.Dataset()
    dataset.add_samples([ll.Sample(f"/img/{i}.jpg", n=i) for i in range(4)])
    first, second, last = dataset.limit(1), dataset.skip(1).limit(1), dataset.skip(3)
    assert first.concat(second).values("n") == [0, 1]
    view = first.concat(second).concat(last.set_field("n", F("n") * 10))
    assert view.values("n") == [0, 1, 30] and len(view) == 3
    assert view == dataset.view_from_json(view.to_json())
    assert dataset.match(F("n") > 2).concat(dataset.match(F("n") > 2)).values("n") == [3, 3]
    with pytest.raises(ValidationError, match="same dataset"):
        first.concat(ll.Dataset().limit(1))


def test_tag_labels_tags_the_labels_the_view_shows(dataset) -> None:
    first = dataset.first()
    dataset.filter_labels("preds", F("label") == "l1").tag_labels("seen", label_fields="preds")
    assert dataset.values("preds.classifications.tags") == [
        [["ok"]], [[], ["ok", "seen"]], [[], ["seen"], ["ok"]], None]
    dataset.match(F("n") == 1).tag_labels(["seen", "gt1"])
    assert dataset.values("gt.tags") == [["seen", "gt1"], [], [], None]
    assert first.gt.tags == ["seen", "gt1"]  # in-memory samples see the write
    dataset.untag_labels("seen")
    assert dataset.values("gt.tags") == [["gt1"], [], [], None]
    assert dataset.values("preds.classifications.tags")[1:3] == [[[], ["ok"]], [[], [], ["ok"]]]
    with pytest.raises(StageError, match="not labels"):
        dataset.tag_labels("x", label_fields="n")


def test_clone_and_clear_a_field_on_a_views_samples_only(dataset) -> None:
    first = dataset.first()
    dataset[1:3].clone_sample_field("n", "m")
    assert dataset.values("m") == [None, 2, 3, None] and dataset.get_field_schema()["m"] == "IntField"
    dataset[:2].clone_sample_field("gt.label", "gt.old_label")
    assert first.gt.old_label == "cat"
    assert dataset.values("gt.old_label") == ["cat", "dog", None, None]
    dataset[:1].clear_sample_field("gt.label")
    assert dataset.values("gt.label") == [None, "dog", "cat", None] and first.gt.label is None
    dataset[3:].clear_sample_field("gt.label")  # no gt there: none is made
    assert dataset.values("gt")[3] is None
    dataset[:2].clear_sample_field("tags")
    assert dataset.values("tags")[:2] == [None, None]
    with pytest.raises(ValidationError, match="same single-label field"):
        dataset[:1].clone_sample_field("preds.classifications", "preds.copy")
    with pytest.raises(ll.errors.InvalidFieldNameError):
        dataset[:1].clear_sample_field("filepath")
    assert dataset.values("n") == [1, 2, 3, None]


def test_set_label_values_sets_an_attribute_by_label_id(dataset) -> None:
    first = dataset.first()
    gt_ids = dataset.values("gt.id")
    dataset.set_label_values("gt.checked", {gt_ids[0]: True, gt_ids[2]: False})
    assert dataset.values("gt.checked") == [True, None, False, None]
    assert first.gt.checked is True
    pred_ids = dataset.values("preds.classifications.id")
    dataset.set_label_values("preds.classifications.score", {pred_ids[1][1]: 0.5, pred_ids[2][0]: 1})
    scores = [[getattr(label, "score", None) for label in s.preds.classifications] for s in dataset[:3]]
    assert scores == [[None], [None, 0.5], [1, None, None]]
    assert dataset.values("preds.classifications.label")[2] == ["l0", "l1", "l2"]
    assert dataset.filter_labels("preds", F("score") > 0.1).values("n") == [2, 3]
    for path, values, message in [("n.x", {}, "label field"), ("preds.x", {}, "preds.classifications.ATTR"),
                                  ("gt.id", {}, "one attribute"), ("gt.x", {"nope": 1}, "label id"),
                                  ("gt.x", {gt_ids[0]: object()}, "storable")]:
        with pytest.raises(ValidationError, match=message):
            dataset.set_label_values(path, values)
    assert "x" not in dataset.first().gt.__pydantic_extra__
