"""The one softmax: row-wise probabilities from (N, K) logits, for brain and inference alike.

Pure numpy, float64 throughout, stable for any finite logits.
"""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log of the softmax of (N, K) ``logits`` (float64; also accepts a single (K,) row)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, K) ``logits``: (N, K) float64 probabilities, rows summing to 1."""
    return np.exp(log_softmax(logits))
