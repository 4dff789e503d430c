"""Out-of-sample predictions from the model itself, fine-tuned in k folds and resumable by fold.

A pretrained model's probabilities are only as good as its fit to this data (the CIFAR ResNets
lose accuracy on JPEG artefacts). Fine-tuning it on the labels being checked would make it agree
with the wrong ones too, so it is cross-fitted: the usable samples are split into ``num_folds``
stratified folds (seeded); for each fold a copy of the model is fine-tuned on the other folds
(plus ``extra_train``, e.g. a separate train split) and predicts the fold's samples, writing
their logits (a ``Classification``) and embeddings. Every sample is predicted once, by a model
that never saw its label.

:func:`plan_folds` checks every argument and reads what the folds need (nothing is written on
bad input); :func:`run_fold` does one fold and writes its samples (a Ray worker runs it too, see
``labellens.distributed``); :func:`finish` records the run. After each fold the brain run is
recorded with ``folds_done`` and a fingerprint of the inputs: a rerun with the same inputs
skips the finished folds, so a killed run continues from the last finished fold.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from labellens.brain.label_inputs import CLASSIFICATION, label_kind
from labellens.brain.noisy_logreg import stratified_folds
from labellens.brain.run import BrainRun, RunSummary
from labellens.dataset.collection import SampleCollection
from labellens.errors import SchemaError, ValidationError
from labellens.fields import ARRAY
from labellens.progress import ProgressBar

if TYPE_CHECKING:
    from torch import nn

    from labellens.inference.fine_tune import FineTuneSettings

MIN_SAMPLES = 10
METHOD = "out_of_sample_predictions"


@dataclass(kw_only=True)
class OutOfSampleSummary(RunSummary):
    """What ``compute_out_of_sample_predictions`` stored: ``agreement`` is the fraction of
    predictions equal to the given label (a held-out accuracy against these labels);
    with a model, ``folds_run`` are the folds trained now (the others were done by an earlier run)."""

    classes: list[str]
    agreement: float
    folds_run: list[int] = field(default_factory=list)
    pred_field = property(lambda self: self.brain_key)  # the names of older versions
    num_samples = property(lambda self: self.scored)


@dataclass
class FoldPlan:
    """What every fold needs (picklable, so Ray workers get it): the usable samples' ids, image
    paths and label indices, their fold, the extra training images, the output fields and settings;
    ``done`` are the folds finished, by this run or an earlier one with the same inputs."""

    ids: list[str]
    paths: list[str]
    labels: np.ndarray
    folds: np.ndarray
    num_folds: int
    extra_paths: list[str]
    extra_labels: np.ndarray
    classes: list[str]
    pred_field: str
    embeddings_field: str
    settings: FineTuneSettings
    skipped: list[str]
    done: set[int] = field(default_factory=set)

    @property
    def todo(self) -> list[int]:
        return [fold for fold in range(self.num_folds) if fold not in self.done]


def plan_folds(samples: SampleCollection, model: nn.Module, label_field: str, *, pred_field: str,
               embeddings_field: str | None, num_folds: int, extra_train: SampleCollection | None,
               settings: FineTuneSettings) -> tuple[BrainRun, FoldPlan]:
    """Check the arguments, read labels and paths, assign folds, and find the folds already done."""
    from labellens.inference.fine_tune import check_num_outputs, model_digest
    from labellens.inference.loop import check_inputs

    check_inputs(samples, model)
    if extra_train is not None and not isinstance(extra_train, SampleCollection):
        raise ValidationError(f"extra_train must be a labellens Dataset or view (or None), got "
                              f"{type(extra_train).__name__}")
    embeddings_field = embeddings_field or f"{pred_field}_embeddings"
    for collection, role in ((samples, "samples"), (extra_train, "extra_train")):
        if collection is not None and label_kind(collection, label_field, "label_field") != CLASSIFICATION:
            raise SchemaError(f"label_field {label_field!r} of {role} must hold Classification labels")
    ids, paths, given = _read(samples, label_field)
    _, extra_paths, extra_given = _read(extra_train, label_field) if extra_train is not None else ([], [], [])
    shared = set(paths) & set(extra_paths)
    if shared:
        raise ValidationError(f"{len(shared)} images of extra_train are also in samples (e.g. "
                              f"{sorted(shared)[0]}); their labels would leak into the held-out folds. "
                              "Pass an extra_train without the samples being predicted")
    classes = _classes(samples, model, given + extra_given)
    index = {name: i for i, name in enumerate(classes)}
    labels = np.array([index.get(x, -1) if x is not None else -1 for x in given], dtype=np.int64)
    extra = np.array([index.get(x, -1) if x is not None else -1 for x in extra_given], dtype=np.int64)
    usable = labels >= 0
    if usable.sum() < max(MIN_SAMPLES, num_folds):
        raise ValidationError(f"only {int(usable.sum())} samples have a label among the {len(classes)} "
                              f"classes; fine-tuned out-of-sample predictions need at least "
                              f"{max(MIN_SAMPLES, num_folds)}")
    check_num_outputs(model, [paths[i] for i in np.flatnonzero(usable)[:100]], len(classes), settings)
    config = {"label_field": label_field, "pred_field": pred_field, "embeddings_field": embeddings_field,
              "model": getattr(model, "name", type(model).__name__),
              "model_digest": model_digest(model), "num_folds": num_folds,
              "extra_train": len(extra_paths), **_settings_config(settings)}
    run = BrainRun(samples, pred_field, METHOD, config, inputs=[label_field],
                   outputs={pred_field: CLASSIFICATION, embeddings_field: ARRAY})
    keep, rows = extra >= 0, np.flatnonzero(usable)
    plan = FoldPlan(ids=[ids[i] for i in rows], paths=[paths[i] for i in rows],
                    labels=labels[usable], folds=stratified_folds(labels[usable], num_folds, settings.seed),
                    num_folds=num_folds, extra_paths=[p for p, k in zip(extra_paths, keep) if k],
                    extra_labels=extra[keep],
                    classes=classes, pred_field=pred_field, embeddings_field=embeddings_field,
                    settings=settings, skipped=[ids[i] for i in np.flatnonzero(~usable)])
    run.config["fingerprint"] = _fingerprint(plan, config)
    plan.done = _folds_done(samples, pred_field, run.config["fingerprint"])
    run.config["folds_done"] = sorted(plan.done)
    return run, plan


def run_fold(samples: SampleCollection, model: nn.Module, plan: FoldPlan, fold: int, *,
             progress: bool = True) -> list[str]:
    """Fine-tune a copy of ``model`` without fold ``fold`` and write the fold's predictions and
    embeddings; returns the ids of the fold's samples whose image could not be read."""
    from labellens.inference.convert import to_classifications
    from labellens.inference.fine_tune import fine_tune, predict_with_embeddings

    held = plan.folds == fold
    train = np.flatnonzero(~held)
    desc = f"fold {fold + 1}/{plan.num_folds}"
    trained, _ = fine_tune(model, [plan.paths[i] for i in train] + plan.extra_paths,
                           np.concatenate([plan.labels[train], plan.extra_labels]).tolist(),
                           replace(plan.settings, seed=plan.settings.seed + fold),
                           progress=progress, desc=f"{desc}: fine-tuning")
    rows = np.flatnonzero(held)
    ids, logits, embeddings, _ = predict_with_embeddings(
        trained, [plan.paths[i] for i in rows], [plan.ids[i] for i in rows], plan.settings,
        progress=progress, desc=f"{desc}: predicting")
    if ids:
        samples.set_fields({plan.pred_field: to_classifications(logits, plan.classes),
                            plan.embeddings_field: list(embeddings)}, ids=ids)
    return sorted(set(plan.ids[i] for i in rows) - set(ids))


def record_fold(run: BrainRun, plan: FoldPlan, fold: int) -> None:
    """Mark ``fold`` finished in the brain run's record (what a rerun resumes from)."""
    plan.done.add(fold)
    run.config["folds_done"] = sorted(plan.done)
    run.record()


def run_folds(run: BrainRun, plan: FoldPlan, model: nn.Module, *, progress: bool) -> list[str]:
    """Every fold not done yet, one after the other; returns the ids of unreadable images."""
    unreadable: list[str] = []
    with ProgressBar(len(plan.todo), desc="folds", unit="fold", enabled=progress) as bar:
        for fold in plan.todo:
            unreadable += run_fold(run.samples, model, plan, fold, progress=progress)
            record_fold(run, plan, fold)
            bar.update(1)
    return unreadable


def finish(run: BrainRun, plan: FoldPlan, folds_run: list[int], unreadable: list[str]) -> OutOfSampleSummary:
    """Unset the outputs of the samples not predicted, record the run, return the summary."""
    missing = plan.skipped + unreadable
    if missing:
        run.write(missing, dict.fromkeys([plan.pred_field, plan.embeddings_field], [None] * len(missing)))
        run.skip(missing, f"lack a usable label or a readable image and got no {plan.pred_field!r}")
    predicted: dict[str, Any] = {}
    for batch in run.samples.select(plan.ids).iter_batches([f"{plan.pred_field}.label"]):
        predicted.update(zip(batch["id"], batch[f"{plan.pred_field}.label"]))
    hits = [predicted[i] == plan.classes[given] for i, given in zip(plan.ids, plan.labels)
            if predicted.get(i) is not None]
    run.config["agreement"] = agreement = float(np.mean(hits)) if hits else 0.0
    return run.finish(OutOfSampleSummary, scored=len(hits), classes=plan.classes, agreement=agreement,
                      folds_run=folds_run)


def _read(samples: SampleCollection, label_field: str) -> tuple[list[str], list[str], list[Any]]:
    ids: list[str] = []
    paths: list[str] = []
    labels: list[Any] = []
    for batch in samples.iter_batches(["filepath", f"{label_field}.label"]):
        ids += batch["id"]
        paths += batch["filepath"]
        labels += batch[f"{label_field}.label"]
    return ids, paths, labels


def _classes(samples: SampleCollection, model: Any, labels: list[Any]) -> list[str]:
    """The model's ``classes`` (zoo models), else ``default_classes``, else the labels sorted."""
    names = list(getattr(model, "classes", None) or samples.default_classes or
                 sorted({x for x in labels if x is not None}))
    if len(names) < 2:
        raise ValidationError("fine-tuned out-of-sample predictions need at least 2 classes")
    return [str(n) for n in names]


def _settings_config(settings: FineTuneSettings) -> dict[str, Any]:
    return {"epochs": settings.epochs, "lr": settings.lr, "weight_decay": settings.weight_decay,
            "batch_size": settings.batch_size, "augment": settings.augment, "seed": settings.seed}


def _fingerprint(plan: FoldPlan, config: dict[str, Any]) -> str:
    """A digest of everything the folds' results depend on: samples, labels, extra images, settings."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for part in (plan.ids, plan.labels.tolist(), plan.extra_paths, plan.extra_labels.tolist(), plan.classes):
        digest.update(json.dumps(part).encode())
    return digest.hexdigest()


def _folds_done(samples: SampleCollection, key: str, fingerprint: str) -> set[int]:
    """The folds an earlier run with the same fingerprint finished (none if there was no such run)."""
    if key not in samples.dataset.list_brain_runs():
        return set()
    config = samples.dataset.get_brain_info(key)["config"]
    if config.get("method") != METHOD or config.get("fingerprint") != fingerprint:
        return set()
    return {int(fold) for fold in config.get("folds_done", [])}


def fine_tune_settings(epochs: int, seed: int, options: dict[str, Any]) -> FineTuneSettings:
    """The fine-tuning settings from ``epochs``, ``seed`` and the caller's other options, checked."""
    from dataclasses import fields

    from labellens.inference.fine_tune import FineTuneSettings

    allowed = sorted(f.name for f in fields(FineTuneSettings) if f.name not in ("epochs", "seed"))
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValidationError(f"no fine-tuning option {', '.join(map(repr, unknown))}; the options are "
                              f"{', '.join(allowed)}")
    return FineTuneSettings(epochs=epochs, seed=seed, **options)
