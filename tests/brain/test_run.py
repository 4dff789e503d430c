"""The brain-run contract: a new method is its kernel plus a few lines, and every method records
the outputs and flags it declares, on both backends."""

from __future__ import annotations

import numpy as np
import pytest

import labellens as ll
from labellens import brain
from labellens.brain.run import BrainRun, Flag, RunSummary, declared_outputs
from labellens.dataset.collection import SampleCollection
from labellens.errors import ValidationError
from labellens.fields import BOOLEAN, FLOAT, INT


def compute_norm(samples: SampleCollection, field: str, norm_field: str = "norm") -> RunSummary:
    """A whole brain method: the norm of each vector, flagged above 10, non-finite vectors skipped."""
    run = BrainRun(samples, norm_field, "norm", {"field": field}, inputs=[field],
                   outputs={norm_field: FLOAT, f"{norm_field}_big": BOOLEAN},
                   flags={"big": Flag(f"{norm_field}_big", score=norm_field)})
    ids, vectors = samples.values("id"), samples.values(field, as_numpy=True)
    usable = np.isfinite(vectors).all(axis=1)
    norm = np.linalg.norm(vectors[usable], axis=1)
    run.write(ids, {norm_field: norm, f"{norm_field}_big": norm > 10}, usable)
    run.skip([ids[i] for i in np.flatnonzero(~usable)], "have a non-finite vector")
    return run.finish(RunSummary, scored=int(usable.sum()))


def vectors(n: int = 6) -> ll.Dataset:
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(filepath=f"/img/{i}.png", vec=np.full(4, float(i * 3), np.float32))
                   for i in range(n))
    return ds


def test_a_new_method_writes_warns_once_and_records_its_outputs(backend: str) -> None:
    ds = vectors()
    nan_id = ds.values("id")[1]
    sample = ds[nan_id]
    sample["vec"] = np.array([np.nan, 0, 0, 0], np.float32)
    sample.save()
    with pytest.warns(UserWarning, match=f"1 samples have a non-finite vector: {nan_id}"):
        summary = compute_norm(ds, "vec")
    assert ds.values("norm") == [0.0, None, 12.0, 18.0, 24.0, 30.0]
    assert ds.values("norm_big") == [False, None, True, True, True, True]
    assert (summary.brain_key, summary.scored, summary.skipped_ids, summary.num_skipped) == ("norm", 5,
                                                                                             [nan_id], 1)
    assert summary.fields == {"norm": FLOAT, "norm_big": BOOLEAN} and summary.seconds > 0
    info = ds.get_brain_info("norm")
    assert info["config"]["method"] == "norm" and info["config"]["field"] == "vec"
    assert declared_outputs(info) == summary.fields and info["fields"] == ["norm", "norm_big"]
    assert info["config"]["flags"] == {"big": {"field": "norm_big", "value": True, "score": "norm",
                                               "low_is_worse": False}}


def test_bad_outputs_are_refused_before_anything_is_written(backend: str) -> None:
    ds = vectors()
    with pytest.raises(ValidationError, match="overwrite an input"):
        compute_norm(ds, "vec", norm_field="vec")
    with pytest.raises(ValidationError, match="top-level field name"):
        compute_norm(ds, "vec", norm_field="a.b")
    assert ds.list_brain_runs() == [] and "vec_big" not in ds.get_field_schema()


def test_every_method_records_what_it_declares(backend: str) -> None:
    rng = np.random.default_rng(0)
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(filepath=f"/img/{i}.png", emb=rng.normal(size=8).astype(np.float32),
                             ground_truth=ll.Classification(label=f"c{i % 3}")) for i in range(30))
    summaries = [brain.compute_uniqueness(ds, "emb"), brain.compute_outliers(ds, "emb"),
                 brain.compute_near_duplicates(ds, "emb", hash_files=False),
                 brain.compute_visualization(ds, "emb", method="pca")]
    for summary in summaries:
        info = ds.get_brain_info(summary.brain_key)
        assert declared_outputs(info) == summary.fields and info["fields"] == list(summary.fields)
        assert {k: Flag(**v) for k, v in info["config"]["flags"].items()} == summary.flags
        assert summary.scored == 30 and summary.skipped_ids == []
    assert summaries[2].fields == {"near_dup_group": INT, "near_dup_keep": BOOLEAN, "near_dup_exact": BOOLEAN}
    assert summaries[2].flags == {"near_duplicate": Flag("near_dup_keep", False)}
    assert summaries[1].flags["outlier"].query == {"outlier_flag": True}
    # what older versions returned still reads the same
    assert summaries[0] == 30
    assert summaries[1]["scored"] == 30 and summaries[1]["flagged"] == summaries[1].flagged
    assert summaries[3].num_points == 30 and summaries[3].method == "pca"


def test_a_run_recorded_before_outputs_were_declared_gives_its_fields() -> None:
    info = {"config": {"method": "visualization"}, "fields": ["viz"]}
    assert declared_outputs(info) == {"viz": None}
