"""Scores that find label mistakes: the tutorial's mistakenness, hardness, and label issues.

Pure maths lives in :mod:`~labellens.brain.scores`, :mod:`~labellens.brain.confident_learning`,
:mod:`~labellens.brain.noisy_logreg` and :mod:`~labellens.brain.mislabel_model`; the
``compute_*`` functions read a dataset or view in batches and write scores back in bulk,
each through the one run contract of :mod:`~labellens.brain.run` and returning a
:class:`RunSummary` (fields written, samples scored and skipped, seconds) with its own counts.
Brain runs are listed, inspected and deleted with the dataset's ``list_brain_runs``,
``get_brain_info`` and ``delete_brain_run``.
"""

from labellens.brain.duplicates import DuplicatesSummary, compute_near_duplicates
from labellens.brain.find_issues import IssuesReport, IssueTable, find_issues, load_issues_report
from labellens.brain.image_quality import QualitySummary, compute_image_quality
from labellens.brain.label_issues import (
    LabelIssuesSummary,
    OutOfSampleSummary,
    compute_label_issues,
    compute_out_of_sample_predictions,
)
from labellens.brain.mislabel_model import IssueScores, find_label_issues
from labellens.brain.mistakenness import ScoreSummary, compute_hardness, compute_mistakenness
from labellens.brain.outliers import OutliersSummary, compute_outliers
from labellens.brain.run import Flag, RunSummary
from labellens.brain.uniqueness import UniquenessSummary, compute_uniqueness
from labellens.brain.visualization import VisualizationSummary, compute_visualization

__all__ = ["IssueScores", "LabelIssuesSummary", "ScoreSummary", "compute_hardness", "compute_label_issues",
           "compute_mistakenness", "find_label_issues"]
__all__ += ["DuplicatesSummary", "QualitySummary", "VisualizationSummary", "compute_image_quality",
            "compute_near_duplicates", "compute_outliers", "compute_uniqueness", "compute_visualization"]
__all__ += ["OutOfSampleSummary", "compute_out_of_sample_predictions"]
__all__ += ["IssueTable", "IssuesReport", "find_issues", "load_issues_report"]
__all__ += ["Flag", "OutliersSummary", "RunSummary", "UniquenessSummary"]
