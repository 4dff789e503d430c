"""Each label-issue technique on small hand-checkable inputs, and the combined finder on synthetic noise."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score

from labellens.brain import confident_learning as li
from labellens.brain import noise_model as nm
from labellens.brain.mislabel_model import find_label_issues
from labellens.brain.noisy_logreg import cross_val_log_proba, fit_noisy_logreg, stratified_folds

PROBS = np.array([
    [0.9, 0.1, 0.0],
    [0.6, 0.4, 0.0],
    [0.2, 0.8, 0.0],
    [0.1, 0.7, 0.2],
    [0.0, 0.1, 0.9],
    [0.8, 0.1, 0.1],
])
LABELS = np.array([0, 0, 1, 1, 2, 2])


def test_per_class_thresholds_are_mean_self_confidence() -> None:
    np.testing.assert_allclose(li.per_class_thresholds(PROBS, LABELS), [0.75, 0.75, 0.5])
    assert li.per_class_thresholds(PROBS[:2], LABELS[:2])[2] == 1.0  # a class nobody is given


def test_confident_joint_counts_and_calibrates() -> None:
    joint = li.confident_joint(PROBS, LABELS)
    # sample 1 (0.6 for class 0) reaches no threshold; the last one, labelled 2, is confidently 0
    np.testing.assert_allclose(joint, [[2, 0, 0], [0, 2, 0], [1, 0, 1]])
    np.testing.assert_allclose(joint.sum(axis=1), np.bincount(LABELS))
    np.testing.assert_allclose(li.estimate_num_issues(joint), [0, 0, 1])


def test_self_confidence_and_margin() -> None:
    np.testing.assert_allclose(li.self_confidence(PROBS, LABELS), [0.9, 0.6, 0.8, 0.7, 0.9, 0.1])
    margin = li.normalized_margin(PROBS, LABELS)
    np.testing.assert_allclose(margin, (np.array([0.8, 0.2, 0.6, 0.5, 0.8, -0.7]) + 1) / 2)


def test_neighbour_votes_exclude_self() -> None:
    points = np.array([[1.0, 0.0], [0.99, 0.1], [0.98, -0.1], [0.0, 1.0], [0.1, 0.99]])
    labels = np.array([0, 0, 1, 1, 1])
    votes = li.neighbour_votes(points, labels, 2, k=2)
    np.testing.assert_allclose(votes[0], [0.5, 0.5])   # neighbours 1 (label 0) and 2 (label 1)
    np.testing.assert_allclose(votes[3], [0.5, 0.5])   # neighbours 4 (label 1) and 1 (label 0)
    nearest = li.neighbour_votes(points, labels, 2, k=1)
    np.testing.assert_allclose(nearest[[0, 3, 4]], [[1, 0], [0, 1], [0, 1]])
    np.testing.assert_allclose(votes.sum(axis=1), 1.0)
    np.testing.assert_allclose(li.neighbour_agreement(votes, labels)[:2], [0.5, 0.5])


def test_stratified_folds_spread_each_class() -> None:
    labels = np.repeat([0, 1, 2], [10, 20, 5])
    folds = stratified_folds(labels, 5)
    for cls in range(3):
        counts = np.bincount(folds[labels == cls], minlength=5)
        assert counts.max() - counts.min() <= 1


def _noisy_problem(n: int = 1500, k: int = 4, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, size=n)
    centres = rng.normal(size=(k, 8)) * 1.5
    features = centres[true] + rng.normal(size=(n, 8))
    logits = features @ centres.T / 2 + rng.normal(scale=1.5, size=(n, k))
    flip = rng.random(n) < 0.15
    given = np.where(flip, (true + rng.integers(1, k, size=n)) % k, true)
    return logits, features, given, flip, true


def test_noisy_logreg_learns_through_label_noise() -> None:
    logits, features, given, _, true = _noisy_problem()
    likelihood = nm.label_likelihood(nm.symmetric_noise(0.15, 4), given, np.zeros((len(given), 4)))
    model = fit_noisy_logreg(logits[None], features, likelihood)
    accuracy = (model.log_proba(logits[None], features).argmax(axis=1) == true).mean()
    assert accuracy > (logits.argmax(axis=1) == true).mean()
    out = cross_val_log_proba(logits[None], features, given, likelihood, num_folds=3)
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0)


def test_find_label_issues_beats_self_confidence() -> None:
    logits, features, given, flip, true = _noisy_problem()
    result = find_label_issues(logits, given, features, neighbours=5)
    baseline = 1 - li.self_confidence(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), given)
    ours = average_precision_score(flip, result.score)
    assert ours > average_precision_score(flip, baseline)
    assert np.all((result.score >= 0) & (result.score <= 1))
    assert abs(result.score.sum() - flip.sum()) < 0.25 * flip.sum()
    assert (result.suggestion[flip] == true[flip]).mean() > 0.8
    assert result.flag.dtype == bool and result.confident_joint.shape == (4, 4)


def test_find_label_issues_without_embeddings() -> None:
    logits, _, given, flip, _ = _noisy_problem(600)
    result = find_label_issues(logits, given)
    assert average_precision_score(flip, result.score) > 0.5


def test_cross_val_fit_on_a_subset_still_predicts_every_row() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    features = np.eye(3)[labels] + 0.5 * rng.standard_normal((600, 3))
    likelihood = np.eye(3)[labels] * 0.9 + 0.1 / 3
    offsets = np.zeros((0, 600, 3))
    full = cross_val_log_proba(offsets, features, labels, likelihood, num_folds=3)
    same = cross_val_log_proba(offsets, features, labels, likelihood, num_folds=3, max_train=600)
    np.testing.assert_allclose(same, full)   # training folds under 600 rows: nothing dropped
    subset = cross_val_log_proba(offsets, features, labels, likelihood, num_folds=3, max_train=100)
    assert subset.shape == (600, 3) and np.isfinite(subset).all()
    assert (subset.argmax(axis=1) == labels).mean() > 0.8
