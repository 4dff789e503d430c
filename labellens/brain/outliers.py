"""``compute_outliers``: images far from their class and from everything, by kNN distance.

Each sample's distance is the mean cosine distance to its ``k`` nearest
neighbours among all samples, averaged with the same among the samples of its
own label when a label field is given. The score is ``1 - exp(-d / median d)``
(cleanlab's out-of-distribution score ``exp(-d / median d)``, turned so that
high = outlier): 0.63 for a typical sample, near 1 for one far away. The flag
marks a robust z-score ``(d - median) / (1.4826 MAD)`` above ``FLAG_Z``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labellens.brain.embedding_inputs import check_embeddings_field, read_embeddings
from labellens.brain.label_inputs import CLASSIFICATION, label_kind
from labellens.brain.neighbors import knn
from labellens.brain.run import BrainRun, Flag, RunSummary
from labellens.dataset.collection import SampleCollection
from labellens.errors import SchemaError, ValidationError
from labellens.fields import BOOLEAN, FLOAT

NEIGHBOURS = 10
FLAG_Z = 3.0
MAD_TO_SIGMA = 1.4826


@dataclass(kw_only=True)
class OutliersSummary(RunSummary):
    """How many samples were scored and ``flagged``; ``summary["flagged"]`` reads as older versions' dict."""

    flagged: int = 0

    def __getitem__(self, name: str) -> int:
        return getattr(self, name)


def mean_knn_distance(embeddings: np.ndarray, k: int) -> np.ndarray:
    """(N,) mean cosine distance of each row to its ``k`` nearest other rows (0 for a lone row)."""
    if len(embeddings) < 2:
        return np.zeros(len(embeddings))
    _, distances = knn(embeddings, min(k, len(embeddings) - 1), metric="cosine")
    return distances.mean(axis=1).astype(np.float64)


def class_knn_distance(embeddings: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(N,) mean kNN distance within each row's class (labels: (N,) ints; a class of one gets the max)."""
    out = np.zeros(len(embeddings))
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        out[rows] = mean_knn_distance(embeddings[rows], k) if len(rows) > 1 else np.nan
    lonely = np.isnan(out)
    out[lonely] = np.nanmax(out, initial=1.0) if (~lonely).any() else 1.0
    return out


def outlier_scores(distance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) kNN distances -> (N,) score in [0, 1] (high = outlier) and (N,) flag (robust z > FLAG_Z)."""
    distance = np.maximum(np.asarray(distance, dtype=np.float64), 0.0)
    median = float(np.median(distance))
    score = 1.0 - np.exp(-distance / max(median, 1e-12))
    spread = MAD_TO_SIGMA * np.median(np.abs(distance - median))
    spread = spread if spread > 0 else max(float(distance.std()), 1e-12)
    return score, (distance - median) / spread > FLAG_Z


def compute_outliers(samples: SampleCollection, embeddings_field: str, label_field: str | None = None, *,
                     outlier_field: str = "outlier", k: int = NEIGHBOURS) -> OutliersSummary:
    """Write an outlier score in [0, 1] to ``outlier_field`` and a flag to ``<outlier_field>_flag``.

    With ``label_field`` (``Classification``), distance within the sample's class
    counts as much as distance to everything. A brain run under ``outlier_field``.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValidationError(f"k must be a positive integer, got {k!r}")
    schema = samples.get_field_schema()
    check_embeddings_field(schema, embeddings_field)
    extra = []
    if label_field is not None:
        if label_kind(samples, label_field, "label_field", schema=schema) != CLASSIFICATION:
            raise SchemaError(f"label_field {label_field!r} must hold Classification labels")
        extra = [f"{label_field}.label"]
    flag_field = f"{outlier_field}_flag"
    run = BrainRun(samples, outlier_field, "outliers", {"embeddings_field": embeddings_field,
                                                        "label_field": label_field, "k": k},
                   inputs=[embeddings_field, label_field], schema=schema,
                   outputs={outlier_field: FLOAT, flag_field: BOOLEAN},
                   flags={"outlier": Flag(flag_field, score=outlier_field)})
    ids, matrix, usable, columns = read_embeddings(run, embeddings_field, extra, minimum=3)
    data = matrix[usable]
    distance = mean_knn_distance(data, k)
    if label_field is not None:
        names = np.array([str(v) for v in columns[extra[0]]], dtype=object)[usable]
        _, labels = np.unique(names, return_inverse=True)
        distance = (distance + class_knn_distance(data, labels, k)) / 2
    score, flag = outlier_scores(distance)
    run.write(ids, {outlier_field: score, flag_field: flag}, usable)
    return run.finish(OutliersSummary, scored=int(usable.sum()), flagged=int(flag.sum()))
