"""FiftyOne's behaviour found by the second fo-check round (issue 29), in our own tests on both
backends: dates from distinct/bounds, histogram's ``other``, numpy and ObjectId values in memory,
a refused ``default_classes`` save, SchemaError as a ValueError, and Python's rounding of expressions."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from bson import ObjectId

import labellens as ll
from labellens import F, codec
from labellens.errors import SchemaError, ValidationError
from labellens.expr import compile_expr


def nan_inf_dataset() -> ll.Dataset:
    ds = ll.Dataset()
    values = [1.0, -math.inf, math.inf, math.nan, None]
    ds.add_samples([*(ll.Sample(f"/img/{i}.png", x=v) for i, v in enumerate(values)),
                    ll.Sample("/img/z.png")])
    return ds


def test_distinct_bounds_and_count_values_of_a_date_field_give_dates(backend):
    ds = ll.Dataset()
    days = [dt.date(2020, 1, 3), dt.date(2020, 1, 2), None]
    ds.add_samples(ll.Sample(f"/img/{i}.png", day=d, days=[d] if d else []) for i, d in enumerate(days))
    assert ds.distinct("day") == [dt.date(2020, 1, 2), dt.date(2020, 1, 3)]
    assert ds.bounds("day") == (dt.date(2020, 1, 2), dt.date(2020, 1, 3))
    assert ds.count_values("day") == {dt.date(2020, 1, 2): 1, dt.date(2020, 1, 3): 1, None: 1}
    assert ds.distinct("days") == [dt.date(2020, 1, 2), dt.date(2020, 1, 3)]
    low, _ = ds.aggregate([ll.Bounds("day"), ll.Count()])[0]
    assert type(low) is dt.date and ds.aggregate(ll.Bounds("day", safe=True)) == ds.bounds("day")
    ds.add_sample(ll.Sample("/img/t.png", when=dt.datetime(2020, 1, 2, tzinfo=dt.UTC)))
    assert isinstance(ds.bounds("when")[0], dt.datetime)  # a DateTimeField stays datetimes


def test_histogram_other_counts_nan_inf_none_and_missing(backend):
    ds = nan_inf_dataset()
    counts, edges, other = ds.histogram_values("x", bins=2, range=(0, 2))
    assert (counts, edges, other) == ([0, 1], [0.0, 1.0, 2.0], 5)
    assert ds.aggregate(ll.Bounds("x", safe=True)) == (1.0, 1.0)
    assert ds.bounds("x")[1] == math.inf  # without safe=True nan and inf count


def test_histogram_default_range_is_the_finite_bounds(backend):
    counts, edges, other = nan_inf_dataset().histogram_values("x")
    assert sum(counts) == 1 and other == 5 and edges[0] == 1.0


def test_numpy_scalars_in_lists_and_dicts_become_python_numbers():
    values = [np.float32(1.5), [np.int64(2)], {"b": np.bool_(True)}, "s"]
    same = codec.python_value(values)
    assert same is values and values == [1.5, [2], {"b": True}, "s"]
    assert [type(values[0]), type(values[1][0]), type(values[2]["b"])] == [float, int, bool]
    stamp = np.datetime64("2020-01-01")
    assert codec.python_value(stamp) is stamp


def test_numpy_scalars_in_a_list_are_python_numbers_once_added(backend):
    ds = ll.Dataset()
    sample = ll.Sample("/a.png", l=[np.float32(1), np.int32(2)])
    ds.add_sample(sample)
    assert [type(v) for v in sample.l] == [float, int]
    assert ds.values("l") == [[1.0, 2]]


def test_object_id_on_a_sample_outside_a_dataset_reads_as_a_string(backend):
    oid = ObjectId()
    sample = ll.Sample("/a.png", ref=oid)
    assert sample.ref == str(oid) and sample["ref"] == str(oid)
    ds = ll.Dataset()
    ds.add_sample(sample)
    assert ds.get_field_schema()["ref"] == "ObjectIdField"
    assert len(ds.match({"ref": oid})) == 1 and sample.ref == str(oid)


def test_a_refused_default_classes_save_reverts_to_the_stored_classes(backend):
    ds = ll.Dataset()
    ds.default_classes = ["cat"]
    ds.default_classes.append(1)
    with pytest.raises(ValidationError):
        ds.save()
    assert ds.default_classes == ["cat"]
    ds.save()  # the dataset saves again
    assert ll.load_dataset(ds.name).default_classes == ["cat"]


def test_schema_error_is_a_value_error_and_stays_a_type_error(backend):
    assert issubclass(SchemaError, ValueError) and issubclass(SchemaError, TypeError)
    ds = ll.Dataset()
    ds.add_samples([ll.Sample("/a.png", n=1), ll.Sample("/b.png", n=2)])
    with pytest.raises(ValueError):
        ds.set_values("n", ["one", "two"])
    assert ds.values("n") == [1, 2]


def test_python_rounding_and_expression_indexes_build_expressions(backend):
    assert compile_expr(math.floor(F("x"))) == {"$floor": "$x"}
    assert compile_expr(math.ceil(F("x"))) == {"$ceil": "$x"}
    assert compile_expr(math.trunc(F("x"))) == {"$trunc": "$x"}
    assert compile_expr(round(F("x"), 2)) == {"$round": ["$x", 2]}
    assert compile_expr(round(F("x"))) == {"$round": ["$x", 0]}
    assert compile_expr(F("l")[F("i")]) == {"$arrayElemAt": ["$l", "$i"]}
    ds = ll.Dataset()
    ds.add_samples([ll.Sample("/a.png", x=1.5, l=[10, 20, 30], i=2), ll.Sample("/b.png", x=-1.5, l=[7], i=0)])
    assert ds.values(math.floor(F("x"))) == [1, -2] and ds.values(math.ceil(F("x"))) == [2, -1]
    assert ds.values(math.trunc(F("x"))) == [1, -1]
    assert ds.values(F("l")[F("i")]) == [30, 7]
    if backend == "mongod":  # mongomock lacks $round
        assert ds.values(round(F("x") * 1.01, 1)) == [1.5, -1.5]
    with pytest.raises(ll.errors.StageError):
        F("l")[1.5]
