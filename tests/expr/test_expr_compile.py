"""Expressions compile to exact aggregation dicts (pure: no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from bson import ObjectId

from labellens import F, ViewField
from labellens.errors import StageError
from labellens.expr import Literal, compile_expr
from labellens.expr.nodes import same


def n(path: str) -> dict:
    """A compared field: missing compares as None."""
    return {"$ifNull": [path, None]}


@pytest.mark.parametrize(("expr", "expected"), [
    (F("x") == 1, {"$eq": [n("$x"), 1]}),
    (F("x") != 1, {"$ne": [n("$x"), 1]}),
    (F("x") < 1, {"$lt": [n("$x"), 1]}),
    (F("x") <= 1, {"$lte": [n("$x"), 1]}),
    (F("x") > 1.5, {"$gt": [n("$x"), 1.5]}),
    (F("x") >= 1, {"$gte": [n("$x"), 1]}),
    (1 < F("x"), {"$gt": [n("$x"), 1]}),  # noqa: SIM300 - the reflected operator
    (F("gt.label") == "cat", {"$eq": [n("$gt.label"), "cat"]}),
])
def test_comparisons(expr, expected) -> None:
    assert compile_expr(expr) == expected


@pytest.mark.parametrize(("expr", "expected"), [
    (F("x") + 1, {"$add": ["$x", 1]}),
    (1 + F("x"), {"$add": [1, "$x"]}),
    (F("x") - 2, {"$subtract": ["$x", 2]}),
    (10 - F("x"), {"$subtract": [10, "$x"]}),
    (F("x") * F("y"), {"$multiply": ["$x", "$y"]}),
    (2 * F("x"), {"$multiply": [2, "$x"]}),
    (F("x") / 4, {"$divide": ["$x", 4]}),
    (1 / F("x"), {"$divide": [1, "$x"]}),
    (F("x") % 3, {"$mod": ["$x", 3]}),
    (-F("x"), {"$multiply": [-1, "$x"]}),
    (abs(F("x") - 3), {"$abs": {"$subtract": ["$x", 3]}}),
    ((F("x") + 1) * 2 > F("y"), {"$gt": [{"$multiply": [{"$add": ["$x", 1]}, 2]}, n("$y")]}),
])
def test_arithmetic(expr, expected) -> None:
    assert compile_expr(expr) == expected


def test_logical_operators_flatten_and_negate() -> None:
    a, b, c = F("x") > 1, F("y") < 2, F("z") == 3
    assert compile_expr(a & b) == {"$and": [{"$gt": [n("$x"), 1]}, {"$lt": [n("$y"), 2]}]}
    assert compile_expr(a | b) == {"$or": [{"$gt": [n("$x"), 1]}, {"$lt": [n("$y"), 2]}]}
    assert compile_expr((a & b) & c) == {"$and": [{"$gt": [n("$x"), 1]}, {"$lt": [n("$y"), 2]},
                                                  {"$eq": [n("$z"), 3]}]}
    assert compile_expr((a | b) | c)["$or"][2] == {"$eq": [n("$z"), 3]}
    assert compile_expr((a | b) & c) == {"$and": [{"$or": [{"$gt": [n("$x"), 1]}, {"$lt": [n("$y"), 2]}]},
                                                  {"$eq": [n("$z"), 3]}]}
    assert compile_expr(~a) == {"$not": {"$gt": [n("$x"), 1]}}


def test_membership_existence_and_length() -> None:
    assert compile_expr(F("gt.label").is_in(["cat", "dog"])) == {"$in": [n("$gt.label"), ["cat", "dog"]]}
    assert compile_expr(F("gt.label").is_in(("cat",))) == {"$in": [n("$gt.label"), ["cat"]]}
    assert compile_expr(F("pred").exists()) == {"$gt": [n("$pred"), None]}
    assert compile_expr(F("pred").exists(False)) == {"$not": {"$gt": [n("$pred"), None]}}
    assert compile_expr(F("tags").length()) == {"$size": {"$ifNull": ["$tags", []]}}


def test_contains_any_and_all() -> None:
    members = {"$filter": {"input": {"$ifNull": ["$tags", []]}, "as": "item",
                           "cond": {"$in": ["$$item", ["a", "b"]]}}}
    assert compile_expr(F("tags").contains(["a", "b"])) == {"$gt": [{"$size": members}, 0]}
    single = compile_expr(F("tags").contains("a"))
    assert single["$gt"][0]["$size"]["$filter"]["cond"] == {"$in": ["$$item", ["a"]]}
    found = {"$filter": {"input": ["a", "b"], "as": "item",
                         "cond": {"$in": ["$$item", {"$ifNull": ["$tags", []]}]}}}
    assert compile_expr(F("tags").contains(["a", "b", "a"], all=True)) == {"$eq": [{"$size": found}, 2]}


def test_string_matching() -> None:
    assert compile_expr(F("name").starts_with("img_0")) == {
        "$regexMatch": {"input": {"$ifNull": ["$name", ""]}, "regex": "^img_0"}}
    assert compile_expr(F("name").ends_with(".png")) == {
        "$regexMatch": {"input": {"$ifNull": ["$name", ""]}, "regex": r"\.png$"}}
    assert compile_expr(F("name").starts_with("a+b(")) == {
        "$regexMatch": {"input": {"$ifNull": ["$name", ""]}, "regex": r"^a\+b\("}}
    assert compile_expr(F("name").re_match(r"_\d$")) == {
        "$regexMatch": {"input": {"$ifNull": ["$name", ""]}, "regex": r"_\d$"}}
    assert compile_expr(F("name").re_match("^IMG", options="i")) == {
        "$regexMatch": {"input": {"$ifNull": ["$name", ""]}, "regex": "^IMG", "options": "i"}}


def test_filter_and_map_over_label_lists() -> None:
    labels = F("preds.classifications")
    assert compile_expr(labels.filter(F("confidence") > 0.5)) == {
        "$filter": {"input": {"$ifNull": ["$preds.classifications", []]}, "as": "this",
                    "cond": {"$gt": [n("$$this.confidence"), 0.5]}}}
    assert compile_expr(labels.map(F("label"))) == {
        "$map": {"input": {"$ifNull": ["$preds.classifications", []]}, "as": "this",
                 "in": "$$this.label"}}
    assert compile_expr(F("tags").filter(F() != "x").length()) == {"$size": {"$ifNull": [
        {"$filter": {"input": {"$ifNull": ["$tags", []]}, "as": "this", "cond": {"$ne": [n("$$this"), "x"]}}},
        []]}}
    nested = labels.filter(F("tags").contains("bad"))
    assert compile_expr(nested)["$filter"]["cond"]["$gt"][0]["$size"]["$filter"]["input"] == {
        "$ifNull": ["$$this.tags", []]}


def test_field_against_field() -> None:
    assert compile_expr(F("ground_truth.label") != F("predictions.label")) == {
        "$ne": [n("$ground_truth.label"), n("$predictions.label")]}
    assert compile_expr(F("gt.confidence") >= F("pred.confidence")) == {
        "$gte": [n("$gt.confidence"), n("$pred.confidence")]}


def test_ids_and_literals() -> None:
    oid = ObjectId()
    when = dt.datetime(2024, 1, 2)
    assert compile_expr(F("id") == oid) == {"$eq": [n("$_id"), oid]}
    assert compile_expr(F("gt.id").exists()) == {"$gt": [n("$gt._id"), None]}
    assert compile_expr(F("t") > when) == {"$gt": [n("$t"), when]}
    assert compile_expr(F("s") == "$notafield") == {"$eq": [n("$s"), {"$literal": "$notafield"}]}
    assert compile_expr(F("d") == {"a": 1}) == {"$eq": [n("$d"), {"$literal": {"a": 1}}]}
    assert compile_expr(F("x") == None) == {"$eq": [n("$x"), None]}  # noqa: E711 - builds an expression
    assert compile_expr(Literal(True)) is True
    assert ViewField is F


def test_building_needs_no_dataset_and_nodes_are_immutable() -> None:
    base = F("x")
    bigger = base > 1
    assert same(base, F("x")) and not same(bigger, base)
    assert same(F("a").b, F("a.b"))
    assert compile_expr(base) == "$x"


@pytest.mark.parametrize("build", [
    lambda: bool(F("x") > 1),
    lambda: (F("x") > 1) and (F("y") > 1),
    lambda: F("x").is_in("abc"),
    lambda: F("x").is_in(5),
    lambda: F("x").starts_with(3),
    lambda: F("x").ends_with(None),
    lambda: F("x").re_match(1),
    lambda: F("x").filter("cat"),
    lambda: F("x").map(3),
    lambda: F(3),
    lambda: compile_expr(F()),
    lambda: compile_expr(F("x") == object()),
    lambda: compile_expr("not a node"),
])
def test_bad_expressions_raise_stage_error(build) -> None:
    with pytest.raises(StageError):
        build()
