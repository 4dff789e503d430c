"""Expression methods evaluated by the database, on both backends (mongod only where mongomock
lacks the operator: see labellens.expr.compile.MONGOD_ONLY)."""

from __future__ import annotations

import math

import pytest

import labellens as ll
from labellens import F
from labellens.errors import StageError
from labellens.expr.compile import MONGOD_ONLY

ROWS = [
    {"name": "Cat_01.png", "x": 1.25, "n": 3, "vals": [3, 1, 2], "text": "  pad me  "},
    {"name": "dog_02.JPG", "x": -2.5, "n": -4, "vals": [], "text": "a-b-a"},
    {"name": "bird_03.png", "n": 0, "vals": [5]},  # no x, no text
]


@pytest.fixture
def dataset(backend: str) -> ll.Dataset:
    dataset = ll.Dataset()
    dataset.add_samples(ll.Sample(f"/data/{r['name']}", **{k: v for k, v in r.items()}) for r in ROWS)
    return dataset


def evaluated(dataset: ll.Dataset, expr: ll.F) -> list:
    return dataset.aggregate(ll.Values(expr))


PORTABLE = {
    "if_else": (F("n") > 0).if_else("pos", "not pos"),
    "if_else_fields": (F("n") > 0).if_else(F("n"), -F("n")),
    "contains_str": F("name").contains_str("_0"), "contains_str_any": F("name").contains_str(["cat", "bird"]),
    "contains_str_nocase": F("name").contains_str("CAT", case_sensitive=False),
    "matches_str": F("name").matches_str("Cat_01.png"),
    "matches_str_nocase": F("name").matches_str(["cat_01.PNG", "DOG_02.jpg"], case_sensitive=False),
    "starts_with_any": F("name").starts_with(["Cat", "bird"]),
    "starts_with_nocase": F("name").starts_with("CAT", case_sensitive=False),
    "ends_with_nocase": F("name").ends_with(".jpg", case_sensitive=False),
    "max_of_array": F("vals").max(), "min_of_array": F("vals").min(),
    "max_with": F("n").max(1), "min_with": F("n").min(1),
    "sum_of_array": F("vals").sum(), "mean_of_array": F("vals").mean(),
    "length": F("vals").length(), "is_in": F("n").is_in([3, 0]), "contains": F("vals").contains(2),
    "abs": F("n").abs(), "floor": F("x").floor(), "ceil": F("x").ceil(), "trunc": F("x").trunc(),
    "sqrt": F("n").abs().sqrt(), "pow": F("n").pow(2), "log": (F("n").abs() + 1).log(2),
    "lower": F("name").lower(), "upper": F("name").upper(),
    "concat": F("name").concat("!", F("name")), "split": F("name").split("_"),
    "exists": F("x").exists(), "is_null": F("x").is_null(),
    "is_number": F("x").is_number(), "is_array": F("vals").is_array(),
    "to_string": F("n").to_string(), "to_int": F("x").to_int(),
    "item": F("vals")[0], "last_item": F("vals")[-1], "slice": F("vals")[1:3], "slice_from": F("vals")[1:],
    "slice_last": F("vals")[-2:], "append": F("vals").append(9), "prepend": F("vals").prepend(0),
    "extend": F("vals").extend([7, 8]), "apply": F("n").apply(F() * F() + 1),
    "map_upper": F("name").split("_").map(F().upper()),
}
EXPECTED = {
    "if_else": ["pos", "not pos", "not pos"], "if_else_fields": [3, 4, 0],
    "contains_str": [True, True, True], "contains_str_any": [False, False, True],
    "contains_str_nocase": [True, False, False], "matches_str": [True, False, False],
    "matches_str_nocase": [True, True, False], "starts_with_any": [True, False, True],
    "starts_with_nocase": [True, False, False], "ends_with_nocase": [False, True, False],
    "max_of_array": [3, None, 5], "min_of_array": [1, None, 5], "max_with": [3, 1, 1], "min_with": [1, -4, 0],
    "sum_of_array": [6, 0, 5], "mean_of_array": [2.0, None, 5.0],
    "length": [3, 0, 1], "is_in": [True, False, True], "contains": [True, False, False],
    "abs": [3, 4, 0], "floor": [1, -3, None], "ceil": [2, -2, None], "trunc": [1, -2, None],
    "sqrt": [math.sqrt(3), 2.0, 0.0], "pow": [9, 16, 0], "log": [2.0, math.log2(5), 0.0],
    "lower": ["cat_01.png", "dog_02.jpg", "bird_03.png"],
    "upper": ["CAT_01.PNG", "DOG_02.JPG", "BIRD_03.PNG"],
    "concat": ["Cat_01.png!Cat_01.png", "dog_02.JPG!dog_02.JPG", "bird_03.png!bird_03.png"],
    "split": [["Cat", "01.png"], ["dog", "02.JPG"], ["bird", "03.png"]],
    "exists": [True, True, False], "is_null": [False, False, True],
    "is_number": [True, True, False], "is_array": [True, True, True],
    "to_string": ["3", "-4", "0"], "to_int": [1, -2, None],
    "item": [3, None, 5], "last_item": [2, None, 5], "slice": [[1, 2], [], []],
    "slice_from": [[1, 2], [], []], "slice_last": [[1, 2], [], [5]],
    "append": [[3, 1, 2, 9], [9], [5, 9]], "prepend": [[0, 3, 1, 2], [0], [0, 5]],
    "extend": [[3, 1, 2, 7, 8], [7, 8], [5, 7, 8]], "apply": [10, 17, 1],
    "map_upper": [["CAT", "01.PNG"], ["DOG", "02.JPG"], ["BIRD", "03.PNG"]],
}

ON_MONGOD = {
    "round": F("x").round(1), "round_half_even": F("x").round(), "trunc_places": (F("x") * 1.0).trunc(1),
    "strip": F("text").strip(), "lstrip": F("text").lstrip(), "rstrip": F("text").rstrip(),
    "strip_chars": F("text").strip("a"), "replace": F("text").replace("a", "A"), "strlen": F("name").strlen(),
    "type": F("x").type(), "is_string": F("text").is_string(), "is_missing": F("x").is_missing(),
    "to_double": F("n").to_double(), "to_bool": F("n").to_bool(), "reverse": F("vals").reverse(),
}
EXPECTED_ON_MONGOD = {
    "round": [1.2, -2.5, None], "round_half_even": [1.0, -2.0, None], "trunc_places": [1.2, -2.5, None],
    "strip": ["pad me", "a-b-a", None], "lstrip": ["pad me  ", "a-b-a", None],
    "rstrip": ["  pad me", "a-b-a", None], "strip_chars": ["  pad me  ", "-b-", None],
    "replace": ["  pAd me  ", "A-b-A", None], "strlen": [10, 10, 11],
    "type": ["double", "double", "missing"], "is_string": [True, True, False],
    "is_missing": [False, False, True],
    "to_double": [3.0, -4.0, 0.0], "to_bool": [True, True, False], "reverse": [[2, 1, 3], [], [5]],
}


@pytest.mark.parametrize("name", sorted(PORTABLE))
def test_expression_methods_evaluate_as_documented(dataset: ll.Dataset, name: str) -> None:
    found = evaluated(dataset, PORTABLE[name])
    assert found == (pytest.approx(EXPECTED[name]) if name in ("sqrt", "log") else EXPECTED[name])


@pytest.mark.parametrize("name", sorted(ON_MONGOD))
def test_methods_whose_operators_mongomock_lacks_evaluate_on_mongod(dataset: ll.Dataset, backend: str,
                                                                    name: str) -> None:
    if backend == "mongomock":
        pytest.skip("mongomock lacks $round, $trim, $type, $replaceAll, $strLenCP, $toDouble, $toBool "
                    "and $reverseArray")
    assert evaluated(dataset, ON_MONGOD[name]) == EXPECTED_ON_MONGOD[name]


def test_every_mongod_only_method_is_tested_on_mongod() -> None:
    assert {expr.op for expr in ON_MONGOD.values()} >= MONGOD_ONLY


def test_expressions_filter_views_and_sort(dataset: ll.Dataset) -> None:
    assert dataset.match(F("name").contains_str("g_0")).values("n") == [-4]
    either = (F("n") > 0).if_else(F("vals").length() > 2, F("vals").length() == 1)
    assert dataset.match(either).values("n") == [3, 0]
    assert dataset.match(F("vals").max() >= 3).values("n") == [3, 0]
    assert dataset.sort_by(F("vals").length(), reverse=True).values("n") == [3, 0, -4]


def test_expressions_are_not_iterable_and_bad_arguments_raise() -> None:
    for build in (lambda: list(F("x")), lambda: "a" in F("x"), lambda: F("x")[::2], lambda: F("x")[1:-1],
                  lambda: F("x")["a"], lambda: F("x").contains_str([]), lambda: F("x").matches_str(3),
                  lambda: F("x").round(1.5), lambda: F("x").split(None), lambda: F("x").apply("y"),
                  lambda: F("x").strip(3)):
        with pytest.raises(StageError):
            build()


def test_a_dollar_path_reads_the_sample_inside_filter(dataset: ll.Dataset) -> None:
    assert evaluated(dataset, F("vals").filter(F() > F("$n"))) == [[], [], [5]]
    with pytest.raises(StageError):
        evaluated(dataset, F("vals").filter(F() > F("$")))


def test_switch_cases_and_let_in(dataset: ll.Dataset) -> None:
    sign = F("n").switch({F() > 0: "positive", F() < 0: F("name")}, default="zero")
    assert evaluated(dataset, sign) == ["positive", "dog_02.JPG", "zero"]
    assert evaluated(dataset, F("n").cases({3: "three", 0: "nil"})) == ["three", None, "nil"]
    size = F("vals").length()
    assert evaluated(dataset, size.let_in(size * 10)) == [30, 0, 10]
    inside = F("vals").map(F().switch({F() > 2: F() * 100}, default=F()))  # F() stays the element in values
    assert evaluated(dataset, inside) == [[300, 1, 2], [], [500]]
    for bad in (lambda: F("n").switch({}), lambda: F("n").switch({"x": 1}), lambda: F("n").cases([1])):
        with pytest.raises(StageError):
            bad()
