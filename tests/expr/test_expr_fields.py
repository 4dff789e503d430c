"""The fields an expression names, ``between``, and the plain query form (pure: no database)."""

from __future__ import annotations

import pytest

from labellens import F
from labellens.errors import FieldNotFoundError
from labellens.expr import compile_expr, field_paths, plain_query, raw_field_paths


def n(path: str) -> dict:
    return {"$ifNull": [path, None]}


class Known:
    def __init__(self, *names: str) -> None:
        self.names, self.checked = names, []

    def check_field(self, path: str) -> None:
        self.checked.append(path)
        if path.split(".")[0] not in self.names:
            raise FieldNotFoundError(path)


def test_between_compiles_to_an_inclusive_range() -> None:
    assert compile_expr(F("x").between(1, 2)) == {"$and": [{"$gte": [n("$x"), 1]}, {"$lte": [n("$x"), 2]}]}


def test_field_paths_leave_out_fields_relative_to_an_element() -> None:
    expr = (F("a.b") > F("c")) & F("labels").filter(F("confidence") > 0.5).map(F("label")).contains("x")
    assert list(field_paths(expr)) == ["a.b", "c", "labels"]
    assert list(field_paths(F("label") == "cat", element=True)) == []


def test_compile_expr_checks_fields_against_the_context_only_when_given() -> None:
    known = Known("a")
    assert compile_expr(F("a.x") + 1, known) == {"$add": ["$a.x", 1]}
    assert known.checked == ["a.x"]
    with pytest.raises(FieldNotFoundError):
        compile_expr(F("a") > F("typo"), known)
    assert compile_expr(F("typo") > 1) == {"$gt": [n("$typo"), 1]}
    assert compile_expr(F("typo") > 1, known, element=True) == {"$gt": [n("$$this.typo"), 1]}


def test_plain_query_only_for_literal_between_and_is_in_on_a_field() -> None:
    def path(p: str) -> str:
        return p.replace("id", "_id")
    assert plain_query(F("x").between(0, 1), path) == {"x": {"$gte": 0, "$lte": 1}}
    assert plain_query(F("id").is_in(["a", "b"]), path) == {"_id": {"$in": ["a", "b"]}}
    assert plain_query(F("x").between(F("y"), 1), path) is None
    assert plain_query((F("x") + 1).is_in([1]), path) is None
    assert plain_query(F("x") > 1, path) is None


def test_raw_field_paths_of_query_and_expression_dicts() -> None:
    query = {"a.b": 1, "$or": [{"c": 2}, {"$expr": {"$gt": ["$d.e", {"$literal": "$no"}, "$$this.no"]}}],
             "f": {"$elemMatch": {"no": 1}}}
    assert list(raw_field_paths(query)) == ["a.b", "c", "d.e", "f"]
    assert list(raw_field_paths({"$add": ["$g", 1]}, expression=True)) == ["g"]


def test_switch_conditions_are_relative_to_the_switched_value() -> None:
    expr = F("a").switch({F("b") > 1: F("c")}, default=F("d"))
    assert list(field_paths(expr)) == ["a", "c", "d"]
