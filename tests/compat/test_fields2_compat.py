"""FiftyOne's documented dataset settings and field keywords (issue 29, second round), in our own
tests on both backends: tags and description, load_dataset(create_if_necessary=), get_field,
values(unwind=), set_values(key_field=) and the aggregations' expr= and safe= keywords."""

from __future__ import annotations

import pytest

import labellens as ll
from labellens import F
from labellens.errors import FieldNotFoundError, InvalidFieldNameError, ValidationError


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
    ds.set_values("s", {0: "x", 3: "z"}, key_field="i")
    assert ds.values("s") == ["x", None, None, "z"]
    with pytest.raises(ValidationError, match="no sample has i=9"):
        ds.set_values("s", {0: "changed", 9: "never"}, key_field="i")
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


def test_sample_merge_adds_fields_and_list_items(backend):
    s1 = ll.Sample("/img/a.png", foo="bar", tags=["a"],
                   gt=ll.Classifications(classifications=[ll.Classification(label="x")]))
    s2 = ll.Sample("/img/a.png", spam="eggs", foo=None, tags=["b"],
                   gt=ll.Classifications(classifications=[ll.Classification(label="y")]))
    s1.merge(s2)
    s1.merge(ll.Sample("/img/a.png", tags=[]))
    assert (s1.tags, s1.foo, s1.spam) == (["a", "b"], "bar", "eggs")
    assert [c.label for c in s1.gt.classifications] == ["x", "y"]
    other = ll.Sample("/img/a.png", foo="new", spam="ham")
    s1.merge(other, overwrite=False)
    assert (s1.foo, s1.spam) == ("bar", "eggs")
    s1.merge(other, fields=["foo"])
    assert (s1.foo, s1.spam) == ("new", "eggs")
    s1.merge(other, omit_fields="foo", merge_lists=False)
    assert s1.spam == "ham"
    ds = ll.Dataset()
    ds.add_sample(s1)
    s1.merge(ll.Sample("/img/a.png", z=1))
    s1.save()
    assert ds.values("z") == [1]
    with pytest.raises(ValidationError):
        s1.merge({"z": 2})


def test_dotted_item_is_an_attribute_of_an_embedded_label(backend):
    s = ll.Sample("/img/a.png", gt=ll.Classification(label="a"), x=1)
    s["gt.foo"] = "bar"
    assert (s.gt.foo, s["gt.foo"], s["gt.label"]) == ("bar", "bar", "a")
    with pytest.raises(ValidationError):
        s["x.foo"] = 1
    with pytest.raises(InvalidFieldNameError):  # not a field: a new field's name cannot have a dot
        s["nope.foo"] = 1
    with pytest.raises(FieldNotFoundError):
        s["gt.nope"]
    ds = ll.Dataset()
    ds.add_sample(s)
    s["gt.label"] = "b"
    s.save()
    assert ds.values("gt.label") == ["b"] and ds.values("gt.foo") == ["bar"]


def test_clone_sample_field_id(backend):
    ds = numbers()
    ds.clone_sample_field("id", "sample_id")
    assert ds.values("sample_id") == ds.values("id")
    assert ds.get_field("sample_id") == "ObjectIdField"


def test_values_of_several_paths(backend):
    ds = numbers()
    ids = ds.values("id")
    assert ds.values(["i", "id", "tags"]) == [[0, 1, 2, 3], ids, [["a", "b"], [], ["c"], []]]
    assert ds.values(["tags", "i"], unwind=True) == [["a", "b", "c"], [0, 1, 2, 3]]


def test_flat_schema_lists_declared_label_attributes(backend):
    ds = ll.Dataset()
    ds.add_sample(ll.Sample("/img/a.png", gt=ll.Classification(label="a", note="extra"),
                            p=ll.Classifications(classifications=[ll.Classification(label="b")])))
    flat = ds.get_field_schema(flat=True)
    assert list(ds.get_field_schema()) == [k for k in flat if "." not in k]
    assert flat["gt.label"] == "StringField" and flat["gt.confidence"] == "FloatField"
    assert flat["p.classifications"] == "ListField(EmbeddedDocumentField(Classification))"
    assert flat["p.classifications.id"] == "ObjectIdField"
    assert "gt.note" not in flat  # extra attributes are stored, not declared
    assert ds.get_field("p.classifications.label") == "StringField"
    assert "p.classifications.label" not in ds.select_fields("gt").get_field_schema(flat=True)
