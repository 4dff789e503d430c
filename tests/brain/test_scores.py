"""The pure score functions against an independent, per-sample implementation of the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import softmax as scipy_softmax
from scipy.stats import entropy as scipy_entropy

from labellens.brain import scores


def reference_mistakenness(logits: np.ndarray, agree: bool) -> float:
    """The tutorial tool's formula, one sample at a time, with scipy's entropy."""
    m = -1.0 if agree else 1.0
    c = -scipy_entropy(scipy_softmax(np.asarray(logits, dtype=np.float64)))
    return (m * math.exp(c) + 1.0) / 2.0


@pytest.fixture
def logits() -> np.ndarray:
    rng = np.random.default_rng(0)
    batch = rng.normal(scale=4.0, size=(500, 10))
    batch[0] = [80.0] + [-80.0] * 9  # near-one-hot: probabilities underflow
    batch[1] = 0.0                   # uniform: maximal entropy
    return batch


def test_mistakenness_from_logits_matches_reference(logits: np.ndarray) -> None:
    agree = np.arange(len(logits)) % 3 == 0
    got = scores.mistakenness_from_logits(logits, agree)
    want = np.array([reference_mistakenness(row, a) for row, a in zip(logits, agree)])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert got.dtype == np.float64 and np.all((got >= 0) & (got <= 1))


def test_mistakenness_extremes() -> None:
    sure = np.array([[50.0, -50.0, -50.0]] * 2)
    got = scores.mistakenness_from_logits(sure, np.array([True, False]))
    np.testing.assert_allclose(got, [0.0, 1.0], atol=1e-12)
    uniform = np.zeros((2, 4))
    got = scores.mistakenness_from_logits(uniform, np.array([True, False]))
    np.testing.assert_allclose(got, [(1 - 0.25) / 2, (1 + 0.25) / 2], atol=1e-12)


def test_mistakenness_from_confidence() -> None:
    confidence = np.array([0.0, 0.3, 0.9, 1.0])
    agree = np.array([True, False, True, False])
    want = [(-1 * 0.0 + 1) / 2, (0.3 + 1) / 2, (-0.9 + 1) / 2, 1.0]
    np.testing.assert_allclose(scores.mistakenness_from_confidence(confidence, agree), want, atol=1e-12)


def test_hardness_is_entropy(logits: np.ndarray) -> None:
    want = np.array([scipy_entropy(scipy_softmax(row)) for row in logits])
    np.testing.assert_allclose(scores.hardness(logits), want, atol=1e-9)
    assert scores.hardness(np.zeros((1, 10)))[0] == pytest.approx(math.log(10))


def test_softmax_rows_sum_to_one(logits: np.ndarray) -> None:
    np.testing.assert_allclose(scores.softmax(logits).sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.isfinite(scores.log_softmax(logits)))


def test_finite_rows() -> None:
    rows = np.array([[1.0, 2.0], [np.nan, 0.0], [np.inf, 1.0]])
    assert scores.finite_rows(rows).tolist() == [True, False, False]
