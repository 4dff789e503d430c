"""compute_label_issues on datasets and views, on both backends."""

from __future__ import annotations

import numpy as np
import pytest
from bson import ObjectId
from sklearn.metrics import average_precision_score

import labellens as ll
from labellens import brain, db
from labellens.codec import encode_logits as encode_array
from labellens.errors import FieldNotFoundError, SchemaError, ValidationError

CLASSES = ["cat", "dog", "bird", "fish"]


def make_dataset(n: int = 300, seed: int = 0, default_classes: bool = True) -> tuple[ll.Dataset, np.ndarray]:
    """Samples with noisy labels (about 15% wrong), predictions with logits, 8-d embeddings."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 4, size=n)
    centres = rng.normal(size=(4, 8)) * 1.5
    embeddings = (centres[true] + rng.normal(size=(n, 8))).astype(np.float32)
    logits = (embeddings @ centres.T / 2 + rng.normal(scale=1.5, size=(n, 4))).astype(np.float32)
    wrong = rng.random(n) < 0.15
    given = np.where(wrong, (true + rng.integers(1, 4, size=n)) % 4, true)
    ds = ll.Dataset()
    if default_classes:
        ds.default_classes = CLASSES
    ds.add_samples(ll.Sample(filepath=f"/img/{i}.png", tags=["a" if i % 3 else "b"],
                             ground_truth=ll.Classification(label=CLASSES[given[i]]),
                             pred=ll.Classification(label=CLASSES[int(logits[i].argmax())], logits=logits[i]),
                             pred_flip=ll.Classification(label=CLASSES[int(logits[i].argmax())],
                                                         logits=logits[i] + 0.1),
                             emb=embeddings[i])
                   for i in range(n))
    return ds, wrong


def test_scores_flags_and_suggestions(backend: str) -> None:
    ds, wrong = make_dataset()
    summary = brain.compute_label_issues(ds, "pred", embeddings_field="emb", progress=False)
    score = np.array(ds.values("label_issue"))
    assert np.all((score >= 0) & (score <= 1))
    assert average_precision_score(wrong, score) > 0.6
    flags = ds.values("label_issue_flag")
    assert flags == [bool(s > 0.5) for s in score]
    assert set(ds.values("label_issue_suggestion")) <= set(CLASSES)
    assert summary.num_samples == len(ds) and summary.num_flagged == sum(flags)
    assert summary.estimated_issues == pytest.approx(score.sum())
    assert sum(summary.issues_per_class.values()) == pytest.approx(summary.estimated_issues)
    assert summary.confident_joint.shape == (4, 4) and summary.classes == CLASSES
    assert "label issues" in str(summary)


def test_run_is_recorded_and_deletable(backend: str) -> None:
    ds, _ = make_dataset(60)
    brain.compute_label_issues(ds, ["pred", "pred_flip"], embeddings_field=["emb"], score_field="li",
                               progress=False)
    info = ds.get_brain_info("li")
    assert info["fields"] == ["li", "li_flag", "li_suggestion"]
    assert info["config"]["pred_field"] == ["pred", "pred_flip"]
    ds.delete_brain_run("li")
    assert not {"li", "li_flag", "li_suggestion"} & set(ds.get_field_schema())


def test_on_a_view_without_embeddings_and_classes_read_off_predictions(backend: str) -> None:
    ds, _ = make_dataset(120, default_classes=False)
    view = ds.match_tags("a")
    summary = brain.compute_label_issues(view, "pred", progress=False)
    assert sorted(summary.classes) == sorted(CLASSES)
    assert len(ds.exists("label_issue")) == len(view) < len(ds)


def test_unusable_samples_are_skipped_and_reported(backend: str) -> None:
    ds, _ = make_dataset(60)
    pred = ll.Classification(label="cat", logits=[1.0, 0, 0, 0])
    extra = ds.add_samples([
        ll.Sample(filepath="/img/nolabel.png", pred=pred, emb=np.zeros(8, np.float32)),
        ll.Sample(filepath="/img/other.png", ground_truth=ll.Classification(label="whale"), pred=pred,
                  emb=np.zeros(8, np.float32))])
    nan_id = ds.values("id")[0]
    db.get_database()[ds.collection_name].update_one(
        {"_id": ObjectId(nan_id)}, {"$set": {"pred.logits": encode_array(np.array([np.nan, 0, 0, 0]))}})
    with pytest.warns(UserWarning, match="3 samples"):
        summary = brain.compute_label_issues(ds, "pred", embeddings_field="emb", progress=False)
    assert sorted(summary.skipped_ids) == sorted([*extra, nan_id])
    assert ds.select([*extra, nan_id]).values("label_issue") == [None] * 3


def test_bad_input_raises_before_writing(backend: str) -> None:
    ds, _ = make_dataset(30)
    with pytest.raises(FieldNotFoundError):
        brain.compute_label_issues(ds, "nope", progress=False)
    with pytest.raises(ValidationError, match="embeddings_field"):
        brain.compute_label_issues(ds, "pred", embeddings_field="nope", progress=False)
    with pytest.raises(ValidationError, match="overwrite"):
        brain.compute_label_issues(ds, "pred", score_field="ground_truth", progress=False)
    with pytest.raises(SchemaError, match="already holds"):
        brain.compute_label_issues(ds, "pred", suggestion_field="emb", progress=False)
    ds.set_values("multi", [ll.Classifications(classifications=[])] * len(ds))
    with pytest.raises(SchemaError, match="single-label"):
        brain.compute_label_issues(ds, "multi", progress=False)
    ds.add_sample(ll.Sample(filepath="/img/conf.png", ground_truth=ll.Classification(label="cat"),
                            pred=ll.Classification(label="cat", confidence=0.9)))
    with pytest.raises(ValidationError, match="1 samples .*without logits"):
        brain.compute_label_issues(ds, "pred", progress=False)
    assert "label_issue" not in ds.get_field_schema() and ds.list_brain_runs() == []


def test_too_few_samples(backend: str) -> None:
    ds, _ = make_dataset(5)
    with pytest.raises(ValidationError, match="at least"):
        brain.compute_label_issues(ds, "pred", progress=False)
