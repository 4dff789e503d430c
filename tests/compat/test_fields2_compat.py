"""FiftyOne's documented dataset settings and field keywords (issue 29, second round), in our own
tests on both backends: tags and description, load_dataset(create_if_necessary=), get_field,
values(unwind=), set_values(key_field=) and the aggregations' expr= and safe= keywords."""

from __future__ import annotations

import pytest

import labellens as ll
from labellens import F
from labellens.errors import ValidationError


def numbers() -> ll.Dataset:
    ds = ll.Dataset()
    ds.add_samples([ll.Sample(f"/img/{i}.png", i=i, x=x, tags=tags)
                    for i, (x, tags) in enumerate([(1.0, ["a", "b"]), (float("nan"), []),
                                                   (float("inf"), ["c"]), (3.0, [])])], dynamic=True)
    return ds


def test_tags_are_stored_by_assignment_or_save(backend):
    ds = ll.Dataset()
    assert ds.tags == []
    ds.tags = ["cat", "dog"]
    ds.reload()
    ds.tags.append("rabbit")
    ds.reload()
    assert ds.tags == ["cat", "dog"]
    ds.tags.append("rabbit")
    ds.save()
    assert ll.load_dataset(ds.name).tags == ["cat", "dog", "rabbit"]
    with pytest.raises(ValidationError):
        ds.tags = "cat"


def test_description_is_stored(backend):
    ds = ll.Dataset()
    assert ds.description is None
    ds.description = "Hello"
    assert ll.load_dataset(ds.name).description == "Hello"
    with pytest.raises(ValidationError):
        ds.description = 3


def test_load_dataset_creates_if_necessary(backend):
    made = ll.load_dataset("fields2-new", create_if_necessary=True)
    assert made.name == "fields2-new" and not made.persistent
    assert ll.load_dataset("fields2-new", create_if_necessary=True) == made


def test_get_field_gives_the_type_string_or_none(backend):
    ds = numbers()
    assert ds.get_field("i") == "IntField"
    assert ds.get_field("id") == "ObjectIdField"
    assert ds.get_field("tags") == "ListField(StringField)"
    assert ds.get_field("nope") is None
    assert ds.select_fields().get_field("i") is None


def test_values_unwind_flattens_lists(backend):
    ds = numbers()
    assert ds.values("tags", unwind=True) == ["a", "b", "c"]
    assert ds.values("i", unwind=True) == [0, 1, 2, 3]


def test_set_values_by_key_field(backend):
    ds = numbers()
    ds.set_values("s", {0: "x", 3: "z", 9: "never"}, key_field="i")
    assert ds.values("s") == ["x", None, None, "z"]
    ids = ds.values("id")
    ds.set_values("s", {ids[1]: "y"}, key_field="id")
    assert ds.values("s") == ["x", "y", None, "z"]
    with pytest.raises(ValidationError):
        ds.set_values("s", {0: "x"})
    with pytest.raises(ValidationError):
        ds.set_values("s", ["x"], key_field="i")


def test_aggregation_expr_and_safe(backend):
    ds = numbers()
    assert ds.bounds("i", expr=F() - 0.5) == (-0.5, 2.5)
    assert ds.bounds("x", safe=True) == (1.0, 3.0)
    assert ds.mean("x", safe=True) == 2.0
    assert ds.sum("x", expr=F() * 2, safe=True) == 8.0
    assert ds.count("x", safe=True) == 2
    assert ds.bounds(F("x") * 2, safe=True) == (2.0, 6.0)
    assert ds.std("x", safe=True) == 1.0
    assert ds.histogram_values("x", bins=2, safe=True)[0] == [1, 1]
