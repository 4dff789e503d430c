"""The aggregation syntax of the FiftyOne-style expression methods (pure: no database)."""

from __future__ import annotations

from labellens import F
from labellens.expr import check_safe, compile_expr, field_paths
from labellens.expr.compile import MONGOD_ONLY


def regex(value: str, pattern: str, options: str = "") -> dict:
    spec = {"input": {"$ifNull": [value, ""]}, "regex": pattern}
    return {"$regexMatch": {**spec, "options": options} if options else spec}


def test_string_tests_are_escaped_regexes_or_exact_membership() -> None:
    assert compile_expr(F("s").contains_str("a.b")) == regex("$s", r"a\.b")
    either = F("s").contains_str(["a", "b+"], case_sensitive=False)
    assert compile_expr(either) == regex("$s", r"(?:a|b\+)", "i")
    assert compile_expr(F("s").starts_with(["x", "y"])) == regex("$s", "^(?:x|y)")
    assert compile_expr(F("s").ends_with("Z", case_sensitive=False)) == regex("$s", "Z$", "i")
    assert compile_expr(F("s").matches_str(["a", "$b"])) == {
        "$in": [{"$ifNull": ["$s", None]}, ["a", {"$literal": "$b"}]]}
    assert compile_expr(F("s").matches_str("AbC", case_sensitive=False)) == {
        "$in": [{"$toLower": {"$ifNull": ["$s", ""]}}, ["abc"]]}


def test_conditions_arrays_and_numbers() -> None:
    assert compile_expr((F("x") > 1).if_else("big", F("y"))) == {
        "$cond": [{"$gt": [{"$ifNull": ["$x", None]}, 1]}, "big", "$y"]}
    assert compile_expr(F("a").max()) == {"$max": "$a"}
    assert compile_expr(F("x").min(0)) == {"$min": ["$x", 0]}
    assert compile_expr(F("a")[-1]) == {"$arrayElemAt": ["$a", -1]}
    assert compile_expr(F("a")[1:3]) == {"$slice": [{"$ifNull": ["$a", []]}, 1, 2]}
    assert compile_expr(F("a")[3:1]) == []
    assert compile_expr(F("x").round(2)) == {"$round": ["$x", 2]}
    assert compile_expr(F("x").trunc()) == {"$trunc": "$x"}
    assert compile_expr(F("x").apply(F() + F("k"))) == {
        "$let": {"vars": {"this": "$x"}, "in": {"$add": ["$$this", "$$this.k"]}}}
    assert compile_expr(F("x").is_null()) == {"$eq": [{"$ifNull": ["$x", None]}, None]}


def test_new_methods_emit_nothing_that_app_safety_refuses() -> None:
    built = [F("s").strip(), F("s").replace("a", "$where"), F("a").reverse(), F("x").type(), F("a").unique(),
             F("s").concat("$function"), F("a").extend([1]), F("x").to_double(), F("s").split("/")]
    for expr in built:
        check_safe(compile_expr(expr), "test")
    assert "round" in MONGOD_ONLY and "contains_str" not in MONGOD_ONLY


def test_a_dollar_path_is_the_samples_field_inside_an_element() -> None:
    labels = F("preds.classifications").filter(F("confidence") > F("$threshold"))
    assert compile_expr(labels)["$filter"]["cond"] == {
        "$gt": [{"$ifNull": ["$$this.confidence", None]}, {"$ifNull": ["$threshold", None]}]}
    assert list(field_paths(labels)) == ["preds.classifications", "threshold"]
    assert compile_expr(F("$gt.id")) == "$gt._id"
