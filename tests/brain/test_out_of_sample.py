"""The training-set case: out-of-sample predictions from embeddings, label issues from embeddings
alone, and the warning when predictions look in-sample."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import average_precision_score
from test_compute_label_issues import CLASSES, make_dataset

import labellens as ll
from labellens import brain
from labellens.brain.out_of_sample import in_sample_warning, out_of_sample_log_proba
from labellens.errors import ValidationError
from labellens.fields import CLASSIFICATION


def test_out_of_sample_log_proba_never_sees_the_label() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=300)
    noise = rng.normal(size=(300, 5))                       # features unrelated to the labels
    log_p = out_of_sample_log_proba(noise, labels, 3)
    np.testing.assert_allclose(np.exp(log_p).sum(axis=1), 1.0)
    assert (log_p.argmax(axis=1) == labels).mean() < 0.5   # an in-sample fit would do better on noise
    informative = np.eye(3)[labels] * 3 + rng.normal(size=(300, 3))
    assert (out_of_sample_log_proba(informative, labels, 3).argmax(axis=1) == labels).mean() > 0.9


def test_in_sample_warning_rule() -> None:
    assert in_sample_warning(0.90, 1000) is None
    assert in_sample_warning(1.0, 50) is None               # too few samples to tell
    message = in_sample_warning(0.995, 1000)
    assert message and "99.5%" in message and "compute_out_of_sample_predictions" in message


def test_compute_out_of_sample_predictions(backend: str) -> None:
    ds, wrong = make_dataset(300)
    summary = brain.compute_out_of_sample_predictions(ds, "emb", pred_field="oos", progress=False)
    assert ds.get_field_schema()["oos"] == CLASSIFICATION
    assert summary.classes == CLASSES and summary.num_samples == 300 and 0.6 < summary.agreement < 0.95
    logits = ds.values("oos.logits", as_numpy=True)
    np.testing.assert_allclose(np.exp(logits).sum(axis=1), 1.0, atol=1e-5)
    assert ds.values("oos.label") == [CLASSES[i] for i in logits.argmax(axis=1)]
    assert ds.get_brain_info("oos")["config"]["method"] == "out_of_sample_predictions"
    brain.compute_mistakenness(ds, "oos", use_logits=True, progress=False)
    assert average_precision_score(wrong, ds.values("mistakenness")) > 0.5
    with pytest.raises(ValidationError, match="num_folds"):
        brain.compute_out_of_sample_predictions(ds, "emb", pred_field="oos2", num_folds=1, progress=False)
    with pytest.raises(ValidationError, match="overwrite"):
        brain.compute_out_of_sample_predictions(ds, "emb", pred_field="emb", progress=False)
    assert "oos2" not in ds.get_field_schema()


def test_label_issues_from_embeddings_alone(backend: str) -> None:
    ds, wrong = make_dataset(300, default_classes=False)
    summary = brain.compute_label_issues(ds, embeddings_field="emb", progress=False)
    score = np.array(ds.values("label_issue"))
    assert summary.classes == sorted(CLASSES) and np.all((score >= 0) & (score <= 1))
    assert average_precision_score(wrong, score) > 0.6
    assert ds.get_brain_info("label_issue")["config"]["pred_field"] == []
    with pytest.raises(ValidationError, match="pred_field .* or embeddings_field"):
        brain.compute_label_issues(ds, progress=False)


def test_in_sample_predictions_warn(backend: str) -> None:
    ds, _ = make_dataset(300)
    given = ds.values("ground_truth.label")
    memorised = [ll.Classification(label=g, logits=np.eye(4)[CLASSES.index(g)] * 8) for g in given]
    ds.set_values("memorised", memorised)
    with pytest.warns(UserWarning, match="look in-sample"):
        brain.compute_label_issues(ds, "memorised", embeddings_field="emb", progress=False)
    with pytest.warns(UserWarning, match="look in-sample"):
        brain.compute_mistakenness(ds, "memorised", use_logits=True, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        brain.compute_label_issues(ds, "pred", embeddings_field="emb", score_field="li2", progress=False)
        brain.compute_mistakenness(ds, "pred", mistakenness_field="m2", use_logits=True, progress=False)
