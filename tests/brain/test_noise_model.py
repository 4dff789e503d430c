"""The class-conditional, image-dependent noise model: each function by hand, EM on known noise."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from labellens.brain import noise_model as nm
from labellens.brain.mislabel_model import find_label_issues
from labellens.probability import softmax


def test_symmetric_noise_is_bayes_rule_of_uniform_flips() -> None:
    model = nm.symmetric_noise(0.1, 3)
    np.testing.assert_allclose(model.partner, [[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    labels = np.array([0, 0, 0])
    likelihood = nm.label_likelihood(model, labels, np.zeros((3, 3)))
    np.testing.assert_allclose(likelihood, [[0.9, 0.05, 0.05]] * 3)
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    wrong = nm.wrong_probability(nm.true_class_posterior(probs, likelihood), labels)
    np.testing.assert_allclose(wrong, [0.0, 1.0, 0.05 * 0.5 / (0.9 * 0.5 + 0.05 * 0.5)])


def test_image_confusion_is_the_given_labels_share_among_the_others() -> None:
    appearance = np.array([[0.6, 0.3, 0.1]])
    confusion = nm.image_confusion(appearance, np.array([1]))
    np.testing.assert_allclose(confusion[0, [0, 2]], [0.3 / 0.4, 0.3 / 0.9])


def test_likelihood_mixes_class_partner_and_image_confusion() -> None:
    partner = np.array([[0, 1, 0], [0.5, 0, 0.5], [0.5, 0.5, 0]], dtype=float)
    model = nm.NoiseModel(np.array([0.2, 0.1, 0.1]), partner, 0.25)
    confusion = np.array([[0.4, 0.0, 0.8]])
    row = nm.label_likelihood(model, np.array([1]), confusion)[0]
    np.testing.assert_allclose(row, [0.2 * (0.75 * 1 + 0.25 * 0.4), 0.9, 0.1 * (0.75 * 0.5 + 0.25 * 0.8)])


def test_noise_from_joint_reads_rates_and_partners() -> None:
    joint = np.array([[90, 10, 0], [20, 80, 0], [0, 0, 100]], dtype=float)   # rows: given, cols: true
    model = nm.noise_from_joint(joint, instance_share=0.0)
    # overall rate 10%: 30 errors' worth of pseudo-samples (300) at that rate
    np.testing.assert_allclose(model.flip_rate, [50 / 410, 40 / 390, 30 / 400])
    assert model.partner[0].argmax() == 1 and model.partner[1].argmax() == 0
    np.testing.assert_allclose(model.partner.sum(axis=1), 1.0)
    assert np.all(np.diag(model.partner) == 0)


def test_rate_prior_is_sized_in_errors() -> None:
    totals = np.full(4, 1000.0)
    high = nm.shrink_rates(np.array([200.0, 100.0, 50.0, 50.0]), totals)   # 10% overall: 300 pseudo-samples
    np.testing.assert_allclose(high, (np.array([200, 100, 50, 50]) + 30) / 1300)
    low = nm.shrink_rates(np.array([12.0, 4.0, 2.0, 2.0]), totals)         # 0.5%: 6,000 pseudo-samples
    np.testing.assert_allclose(low, (np.array([12, 4, 2, 2]) + 30) / 7000)
    assert high[0] / high[3] > 2 and low[0] / low[3] < 1.4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_model_biased_towards_one_class_is_not_read_as_label_noise(seed: int) -> None:
    # Clean labels but 20 random flips (0.5%); the model over-predicts class 0, so hundreds of
    # correctly labelled images look like class 0 to it. That bias is the model's, not the labels'.
    rng = np.random.default_rng(seed)
    n, k = 4000, 5
    true = rng.integers(0, k, size=n)
    centres = rng.normal(size=(k, 8)) * 1.2
    features = centres[true] + rng.normal(size=(n, 8))
    logits = features @ centres.T / 2 + rng.normal(size=(n, k))
    logits[:, 0] += 1.5
    flip = np.zeros(n, dtype=bool)
    flip[rng.choice(n, 20, replace=False)] = True
    given = np.where(flip, (true + rng.integers(1, k, size=n)) % k, true)
    result = find_label_issues(logits, given, features, neighbours=5)
    baseline = 1 - softmax(logits)[np.arange(n), given]
    assert average_precision_score(flip, result.score) > average_precision_score(flip, baseline) + 0.05
    assert result.noise.flip_rate.max() < 1.3 * result.noise.flip_rate.min()


def _flips(noise: str, n: int = 4000, k: int = 4, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, size=n)
    appearance = softmax(rng.normal(size=(n, k)) * 2)
    flip = rng.random(n) < 0.2
    if noise == "pairs":
        wrong = np.array([1, 0, 3, 2])[true]
    else:  # follows how each image looks
        weights = appearance.copy()
        weights[np.arange(n), true] = 0
        wrong = np.array([rng.choice(k, p=w / w.sum()) for w in weights])
    return true, np.where(flip, wrong, true), appearance


@pytest.mark.parametrize("noise", ["pairs", "image"])
def test_em_step_recovers_the_noise_from_the_true_classes(noise: str) -> None:
    true, given, appearance = _flips(noise)
    posterior = np.eye(4)[true]
    confusion = nm.image_confusion(appearance, given)
    model = nm.symmetric_noise(0.1, 4, instance_share=0.5)
    for _ in range(30):
        model = nm.update_noise_model(model, posterior, given, confusion)
    np.testing.assert_allclose(model.flip_rate, 0.2, atol=0.03)
    if noise == "pairs":
        assert model.instance_share < 0.15
        np.testing.assert_allclose(model.partner[[0, 1, 2, 3], [1, 0, 3, 2]], 1.0, atol=0.05)
    else:
        assert model.instance_share > 0.7


def test_finder_beats_self_confidence_on_class_conditional_noise() -> None:
    rng = np.random.default_rng(1)
    n, k = 3000, 6
    true = rng.integers(0, k, size=n)
    centres = rng.normal(size=(k, 8)) * 1.5
    features = centres[true] + rng.normal(size=(n, 8))
    logits = features @ centres.T / 2 + rng.normal(size=(n, k))
    flip = rng.random(n) < 0.2
    given = np.where(flip, np.array([1, 0, 3, 2, 5, 4])[true], true)
    result = find_label_issues(logits, given, features, neighbours=5)
    baseline = 1 - softmax(logits)[np.arange(n), given]
    assert average_precision_score(flip, result.score) > average_precision_score(flip, baseline) + 0.02
    assert result.noise.partner[0].argmax() == 1 and result.noise.partner[4].argmax() == 5


def test_trust_labels_makes_trusted_rows_certain() -> None:
    likelihood = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    labels = np.array([0, 1, 2])
    trusted = np.array([False, True, False])
    anchored = nm.trust_labels(likelihood, labels, trusted)
    np.testing.assert_array_equal(anchored[1], [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(anchored[[0, 2]], likelihood[[0, 2]])
    assert likelihood[1, 0] == 0.2  # the input is not changed
    assert nm.trust_labels(likelihood, labels, None) is likelihood
    posterior = nm.true_class_posterior(np.full((3, 3), 1 / 3), anchored)
    np.testing.assert_allclose(posterior[1], [0.0, 1.0, 0.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trusted_labels_anchor_the_fit(seed: int) -> None:
    """Confirming the correct labels of a region where 45% were flipped never ranks the flips worse."""
    rng = np.random.default_rng(seed)
    n = 600
    x = rng.normal(size=(n, 2))
    true = (x[:, 0] > 0).astype(int)
    region = (x[:, 0] < 0) & (x[:, 1] > 0.3)
    flipped = region & (rng.random(n) < 0.45)
    given = np.where(flipped, 1, true)
    logits = np.stack([-x[:, 0], x[:, 0]], axis=1) + rng.normal(scale=0.5, size=(n, 2))
    trusted = region & (given == 0)
    base = find_label_issues(logits, given, x, seed=0)
    anchored = find_label_issues(logits, given, x, seed=0, trusted=trusted)
    assert np.all(anchored.score[trusted] == 0.0) and not anchored.flag[trusted].any()
    assert not np.allclose(anchored.probs, base.probs)  # the fit itself changed, not only the scores
    rest = ~trusted
    assert (average_precision_score(flipped[rest], anchored.score[rest])
            >= average_precision_score(flipped[rest], base.score[rest]) - 1e-9)


@pytest.mark.parametrize(("truth", "allowed"), [(1.0, (1.0, 1.25)), (2.0, (1.75, 2.0, 2.5))])
def test_fit_appearance_finds_how_sharply_errors_follow_the_image(truth: float, allowed: tuple) -> None:
    """Errors drawn from softmax(logits / truth) over the wrong classes: the temperature that
    explains the labels best is close to ``truth``, and its likelihood beats the others'."""
    rng = np.random.default_rng(3)
    n, k = 6000, 5
    true = rng.integers(0, k, size=n)
    logits = rng.normal(size=(n, k)) * 3
    weights = softmax(logits / truth)
    weights[np.arange(n), true] = 0
    cumulative = (weights / weights.sum(axis=1, keepdims=True)).cumsum(axis=1)
    wrong = np.minimum((cumulative < rng.random(n)[:, None]).sum(axis=1), k - 1)
    given = np.where(rng.random(n) < 0.3, wrong, true)
    probs = np.eye(k)[true]
    start = nm.symmetric_noise(0.2, k, instance_share=0.5)
    model, confusion, temperature = nm.fit_appearance(start, probs, given, logits)
    assert temperature in allowed
    subsampled = nm.fit_appearance(start, probs, given, logits, max_rows=3000)[2]
    assert subsampled in allowed
    assert model.instance_share > 0.7
    np.testing.assert_allclose(confusion, nm.image_confusion(softmax(logits / temperature), given))
    best = nm.label_log_likelihood(model, probs, given, confusion)
    for other in nm.TEMPERATURES:
        other_confusion = nm.image_confusion(softmax(logits / other), given)
        refit = nm.fit_noise_model(start, probs, given, other_confusion)
        assert nm.label_log_likelihood(refit, probs, given, other_confusion) <= best + 1e-12
