"""The demo's pure parts: label corruption, cross-validated logits and the scorecard maths."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from labellens.demo import cross_val_logits, other_class, rank_quality, run_demo
from labellens.errors import ValidationError


def test_other_class_never_returns_the_label_and_covers_the_rest() -> None:
    rng = np.random.default_rng(0)
    drawn = {other_class("b", ["a", "b", "c"], rng) for _ in range(50)}
    assert drawn == {"a", "c"}


def test_rank_quality_counts_hits_in_the_top_k() -> None:
    scores = np.array([0.9, 0.1, 0.8, 0.7, 0.2])
    truth = np.array([True, False, False, True, False])
    row = rank_quality("s", scores, truth, k=2)
    assert (row.hits, row.k, row.precision) == (1, 2, 0.5)
    assert row.average_precision == pytest.approx((1 + 2 / 3) / 2)


def test_cross_validated_logits_are_out_of_sample() -> None:
    """Trained on 10% random wrong labels, the held-out predictions still recover the true ones."""
    digits = load_digits()
    features = (digits.data / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    corrupted = rng.choice(1797, 180, replace=False)
    labels = digits.target.copy()
    labels[corrupted] = (labels[corrupted] + rng.integers(1, 10, 180)) % 10
    logits = cross_val_logits(features, labels, 10, seed=0)
    assert logits.shape == (1797, 10) and logits.dtype == np.float32
    assert (logits.argmax(1) == digits.target).mean() > 0.9
    assert (logits[corrupted].argmax(1) == digits.target[corrupted]).mean() > 0.8


def test_fine_tune_is_for_the_zoo_models_only() -> None:
    with pytest.raises(ValidationError, match="--fine-tune is for cifar10"):
        run_demo("digits", fine_tune=2, progress=False)
    with pytest.raises(ValidationError, match="number of epochs"):
        run_demo("cifar10", fine_tune=-1, progress=False)
