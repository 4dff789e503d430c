"""``compute_label_issues`` and ``compute_out_of_sample_predictions`` on a dataset or view.

``compute_label_issues`` reads the given labels, the predictions' logits
(several prediction fields = test-time augmentations, averaged) and optionally
embeddings, one projection per batch; runs
:func:`~labellens.brain.mislabel_model.find_label_issues`; writes a score, a flag
and a suggested label per sample in one bulk write, and records a brain run.
Without predictions it first cross-fits them on the embeddings
(:mod:`~labellens.brain.out_of_sample`), as ``compute_out_of_sample_predictions``
stores them.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labellens.brain import fine_tuned
from labellens.brain.fine_tuned import OutOfSampleSummary
from labellens.brain.label_inputs import CLASSIFICATION, label_kind, require_attribute
from labellens.brain.mislabel_model import find_label_issues
from labellens.brain.out_of_sample import check_num_folds, in_sample_warning, out_of_sample_log_proba
from labellens.brain.run import BrainRun, Flag, RunSummary
from labellens.dataset.collection import SampleCollection
from labellens.errors import SchemaError, ValidationError
from labellens.fields import BOOLEAN, FLOAT, STRING
from labellens.labels import Classification
from labellens.progress import ProgressBar
from labellens.validation import string_list

BATCH_SIZE = 10_000
MIN_SAMPLES = 10


@dataclass(kw_only=True)
class LabelIssuesSummary(RunSummary):
    """What ``compute_label_issues`` found.

    ``estimated_issues`` is the expected number of wrong labels (the sum of the
    scores); ``issues_per_class`` splits it by given label; ``confident_joint``
    counts (given label, likely true label) pairs, rows and columns in ``classes`` order.
    """

    classes: list[str]
    estimated_issues: float
    num_flagged: int
    noise_rate: float
    issues_per_class: dict[str, float]
    confident_joint: np.ndarray
    score_field = property(lambda self: self.brain_key)  # the names of older versions
    num_samples = property(lambda self: self.scored)

    def __str__(self) -> str:
        top = sorted(self.issues_per_class.items(), key=lambda kv: -kv[1])[:5]
        per_class = ", ".join(f"{name}: {count:.0f}" for name, count in top)
        return (f"{self.num_samples} samples scored in {self.seconds:.1f} s: about "
                f"{self.estimated_issues:.0f} label issues (noise rate {self.noise_rate:.1%}), "
                f"{self.num_flagged} flagged; most by given label: {per_class}"
                + (f"; {len(self.skipped_ids)} samples skipped" if self.skipped_ids else ""))


def compute_label_issues(samples: SampleCollection, pred_field: str | Sequence[str] | None = None,
                         label_field: str = "ground_truth", *,
                         embeddings_field: str | Sequence[str] | None = None,
                         score_field: str = "label_issue", flag_field: str | None = None,
                         suggestion_field: str | None = None, num_folds: int = 5, neighbours: int = 10,
                         seed: int = 0, progress: bool = True) -> LabelIssuesSummary:
    """Find the labels most likely to be wrong, with a score, a flag and a suggested label.

    Parameters
    ----------
    samples : Dataset or View
    pred_field : str or sequence of str, optional
        ``Classification`` predictions with logits; several fields (e.g. the same
        model on flipped images) are averaged as test-time augmentation. They
        should be out-of-sample (a warning says when they look learnt from these
        labels). None: out-of-sample predictions are cross-fitted on
        ``embeddings_field`` first (see ``compute_out_of_sample_predictions``).
    label_field : str
        The ``Classification`` labels to check.
    embeddings_field : str or sequence of str, optional
        Per-sample feature vectors (several are averaged); they let the method
        adapt to the dataset and bring in the labels of nearest neighbours.
        Required without ``pred_field``.
    score_field : str
        Float field for the probability that the label is wrong, in [0, 1]; also the brain key.
    flag_field, suggestion_field : str, optional
        Bool field (score > 0.5) and string field (most probable class); default
        ``<score_field>_flag`` and ``<score_field>_suggestion``.
    num_folds, neighbours, seed : int
        Cross-validation folds, neighbours that vote (0: none), fold seed.
    progress : bool
        Show a progress bar while reading.

    Returns
    -------
    LabelIssuesSummary
        Estimated issues (total and per class), the confident joint, skipped samples.
        Samples without a label, prediction or embedding, with non-finite values,
        or with a label outside the model's classes are skipped (fields unset) and reported.
    """
    preds = _field_list(pred_field, "pred_field") if pred_field is not None else []
    embeds = _field_list(embeddings_field, "embeddings_field") if embeddings_field is not None else []
    if not preds and not embeds:
        raise ValidationError("compute_label_issues needs pred_field (predictions with logits) or "
                              "embeddings_field (it then cross-fits out-of-sample predictions on them)")
    flag_field = flag_field or f"{score_field}_flag"
    suggestion_field = suggestion_field or f"{score_field}_suggestion"
    schema = _check_inputs(samples, preds, label_field, embeds)
    run = BrainRun(samples, score_field, "label_issues", {
        "pred_field": preds, "label_field": label_field, "embeddings_field": embeds,
        "score_field": score_field, "flag_field": flag_field, "suggestion_field": suggestion_field,
        "num_folds": num_folds, "neighbours": neighbours, "seed": seed},
        inputs=[*preds, label_field, *embeds], schema=schema,
        outputs=[(score_field, FLOAT), (flag_field, BOOLEAN), (suggestion_field, STRING)],
        flags={"label": Flag(flag_field, score=score_field)})
    data = _read(samples, preds, label_field, embeds, progress)
    classes = _class_names(samples, data)
    usable, labels = _usable(data, classes)
    if usable.sum() < MIN_SAMPLES:
        raise ValidationError(f"only {int(usable.sum())} samples have a label, logits and embeddings; "
                              f"compute_label_issues needs at least {MIN_SAMPLES}")
    if preds:
        logits = data["logits"][usable]
        _warn_in_sample(logits.argmax(axis=1), labels[usable])
    else:
        logits = out_of_sample_log_proba(data["embeddings"][usable], labels[usable], len(classes),
                                         num_folds=num_folds, seed=seed)
    ids = data["id"]
    rows = np.flatnonzero(usable)
    # Labels confirmed in review (tag "reviewed", issue 14) are trusted: they anchor the fit and
    # are never flagged again.
    reviewed = set(samples.match_tags("reviewed").values("id"))
    trusted = np.array([ids[row] in reviewed for row in rows], dtype=bool)
    result = find_label_issues(logits, labels[usable],
                               data["embeddings"][usable] if embeds else None,
                               num_folds=num_folds, neighbours=neighbours, seed=seed, trusted=trusted)
    result.score[trusted], result.flag[trusted] = 0.0, False
    result.suggestion[trusted] = labels[rows[trusted]]
    run.write(ids, {score_field: result.score, flag_field: result.flag,
                    suggestion_field: [classes[g] for g in result.suggestion.tolist()]}, usable)
    run.skip([ids[i] for i in np.flatnonzero(~usable)],
             "lack a usable label, finite logits or embeddings and were skipped")
    per_class = np.bincount(labels[usable], weights=result.score, minlength=len(classes))
    estimated = {"estimated_issues": float(result.score.sum()), "noise_rate": result.noise_rate}
    run.config.update(estimated)
    return run.finish(LabelIssuesSummary, scored=int(usable.sum()), classes=classes, **estimated,
                      num_flagged=int(result.flag.sum()), confident_joint=result.confident_joint,
                      issues_per_class=dict(zip(classes, per_class.tolist())))


def compute_out_of_sample_predictions(samples: SampleCollection,
                                      embeddings_field: str | Sequence[str] | None = None,
                                      label_field: str = "ground_truth", *, model: Any = None,
                                      pred_field: str = "oos_predictions", num_folds: int = 5,
                                      epochs: int = 3, extra_train: SampleCollection | None = None,
                                      embeddings_output: str | None = None, seed: int = 0,
                                      progress: bool = True, **fine_tune_options: Any) -> OutOfSampleSummary:
    """Store each sample's prediction from a classifier that never saw its label.

    Two ways, by cost:

    - ``embeddings_field`` (cheap, seconds): a multinomial logistic classifier is
      fitted on a pretrained backbone's features in ``num_folds`` stratified folds;
      each sample is predicted by the classifier of the other folds.
    - ``model`` (a zoo model or any torch module giving (B, K) logits; minutes to
      hours): the model itself is fine-tuned, a copy per fold, for ``epochs`` on the
      other folds plus ``extra_train``, and predicts the held-out fold (see
      :mod:`labellens.brain.fine_tuned`). Better probabilities when the model's own
      fit to this data is the limit; resumable by fold; on the GPU if there is one.
      ``labellens.distributed.compute_out_of_sample_predictions`` spreads the folds over Ray workers.

    Use these predictions when the model at hand was trained on the labels being checked.

    Parameters
    ----------
    samples : Dataset or View
    embeddings_field : str or sequence of str, optional
        Per-sample feature vectors (several fields are averaged). Give this or ``model``.
    label_field : str
        The ``Classification`` labels to learn from.
    model : torch.nn.Module, optional
        The classifier to fine-tune (it is copied, never changed); its ``classes``
        (zoo models), else ``default_classes``, else the sorted labels name its outputs.
    pred_field : str
        ``Classification`` field to write (label, confidence and logits; log-probabilities
        on the embeddings path); also the brain key of the run.
    num_folds, seed : int
        Folds (at least 2) and the seed of their assignment (and of the fine-tuning).
    epochs : int
        With ``model``: passes over the training folds.
    extra_train : Dataset or View, optional
        With ``model``: labelled samples added to every fold's training set (e.g. a
        separate train split); never predicted, and sharing no image with ``samples``.
    embeddings_output : str, optional
        With ``model``: the field for the fine-tuned embeddings (input of the last
        linear layer); default ``<pred_field>_embeddings``.
    progress : bool
        Show progress bars (per fold and epoch with ``model``).
    **fine_tune_options
        With ``model``: ``lr`` (0.01), ``weight_decay`` (5e-4), ``batch_size`` (64),
        ``num_workers``, ``augment`` (mirror training images, True), ``device``
        (default the GPU if there is one) and ``transform`` (default the model's).

    Returns
    -------
    OutOfSampleSummary
        Classes (as above; the embeddings path: ``default_classes``, else the labels
        sorted), the held-out agreement, the folds trained now, and the samples
        skipped (no label, no finite embedding or an unreadable image).
    """
    check_num_folds(num_folds)
    if (model is None) == (embeddings_field is None):
        raise ValidationError("compute_out_of_sample_predictions needs embeddings_field (a logistic model on "
                              "embeddings, cheap) or model= (fine-tuned per fold), not both")
    if model is not None:
        settings = fine_tuned.fine_tune_settings(epochs, seed, fine_tune_options)
        run, plan = fine_tuned.plan_folds(samples, model, label_field, pred_field=pred_field,
                                          embeddings_field=embeddings_output, num_folds=num_folds,
                                          extra_train=extra_train, settings=settings)
        todo = plan.todo
        unreadable = fine_tuned.run_folds(run, plan, model, progress=progress)
        return fine_tuned.finish(run, plan, todo, unreadable)
    if extra_train is not None or embeddings_output is not None or fine_tune_options:
        raise ValidationError("extra_train, embeddings_output and fine-tuning options need model=")
    embeds = _field_list(embeddings_field, "embeddings_field")
    run = BrainRun(samples, pred_field, "out_of_sample_predictions", {
        "embeddings_field": embeds, "label_field": label_field, "pred_field": pred_field,
        "num_folds": num_folds, "seed": seed}, inputs=[label_field, *embeds],
        outputs={pred_field: CLASSIFICATION}, schema=_check_inputs(samples, [], label_field, embeds))
    data = _read(samples, [], label_field, embeds, progress)
    classes = _class_names(samples, data)
    usable, labels = _usable(data, classes)
    if usable.sum() < max(MIN_SAMPLES, num_folds):
        raise ValidationError(f"only {int(usable.sum())} samples have a label and an embedding; "
                              f"out-of-sample predictions need at least {max(MIN_SAMPLES, num_folds)}")
    log_p = out_of_sample_log_proba(data["embeddings"][usable], labels[usable], len(classes),
                                    num_folds=num_folds, seed=seed)
    best = log_p.argmax(axis=1)
    predictions = [Classification(label=classes[cls], confidence=float(conf), logits=logits)
                   for cls, conf, logits in zip(best, np.exp(log_p.max(axis=1)), log_p)]
    run.write(data["id"], {pred_field: predictions}, usable)
    run.skip([data["id"][i] for i in np.flatnonzero(~usable)],
             f"lack a usable label or embedding and got no {pred_field!r}")
    run.config["agreement"] = agreement = float((best == labels[usable]).mean())
    return run.finish(OutOfSampleSummary, scored=int(usable.sum()), classes=classes, agreement=agreement)


def _field_list(value: str | Sequence[str], role: str) -> list[str]:
    return string_list(value, role, what="field name")


def _warn_in_sample(predicted: np.ndarray, labels: np.ndarray) -> None:
    message = in_sample_warning(float((predicted == labels).mean()), len(labels))
    if message:
        warnings.warn(message, stacklevel=3)


def _check_inputs(samples: SampleCollection, preds: list[str], label_field: str, embeds: list[str]
                  ) -> dict[str, str]:
    """Every input exists with the right type; returns the schema read (once) for the checks."""
    schema = samples.get_field_schema()
    for name in preds:
        if label_kind(samples, name, "pred_field", schema=schema) != CLASSIFICATION:
            raise SchemaError(f"pred_field {name!r} holds Classifications; label issues need single-label "
                              "Classification predictions")
        require_attribute(samples, name, "logits", "run the model with store_logits=True")
    if label_kind(samples, label_field, "label_field", schema=schema) != CLASSIFICATION:
        raise SchemaError(f"label_field {label_field!r} must hold Classification labels")
    for name in embeds:
        if name not in schema:
            raise ValidationError(f"embeddings_field {name!r} does not exist; compute it first with "
                                  "labellens.inference.compute_embeddings(..., embeddings_field=...)")
    return schema


def _read(samples: SampleCollection, preds: list[str], label_field: str, embeds: list[str],
          progress: bool) -> dict[str, Any]:
    """Ids, given labels, predicted labels, mean logits and mean embeddings (NaN rows where missing)."""
    logit_paths = [f"{p}.logits" for p in preds]
    paths = [f"{label_field}.label", *([f"{preds[0]}.label"] if preds else []), *logit_paths, *embeds]
    data: dict[str, Any] = {"id": [], "label": [], "pred": [], "logits": [], "embeddings": []}
    with ProgressBar(len(samples), desc="reading labels", unit="samples", enabled=progress) as bar:
        for batch in samples.iter_batches(paths, batch_size=BATCH_SIZE):
            data["id"] += batch["id"]
            data["label"] += batch[f"{label_field}.label"]
            if preds:
                data["pred"] += batch[f"{preds[0]}.label"]
                data["logits"].append(_mean_rows([batch[p] for p in logit_paths]))
            if embeds:
                data["embeddings"].append(_mean_rows([batch[e] for e in embeds]))
            bar.update(len(batch["id"]))
    data["logits"] = np.concatenate(data["logits"]) if data["logits"] else np.zeros((len(data["id"]), 0))
    if embeds:
        data["embeddings"] = np.concatenate(data["embeddings"])
    return data


def _mean_rows(columns: list[list[Any]]) -> np.ndarray:
    """Element-wise mean over fields of per-sample vectors; a sample missing any gets a NaN row."""
    width = next((len(np.ravel(v)) for column in columns for v in column if v is not None), 0)
    out = np.zeros((len(columns[0]), width))
    for column in columns:
        for i, value in enumerate(column):
            vector = np.nan if value is None else np.ravel(np.asarray(value, dtype=np.float64))
            if np.size(vector) not in (1, width):
                raise ValidationError(f"vectors of different lengths ({np.size(vector)} and {width}); every "
                                      "sample's logits or embedding must have the same length")
            out[i] += vector
    return out / len(columns)


def _class_names(samples: SampleCollection, data: dict[str, Any]) -> list[str]:
    """Class names in logit order: the dataset's ``default_classes``, else read off the predictions.

    Without predictions: ``default_classes``, else the given labels in sorted order.
    """
    num_classes = data["logits"].shape[1]
    if num_classes == 0:
        names = list(samples.default_classes or []) or sorted({x for x in data["label"] if x is not None})
        if len(names) < 2:
            raise ValidationError("label issues need at least 2 classes among the given labels")
        return [str(n) for n in names]
    if num_classes < 2:
        raise ValidationError("label issues need logits over at least 2 classes")
    classes = list(samples.default_classes or [])
    if len(classes) == num_classes:
        return classes
    votes: list[Counter[str]] = [Counter() for _ in range(num_classes)]
    finite = np.isfinite(data["logits"]).all(axis=1)
    for row in np.flatnonzero(finite):
        if data["pred"][row] is not None:
            votes[int(np.argmax(data["logits"][row]))][data["pred"][row]] += 1
    names = [v.most_common(1)[0][0] if v else None for v in votes]
    if any(n is None for n in names) or len(set(names)) != num_classes:
        raise ValidationError(f"cannot tell which class each of the {num_classes} logits stands for; set "
                              "dataset.default_classes to the class names in logit order")
    return [str(n) for n in names]


def _usable(data: dict[str, Any], classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(N,) mask of samples that can be scored, and their label indices (-1 elsewhere)."""
    index = {name: i for i, name in enumerate(classes)}
    labels = np.array([index.get(label, -1) if label is not None else -1 for label in data["label"]],
                      dtype=np.int64)
    usable = (labels >= 0) & np.isfinite(data["logits"]).all(axis=1)
    if len(data["embeddings"]):
        usable &= np.isfinite(data["embeddings"]).all(axis=1)
    return usable, labels
