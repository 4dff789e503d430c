"""Aggregations on datasets and views, checked against numpy on both backends."""

from __future__ import annotations

import numpy as np
import pytest

from labellens import F
from labellens.errors import ValidationError


def _scores(small, predicate=lambda r: True) -> np.ndarray:
    return np.array([r["score"] for r in small.rows if r["score"] is not None and predicate(r)])


def test_counts(small) -> None:
    assert small.dataset.count() == len(small.dataset) == 10
    assert small.dataset.count("score") == 8
    assert small.dataset.count("pred") == 8
    assert small.dataset.count("tags") == sum(len(r["tags"]) for r in small.rows)
    assert small.dataset.count("preds.classifications") == 14
    assert small.dataset.match_tags("odd").count("score") == 4
    assert small.dataset.match(F("n") > 100).count("score") == 0


def test_count_values_and_distinct(small) -> None:
    assert small.dataset.count_values("gt.label") == {"cat": 4, "dog": 3, "bird": 3}
    assert small.dataset.count_values("tags") == {"even": 5, "odd": 5, "third": 4}
    assert small.dataset.count_values("pred.label")[None] == 2
    assert small.dataset.match_tags("third").count_values("gt.label") == {"cat": 4}
    assert small.dataset.distinct("gt.label") == ["bird", "cat", "dog"]
    assert small.dataset.distinct("tags") == ["even", "odd", "third"]
    assert small.dataset.distinct("preds.classifications.label") == ["cat", "dog"]
    assert small.dataset.limit(2).distinct("gt.label") == ["cat", "dog"]


def test_bounds_mean_sum_std_match_numpy(small) -> None:
    scores = _scores(small)
    assert small.dataset.bounds("score") == (scores.min(), scores.max())
    assert small.dataset.mean("score") == pytest.approx(scores.mean())
    assert small.dataset.sum("score") == pytest.approx(scores.sum())
    assert small.dataset.std("score") == pytest.approx(scores.std())
    assert small.dataset.std("score", sample=True) == pytest.approx(scores.std(ddof=1))
    odd = _scores(small, lambda r: "odd" in r["tags"])
    view = small.dataset.match_tags("odd")
    assert view.bounds("score") == (odd.min(), odd.max())
    assert view.mean("score") == pytest.approx(odd.mean())
    assert view.std("score") == pytest.approx(odd.std())
    confidences = np.array([c for r in small.rows if r["preds"] for _, c in r["preds"]])
    assert small.dataset.mean("preds.classifications.confidence") == pytest.approx(confidences.mean())
    assert small.dataset.bounds("n") == (0, 9)


def test_aggregations_of_nothing(small) -> None:
    empty = small.dataset.match(F("n") > 100)
    assert empty.bounds("score") == (None, None)
    assert empty.mean("score") is None and empty.std("score") is None
    assert empty.sum("score") == 0 and empty.count_values("gt.label") == {}
    assert empty.distinct("gt.label") == []
    assert empty.histogram_values("score", bins=3) == ([0, 0, 0], [0.0, 0.0, 0.0, 0.0], 0)


def test_histogram_values_match_numpy(small) -> None:
    scores = _scores(small)
    counts, edges, other = small.dataset.histogram_values("score", bins=4)
    expected, expected_edges = np.histogram(scores, bins=4)
    lacking = 10 - len(scores)  # samples without a score count as other, as in FiftyOne
    assert counts == expected.tolist() and other == lacking
    assert np.allclose(edges, expected_edges)
    counts, edges, other = small.dataset.histogram_values("score", bins=5, range=(0.0, 0.5))
    expected, expected_edges = np.histogram(scores, bins=5, range=(0.0, 0.5))
    assert counts == expected.tolist() and np.allclose(edges, expected_edges)
    assert other == int(np.sum(scores > 0.5)) + lacking
    with pytest.raises(ValidationError):
        small.dataset.histogram_values("score", bins=0)


def test_aggregations_change_nothing(small) -> None:
    before = small.raw_docs()
    view = small.dataset.match_tags("odd")
    for method in (view.count_values, view.distinct, view.bounds, view.mean, view.sum, view.std):
        method("n")
    view.histogram_values("n", bins=3)
    assert small.raw_docs() == before
