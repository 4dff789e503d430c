"""One value codec: every value round-trips exactly through every write and read path, on both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from bson import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import labellens as ll
from labellens import codec
from labellens.errors import SchemaError

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", ">i4", "<f8"]


def test_label_attribute_array_keeps_dtype_and_shape(backend):
    ds = ll.Dataset()
    ds.add_samples([ll.Sample(filepath="a.jpg", pred=ll.Classification(
        label="cat", heatmap=np.arange(6, dtype=np.int64).reshape(2, 3), logits=[1.0, 2.0]))])
    for heatmap in (ds.values("pred.heatmap")[0], ds.first().pred.heatmap, ds.values("pred")[0].heatmap):
        assert heatmap.dtype == np.int64 and heatmap.shape == (2, 3)
        np.testing.assert_array_equal(heatmap, np.arange(6).reshape(2, 3))
    logits = ds.values("pred.logits")[0]
    assert logits.dtype == np.float32
    np.testing.assert_array_equal(logits, [1.0, 2.0])


def test_logits_stay_compact_float32_binary_and_old_documents_read():
    label = ll.Classification(label="cat", logits=np.array([0.5, -1], np.float64))
    stored = label.to_mongo()
    assert stored["logits"] == np.array([0.5, -1], "<f4").tobytes()
    back = ll.Classification.from_mongo(stored)
    assert back.logits.dtype == np.float32 and back == label


def test_raw_bytes_and_cls_keys_are_refused():
    with pytest.raises(SchemaError, match="numpy array"):
        codec.encode({"a": b"\x00"})
    with pytest.raises(SchemaError, match="_cls"):
        codec.encode({"_cls": "ndarray"})
    with pytest.raises(SchemaError, match="numpy array"):
        ll.Classification(label="cat", blob=b"\x00").to_mongo()


def _datetimes() -> st.SearchStrategy[dt.datetime]:
    # BSON stores milliseconds; the client reads tz-aware UTC.
    return st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                        timezones=st.just(dt.UTC)).map(
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


_arrays = st.sampled_from(DTYPES).flatmap(lambda dtype: hnp.arrays(
    np.dtype(dtype), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1),
                     st.floats(allow_nan=False), st.text(max_size=8), _datetimes())
_keys = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=6)
_nested = st.recursive(st.one_of(_scalars, _arrays), lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)), max_leaves=6)
_labels = st.builds(
    lambda label, conf, logits, extra: ll.Classification(label=label, confidence=conf, logits=logits,
                                                         **extra),
    st.text(max_size=5), st.one_of(st.none(), st.floats(0, 1)),
    st.one_of(st.none(), hnp.arrays(np.float32, st.integers(1, 5),
                                    elements=st.floats(-1e6, 1e6, width=32))),
    st.dictionaries(st.sampled_from(["heatmap", "note", "extra", "scores"]), _nested, max_size=3))
_values = st.one_of(_nested, _labels, st.builds(lambda c: ll.Classifications(classifications=c),
                                                st.lists(_labels, max_size=2)))


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, list) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, ll.Label):
        return (type(a) is type(b) and a.field_values().keys() == b.field_values().keys()
                and all(_equal(v, b.field_values()[k]) for k, v in a.field_values().items()))
    return type(a) is type(b) and a == b


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(_values.filter(lambda v: v is not None), min_size=1, max_size=3))
def test_random_values_round_trip_through_every_path(backend, values):
    ds = ll.Dataset()
    # One field per value, so values of different types never share a field.
    ds.add_samples([ll.Sample(filepath=f"{i}.jpg", **{f"a{i}": v}) for i, v in enumerate(values)])
    ids = ds.values("id")
    for i, value in enumerate(values):
        ds.set_values(f"b{i}", [value], ids=[ids[i]])
        sample = ds[ids[i]]
        sample[f"c{i}"] = value
        sample.save()
    by_id = {s.id: s for s in ds}
    for i, value in enumerate(values):
        for prefix in "abc":
            field = f"{prefix}{i}"
            assert _equal(value, ds.values(field)[i]), field
            assert _equal(value, ds[ids[i]][field]), field
            assert _equal(value, by_id[ids[i]][field]), field
    assert all(isinstance(i, str) and ObjectId.is_valid(i) for i in ids)


def test_app_json_shows_label_arrays_with_their_shape():
    from labellens.server.query import to_json
    heatmap = np.arange(6, dtype=np.int64).reshape(2, 3)
    label = ll.Classification(label="cat", heatmap=heatmap, logits=[1.0, 2.0])
    shown = to_json(label.to_mongo())
    assert shown["heatmap"] == [[0, 1, 2], [3, 4, 5]] and shown["logits"] == [1.0, 2.0]


def test_a_bad_label_after_many_good_ones_writes_nothing(backend):
    """Labels are encoded batch by batch during the write; one that cannot be stored still stops
    the call before its first batch."""
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(f"/img/{i}.png") for i in range(25_000))
    labels = [ll.Classification(label="cat", logits=[0.0, 1.0]) for _ in range(25_000)]
    labels[-1] = ll.Classification(label="cat", note=2**70)  # an extra attribute BSON cannot hold
    with pytest.raises(SchemaError, match="64 bits"):
        ds.set_values("pred", labels)
    assert "pred" not in ds.get_field_schema()
    labels[-1] = ll.Classification(label="dog")
    ds.set_values("pred", labels)
    assert ds.count_values("pred.label") == {"cat": 24_999, "dog": 1}
    np.testing.assert_array_equal(ds.first().pred.logits, [0.0, 1.0])
