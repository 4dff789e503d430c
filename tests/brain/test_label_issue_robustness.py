"""find_label_issues on awkward synthetic data where the truth is known: few-sample classes, a class
never predicted, 2 classes, 1,000 classes, badly calibrated logits. Each case must run, stay in [0, 1],
and rank the wrong labels no worse than self-confidence does."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from labellens.brain.mislabel_model import find_label_issues
from labellens.probability import softmax


def problem(n: int, k: int, *, seed: int = 0, class_weights: np.ndarray | None = None, noise: float = 0.15,
            dim: int = 8, logit_scale: float = 1.0) -> tuple[np.ndarray, ...]:
    """Gaussian classes, logits of a decent model, ``noise`` of the labels changed uniformly."""
    rng = np.random.default_rng(seed)
    true = rng.choice(k, size=n, p=class_weights)
    centres = rng.normal(size=(k, dim)) * 1.5
    features = centres[true] + rng.normal(size=(n, dim))
    logits = (features @ centres.T / 2 + rng.normal(scale=1.0, size=(n, k))) * logit_scale
    wrong = rng.random(n) < noise
    given = np.where(wrong, (true + rng.integers(1, k, size=n)) % k, true)
    return logits, features, given, wrong


def check(logits: np.ndarray, features: np.ndarray | None, given: np.ndarray, wrong: np.ndarray,
          **options: int) -> None:
    result = find_label_issues(logits, given, features, **options)
    assert np.all(np.isfinite(result.score)) and np.all((result.score >= 0) & (result.score <= 1))
    assert result.suggestion.min() >= 0 and result.suggestion.max() < logits.shape[1]
    baseline = 1.0 - softmax(logits)[np.arange(len(given)), given]
    assert average_precision_score(wrong, result.score) >= average_precision_score(wrong, baseline)


def test_classes_with_very_few_samples() -> None:
    weights = np.array([0.4, 0.3, 0.295, 0.003, 0.002])       # about 6 and 4 samples of the last two
    check(*problem(2000, 5, class_weights=weights))


def test_a_class_that_is_never_predicted() -> None:
    logits, features, given, wrong = problem(1500, 5)
    logits[:, 4] = logits.min() - 5.0                         # no sample's prediction is class 4
    assert not (logits.argmax(axis=1) == 4).any() and (given == 4).any()
    check(logits, features, given, wrong)


def test_two_classes() -> None:
    check(*problem(1000, 2, noise=0.1, dim=2))     # in 8 dimensions two classes are too easy to compare


@pytest.mark.parametrize("scale", [5.0, 0.2])
def test_badly_calibrated_logits(scale: float) -> None:
    check(*problem(1500, 6, logit_scale=scale))


def test_without_embeddings_on_badly_calibrated_logits() -> None:
    logits, _, given, wrong = problem(1500, 6, logit_scale=5.0)
    check(logits, None, given, wrong)


def test_a_thousand_classes() -> None:
    # one EM round and 2 folds keep the (N, 1000) fits within seconds; the defaults run 15 fits
    logits, features, given, wrong = problem(1200, 1000, noise=0.1)
    check(logits, features, given, wrong, em_rounds=1, num_folds=2)
