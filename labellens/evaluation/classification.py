"""``evaluate_classifications``: per-sample correctness, a report and a confusion matrix.

One pass over the two label paths writes the boolean ``<eval_key>`` field in
bulk batches and counts (true, predicted) pairs; the metrics come from the pure
functions of :mod:`labellens.evaluation.metrics`. The run is kept with the
dataset (kind ``"evaluation"``): its config holds the fields, the classes, the
confusion matrix and the evaluated view's stages, so
:func:`load_evaluation_results` rebuilds the results in any process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labellens.brain.label_inputs import check_outputs
from labellens.dataset.collection import SampleCollection
from labellens.errors import ValidationError
from labellens.evaluation import metrics
from labellens.expr import F
from labellens.fields import BOOLEAN
from labellens.label_types import check_label_field
from labellens.stages import stage_to_json
from labellens.validation import string_list

EVALUATION = "evaluation"
MISSING = "(none)"
BATCH_SIZE = 10_000


@dataclass
class ClassificationResults:
    """The outcome of evaluating ``pred_field`` against ``gt_field`` on ``samples``.

    ``classes`` name the rows (true) and columns (predicted) of ``matrix``, the
    (K, K) confusion counts; a missing label counts as the class ``missing``.
    """

    samples: SampleCollection
    pred_field: str
    gt_field: str
    classes: list[str]
    matrix: np.ndarray
    eval_key: str | None = None
    missing: str = MISSING

    @property
    def accuracy(self) -> float:
        total = int(self.matrix.sum())
        return float(np.trace(self.matrix) / total) if total else 0.0

    def confusion_matrix(self, classes: Sequence[str] | None = None) -> np.ndarray:
        """(K', K') counts restricted to and ordered by ``classes`` (default: all of ``self.classes``)."""
        index = self._indices(classes)
        return self.matrix[np.ix_(index, index)]

    def report(self, classes: Sequence[str] | None = None) -> dict[str, Any]:
        """Per-class precision, recall, f1-score and support; accuracy; macro and weighted averages.

        The dict of scikit-learn's ``classification_report(..., output_dict=True)``.
        """
        labels = self._indices(classes) if classes is not None else None
        return metrics.classification_report(self.matrix, self.classes, labels)

    def print_report(self, classes: Sequence[str] | None = None, digits: int = 2) -> None:
        print(metrics.format_report(self.report(classes), digits=digits))

    def cell_filter(self, true: str | None, pred: str | None) -> Any:
        """The expression matching the samples of one confusion-matrix cell (``match`` it on a view)."""
        return _label_is(self.gt_field, true, self.missing) & _label_is(self.pred_field, pred, self.missing)

    def view_cell(self, true: str | None, pred: str | None) -> SampleCollection:
        """The evaluated samples whose ground truth is ``true`` and prediction ``pred``."""
        return self.samples.match(self.cell_filter(true, pred))

    def _indices(self, classes: Sequence[str] | None) -> list[int]:
        if classes is None:
            return list(range(len(self.classes)))
        names = string_list(classes, "classes", single=False)
        unknown = [c for c in names if c not in self.classes]
        if unknown:
            raise ValidationError(f"classes {unknown} are not in this evaluation; its classes are "
                                  f"{self.classes}")
        return [self.classes.index(c) for c in names]

    def __repr__(self) -> str:
        return (f"<ClassificationResults {self.pred_field!r} vs {self.gt_field!r}: {int(self.matrix.sum())} "
                f"samples, {len(self.classes)} classes, accuracy {self.accuracy:.4f}>")


def evaluate_classifications(samples: SampleCollection, pred_field: str, gt_field: str = "ground_truth", *,
                             eval_key: str | None = "eval", classes: Sequence[str] | None = None,
                             missing: str = MISSING) -> ClassificationResults:
    """Evaluate ``Classification`` predictions against the ground truth, as FiftyOne does.

    Writes the boolean ``eval_key`` (prediction equals ground truth; unset where
    both labels are missing) and records an evaluation run under ``eval_key``
    (``eval_key=None``: neither, only the results). ``classes`` fixes the rows and
    columns of the matrix (default: ``default_classes`` when they cover every
    label, else the sorted labels); pairs outside them are left out of the matrix
    and the report, as with scikit-learn's ``labels=``. A missing label counts as
    the class ``missing``.
    """
    _check_fields(samples, pred_field, gt_field, eval_key)
    names = string_list(classes, "classes", single=False) if classes is not None else None
    truths, preds = [], []
    for batch in samples.iter_batches([f"{gt_field}.label", f"{pred_field}.label"], batch_size=BATCH_SIZE):
        gt, pred = batch[f"{gt_field}.label"], batch[f"{pred_field}.label"]
        truths += gt
        preds += pred
        if eval_key is not None:
            correct = [None if g is None and p is None else g == p for g, p in zip(gt, pred)]
            samples.set_values(eval_key, correct, ids=batch["id"])
    results = _results(samples, pred_field, gt_field, truths, preds, names, missing, eval_key)
    if eval_key is not None:
        samples.dataset.register_run(EVALUATION, eval_key, {
            "method": "classification", "pred_field": pred_field, "gt_field": gt_field,
            "classes": results.classes, "missing": missing, "matrix": results.matrix.tolist(),
            "view": [stage_to_json(stage) for stage in samples.stages]}, [eval_key])
    return results


def summarize_classifications(samples: SampleCollection, pred_field: str, gt_field: str = "ground_truth", *,
                              classes: Sequence[str] | None = None,
                              missing: str = MISSING) -> ClassificationResults:
    """The results of :func:`evaluate_classifications` for ``samples`` without writing anything.

    Reads only the two label paths: the App's evaluation panel calls it on the current view.
    """
    return evaluate_classifications(samples, pred_field, gt_field, eval_key=None, classes=classes,
                                    missing=missing)


def list_evaluations(samples: SampleCollection) -> list[str]:
    """The evaluation keys of the dataset, sorted."""
    return samples.dataset.list_runs(EVALUATION)


def load_evaluation_results(samples: SampleCollection, eval_key: str) -> ClassificationResults:
    """Rebuild the results of run ``eval_key`` (RunNotFoundError if there is none)."""
    dataset = samples.dataset
    config = dataset.get_run(EVALUATION, eval_key)["config"]
    view = dataset.view_from_json(config["view"]) if config["view"] else dataset
    return ClassificationResults(view, config["pred_field"], config["gt_field"], list(config["classes"]),
                                 np.asarray(config["matrix"], dtype=np.int64), eval_key, config["missing"])


def delete_evaluation(samples: SampleCollection, eval_key: str) -> None:
    """Delete run ``eval_key`` and the field it wrote."""
    samples.dataset.delete_run(EVALUATION, eval_key, fields=True)


def _check_fields(samples: SampleCollection, pred_field: str, gt_field: str, eval_key: str | None) -> None:
    schema = samples.get_field_schema()
    for name, role in ((pred_field, "pred_field"), (gt_field, "gt_field")):
        check_label_field(schema, name, role=role, supports="evaluation")
    if eval_key is None:
        return
    check_outputs(schema, [(eval_key, BOOLEAN)], (pred_field, gt_field), role="eval_key")


def _results(samples: SampleCollection, pred_field: str, gt_field: str, truths: list[Any], preds: list[Any],
             classes: list[str] | None, missing: str, eval_key: str | None) -> ClassificationResults:
    """Confusion counts of the (true, predicted) label pairs over ``classes`` (+ ``missing`` if seen)."""
    pairs = [(missing if t is None else t, missing if p is None else p)
             for t, p in zip(truths, preds) if t is not None or p is not None]
    seen = {name for pair in pairs for name in pair}
    if classes is None:
        default = list(samples.default_classes or [])
        labels = seen - {missing}
        classes = default if default and labels <= set(default) else sorted(labels)
    classes = list(classes) + ([missing] if missing in seen and missing not in classes else [])
    index = {name: i for i, name in enumerate(classes)}
    coded = np.array([(index.get(t, -1), index.get(p, -1)) for t, p in pairs], dtype=np.int64).reshape(-1, 2)
    kept = coded[(coded >= 0).all(axis=1)]
    matrix = metrics.confusion_matrix(kept[:, 0], kept[:, 1], len(classes))
    return ClassificationResults(samples, pred_field, gt_field, classes, matrix, eval_key, missing)


def _label_is(field: str, label: str | None, missing: str) -> Any:
    path = F(f"{field}.label")
    return path.exists(False) if label is None or label == missing else path == label
