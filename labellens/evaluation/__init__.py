"""Evaluation of predictions against ground truth: per-sample correctness, reports, confusion matrices.

The maths is in :mod:`~labellens.evaluation.metrics` (pure functions); runs are
kept with the dataset (kind ``"evaluation"``) and reloadable from any process.
"""

from labellens.evaluation.classification import (
    ClassificationResults,
    delete_evaluation,
    evaluate_classifications,
    list_evaluations,
    load_evaluation_results,
    summarize_classifications,
)

__all__ = ["ClassificationResults", "delete_evaluation", "evaluate_classifications", "list_evaluations",
           "load_evaluation_results", "summarize_classifications"]
