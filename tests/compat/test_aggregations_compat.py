"""FiftyOne's documented aggregation behaviour, on both backends: quantiles, aggregations over
expressions, and aggregation objects run together by ``aggregate`` in one database pass.

Written from FiftyOne's documentation (not its tests); expected values come from numpy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import labellens as ll
from labellens import F
from labellens.errors import FieldNotFoundError, StageError, ValidationError

VALUES = [1.0, -1.0, 4.5, None, 2.0, 10.0]  # None: the sample has x = None
LISTS = [[1, 2, 3], [1, 2], [], None, [7], [4, 4]]


@pytest.fixture
def dataset(backend: str) -> ll.Dataset:
    dataset = ll.Dataset()
    dataset.add_samples(
        ll.Sample(f"/data/{i}.png", x=x, nums=nums, kind="odd" if i % 2 else "even",
                  tags=["t"] * (i % 3), gt=ll.Classification(label=["cat", "dog"][i % 2], confidence=i / 10))
        for i, (x, nums) in enumerate(zip(VALUES, LISTS)))
    return dataset


def xs() -> np.ndarray:
    return np.array([x for x in VALUES if x is not None])


def nested() -> np.ndarray:
    return np.array([n for nums in LISTS if nums for n in nums], dtype=float)


def nearest_rank(values: np.ndarray, q: float) -> float:
    ordered = np.sort(values)
    return float(ordered[max(math.ceil(q * len(ordered)) - 1, 0)])


# -- quantiles ------------------------------------------------------------------------------

def test_quantiles_are_nearest_rank_and_ignore_none(dataset: ll.Dataset) -> None:
    points = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1]
    assert dataset.quantiles("x", points) == [nearest_rank(xs(), q) for q in points]
    assert dataset.quantiles("x", 0.5) == nearest_rank(xs(), 0.5)  # a number gives a number
    assert dataset.quantiles("x", np.linspace(0, 1, 3)) == [nearest_rank(xs(), q) for q in (0, 0.5, 1)]
    assert dataset.quantiles("nums", [0.5, 1]) == [nearest_rank(nested(), 0.5), 7]  # list items count singly
    assert dataset.quantiles(2 * (F("x") + 1), 0.5) == 2 * (nearest_rank(xs(), 0.5) + 1)
    assert dataset.match(F("kind") == "odd").quantiles("x", [0, 1]) == [-1.0, 10.0]


def test_quantiles_of_nothing_are_none_and_bad_points_are_refused(dataset: ll.Dataset) -> None:
    empty = dataset.match(F("x") > 100)
    assert empty.quantiles("x", 0.5) is None
    assert empty.quantiles("x", [0.1, 0.9]) == [None, None]
    assert dataset.quantiles("kind", 0.5) is None  # strings are not numbers
    for bad in (1.5, -0.1, [0.5, 2], [], "0.5", True, [None]):
        with pytest.raises(ValidationError):
            dataset.quantiles("x", bad)
    with pytest.raises(FieldNotFoundError):
        dataset.quantiles("nope", 0.5)


# -- aggregations over expressions ------------------------------------------------------------

def test_numeric_aggregations_of_an_expression_match_numpy(dataset: ll.Dataset) -> None:
    transformed = 2.0 * (xs() + 1)
    expr = 2.0 * (F("x") + 1)
    assert dataset.sum(expr) == pytest.approx(transformed.sum())
    assert dataset.mean(expr) == pytest.approx(transformed.mean())
    assert dataset.std(expr) == pytest.approx(transformed.std())
    assert dataset.std(expr, sample=True) == pytest.approx(transformed.std(ddof=1))
    assert dataset.bounds(expr) == (transformed.min(), transformed.max())
    assert dataset.count(expr) == len(transformed)  # None results are not counted
    assert dataset.sum(F("x")) == dataset.sum("x")  # F("x") is the field itself


def test_value_aggregations_of_an_expression(dataset: ll.Dataset) -> None:
    assert dataset.distinct(F("gt.label").upper()) == ["CAT", "DOG"]
    assert dataset.count_values(F("nums").length()) == {3: 1, 2: 2, 0: 2, 1: 1}
    assert dataset.count_values((F("x") > 1).if_else("big", "small")) == {"big": 3, "small": 3}
    # An expression's array result counts item by item, like a list field.
    assert dataset.distinct(F("nums").map(F() * 10)) == [10, 20, 30, 40, 70]
    assert dataset.sum(F("nums").filter(F() > 2)) == 3 + 7 + 4 + 4
    assert dataset.aggregate(ll.Values(F("nums").length())) == [3, 2, 0, 0, 1, 2]


def test_a_mongodb_expression_dict_is_an_expression_too_and_is_checked(dataset: ll.Dataset) -> None:
    assert dataset.sum({"$multiply": ["$x", 3]}) == pytest.approx(3 * xs().sum())
    with pytest.raises(StageError):
        dataset.sum({"$function": {"body": "return 1", "args": [], "lang": "js"}})
    with pytest.raises(FieldNotFoundError):
        dataset.sum({"$add": ["$nope", 1]})
    with pytest.raises(FieldNotFoundError):
        dataset.mean(F("nope") * 2)
    with pytest.raises(ValidationError):
        dataset.sum(3)


# -- aggregation objects -------------------------------------------------------------------------

def test_aggregate_runs_a_list_in_one_database_pass(dataset: ll.Dataset, monkeypatch: pytest.MonkeyPatch
                                                    ) -> None:
    pipelines: list[list[dict]] = []
    run = dataset._run_pipeline

    def counting(pipeline, *args, **kwargs):
        pipelines.append(pipeline)
        return run(pipeline, *args, **kwargs)

    monkeypatch.setattr(dataset, "_run_pipeline", counting)
    view = dataset.match(F("kind") == "even")
    results = view.aggregate([ll.Count(), ll.Count("x"), ll.Bounds("x"), ll.Distinct("gt.label"),
                              ll.CountValues("tags"), ll.Sum("nums"), ll.Mean(2 * F("x")), ll.Std("x"),
                              ll.Quantiles("x", [0.5]), ll.HistogramValues("x", bins=2, range=(0, 10))])
    assert len(pipelines) == 1 and "$facet" in pipelines[0][-1]
    even = np.array([1.0, 4.5, 2.0])  # samples 0, 2, 4
    assert results[:6] == [3, 3, (1.0, 4.5), ["cat"], {"t": 3}, 6 + 0 + 7]
    assert results[6] == pytest.approx(2 * even.mean()) and results[7] == pytest.approx(even.std())
    assert results[8] == [2.0]
    assert results[9] == ([3, 0], [0.0, 5.0, 10.0], 0)


def test_aggregate_results_equal_the_methods(dataset: ll.Dataset) -> None:
    view = dataset.match(F("x") > 0)
    objects = [ll.Count(), ll.Count("nums"), ll.Bounds("x"), ll.Distinct("tags"), ll.CountValues("gt.label"),
               ll.Sum("x"), ll.Mean("x"), ll.Std("x", sample=True), ll.Quantiles("x", 0.5),
               ll.HistogramValues("x", bins=3), ll.Values("x"), ll.Values("gt.label")]
    expected = [view.count(), view.count("nums"), view.bounds("x"), view.distinct("tags"),
                view.count_values("gt.label"), view.sum("x"), view.mean("x"), view.std("x", sample=True),
                view.quantiles("x", 0.5), view.histogram_values("x", bins=3), view.values("x"),
                view.values("gt.label")]
    assert view.aggregate(objects) == expected
    assert [view.aggregate(one) for one in objects] == expected  # one object gives its result alone


def test_aggregate_of_one_object_and_of_nothing(dataset: ll.Dataset) -> None:
    assert dataset.aggregate(ll.Count()) == len(VALUES)
    assert dataset.aggregate(ll.Bounds("x")) == (-1.0, 10.0)
    assert dataset.aggregate([]) == []
    assert dataset.aggregate(ll.Bounds(f) for f in ("x", "nums")) == [(-1.0, 10.0), (1, 7)]  # any iterable
    empty = dataset.match(F("x") > 100)
    assert empty.aggregate([ll.Count(), ll.Sum("x"), ll.Mean("x"), ll.Std("x"), ll.Bounds("x"),
                            ll.Distinct("x"), ll.CountValues("x"), ll.Quantiles("x", [0.5]),
                            ll.HistogramValues("x", bins=2), ll.Values("x")]) == [
        0, 0, None, None, (None, None), [], {}, [None], ([0, 0], [0.0, 0.0, 0.0], 0), []]


def test_aggregate_refuses_what_is_not_an_aggregation_and_changes_nothing(dataset: ll.Dataset) -> None:
    before = dataset.values("x")
    for bad in ([{"$match": {}}], [ll.Count(), "x"], "x", {"$match": {}}, 3):
        with pytest.raises(ValidationError):
            dataset.aggregate(bad)
    for build in (lambda: ll.Sum(""), lambda: ll.Mean(None), lambda: ll.HistogramValues("x", bins=0),
                  lambda: ll.Quantiles("x", 2)):
        with pytest.raises(ValidationError):
            build()
    assert dataset.values("x") == before and len(dataset) == len(VALUES)


# -- deliberate difference: no values -------------------------------------------------------------

def test_mean_and_std_of_no_values_are_none_where_fiftyone_returns_0(backend: str) -> None:
    """A declared field nobody has set has no mean: None says so (FiftyOne returns 0, which is also
    the mean of real zeros). sum and count stay 0, as in FiftyOne."""
    dataset = ll.Dataset()
    dataset.add_sample_field("score", "FloatField")
    dataset.add_samples([ll.Sample("/a.png"), ll.Sample("/b.png")])
    assert dataset.mean("score") is None and dataset.std("score") is None
    assert dataset.aggregate([ll.Mean("score"), ll.Std("score")]) == [None, None]
    assert dataset.sum("score") == 0 and dataset.count("score") == 0
    assert dataset.std("score", sample=True) is None


def test_expr_applies_to_each_value_of_a_field(dataset: ll.Dataset) -> None:
    assert dataset.aggregate(ll.Sum("x", expr=F() * 2)) == pytest.approx(2 * xs().sum())
    assert dataset.aggregate(ll.Sum("nums", expr=F() + 1)) == nested().sum() + len(nested())  # each item
    assert dataset.aggregate(ll.Distinct("gt.label", expr=F().upper())) == ["CAT", "DOG"]
    assert dataset.aggregate([ll.Bounds("nums", expr=-F()), ll.Count("nums", expr=F() > 3)]) == [
        (-7, -1), len(nested())]
    assert dataset.aggregate(ll.Values("nums", expr=F().length())) == [3, 2, 0, 0, 1, 2]  # per sample
    # the sample whose x is None counts as other, as FiftyOne counts it
    assert dataset.aggregate(ll.HistogramValues("x", bins=2, expr=F() * 0)) == ([5, 0], [0.0, 1.0, 2.0], 1)
    assert dataset.aggregate(ll.Quantiles("x", 1, expr=F().abs())) == 10.0
    for bad in (lambda: ll.Sum(F("x"), expr=F() * 2), lambda: ll.Sum("x", expr="2x")):
        with pytest.raises(ValidationError):
            bad()


def test_an_expression_counts_as_a_path_does(dataset: ll.Dataset) -> None:
    """Its empty arrays contribute nothing and its None results count under None, as a field's."""
    assert dataset.count_values(F("nums").map(F() * 1)) == dataset.count_values("nums")
    assert dataset.count_values(F("x") * 1) == dataset.count_values("x")
    assert dataset.count_values(F("x") * 1)[None] == 1


def test_values_of_an_expression_in_view_order(dataset) -> None:
    view = dataset.sort_by("x", reverse=True)
    expected = [None if x is None else 2 * x for x in view.values("x")]  # None * 2 is None
    assert view.values(F("x") * 2) == expected
    as_array = np.array(expected, dtype=float)
    assert np.array_equal(view.values(F("x") * 2, as_numpy=True), as_array, equal_nan=True)
