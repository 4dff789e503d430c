"""Per-sample scores from predictions: softmax, entropy, mistakenness, hardness.

Pure numpy, float64 throughout, vectorised over a batch: (N, K) logits in,
(N,) scores out. ``mistakenness`` follows the tutorial's reference definition
exactly, so users switching tools see the same numbers.
"""

from __future__ import annotations

import numpy as np

from labellens.probability import log_softmax, softmax

__all__ = ["entropy", "finite_rows", "hardness", "log_softmax", "mistakenness_from_confidence",
           "mistakenness_from_logits", "softmax"]


def entropy(logits: np.ndarray) -> np.ndarray:
    """Natural-log entropy of softmax(``logits``) per row.

    Computed from the log-softmax so that probabilities that underflow to 0
    contribute exactly 0 (no NaN from ``0 * log 0``).
    """
    log_p = log_softmax(logits)
    return -(np.exp(log_p) * log_p).sum(axis=-1)


def _modulator(agree: np.ndarray) -> np.ndarray:
    """-1 where the prediction agrees with the ground truth, +1 where it does not."""
    return np.where(np.asarray(agree, dtype=bool), -1.0, 1.0)


def mistakenness_from_logits(logits: np.ndarray, agree: np.ndarray) -> np.ndarray:
    """The reference mistakenness ``(m * exp(-H) + 1) / 2`` from (N, K) logits.

    Parameters
    ----------
    logits : numpy.ndarray
        (N, K) finite prediction logits.
    agree : numpy.ndarray
        (N,) bool, whether each prediction's label equals the ground truth's.

    Returns
    -------
    numpy.ndarray
        (N,) float64 in [0, 1]: near 1 for confident disagreements, near 0 for
        confident agreements, near 0.5 for uncertain predictions.
    """
    return (_modulator(agree) * np.exp(-entropy(logits)) + 1.0) / 2.0


def mistakenness_from_confidence(confidence: np.ndarray, agree: np.ndarray) -> np.ndarray:
    """The reference mistakenness ``(m * confidence + 1) / 2`` from (N,) confidences in [0, 1]."""
    return (_modulator(agree) * np.asarray(confidence, dtype=np.float64) + 1.0) / 2.0


def hardness(logits: np.ndarray) -> np.ndarray:
    """How unsure a model was on each sample: the entropy of softmax(``logits``), in [0, log K]."""
    return entropy(logits)


def finite_rows(array: np.ndarray) -> np.ndarray:
    """(N,) bool: rows of a 2-D array whose values are all finite."""
    return np.isfinite(np.asarray(array, dtype=np.float64)).all(axis=-1)
