"""compute_mistakenness / compute_hardness on datasets and views, on both backends."""

from __future__ import annotations

import math

import numpy as np
import pytest
from bson import ObjectId
from scipy.special import softmax as scipy_softmax
from scipy.stats import entropy as scipy_entropy

import labellens as ll
from labellens import brain, db
from labellens.codec import encode_logits as encode_array
from labellens.errors import FieldNotFoundError, SchemaError, ValidationError

CLASSES = ["cat", "dog", "bird"]


def reference(logits: np.ndarray, agree: bool) -> float:
    m = -1.0 if agree else 1.0
    return (m * math.exp(-scipy_entropy(scipy_softmax(np.asarray(logits, dtype=np.float64)))) + 1.0) / 2.0


def make_dataset(n: int = 30, seed: int = 0) -> tuple[ll.Dataset, np.ndarray, list[str], list[str]]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n, 3)).astype(np.float32)
    truth = [CLASSES[i] for i in rng.integers(0, 3, size=n)]
    preds = [CLASSES[i] for i in logits.argmax(1)]
    ds = ll.Dataset()
    confidence = scipy_softmax(logits.astype(np.float64), axis=1).max(axis=1)
    ds.add_samples(ll.Sample(filepath=f"/img/{i}.png", tags=["even" if i % 2 == 0 else "odd"],
                             ground_truth=ll.Classification(label=truth[i]),
                             pred=ll.Classification(label=preds[i], confidence=float(confidence[i]),
                                                    logits=logits[i]))
                   for i in range(n))
    return ds, logits, truth, preds


def test_matches_reference_formula(backend: str) -> None:
    ds, logits, truth, preds = make_dataset()
    summary = brain.compute_mistakenness(ds, "pred", use_logits=True, progress=False)
    got = ds.values("mistakenness")
    want = [reference(row, p == t) for row, p, t in zip(logits, preds, truth)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert summary.scored == len(ds) and summary.num_skipped == 0


def test_confidence_formula_and_missing_predictions(backend: str) -> None:
    ds, logits, truth, preds = make_dataset(6)
    ds.add_sample(ll.Sample(filepath="/img/nopred.png", ground_truth=ll.Classification(label="cat")))
    ds.add_sample(ll.Sample(filepath="/img/nothing.png"))
    summary = brain.compute_mistakenness(ds, "pred", progress=False)
    got = ds.values("mistakenness")
    conf = [float(scipy_softmax(row.astype(np.float64)).max()) for row in logits]
    want = [((-1 if p == t else 1) * c + 1) / 2 for c, p, t in zip(conf, preds, truth)]
    np.testing.assert_allclose(got[:6], want, atol=1e-6)  # confidence was stored as a float
    assert got[6] == 1.0 and got[7] is None
    assert (summary.scored, summary.no_prediction, summary.unset) == (6, 1, 1)


def test_on_a_view_writes_only_its_samples(backend: str) -> None:
    ds, *_ = make_dataset(10)
    brain.compute_mistakenness(ds.match_tags("even"), "pred", use_logits=True, progress=False)
    assert len(ds.exists("mistakenness")) == 5
    assert ds.match_tags("odd").values("mistakenness") == [None] * 5


def test_brain_run_is_recorded_and_deletable(backend: str) -> None:
    ds, *_ = make_dataset(5)
    brain.compute_mistakenness(ds, "pred", use_logits=True, mistakenness_field="mk", progress=False)
    assert "mk" in ds.list_brain_runs()
    info = ds.get_brain_info("mk")
    assert info["config"]["use_logits"] is True and info["fields"] == ["mk"] and info["timestamp"]
    ds.delete_brain_run("mk")
    assert "mk" not in ds.list_brain_runs() and "mk" not in ds.get_field_schema()


def test_bad_fields_raise_before_writing(backend: str) -> None:
    ds, *_ = make_dataset(4)
    with pytest.raises(FieldNotFoundError, match="nope"):
        brain.compute_mistakenness(ds, "nope", progress=False)
    ds.set_values("score", [0.1] * 4)
    with pytest.raises(SchemaError, match="Classification"):
        brain.compute_mistakenness(ds, "score", progress=False)
    with pytest.raises(ValidationError, match="overwrite"):
        brain.compute_mistakenness(ds, "pred", mistakenness_field="pred", progress=False)
    ds.set_values("text", ["x"] * 4)
    with pytest.raises(SchemaError, match="already holds"):
        brain.compute_mistakenness(ds, "pred", mistakenness_field="text", progress=False)
    assert "mistakenness" not in ds.get_field_schema() and ds.list_brain_runs() == []


def test_use_logits_without_logits_names_count_and_example(backend: str) -> None:
    ds, *_ = make_dataset(4)
    ids = ds.add_samples([ll.Sample(filepath=f"/img/x{i}.png", ground_truth=ll.Classification(label="cat"),
                                    pred=ll.Classification(label="dog", confidence=0.5)) for i in range(2)])
    with pytest.raises(ValidationError, match=r"^2 samples .*without logits") as err:
        brain.compute_mistakenness(ds, "pred", use_logits=True, progress=False)
    assert any(i in str(err.value) for i in ids)
    assert "mistakenness" not in ds.get_field_schema()


def test_non_finite_logits_are_skipped_and_reported(backend: str) -> None:
    ds, logits, truth, preds = make_dataset(6)
    ids = ds.values("id")
    bad = np.array([np.nan, 1.0, 0.0], dtype=np.float32)
    collection = db.get_database()[ds.collection_name]
    collection.update_one({"_id": ObjectId(ids[2])}, {"$set": {"pred.logits": encode_array(bad)}})
    collection.update_one({"_id": ObjectId(ids[4])},
                          {"$set": {"pred.logits": encode_array(np.array([np.inf, 0, 0], np.float32))}})
    with pytest.warns(UserWarning, match="2 samples"):
        summary = brain.compute_mistakenness(ds, "pred", use_logits=True, progress=False)
    assert sorted(summary.skipped_ids) == sorted([ids[2], ids[4]])
    got = ds.values("mistakenness")
    assert got[2] is None and got[4] is None
    for i in (0, 1, 3, 5):
        assert got[i] == pytest.approx(reference(logits[i], preds[i] == truth[i]), abs=1e-9)


def test_classifications_compare_label_sets(backend: str) -> None:
    def multi(labels: list[str]) -> ll.Classifications:
        return ll.Classifications(classifications=[ll.Classification(label=x) for x in labels])

    ds = ll.Dataset()
    ds.add_samples([
        ll.Sample(filepath="/a.png", gt=multi(["cat", "dog"]), pred=multi(["dog", "cat"])),
        ll.Sample(filepath="/b.png", gt=multi(["cat"]), pred=multi(["cat", "dog"])),
    ])
    ds.set_values("pred.confidence", [0.8, 0.8])
    brain.compute_mistakenness(ds, "pred", label_field="gt", progress=False)
    assert ds.values("mistakenness") == pytest.approx([0.1, 0.9])


def test_mixed_label_types_raise(backend: str) -> None:
    ds, *_ = make_dataset(2)
    ds.set_values("multi", [ll.Classifications(classifications=[]), None])
    with pytest.raises(SchemaError, match="same label type"):
        brain.compute_mistakenness(ds, "multi", progress=False)


def test_hardness_is_entropy(backend: str) -> None:
    ds, logits, *_ = make_dataset(8)
    ds.add_sample(ll.Sample(filepath="/img/nopred.png"))
    summary = brain.compute_hardness(ds, "pred", progress=False)
    got = ds.values("hardness")
    want = [scipy_entropy(scipy_softmax(row.astype(np.float64))) for row in logits]
    np.testing.assert_allclose(got[:8], want, atol=1e-9)
    assert got[8] is None and summary.unset == 1
    assert "hardness" in ds.list_brain_runs()


def test_a_run_over_many_batches_reads_the_catalog_at_most_twice(backend: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Schema freshness is a version check, not a reload per batch or per write (issue 11)."""
    from labellens.brain import mistakenness
    from labellens.db.stores import CatalogStore

    ds, *_ = make_dataset(60)
    view = ll.load_dataset(ds.name).match_tags("even")  # a second dataset object, as in a new process
    monkeypatch.setattr(mistakenness, "BATCH_SIZE", 4)  # 30 samples: 8 read batches and 8 writes
    reads: list[str] = []
    for method in ("find", "find_one", "exists"):
        original = getattr(CatalogStore, method)

        def counted(self, *args, _original=original, _name=method, **kwargs):
            reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(CatalogStore, method, counted)
    summary = brain.compute_mistakenness(view, "pred", use_logits=True, progress=False)
    assert summary.scored == 30
    assert len(reads) <= 2, reads
    assert len(ds.exists("mistakenness")) == 30
