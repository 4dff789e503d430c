"""The label-issue finder: the techniques of :mod:`confident_learning` combined into one score.

The combination is one probabilistic model rather than a weighted vote:

1. Evidence about each sample's true class comes from the model's logits
   (averaged over test-time augmentations when several predictions are given)
   and, with embeddings, from the labels of its nearest neighbours.
2. A cross-validated logistic model on the embeddings, offset by that
   evidence (:mod:`noisy_logreg`), learns out-of-sample class probabilities
   from the *given* labels under a noise model (:mod:`noise_model`), so it
   adapts the model to this dataset without learning its mistakes.
3. The noise model is class-conditional (per-class error rates and which
   classes each one is confused with) and image-dependent (a share of errors
   goes to the classes an image looks like). It starts from the confident
   joint of confident learning and is refined by expectation-maximisation,
   alternating with the logistic fit; a symmetric model could only explain a
   systematic flip (cat labelled dog) by learning it. How sharply "an image
   looks like class j" is read from the logits (a softmax temperature) is chosen
   in the same step, by the likelihood of the given labels.
   How much class structure the noise model may learn is set by the estimated
   noise rate itself: each class's flip rate gets a prior worth a fixed number of
   *errors* (:func:`noise_model.shrink_rates`). At 10-20% noise each class holds
   enough errors to keep its own rate; at 0.5% it holds a handful, and the
   differences between classes are then mostly where the model errs (a class it
   over-predicts looks noisy), so the rates stay near one shared rate and a
   systematic confusion of the model on clean images is not ranked as label noise.
4. Each sample's score is the posterior probability that its label is wrong,
   in [0, 1]; it is flagged above 1/2, and the most probable true class is its
   suggested label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from labellens.brain import confident_learning as li
from labellens.brain import noise_model as nm
from labellens.brain.noisy_logreg import cross_val_log_proba
from labellens.probability import softmax

VOTE_SMOOTHING = 0.1
# From this many samples one EM round suffices: the noise model is well determined by the counts,
# and each round refits every fold (on 100,000 samples, 3 rounds took 37 s and 1 round 21 s with
# the same AP on synthetic data).
ONE_ROUND_FROM = 50_000
# Each fold's logistic model is fit on at most this many rows (a random subset of the other
# folds; every row is still predicted): 100,000 samples keep their full folds, and at 1,000,000
# the fit costs what it does at 125,000.
FIT_MAX_TRAIN = 100_000


@dataclass(frozen=True)
class IssueScores:
    """Per-sample results (arrays of length N) and dataset-level estimates."""

    score: np.ndarray
    flag: np.ndarray
    suggestion: np.ndarray
    probs: np.ndarray
    noise_rate: float
    confident_joint: np.ndarray
    noise: nm.NoiseModel
    appearance_temperature: float


def find_label_issues(logits: np.ndarray, labels: np.ndarray, embeddings: np.ndarray | None = None, *,
                      num_folds: int = 5, neighbours: int = 10, em_rounds: int | None = None,
                      l2: float = 1e-2, seed: int = 0, trusted: np.ndarray | None = None) -> IssueScores:
    """Score every sample's label by the probability that it is wrong.

    Parameters
    ----------
    logits : numpy.ndarray
        (N, K) finite logits (or log-probabilities) of a model's predictions.
    labels : numpy.ndarray
        (N,) given class indices in [0, K).
    embeddings : numpy.ndarray, optional
        (N, D) finite features of each sample (a model's penultimate layer).
    num_folds : int
        Cross-validation folds of the logistic model.
    neighbours : int
        Neighbours whose labels vote (0 turns the votes off).
    em_rounds : int, optional
        Rounds of noise-model refinement (each fits ``num_folds`` models); default 3, or 1
        from ``ONE_ROUND_FROM`` samples on.
    l2 : float
        Penalty on the embedding weights.
    seed : int
        Seed of the fold assignment.
    trusted : numpy.ndarray, optional
        (N,) bool: labels confirmed in review. They anchor the fit (clean examples of
        their class, see :func:`noise_model.trust_labels`) and score 0.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    stacked, features = evidence(logits, labels, embeddings, neighbours=neighbours)
    appearance = softmax(logits)
    noise = nm.noise_from_joint(li.confident_joint(appearance, labels))
    confusion = nm.image_confusion(appearance, labels)
    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: threads only add overhead
        rounds = em_rounds if em_rounds is not None else (3 if len(labels) < ONE_ROUND_FROM else 1)
        for _ in range(max(rounds, 1)):
            likelihood = nm.trust_labels(nm.label_likelihood(noise, labels, confusion), labels, trusted)
            probs = np.exp(cross_val_log_proba(stacked, features, labels, likelihood, num_folds=num_folds,
                                               l2=l2, seed=seed, max_train=FIT_MAX_TRAIN))
            noise, confusion, temperature = nm.fit_appearance(noise, probs, labels, logits)
    posterior = nm.true_class_posterior(
        probs, nm.trust_labels(nm.label_likelihood(noise, labels, confusion), labels, trusted))
    score = nm.wrong_probability(posterior, labels)
    return IssueScores(score, score > 0.5, posterior.argmax(axis=1), probs, float(score.mean()),
                       li.confident_joint(probs, labels), noise, temperature)


def evidence(logits: np.ndarray, labels: np.ndarray, embeddings: np.ndarray | None, *,
             neighbours: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The logistic model's inputs: (S, N, K) per-class evidence and (N, D) standardised features.

    The evidence is the centred (N, K) ``logits`` and, with ``embeddings`` and
    ``neighbours > 0``, the log of the smoothed votes of each sample's neighbours'
    ``labels``; without embeddings the features are (N, 0).
    """
    num_classes = logits.shape[1]
    offsets = [logits - logits.mean(axis=1, keepdims=True)]
    features = np.zeros((len(labels), 0))
    if embeddings is not None:
        features = standardize(np.asarray(embeddings, dtype=np.float64))
        if neighbours > 0:
            votes = li.neighbour_votes(features, labels, num_classes, neighbours)
            offsets.append(np.log((1 - VOTE_SMOOTHING) * votes + VOTE_SMOOTHING / num_classes))
    return np.stack(offsets), features


def standardize(features: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-variance columns (constant columns become 0)."""
    std = features.std(axis=0)
    return (features - features.mean(axis=0)) / np.where(std > 0, std, 1.0)
