"""The label-issue finder: the techniques of :mod:`label_issues` combined into one score.

The combination is one probabilistic model rather than a weighted vote:

1. Evidence about each sample's true class comes from the model's logits
   (averaged over test-time augmentations when several predictions are given)
   and, with embeddings, from the labels of its nearest neighbours.
2. A cross-validated logistic model on the embeddings, offset by that
   evidence (:mod:`noisy_logreg`), learns out-of-sample class probabilities
   from the *given* labels under a symmetric noise model, so it adapts the
   model to this dataset without learning its mistakes.
3. The noise rate starts at the confident-learning estimate and is refined by
   expectation-maximisation: it becomes the mean posterior probability that a
   label is wrong.
4. Each sample's score is that posterior, in [0, 1]; it is flagged when the
   posterior exceeds 1/2, and the most probable class is its suggested label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from labellens.brain import label_issues as li
from labellens.brain.noisy_logreg import cross_val_log_proba
from labellens.brain.scores import softmax

MIN_NOISE_RATE, MAX_NOISE_RATE = 1e-3, 0.5
VOTE_SMOOTHING = 0.1


@dataclass(frozen=True)
class IssueScores:
    """Per-sample results (arrays of length N) and dataset-level estimates."""

    score: np.ndarray
    flag: np.ndarray
    suggestion: np.ndarray
    probs: np.ndarray
    noise_rate: float
    confident_joint: np.ndarray


def find_label_issues(logits: np.ndarray, labels: np.ndarray, embeddings: np.ndarray | None = None, *,
                      num_folds: int = 5, neighbours: int = 10, em_rounds: int = 3, l2: float = 1e-2,
                      seed: int = 0) -> IssueScores:
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
    em_rounds : int
        Rounds of noise-rate refinement (each fits ``num_folds`` models).
    l2 : float
        Penalty on the embedding weights.
    seed : int
        Seed of the fold assignment.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    num_classes = logits.shape[1]
    offsets = [logits - logits.mean(axis=1, keepdims=True)]
    features = np.zeros((len(labels), 0))
    if embeddings is not None:
        features = standardize(np.asarray(embeddings, dtype=np.float64))
        if neighbours > 0:
            votes = li.neighbour_votes(features, labels, num_classes, neighbours)
            offsets.append(np.log((1 - VOTE_SMOOTHING) * votes + VOTE_SMOOTHING / num_classes))
    stacked = np.stack(offsets)
    noise_rate = _clip_rate(li.estimate_num_issues(li.confident_joint(softmax(logits), labels)).sum()
                            / len(labels), num_classes)
    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: threads only add overhead
        for _ in range(max(em_rounds, 1)):
            probs = np.exp(cross_val_log_proba(stacked, features, labels, num_classes, num_folds=num_folds,
                                               noise_rate=noise_rate, l2=l2, seed=seed))
            posterior = li.noise_posterior(li.self_confidence(probs, labels), noise_rate, num_classes)
            noise_rate = _clip_rate(float(posterior.mean()), num_classes)
    return IssueScores(posterior, posterior > 0.5, probs.argmax(axis=1), probs, noise_rate,
                       li.confident_joint(probs, labels))


def standardize(features: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-variance columns (constant columns become 0)."""
    std = features.std(axis=0)
    return (features - features.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _clip_rate(rate: float, num_classes: int) -> float:
    """A usable noise rate: labels must stay more likely right than any one wrong class."""
    return float(np.clip(rate, MIN_NOISE_RATE, min(MAX_NOISE_RATE, 0.9 * (1 - 1 / num_classes))))
