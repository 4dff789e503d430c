"""Samples: adding, reading, saving only changes, dynamic schema, bulk columns."""

import datetime as dt

import numpy as np
import pytest

import labellens as ll
from labellens.errors import (
    FieldNotFoundError,
    InvalidFieldNameError,
    SampleNotFoundError,
    SchemaError,
    ValidationError,
)


def make_dataset(n=5):
    ds = ll.Dataset()
    ids = ds.add_samples(
        ll.Sample(f"/data/{i}.png", tags=["test"],
                  ground_truth=ll.Classification(label=["cat", "dog"][i % 2]))
        for i in range(n))
    return ds, ids


def test_add_samples_streams_a_generator_and_returns_ids(backend):
    ds, ids = make_dataset(5)
    assert len(ds) == 5 and len(ids) == 5 and len(set(ids)) == 5
    assert ds.values("id") == ids
    assert ds[ids[2]].filepath == "/data/2.png"
    assert ds.first().id == ids[0] and [s.id for s in ds.head(2)] == ids[:2]


def test_add_sample_binds_the_sample(backend):
    ds = ll.Dataset()
    sample = ll.Sample("/x.png")
    sample_id = ds.add_sample(sample)
    assert sample.id == sample_id
    sample["score"] = 0.5
    sample.save()
    assert ds[sample_id].score == 0.5


def test_tutorial_edit_pattern(backend):
    ds, ids = make_dataset(4)
    for sample in ds.take(2, seed=1):
        sample.tags.append("mistake")
        sample.ground_truth = ll.Classification(label="ship")
        sample.save()
    assert len(ds.match_tags("mistake")) == 2
    assert sorted(ds.match_tags("mistake").values("ground_truth.label")) == ["ship", "ship"]


def test_dynamic_fields_by_item_and_attribute(backend):
    ds, ids = make_dataset(1)
    sample = ds[ids[0]]
    sample["when"] = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    sample.count = 3
    sample.scores = [0.1, 0.2]
    sample.extra = {"a": 1}
    sample.embedding = np.arange(6, dtype=np.float32).reshape(2, 3)
    sample.save()
    back = ds[ids[0]]
    assert back.when == dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    assert back.count == 3 and back.scores == [0.1, 0.2] and back.extra == {"a": 1}
    np.testing.assert_array_equal(back.embedding, np.arange(6).reshape(2, 3))
    schema = ds.get_field_schema()
    assert schema["when"] == "DateTimeField" and schema["count"] == "IntField"
    assert schema["scores"] == "ListField(FloatField)" and schema["embedding"] == "ArrayField"


def test_save_writes_only_changed_fields(backend):
    ds, ids = make_dataset(1)
    first, second = ds[ids[0]], ds[ids[0]]
    first["a"] = 1
    first.save()
    second["b"] = 2
    second.save()
    back = ds[ids[0]]
    assert back.a == 1 and back.b == 2


def test_reload_and_clear_field(backend):
    ds, ids = make_dataset(1)
    sample = ds[ids[0]]
    sample["note"] = "x"
    sample.save()
    sample["note"] = "unsaved"
    sample.reload()
    assert sample.note == "x"
    del sample["note"]
    sample.save()
    assert "note" not in ds[ids[0]]


def test_wrong_type_for_declared_field_writes_nothing(backend):
    ds, ids = make_dataset(2)
    ds.set_values("score", [0.5, 1])
    sample = ds[ids[0]]
    sample.score = "high"
    with pytest.raises(SchemaError, match="field 'score' holds FloatField"):
        sample.save()
    assert ds.values("score") == [0.5, 1]
    with pytest.raises(SchemaError):
        ds.set_values("score", ["a", "b"])
    assert ds.values("score") == [0.5, 1]
    with pytest.raises(SchemaError):
        ds.add_samples([ll.Sample("/ok.png"), ll.Sample("/bad.png", score="no")])
    assert len(ds) == 2


@pytest.mark.parametrize("name", ["$x", "a.b", "_id", "id", ""])
def test_bad_field_names_raise(backend, name):
    ds, ids = make_dataset(1)
    sample = ds[ids[0]]
    with pytest.raises(InvalidFieldNameError):
        sample[name] = 1
    with pytest.raises((InvalidFieldNameError, FieldNotFoundError)):
        ds.set_values(name, [1])


def test_unknown_sample_and_field(backend):
    ds, ids = make_dataset(1)
    with pytest.raises(SampleNotFoundError):
        ds["0" * 24]
    with pytest.raises(SampleNotFoundError):
        ds["not-an-id"]
    with pytest.raises(FieldNotFoundError, match="no field 'nope'"):
        ds.values("nope")
    with pytest.raises(AttributeError):
        ds[ids[0]].nope  # noqa: B018


def test_values_and_set_values(backend):
    ds, ids = make_dataset(4)
    ds.set_values("pred", [ll.Classification(label="cat", confidence=0.9, logits=[1.0, 2.0])] * 4)
    ds.set_values("score", np.array([0.1, 0.2, 0.3, 0.4]))
    np.testing.assert_allclose(ds.values("score", as_numpy=True), [0.1, 0.2, 0.3, 0.4])
    assert ds.values("pred.label") == ["cat"] * 4
    logits = ds.values("pred.logits", as_numpy=True)
    assert logits.shape == (4, 2) and logits.dtype == np.float32
    assert all(isinstance(p, ll.Classification) for p in ds.values("pred"))
    ds.set_values("score", [9.0, 8.0], ids=[ids[3], ids[0]])
    assert ds.values("score") == [8.0, 0.2, 0.3, 9.0]
    with pytest.raises(ValidationError, match="3 values for 4 samples"):
        ds.set_values("score", [1.0, 2.0, 3.0])
    assert ds.values("score") == [8.0, 0.2, 0.3, 9.0]


def test_samples_read_in_batches_are_each_bound_to_their_own_document(backend):
    ds, ids = make_dataset(5)
    view = ds.sort_by("filepath", reverse=True)
    samples = list(view.iter_samples(batch_size=2))  # three batches from the database
    assert [s.id for s in samples] == view.values("id") == ids[::-1]
    assert all(s.dataset is ds and isinstance(s, ll.SampleView) for s in samples)
    assert [s.filepath for s in samples] == [f"/data/{i}.png" for i in range(4, -1, -1)]
    samples[3]["score"] = 0.25
    samples[3].save()
    assert ds[ids[1]].score == 0.25 and ds.count("score") == 1
    assert [s.id for s in ds.head(2)] == ids[:2] and ds.first().id == ids[0]


def test_iter_samples_autosave(backend):
    ds, ids = make_dataset(5)
    for sample in ds.iter_samples(autosave=True, batch_size=2):
        sample["idx"] = int(sample.filepath.split("/")[-1].split(".")[0])
    assert ds.values("idx") == [0, 1, 2, 3, 4]


def test_delete_samples_and_clear(backend):
    ds, ids = make_dataset(5)
    ds.delete_samples(ids[:2])
    assert ds.values("id") == ids[2:]
    ds.delete_samples(ds[ids[2]])
    assert len(ds) == 2
    ds.clear()
    assert len(ds) == 0 and "ground_truth" in ds.get_field_schema()


def test_field_management(backend):
    ds, ids = make_dataset(2)
    ds.add_sample_field("reviewed", "BooleanField")
    assert ds.get_field_schema()["reviewed"] == "BooleanField"
    ds.set_values("score", [1.0, 2.0])
    ds.rename_sample_field("score", "quality")
    assert ds.values("quality") == [1.0, 2.0] and "score" not in ds.get_field_schema()
    ds.delete_sample_field("quality")
    assert "quality" not in ds.get_field_schema() and "quality" not in ds[ids[0]]
    with pytest.raises(InvalidFieldNameError):
        ds.delete_sample_field("filepath")


def test_print_sample(backend):
    ds, ids = make_dataset(1)
    text = str(ds[ids[0]])
    assert text.startswith("<Sample: {\n    'id': '")
    assert "'media_type': 'image'," in text and "'ground_truth': <Classification: {" in text
    assert "SampleView" in str(ds.limit(1).first())


def test_compute_metadata(backend, tmp_path):
    from PIL import Image

    good = tmp_path / "good.png"
    Image.new("RGB", (7, 5)).save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    ds = ll.Dataset()
    ds.add_samples([ll.Sample(good), ll.Sample(bad), ll.Sample(tmp_path / "missing.png")])
    with pytest.warns(UserWarning, match="2 images could not be read"):
        failed = ds.compute_metadata()
    assert sorted(failed) == sorted([str(bad), str(tmp_path / "missing.png")])
    meta = ds.values("metadata")
    assert meta[0].width == 7 and meta[0].height == 5 and meta[0].mime_type == "image/png"
    assert meta[1] is None and meta[2] is None


def test_add_samples_streams_without_holding_the_generator(backend):
    ds = ll.Dataset()
    lag = []

    def samples():
        for i in range(5000):
            if i % 500 == 0:
                lag.append(i - len(ds))  # samples made but not yet stored
            yield ll.Sample(f"/stream/{i}.png")

    ids = ds.add_samples(samples(), batch_size=1000)
    assert len(ids) == 5000 == len(ds)
    assert max(lag) <= 3 * 1000, "at most the batch being built plus two queued writes"


def test_add_samples_pauses_the_collector_but_collects_the_generators_cycles(backend, monkeypatch):
    """The cyclic collector is off during add_samples (speed) and on again after it, even on an
    error; reference cycles the caller's generator makes are collected along the way."""
    import gc
    import weakref

    from labellens.dataset import writer

    monkeypatch.setattr(writer, "COLLECT_EVERY", 2)

    class Node:
        pass

    made, most_alive = [], 0

    def samples():
        nonlocal most_alive
        for i in range(400):
            node = Node()
            node.me = node  # a cycle that only the collector frees
            made.append(weakref.ref(node))
            most_alive = max(most_alive, sum(ref() is not None for ref in made))
            assert not gc.isenabled()
            yield ll.Sample(f"/cycles/{i}.png")

    ds = ll.Dataset()
    assert gc.isenabled()
    ds.add_samples(samples(), batch_size=10)
    assert gc.isenabled()
    # Paused for the whole call, all 400 would still be alive at the end; collected every 2
    # batches, about 2 batches' worth are (plus the one the generator held at each collection).
    assert most_alive < 100
    with pytest.raises(ValidationError):
        ds.add_samples([ll.Sample("/cycles/ok.png"), "not a sample"])
    assert gc.isenabled() and len(ds) == 400
