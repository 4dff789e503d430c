"""set_fields: several fields per sample in one bulk write, validated before anything is written."""

from __future__ import annotations

import pytest

import labellens as ll
from labellens.errors import SchemaError, ValidationError


def make(n: int = 6) -> ll.Dataset:
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(f"/img/{i}.png", tags=["even" if i % 2 == 0 else "odd"], score=0.0,
                             gt=ll.Classification(label="cat" if i % 3 else "dog"))
                   for i in range(n))
    return ds


def test_writes_every_column_in_view_order_or_by_id(backend: str) -> None:
    ds = make()
    ds.set_fields({"score": [i / 10 for i in range(6)], "flag": [i % 3 == 0 for i in range(6)],
                   "name": [f"s{i}" for i in range(6)]})
    assert ds.values("score") == [i / 10 for i in range(6)]
    assert ds.values("flag") == [True, False, False, True, False, False]
    assert ds.get_field_schema()["name"] == "StringField"
    odd = ds.match_tags("odd")
    ids = odd.values("id")
    odd.set_fields({"score": [3.0, 2.0, 1.0], "name": [None, "x", None]}, ids=ids[::-1])
    assert odd.values("score") == [1.0, 2.0, 3.0]
    odd.set_fields({"score": [1.0, 2.0, 3.0], "name": [None, "x", None]})
    assert odd.values("score") == [1.0, 2.0, 3.0]
    assert odd.values("name") == [None, "x", None]  # None unsets
    assert ds.match_tags("even").values("score") == [0.0, 0.2, 0.4]


def test_bad_input_writes_nothing(backend: str) -> None:
    ds = make()
    before = ds.values("score")
    with pytest.raises(ValidationError, match="exactly one value per sample"):
        ds.set_fields({"score": [1.0] * 6, "flag": [True] * 5})
    with pytest.raises(SchemaError):
        ds.set_fields({"score": ["not a float"] * 6})
    with pytest.raises(ValidationError, match="mapping"):
        ds.set_fields({})
    with pytest.raises(ValidationError, match="filtered in this view"):
        ds.select_fields("gt.label").set_fields({"gt": [None] * 6})
    assert ds.values("score") == before
    assert "flag" not in ds.get_field_schema()
