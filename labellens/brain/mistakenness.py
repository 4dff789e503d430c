"""Mistakenness and hardness written back to a dataset or view.

Each method checks its fields first (nothing is written on bad input), then
streams only the label paths it needs in batches, scores each batch with the
pure functions of :mod:`labellens.brain.scores`, and writes the batch back with
one bulk write: memory stays bounded by the batch size, not the
dataset. Every run is recorded as a brain run on the dataset.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from labellens.brain import scores
from labellens.brain.label_inputs import (
    check_same_kind,
    label_kind,
    label_paths,
    labels_equal,
    require_attribute,
    stack_rows,
)
from labellens.brain.out_of_sample import in_sample_warning
from labellens.brain.run import BrainRun, RunSummary
from labellens.dataset.collection import SampleCollection
from labellens.fields import FLOAT

BATCH_SIZE = 10_000
NON_FINITE = "have NaN or infinite inputs and were skipped ({!r} left unset)"


@dataclass(kw_only=True)
class ScoreSummary(RunSummary):
    """What a scoring run wrote: counts per outcome (``scored`` from the model's output, ``agreements``
    among them, ``no_prediction`` scored 1.0, ``unset`` without a label) and the samples it skipped."""

    agreements: int = 0
    no_prediction: int = 0
    unset: int = 0
    score_field = property(lambda self: self.brain_key)  # the names of older versions


def compute_mistakenness(samples: SampleCollection, pred_field: str, label_field: str = "ground_truth", *,
                         mistakenness_field: str = "mistakenness", use_logits: bool = False,
                         progress: bool = True) -> ScoreSummary:
    """Score how likely each ground-truth label is a mistake, as the reference tool does.

    With ``m = -1`` where the predicted label equals the ground truth (equal label
    sets for ``Classifications``) and ``+1`` otherwise, the score is
    ``(m * exp(-H) + 1) / 2`` with ``H`` the entropy of softmax(logits) when
    ``use_logits``, else ``(m * confidence + 1) / 2``. A sample with a ground truth
    but no prediction scores 1.0; one without a ground truth is left unset.

    Parameters
    ----------
    samples : Dataset or View
    pred_field : str
        Predictions (``Classification`` or ``Classifications``).
    label_field : str
        Ground truth, of the same label type.
    mistakenness_field : str
        Float field to write; also the brain key of the run.
    use_logits : bool
        Score from the predictions' logits (every prediction must have them)
        rather than their confidence.
    progress : bool
        Show a progress bar.

    Returns
    -------
    ScoreSummary
        Counts; samples with NaN or infinite logits are skipped (left unset),
        listed in ``skipped_ids`` and named in a warning.
    """
    schema = samples.get_field_schema()  # one read of the schema for every check
    kind = label_kind(samples, pred_field, "pred_field", schema=schema)
    check_same_kind(kind, label_kind(samples, label_field, "label_field", schema=schema), pred_field,
                    label_field)
    run = BrainRun(samples, mistakenness_field, "mistakenness", {
        "pred_field": pred_field, "label_field": label_field, "mistakenness_field": mistakenness_field,
        "use_logits": bool(use_logits)}, inputs=(pred_field, label_field),
        outputs={mistakenness_field: FLOAT}, schema=schema)
    attribute = "logits" if use_logits else "confidence"
    require_attribute(samples, pred_field, attribute,
                      "run the model with store_logits=True, or pass use_logits=False" if use_logits
                      else "pass use_logits=True to score from logits")
    paths = (label_paths(pred_field, kind), f"{pred_field}.{attribute}", label_paths(label_field, kind))
    counts: Counter[str] = Counter()
    run.stream(paths, partial(_mistakenness_batch, run, counts, paths, kind, use_logits),
               batch_size=BATCH_SIZE, progress=progress)
    in_sample = in_sample_warning(counts["agreements"] / max(counts["scored"], 1), counts["scored"])
    if in_sample:
        warnings.warn(in_sample, stacklevel=2)
    return run.finish(ScoreSummary, **counts)


def _mistakenness_batch(run: BrainRun, counts: Counter[str], paths: tuple[str, str, str], kind: str,
                        use_logits: bool, batch: dict[str, list[Any]]) -> tuple[dict[str, Any], np.ndarray]:
    """Scores of one batch and the mask of scored samples (``paths``: prediction, its value, truth),
    counting outcomes into ``counts`` and skipped samples into ``run``."""
    preds, raw, truths = (batch[path] for path in paths)
    has_truth = np.array([t is not None for t in truths], dtype=bool)
    has_pred = np.array([p is not None for p in preds], dtype=bool)
    out = np.full(len(preds), np.nan)
    out[has_truth & ~has_pred] = 1.0
    rows = np.flatnonzero(has_truth & has_pred)
    agree = labels_equal([preds[i] for i in rows], [truths[i] for i in rows], kind)
    if use_logits:
        logits, finite = stack_rows([raw[i] for i in rows])
        if len(rows):
            out[rows[finite]] = scores.mistakenness_from_logits(logits[finite], agree[finite])
    else:
        confidence = np.array([raw[i] for i in rows], dtype=np.float64)
        finite = np.isfinite(confidence)
        out[rows[finite]] = scores.mistakenness_from_confidence(confidence[finite], agree[finite])
    run.skip([batch["id"][i] for i in rows[~finite]], NON_FINITE.format(run.key))
    counts.update(scored=int(finite.sum()), agreements=int(agree[finite].sum()),
                  no_prediction=int((has_truth & ~has_pred).sum()), unset=int((~has_truth).sum()))
    usable = ~np.isnan(out)
    return {run.key: out[usable]}, usable


def compute_hardness(samples: SampleCollection, label_field: str, hardness_field: str = "hardness", *,
                     progress: bool = True) -> ScoreSummary:
    """Write the entropy of softmax(logits) of ``label_field``'s predictions to ``hardness_field``.

    Samples without a prediction stay unset; every prediction must have logits.
    NaN or infinite logits are skipped (unset) and reported, as in
    :func:`compute_mistakenness`.
    """
    schema = samples.get_field_schema()
    label_kind(samples, label_field, "label_field", schema=schema)
    run = BrainRun(samples, hardness_field, "hardness", {"label_field": label_field,
                                                         "hardness_field": hardness_field},
                   inputs=(label_field,), outputs={hardness_field: FLOAT}, schema=schema)
    require_attribute(samples, label_field, "logits", "run the model with store_logits=True")
    counts: Counter[str] = Counter()

    def score(batch: dict[str, list[Any]]) -> tuple[dict[str, Any], np.ndarray]:
        raw = batch[f"{label_field}.logits"]
        rows = np.array([i for i, v in enumerate(raw) if v is not None], dtype=int)
        logits, finite = stack_rows([raw[i] for i in rows])
        usable = np.zeros(len(raw), dtype=bool)
        usable[rows[finite]] = True
        counts.update(scored=int(finite.sum()), unset=len(raw) - len(rows))
        run.skip([batch["id"][i] for i in rows[~finite]], NON_FINITE.format(hardness_field))
        return {hardness_field: scores.hardness(logits[finite]) if len(rows) else []}, usable

    run.stream([f"{label_field}.logits"], score, batch_size=BATCH_SIZE, progress=progress)
    return run.finish(ScoreSummary, **counts)
