"""Label-issue techniques as small pure functions (numpy in, numpy out).

- Confident learning (Northcutt, Jiang and Chuang, JAIR 2021): per-class
  thresholds, the confident joint of given and likely-true labels, and the
  number of label issues estimated from it.
- Rankings: self-confidence and normalised margin of the given label.
- Neighbour votes: how the labels of a sample's nearest neighbours in
  embedding space are distributed (cosine similarity, self excluded).

The noise model and the posterior that a label is wrong live in
:mod:`~labellens.brain.noise_model`.

``labels`` are (N,) class indices in [0, K); ``probs`` are (N, K) rows summing to 1.
"""

from __future__ import annotations

import numpy as np

from labellens.brain.neighbors import knn


def per_class_thresholds(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(K,) mean probability of class j over the samples labelled j (a class with none gets 1)."""
    num_classes = probs.shape[1]
    counts = np.bincount(labels, minlength=num_classes)
    sums = np.zeros(num_classes)
    np.add.at(sums, labels, probs[np.arange(len(labels)), labels])
    return np.divide(sums, counts, out=np.ones(num_classes), where=counts > 0)


def confident_joint(probs: np.ndarray, labels: np.ndarray, thresholds: np.ndarray | None = None
                    ) -> np.ndarray:
    """(K, K) counts of (given label i, likely true label j), calibrated to the label counts.

    A sample counts towards the most probable class among those whose probability
    reaches its class threshold; samples reaching no threshold are not counted.
    Each row is then rescaled to sum to the number of samples given that label.
    """
    num_classes = probs.shape[1]
    if thresholds is None:
        thresholds = per_class_thresholds(probs, labels)
    above = probs >= thresholds[None, :] - 1e-12
    confident = above.any(axis=1)
    likely = np.where(above, probs, -np.inf).argmax(axis=1)
    joint = np.zeros((num_classes, num_classes))
    np.add.at(joint, (labels[confident], likely[confident]), 1.0)
    label_counts = np.bincount(labels, minlength=num_classes)
    row_sums = joint.sum(axis=1)
    scale = np.divide(label_counts, row_sums, out=np.zeros(num_classes), where=row_sums > 0)
    return joint * scale[:, None]


def estimate_num_issues(joint: np.ndarray) -> np.ndarray:
    """(K,) estimated number of wrong labels per given class: the off-diagonal row sums."""
    return joint.sum(axis=1) - np.diag(joint)


def self_confidence(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N,) probability of the given label (low = likely an issue)."""
    return probs[np.arange(len(labels)), labels]


def normalized_margin(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N,) ``p(given) - max p(other)`` mapped to [0, 1] (low = likely an issue)."""
    given = self_confidence(probs, labels)
    others = probs.copy()
    others[np.arange(len(labels)), labels] = -np.inf
    return (given - others.max(axis=1) + 1.0) / 2.0


def neighbour_votes(embeddings: np.ndarray, labels: np.ndarray, num_classes: int, k: int = 10) -> np.ndarray:
    """(N, K) fraction of each sample's ``k`` nearest neighbours (cosine, self excluded) per label.

    Neighbours come from :func:`labellens.brain.neighbors.knn` (exact for small N, approximate above).
    """
    n = len(embeddings)
    k = min(k, n - 1)
    if k < 1:
        return np.full((n, num_classes), 1.0 / num_classes)
    nearest, _ = knn(embeddings, k, metric="cosine")
    votes = np.zeros((n, num_classes))
    np.add.at(votes, (np.repeat(np.arange(n), k), labels[nearest].ravel()), 1.0 / k)
    return votes


def neighbour_agreement(votes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N,) fraction of neighbours that share the sample's label."""
    return votes[np.arange(len(labels)), labels]

