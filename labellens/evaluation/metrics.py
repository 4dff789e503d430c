"""Classification metrics as pure functions (numpy in, numpy out).

``truth`` and ``pred`` are (N,) class indices in [0, K); the confusion matrix
``cm`` is (K, K) with rows = true class and columns = predicted class, as in
scikit-learn's ``confusion_matrix``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts of (true class i, predicted class j)."""
    truth, pred = np.asarray(truth, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    flat = np.bincount(truth * num_classes + pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def per_class_metrics(cm: np.ndarray) -> dict[str, np.ndarray]:
    """(K,) precision, recall, F1 and support from a confusion matrix (0 where undefined)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(tp), where=total > 0)
    return {"precision": precision, "recall": recall, "f1-score": f1, "support": support.astype(np.int64)}


def classification_report(cm: np.ndarray, classes: list[str], labels: list[int] | None = None
                          ) -> dict[str, Any]:
    """scikit-learn's ``classification_report(..., output_dict=True)`` computed from ``cm``.

    One entry per class (precision, recall, f1-score, support), ``accuracy`` (over
    every sample), and ``macro avg`` / ``weighted avg`` over the reported classes:
    the class indices ``labels``, by default those with support or predictions.
    Metrics always count every cell of ``cm``, as scikit-learn's ``labels=`` does.
    """
    metrics = per_class_metrics(cm)
    support = metrics["support"]
    if labels is None:
        shown = np.flatnonzero((support > 0) | (np.asarray(cm).sum(axis=0) > 0))
    else:
        shown = np.asarray(labels, dtype=np.int64)
    report: dict[str, Any] = {
        classes[i]: {key: (int(values[i]) if key == "support" else float(values[i]))
                     for key, values in metrics.items()} for i in shown}
    everything = int(support.sum())
    report["accuracy"] = float(np.trace(cm) / everything) if everything else 0.0
    keys = ("precision", "recall", "f1-score")
    total = int(support[shown].sum())
    report["macro avg"] = {**{k: float(metrics[k][shown].mean()) if len(shown) else 0.0 for k in keys},
                           "support": total}
    weights = support[shown] / total if total else np.zeros(len(shown))
    report["weighted avg"] = {**{k: float((metrics[k][shown] * weights).sum()) for k in keys},
                              "support": total}
    return report


def format_report(report: dict[str, Any], digits: int = 2) -> str:
    """The report as scikit-learn prints it: one row per class, then accuracy and the averages."""
    rows = [k for k in report if k not in ("accuracy", "macro avg", "weighted avg")]
    width = max([len(r) for r in rows] + [len("weighted avg")])
    header = f"{'':>{width}} {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}"
    lines = [header, ""]
    for name in rows:
        m = report[name]
        lines.append(f"{name:>{width}} {m['precision']:>9.{digits}f} {m['recall']:>9.{digits}f} "
                     f"{m['f1-score']:>9.{digits}f} {m['support']:>9}")
    total = report["macro avg"]["support"]
    lines += ["", f"{'accuracy':>{width}} {'':>9} {'':>9} {report['accuracy']:>9.{digits}f} {total:>9}"]
    for name in ("macro avg", "weighted avg"):
        m = report[name]
        lines.append(f"{name:>{width}} {m['precision']:>9.{digits}f} {m['recall']:>9.{digits}f} "
                     f"{m['f1-score']:>9.{digits}f} {m['support']:>9}")
    return "\n".join(lines)
