"""Pure conversions from logits to predictions (no torch, no database)."""

from __future__ import annotations

import numpy as np
import pytest

from labellens.errors import ValidationError
from labellens.inference.convert import predict, softmax, to_classifications

CLASSES = ["cat", "dog", "bird"]


def test_softmax_rows_are_probabilities_even_for_huge_logits() -> None:
    logits = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    probs = softmax(logits)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert np.isfinite(probs).all() and probs[0, 0] == pytest.approx(1.0)
    expected = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    assert np.allclose(probs[1], expected)


def test_predict_gives_argmax_label_and_max_softmax() -> None:
    labels, confidences = predict(np.array([[0.0, 2.0, 1.0], [5.0, 5.0, -1.0]]), CLASSES)
    assert labels == ["dog", "cat"]
    assert confidences[0] == pytest.approx(np.exp(2) / (1 + np.exp(2) + np.exp(1)))
    assert confidences[1] == pytest.approx(np.exp(5) / (2 * np.exp(5) + np.exp(-1)))


def test_to_classifications_keeps_logits_as_float32() -> None:
    logits = np.array([[0.5, -1.0, 3.0]])
    (label,) = to_classifications(logits, CLASSES)
    assert label.label == "bird"
    assert label.logits.dtype == np.float32 and np.allclose(label.logits, logits[0])
    assert 0.0 <= label.confidence <= 1.0
    (plain,) = to_classifications(logits, CLASSES, store_logits=False)
    assert plain.logits is None and plain.confidence == pytest.approx(label.confidence)


def test_outputs_that_do_not_match_the_classes_are_refused() -> None:
    with pytest.raises(ValidationError, match="3 classes"):
        to_classifications(np.zeros((2, 4)), CLASSES)
    with pytest.raises(ValidationError, match="3 classes"):
        predict(np.zeros(3), CLASSES)


def test_non_finite_logits_are_refused_with_a_count() -> None:
    logits = np.array([[0.0, np.nan, 1.0], [0.0, 1.0, 2.0], [np.inf, 0.0, 0.0]])
    with pytest.raises(ValidationError, match="2 of 3"):
        to_classifications(logits, CLASSES)
