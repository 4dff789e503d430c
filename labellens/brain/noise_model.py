"""How labels go wrong: a class-conditional and instance-dependent noise model, fitted by EM.

Real annotators do not err uniformly: they confuse similar classes (cat/dog) and
images that look like another class. The model says, for a sample whose true
class is ``i``, that its observed label is

- ``i`` with probability ``1 - flip_rate[i]``;
- a wrong class ``j`` with probability ``flip_rate[i] * ((1 - s) * partner[i, j] + s * c_j)``,
  where ``partner`` (K, K) is a class-level confusion (rows sum to 1 off the
  diagonal), ``c_j = a_j / (1 - a_i)`` is how much *this image* looks like ``j``
  according to appearance probabilities ``a`` (a model's softmax), and ``s``
  (``instance_share``) is the share of errors that follow the image rather than the class.

A model's softmax is sharper or softer than how much images really look alike to
whoever gave the labels, so ``a`` is the softmax of the logits at a temperature
chosen by the likelihood of the given labels (:func:`fit_appearance`).

Symmetric noise is the special case ``partner`` uniform, ``s = 0``. All functions
are pure numpy; ``labels`` are (N,) class indices in [0, K), probabilities (N, K).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from labellens.probability import softmax

ALPHA_GRID = np.logspace(-2, 4, 61)   # Dirichlet concentrations tried by shrink_partner
TEMPERATURES = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)   # appearance temperatures fit_appearance tries
TEMPERATURE_ROWS = 100_000   # rows fit_appearance chooses the temperature on
RATE_PRIOR_ERRORS = 30.0   # errors at the overall flip rate added to each class's own counts
PRIOR_COUNT = 1.0   # Dirichlet pseudo-count per partner cell: unseen confusions stay possible
MIN_RATE, MAX_RATE = 1e-3, 0.5
EPS = 1e-12


@dataclass(frozen=True)
class NoiseModel:
    """``flip_rate`` (K,) P(label wrong | true class); ``partner`` (K, K) zero-diagonal rows summing
    to 1; ``instance_share`` in [0, 1]."""

    flip_rate: np.ndarray
    partner: np.ndarray
    instance_share: float

    @property
    def num_classes(self) -> int:
        return len(self.flip_rate)


def symmetric_noise(noise_rate: float, num_classes: int, instance_share: float = 0.0) -> NoiseModel:
    """Every class wrong at ``noise_rate``, each wrong class equally likely."""
    partner = np.full((num_classes, num_classes), 1.0 / (num_classes - 1))
    np.fill_diagonal(partner, 0.0)
    return NoiseModel(np.full(num_classes, float(noise_rate)), partner, float(instance_share))


def noise_from_joint(joint: np.ndarray, *, instance_share: float = 0.5) -> NoiseModel:
    """A starting model from a (K, K) confident joint (rows: given label, columns: likely true class).

    ``flip_rate[i]`` is the share of class ``i``'s true members given another label
    (shrunk by :func:`shrink_rates`);
    ``partner[i, j]`` is the share of those given label ``j`` (with the prior count).
    """
    true_given = joint.T.astype(np.float64)          # rows: true class, columns: given label
    totals = true_given.sum(axis=1)
    rate = shrink_rates(totals - np.diag(true_given), totals)
    return NoiseModel(rate, _normalise_off_diagonal(true_given),
                      float(instance_share))


def image_confusion(appearance: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N, K) ``c[n, i] = a[n, y_n] / (1 - a[n, i])``: how much image ``n`` looks like its given label
    ``y_n`` among the classes other than ``i`` (in [0, 1]; the ``i = y_n`` entry is unused)."""
    a = np.clip(np.asarray(appearance, dtype=np.float64), 0.0, 1.0)
    given = a[np.arange(len(labels)), labels][:, None]
    return np.clip(given / np.maximum(1.0 - a, EPS), 0.0, 1.0)


def label_likelihood(model: NoiseModel, labels: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """(N, K) ``P(observed label y_n | true class i, image n)`` for each class ``i``.

    ``confusion`` is :func:`image_confusion` of the appearance probabilities.
    """
    n = len(labels)
    wrong = model.flip_rate[None, :] * ((1.0 - model.instance_share) * model.partner[:, labels].T
                                        + model.instance_share * confusion)
    wrong[np.arange(n), labels] = 1.0 - model.flip_rate[labels]
    return wrong


def trust_labels(likelihood: np.ndarray, labels: np.ndarray, trusted: np.ndarray | None) -> np.ndarray:
    """The (N, K) :func:`label_likelihood` with each ``trusted`` row one-hot at its given label.

    A trusted label (confirmed by a reviewer) is the true class with certainty, so its
    posterior is that class and the classifier fit counts it as a clean example of it.
    ``trusted`` is an (N,) bool mask (None: nothing trusted).
    """
    if trusted is None or not np.any(trusted):
        return likelihood
    anchored = np.array(likelihood, dtype=np.float64, copy=True)
    rows = np.flatnonzero(trusted)
    anchored[rows] = 0.0
    anchored[rows, np.asarray(labels)[rows]] = 1.0
    return anchored


def true_class_posterior(probs: np.ndarray, likelihood: np.ndarray) -> np.ndarray:
    """(N, K) ``P(true class i | image, observed label)`` by Bayes' rule from the (N, K) class
    probabilities ``probs`` (the prior) and the (N, K) :func:`label_likelihood`."""
    joint = np.asarray(probs, dtype=np.float64) * likelihood
    total = joint.sum(axis=1, keepdims=True)
    return np.divide(joint, total, out=np.full_like(joint, 1.0 / joint.shape[1]), where=total > 0)


def wrong_probability(posterior: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N,) probability that the given label is not the true class, in [0, 1] (high = likely an issue)."""
    others = posterior.copy()
    others[np.arange(len(labels)), labels] = 0.0
    return np.clip(others.sum(axis=1), 0.0, 1.0)    # summed, not 1 - p(label): tiny odds keep their order


def update_noise_model(model: NoiseModel, posterior: np.ndarray, labels: np.ndarray,
                       confusion: np.ndarray) -> NoiseModel:
    """One EM M-step: the noise model that best explains the labels given the (N, K) posterior.

    Expected counts of (true ``i``, given ``j``) pairs set ``flip_rate``. Which
    wrong class a label goes to (``partner``, ``instance_share``) is learnt from the
    labels more likely wrong than right only: an ambiguous image whose label is
    right adds a little posterior mass to the classes it resembles, and summed over
    many images that mass would pass for confusion between those classes.
    ``partner`` is shrunk towards uniform by :func:`shrink_partner`.
    """
    n, k = posterior.shape
    given = np.zeros((n, k))
    given[np.arange(n), labels] = 1.0
    wrong_mass = posterior * (1.0 - given)                      # (N, K): true i != given label
    rate = shrink_rates(wrong_mass.sum(axis=0), posterior.sum(axis=0))
    confident = wrong_mass * (wrong_probability(posterior, labels) > 0.5)[:, None]
    class_part = (1.0 - model.instance_share) * model.partner[:, labels].T
    image_part = model.instance_share * confusion
    share = np.divide(image_part, class_part + image_part, out=np.zeros_like(image_part),
                      where=class_part + image_part > 0)
    mass = confident.sum()
    instance_share = float((confident * share).sum() / mass) if mass > 0 else model.instance_share
    counts = (confident * (1.0 - share)).T @ given              # (K, K): true i, given j, class part
    return NoiseModel(np.clip(rate, MIN_RATE, MAX_RATE), shrink_partner(counts),
                      float(np.clip(instance_share, 0.0, 1.0)))


def shrink_rates(wrong: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """(K,) per-class flip rates ``wrong / totals`` (both (K,) expected counts), each pulled towards
    the overall rate ``r`` by ``RATE_PRIOR_ERRORS / r`` pseudo-samples.

    A class with a handful of samples gets about the overall rate. The prior is sized in
    errors, not samples, because a class's rate is learnt from its errors: at 10% noise a
    class of 1,000 holds 100 of them and keeps its own rate, while at 0.5% it holds 5, and
    the differences between classes are then mostly where the *model* errs (a class it
    over-predicts looks noisy). Reading those as label noise would rank every label of a
    class the model confuses above true flips elsewhere, so at low estimated noise the
    rates stay close to one shared rate.
    """
    overall = wrong.sum() / max(totals.sum(), EPS)
    prior = RATE_PRIOR_ERRORS / max(overall, EPS)
    return np.clip((wrong + prior * overall) / (totals + prior), MIN_RATE, MAX_RATE)


def fit_noise_model(model: NoiseModel, probs: np.ndarray, labels: np.ndarray, confusion: np.ndarray, *,
                    steps: int = 10) -> NoiseModel:
    """``steps`` rounds of EM for the noise model alone, the (N, K) class probabilities held fixed."""
    for _ in range(steps):
        posterior = true_class_posterior(probs, label_likelihood(model, labels, confusion))
        model = update_noise_model(model, posterior, labels, confusion)
    return model


def label_log_likelihood(model: NoiseModel, probs: np.ndarray, labels: np.ndarray,
                         confusion: np.ndarray) -> float:
    """Mean log-probability of the given labels: ``log sum_i probs[n, i] * P(y_n | i, image n)``."""
    marginal = (np.asarray(probs, dtype=np.float64) * label_likelihood(model, labels, confusion)).sum(axis=1)
    return float(np.log(np.maximum(marginal, EPS)).mean())


def fit_appearance(model: NoiseModel, probs: np.ndarray, labels: np.ndarray, logits: np.ndarray, *,
                   temperatures: tuple[float, ...] = TEMPERATURES, max_rows: int = TEMPERATURE_ROWS,
                   seed: int = 0) -> tuple[NoiseModel, np.ndarray, float]:
    """The noise model, its (N, K) :func:`image_confusion` and the appearance temperature that
    explain the given labels best.

    For each temperature ``t`` the appearance is ``softmax(logits / t)`` and the noise
    model is refitted (:func:`fit_noise_model`, class probabilities ``probs`` held fixed);
    the one whose :func:`label_log_likelihood` is highest wins. ``t > 1`` means errors
    spread over more classes than the model's confident softmax suggests. One scalar is
    well determined by ``max_rows`` random rows, so larger inputs choose it on those
    (seeded by ``seed``) and refit the noise model on every row once.
    """
    if not temperatures:
        raise ValueError("fit_appearance needs at least one temperature")
    logits = np.asarray(logits, dtype=np.float64)
    rows = np.arange(len(labels))
    if len(rows) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_rows, replace=False))
    sub_logits, sub_probs, sub_labels = logits[rows], probs[rows], labels[rows]
    fits = []
    for temperature in temperatures:
        confusion = image_confusion(softmax(sub_logits / temperature), sub_labels)
        fitted = fit_noise_model(model, sub_probs, sub_labels, confusion)
        fits.append((label_log_likelihood(fitted, sub_probs, sub_labels, confusion), fitted, confusion))
    best = int(np.argmax([score for score, _, _ in fits]))
    if len(rows) == len(labels):
        return fits[best][1], fits[best][2], temperatures[best]
    confusion = image_confusion(softmax(logits / temperatures[best]), labels)
    return fit_noise_model(model, probs, labels, confusion), confusion, temperatures[best]


def shrink_partner(counts: np.ndarray) -> np.ndarray:
    """(K, K) zero-diagonal rows summing to 1: ``counts`` (true class, given label) smoothed towards uniform.

    Empirical Bayes: each row is taken as drawn from a symmetric Dirichlet whose
    concentration ``alpha`` (shared by all rows) maximises the Dirichlet-multinomial
    likelihood of the off-diagonal counts, so counts that look uniform give an
    almost uniform matrix and counts concentrated on a few pairs keep them.
    """
    k = counts.shape[0]
    off = ~np.eye(k, dtype=bool)
    rows = np.asarray(counts, dtype=np.float64)[off].reshape(k, k - 1)
    n = rows.sum(axis=1)
    seen = rows[rows > 0]                                       # empty cells add 0 to the likelihood
    alphas = ALPHA_GRID[:, None]
    log_lik = (gammaln((k - 1) * alphas) - gammaln(n[None, :] + (k - 1) * alphas)).sum(axis=1) + \
        (gammaln(seen[None, :] + alphas) - gammaln(alphas)).sum(axis=1)
    alpha = float(ALPHA_GRID[int(np.argmax(log_lik))])
    return _normalise_off_diagonal(counts, alpha)


def _normalise_off_diagonal(counts: np.ndarray, prior: float = PRIOR_COUNT) -> np.ndarray:
    """(K, K) rows of ``counts + prior`` off the diagonal, normalised to sum to 1."""
    smoothed = np.asarray(counts, dtype=np.float64) + prior
    np.fill_diagonal(smoothed, 0.0)
    return smoothed / smoothed.sum(axis=1, keepdims=True)
