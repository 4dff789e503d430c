"""FiftyOne's documented sample and field behaviour (issue 29), in our own tests on both backends:
copies and serialized forms, dates, settings, declared embedded fields, and one live sample per id."""

from __future__ import annotations

import copy as copying
import datetime as dt
import json

import numpy as np
import pytest
from bson import ObjectId

import labellens as ll
from labellens.dataset.history import LabelChange
from labellens.errors import SampleNotFoundError, SchemaError, ValidationError


def small_dataset(n: int = 3) -> ll.Dataset:
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(f"/img/{i}.png", tags=["t"], i=i,
                             gt=ll.Classification(label="cat", confidence=0.5,
                                                  logits=np.arange(3, dtype=np.float32)))
                   for i in range(n))
    return ds


# -- copies and serialized forms -------------------------------------------------------------------

def test_copy_is_a_deep_copy_outside_any_dataset(backend):
    ds = small_dataset()
    sample = ds.first()
    copy = sample.copy()
    assert copy.id is None and copy.dataset is None and not copy.in_dataset
    assert copy.gt == sample.gt and copy.gt is not sample.gt
    copy.gt.label = "dog"
    copy.gt.logits[0] = 9
    assert sample.gt.label == "cat" and sample.gt.logits[0] == 0
    ds.add_sample(copy)
    assert len(ds) == 4 and copy.id != sample.id and ds[copy.id].gt.label == "dog"
    deep = copying.deepcopy(sample)
    assert deep.id is None and deep.gt == sample.gt and deep.gt is not sample.gt


def test_copy_keeps_or_omits_fields(backend):
    sample = small_dataset().first()
    assert set(sample.copy(fields=["i"]).field_names()) == {"filepath", "tags", "metadata", "i"}
    assert "gt" not in sample.copy(omit_fields="gt") and "i" in sample.copy(omit_fields="gt")
    with pytest.raises(ll.errors.FieldNotFoundError):
        sample.copy(fields=["nope"])


def test_adding_a_sample_of_another_dataset_adds_a_copy(backend):
    source = small_dataset(1)
    sample = source.first()
    other = ll.Dataset()
    other.add_sample(sample)
    assert sample.dataset == source and source[sample.id] is sample
    assert other.first().filepath == sample.filepath and other.first().id != sample.id


def test_sample_to_dict_is_json_and_round_trips(backend):
    ds = small_dataset()
    ds.add_sample_field("oid", ll.ObjectIdField)
    sample = ds.first()
    sample["when"] = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    sample["oid"] = ObjectId()
    sample.save()
    d = sample.to_dict()
    json.dumps(d)  # plain JSON
    assert "_id" not in d and "id" not in d and d["gt"]["label"] == "cat"
    assert sample.to_dict(include_private=True)["_id"] == {"$oid": sample.id}
    back = ll.Sample.from_dict(d)
    assert back.id is None and back.i == 0 and back.when == sample.when
    assert back.gt == sample.gt and np.array_equal(back.gt.logits, sample.gt.logits)
    with pytest.raises(ValidationError):
        ll.Sample.from_dict({"i": 1})


def test_to_mongo_dict_is_the_stored_document(backend):
    ds = small_dataset(1)
    sample = ds.first()
    doc = sample.to_mongo_dict()
    assert "_id" not in doc and doc["gt"]["_cls"] == "Classification" and doc["i"] == 0
    assert sample.to_mongo_dict(include_id=True)["_id"] == ObjectId(sample.id)


def test_dataset_to_dict_and_from_dict(backend):
    ds = small_dataset()
    ds.add_sample_field("day", ll.DateField)
    ds.add_sample_field("empty", ll.FloatField)
    ds.default_classes = ["cat", "dog", "bird"]
    ds.info["about"] = "test"
    ds.save()
    first = ds.first()
    first["day"] = dt.date(2021, 3, 4)
    first.save()
    d = ds.to_dict()
    json.dumps(d)
    copy = ll.Dataset.from_dict(d, name="from-dict")
    assert copy.name == "from-dict" and len(copy) == 3
    assert copy.get_field_schema() == ds.get_field_schema()
    assert copy.default_classes == ["cat", "dog", "bird"] and copy.info == {"about": "test"}
    assert copy.values("i") == [0, 1, 2] and copy.first().day == dt.date(2021, 3, 4)
    assert set(copy.values("id")).isdisjoint(ds.values("id"))
    view_dict = ds.match(ll.F("i") > 0).to_dict()
    assert [s["i"] for s in view_dict["samples"]] == [1, 2]
    again = ll.Dataset.from_dict(d)  # the dict's name is taken: a new one is made
    assert again.name not in (ds.name, "from-dict") and len(again) == 3
    ds_name = ds.name
    ds.delete()
    assert ll.Dataset.from_dict(d).name == ds_name
    with pytest.raises(ValidationError):
        ll.Dataset.from_dict({"name": "x"})


# -- dates, numbers, ids, settings -----------------------------------------------------------------------

def test_dates_are_stored_and_read_back_as_dates(backend):
    ds = ll.Dataset()
    sample = ll.Sample("/a.png", day=dt.date(2020, 1, 2))
    ds.add_sample(sample)
    assert ds.get_field_schema()["day"] == "DateField"
    assert sample.day == dt.date(2020, 1, 2)
    del sample
    again = ds.first()
    assert type(again.day) is dt.date and again.day == dt.date(2020, 1, 2)
    assert ds.values("day") == [dt.date(2020, 1, 2)]
    again["day"] = dt.date(2020, 1, 3)
    again.save()
    ds.reload()
    assert ds.first().day == dt.date(2020, 1, 3)
    with pytest.raises(SchemaError):
        ds.add_sample(ll.Sample("/b.png", day="2020-01-02"))


def test_numpy_scalars_become_python_numbers(backend):
    ds = ll.Dataset()
    sample = ll.Sample("/a.png", f=np.float32(1.5), n=np.int64(3), b=np.bool_(True))
    sample["g"] = np.float64(2.5)
    ds.add_sample(sample)
    assert [type(sample[k]) for k in "fnbg"] == [float, int, bool, float]
    ds.reload()
    stored = ds.values("f"), ds.values("n"), ds.values("b")
    assert stored == ([1.5], [3], [True]) and type(stored[0][0]) is float
    assert ds.get_field_schema()["f"] == "FloatField" and ds.get_field_schema()["n"] == "IntField"


def test_object_id_fields_read_as_strings_and_stay_object_ids(backend):
    ds = ll.Dataset()
    oid = ObjectId()
    ds.add_sample(ll.Sample("/a.png", ref=oid))
    ds.reload()  # drop the in-memory value set by the user
    sample = ds.first()
    sample_ref = ll.load_dataset(ds.name).first().ref
    assert sample_ref == str(oid) and isinstance(sample_ref, str)
    assert ds.values("ref") == [str(oid)]
    sample["other"] = 1
    sample.save()  # an unchanged ObjectId field stays one
    assert ds.get_field_schema()["ref"] == "ObjectIdField"
    assert len(ds.match({"ref": oid})) == 1
    assert ds.first().copy().to_mongo_dict()["ref"] == oid
    other = ObjectId()
    sample["ref"] = str(other)  # an id string set on an ObjectId field is stored as an ObjectId
    sample.save()
    assert len(ds.match({"ref": other})) == 1 and sample.ref == str(other)


def test_config_timezone_converts_datetimes_when_read(backend):
    when = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)
    ds = ll.Dataset()
    ds.add_sample(ll.Sample("/a.png", when=when))
    try:
        ll.config.timezone = "Asia/Tokyo"
        ll.load_dataset(ds.name).reload()
        ds.reload()
        shown = ds.first().when
        assert shown == when and shown.utcoffset() == dt.timedelta(hours=9)
        assert ds.values("when")[0].utcoffset() == dt.timedelta(hours=9)
        ll.config.timezone = None
        ds.reload()
        assert ds.first().when.utcoffset() == dt.timedelta(0)
        with pytest.raises(ValidationError):
            ll.config.timezone = "Mars/Olympus"
        assert ll.config.timezone is None
    finally:
        ll.config.timezone = None


def test_default_classes_is_live_and_validated_by_save(backend):
    ds = ll.Dataset()
    ds.default_classes = ["cat"]
    ds.default_classes.append("dog")
    ds.save()
    assert ll.load_dataset(ds.name).default_classes == ["cat", "dog"]
    ds.default_classes.append(1)
    with pytest.raises(ValidationError):
        ds.save()
    assert ll.load_dataset(ds.name).default_classes == ["cat", "dog"]
    ds.reload()
    assert ds.default_classes == ["cat", "dog"]


def test_classification_without_a_label(backend):
    ds = ll.Dataset()
    ds.add_sample(ll.Sample("/a.png", gt=ll.Classification()))
    ds.add_sample(ll.Sample("/b.png", gt=ll.Classification(label="cat")))
    assert ll.Classification().label is None
    assert ds.values("gt.label") == [None, "cat"] and ds.count_values("gt.label") == {None: 1, "cat": 1}
    assert ds.distinct("gt.label") == ["cat"]
    ds.set_values("gt.label", ["dog", None])  # None clears a label's label
    assert ds.values("gt.label") == ["dog", None] and ds.count("gt") == 2
    with pytest.raises(ValidationError):
        ll.Classification(label=3)


# -- declared fields ---------------------------------------------------------------------------------------

def test_add_sample_field_with_embedded_doc_type_and_subfield(backend):
    ds = ll.Dataset()
    ds.add_sample_field("gt", ll.EmbeddedDocumentField, embedded_doc_type=ll.Classification)
    ds.add_sample_field("preds", "EmbeddedDocumentField", embedded_doc_type="Classifications")
    ds.add_sample_field("words", ll.ListField, subfield=ll.StringField)
    schema = ds.get_field_schema()
    assert schema["gt"] == "EmbeddedDocumentField(Classification)"
    assert schema["preds"] == "EmbeddedDocumentField(Classifications)"
    assert schema["words"] == "ListField(StringField)"
    ds.add_sample(ll.Sample("/a.png", gt=ll.Classification(label="a"), words=["x"]))
    with pytest.raises(SchemaError):
        ds.add_sample(ll.Sample("/b.png", words=[1]))
    for bad in [dict(ftype=ll.EmbeddedDocumentField),
                dict(ftype=ll.EmbeddedDocumentField, embedded_doc_type=int),
                dict(ftype=ll.FloatField, embedded_doc_type=ll.Classification),
                dict(ftype=ll.FloatField, subfield=ll.StringField)]:
        with pytest.raises(ValidationError):
            ds.add_sample_field("x", **bad)
    assert "x" not in ds.get_field_schema()


# -- one live sample per id -------------------------------------------------------------------------------

def test_reading_an_id_again_gives_the_same_sample(backend):
    ds = small_dataset()
    sample = ds.first()
    assert ds.first() is sample and ds[sample.id] is sample
    assert next(iter(ds)) is sample and ds.head(1)[0] is sample
    assert ds.match({}).first() is not sample  # a view's samples are SampleViews


def test_a_save_through_a_view_is_seen_by_the_dataset_sample(backend):
    ds = small_dataset()
    sample = ds.first()
    sample["note"] = "mine"  # unsaved: kept across the refresh
    view_sample = ds.match(ll.F("i") == 0).first()
    view_sample["int"] = 5
    view_sample.save()
    assert sample.int == 5 and sample.note == "mine"
    sample.save()
    assert ds.values("note")[0] == "mine" and ds.values("int")[0] == 5


def test_bulk_writes_and_field_changes_are_seen_by_live_samples(backend):
    ds = small_dataset()
    sample = ds.first()
    ds.set_values("score", [0.1, 0.2, 0.3])
    assert sample.score == 0.1
    ds.match(ll.F("i") == 0).set_values("gt.label", ["dog"])
    assert sample.gt.label == "dog"
    ds.tag_samples("new")
    assert "new" in sample.tags
    ds.rename_sample_field("score", "s")
    assert sample.s == 0.1 and "score" not in sample
    ds.delete_sample_field("s")
    assert "s" not in sample


def test_label_decisions_and_reverts_are_seen_by_live_samples(backend):
    ds = ll.Dataset()
    sample_id = ds.add_sample(ll.Sample("/a.png", gt=ll.Classification()))
    sample = ds[sample_id]
    assert sample.gt.label is None
    entries = ds.apply_label_changes("gt", [LabelChange(sample_id, "cat", "pick", seen_label=None)])
    assert sample.gt.label == "cat" and "relabeled" in sample.tags
    ds.revert_labels(entries)
    assert sample.gt.label is None and sample.tags == []


def test_reload_drops_unsaved_changes_and_deletion_unbinds(backend):
    ds = small_dataset()
    sample = ds.first()
    sample["i"] = 100
    sample.reload()
    assert sample.i == 0
    ds.delete_samples([sample.id])
    assert sample.id is None and not sample.in_dataset and sample.i == 0
    with pytest.raises(SampleNotFoundError):
        ds[ObjectId()]
    last = ds.first()
    ds.clear()
    assert last.id is None and last.i == 1


def test_samples_kept_from_a_long_iteration_are_live(backend):
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(f"/img/{i}.png", i=i) for i in range(250))
    kept = [s for s in ds.iter_samples(batch_size=200) if s.i % 100 == 0]  # pages past the eager size
    ds.set_values("x", list(range(250)))
    assert [s.x for s in kept] == [0, 100, 200]
    assert next(iter(ds.iter_samples(batch_size=200))) is kept[0]
    assert ds[kept[2].id] is kept[2]
