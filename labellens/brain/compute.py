"""Mistakenness and hardness written back to a dataset or view.

Each method checks its fields first (nothing is written on bad input), then
streams only the label paths it needs in batches, scores each batch with the
pure functions of :mod:`labellens.brain.scores`, and writes the batch back with
one bulk ``set_values``: memory stays bounded by the batch size, not the
dataset. Every run is recorded as a brain run on the dataset.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labellens.background import BackgroundWriter
from labellens.brain import scores
from labellens.brain.fields import (
    check_outputs,
    check_same_kind,
    label_kind,
    label_paths,
    labels_equal,
    require_attribute,
    stack_rows,
)
from labellens.brain.out_of_sample import in_sample_warning
from labellens.dataset.collection import SampleCollection
from labellens.fields import FLOAT
from labellens.progress import ProgressBar
from labellens.reporting import warn_skipped

BATCH_SIZE = 10_000


@dataclass
class ScoreSummary:
    """What a scoring run wrote: counts per outcome and the samples it skipped."""

    score_field: str
    scored: int = 0
    agreements: int = 0
    no_prediction: int = 0
    unset: int = 0
    skipped_ids: list[str] = field(default_factory=list)

    @property
    def num_skipped(self) -> int:
        return len(self.skipped_ids)


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
    check_outputs(schema, [(mistakenness_field, FLOAT)], (pred_field, label_field))
    attribute = "logits" if use_logits else "confidence"
    require_attribute(samples, pred_field, attribute,
                      "run the model with store_logits=True, or pass use_logits=False" if use_logits
                      else "pass use_logits=True to score from logits")
    pred_path, value_path = label_paths(pred_field, kind), f"{pred_field}.{attribute}"
    truth_path = label_paths(label_field, kind)
    summary = ScoreSummary(mistakenness_field)
    with ProgressBar(len(samples), desc="mistakenness", unit="samples", enabled=progress) as bar, \
            BackgroundWriter(depth=1) as writer:
        for batch in samples.iter_batches([pred_path, value_path, truth_path], batch_size=BATCH_SIZE,
                                          object_ids=True):
            values = _mistakenness_batch(batch, pred_path, value_path, truth_path, kind, use_logits, summary)
            writer.submit(samples.set_values, mistakenness_field, values, ids=batch["id"])
            bar.update(len(values))
    _warn_skipped(summary)
    in_sample = in_sample_warning(summary.agreements / max(summary.scored, 1), summary.scored)
    if in_sample:
        warnings.warn(in_sample, stacklevel=2)
    samples.dataset.register_brain_run(
        mistakenness_field, {"method": "mistakenness", "pred_field": pred_field, "label_field": label_field,
                             "mistakenness_field": mistakenness_field, "use_logits": bool(use_logits)},
        [mistakenness_field])
    return summary


def _mistakenness_batch(batch: dict[str, list[Any]], pred_path: str, value_path: str, truth_path: str,
                        kind: str, use_logits: bool, summary: ScoreSummary) -> list[float | None]:
    """Scores of one batch (None = leave unset), counting outcomes into ``summary``."""
    preds, truths, raw = batch[pred_path], batch[truth_path], batch[value_path]
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
        summary.skipped_ids += [str(batch["id"][i]) for i in rows[~finite]]
    else:
        confidence = np.array([raw[i] for i in rows], dtype=np.float64)
        finite = np.isfinite(confidence)
        out[rows[finite]] = scores.mistakenness_from_confidence(confidence[finite], agree[finite])
        summary.skipped_ids += [str(batch["id"][i]) for i in rows[~finite]]
    summary.scored += int(finite.sum())
    summary.agreements += int(agree[finite].sum())
    summary.no_prediction += int((has_truth & ~has_pred).sum())
    summary.unset += int((~has_truth).sum())
    return [None if np.isnan(v) else float(v) for v in out]


def compute_hardness(samples: SampleCollection, label_field: str, hardness_field: str = "hardness", *,
                     progress: bool = True) -> ScoreSummary:
    """Write the entropy of softmax(logits) of ``label_field``'s predictions to ``hardness_field``.

    Samples without a prediction stay unset; every prediction must have logits.
    NaN or infinite logits are skipped (unset) and reported, as in
    :func:`compute_mistakenness`.
    """
    schema = samples.get_field_schema()
    label_kind(samples, label_field, "label_field", schema=schema)
    check_outputs(schema, [(hardness_field, FLOAT)], (label_field,))
    require_attribute(samples, label_field, "logits", "run the model with store_logits=True")
    path = f"{label_field}.logits"
    summary = ScoreSummary(hardness_field)
    with ProgressBar(len(samples), desc="hardness", unit="samples", enabled=progress) as bar, \
            BackgroundWriter(depth=1) as writer:
        for batch in samples.iter_batches([path], batch_size=BATCH_SIZE, object_ids=True):
            raw = batch[path]
            rows = np.array([i for i, v in enumerate(raw) if v is not None], dtype=int)
            logits, finite = stack_rows([raw[i] for i in rows])
            out = np.full(len(raw), np.nan)
            if len(rows):
                out[rows[finite]] = scores.hardness(logits[finite])
            summary.scored += int(finite.sum())
            summary.unset += len(raw) - len(rows)
            summary.skipped_ids += [str(batch["id"][i]) for i in rows[~finite]]
            writer.submit(samples.set_values, hardness_field,
                          [None if np.isnan(v) else float(v) for v in out], ids=batch["id"])
            bar.update(len(raw))
    _warn_skipped(summary)
    samples.dataset.register_brain_run(
        hardness_field, {"method": "hardness", "label_field": label_field, "hardness_field": hardness_field},
        [hardness_field])
    return summary


def _warn_skipped(summary: ScoreSummary) -> None:
    warn_skipped(summary.skipped_ids, f"samples have NaN or infinite inputs and were skipped "
                 f"({summary.score_field!r} left unset)", stacklevel=3)
