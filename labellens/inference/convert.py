"""Pure conversions from model outputs to labels: numpy in, labels out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labellens.errors import ValidationError
from labellens.labels import Classification
from labellens.probability import softmax


def check_logits(logits: np.ndarray, num_classes: int) -> np.ndarray:
    """``logits`` as a finite (N, num_classes) float32 array, or a ValidationError saying what is wrong."""
    array = np.asarray(logits, dtype=np.float32)
    if array.ndim != 2 or array.shape[1] != num_classes:
        raise ValidationError(f"the model gives outputs of shape {array.shape}, but there are "
                              f"{num_classes} classes; pass classes= with one name per output")
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise ValidationError(f"the model gave NaN or infinite logits for {int(bad.sum())} of "
                              f"{len(array)} images; check the model and its transform")
    return array


def predict(logits: np.ndarray, classes: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """(N, K) logits -> (labels: N class names of the argmax, confidences: (N,) max softmax in [0, 1])."""
    array = check_logits(logits, len(classes))
    probs = softmax(array)
    best = probs.argmax(axis=1)
    return [classes[i] for i in best], np.clip(probs[np.arange(len(best)), best], 0.0, 1.0)


def to_classifications(logits: np.ndarray, classes: Sequence[str], *,
                       store_logits: bool = True) -> list[Classification]:
    """(N, K) logits -> N ``Classification(label, confidence=max softmax, logits=row)``."""
    array = check_logits(logits, len(classes))
    labels, confidences = predict(array, classes)
    return [Classification(label=label, confidence=float(conf), logits=row if store_logits else None)
            for label, conf, row in zip(labels, confidences, array)]
