"""``compute_uniqueness``: how far each sample lies from its nearest neighbours in embedding space.

FiftyOne's meaning: a weighted mean of the distances to the ``k`` nearest
neighbours (weights 0.6, 0.3, 0.1 for ``k = 3``), divided by the largest one, so
the most unique sample scores 1 and near duplicates score close to 0.
"""

from __future__ import annotations

import numpy as np

from labellens.brain.embedding_fields import (
    check_embeddings_field,
    check_outputs,
    read_embeddings,
    require_usable,
    scatter,
    warn_skipped,
)
from labellens.brain.neighbors import knn
from labellens.dataset.collection import SampleCollection
from labellens.errors import ValidationError
from labellens.fields import FLOAT

WEIGHTS = (0.6, 0.3, 0.1)


def uniqueness_scores(distances: np.ndarray) -> np.ndarray:
    """(N, k) distances to the nearest neighbours (nearest first) -> (N,) uniqueness in [0, 1]."""
    distances = np.maximum(np.asarray(distances, dtype=np.float64), 0.0)
    k = distances.shape[1]
    weights = np.array(WEIGHTS[:k] if k <= len(WEIGHTS) else np.full(k, 1.0 / k))
    raw = distances @ (weights / weights.sum())
    top = raw.max(initial=0.0)
    return raw / top if top > 0 else np.zeros(len(raw))


def compute_uniqueness(samples: SampleCollection, embeddings_field: str,
                       uniqueness_field: str = "uniqueness", *, k: int = 3, metric: str = "cosine") -> int:
    """Write uniqueness in [0, 1] to ``uniqueness_field`` (also the brain key); return how many were scored.

    Neighbours are searched among the samples of ``samples`` that have an
    embedding; samples without one stay unset and are named in a warning.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValidationError(f"k must be a positive integer, got {k!r}")
    schema = samples.get_field_schema()
    check_embeddings_field(schema, embeddings_field)
    check_outputs(schema, {uniqueness_field: FLOAT}, [embeddings_field])
    ids, matrix, usable, _ = read_embeddings(samples, embeddings_field)
    require_usable(usable, embeddings_field, 2)
    _, distances = knn(matrix[usable], min(k, int(usable.sum()) - 1), metric=metric)
    samples.set_values(uniqueness_field, scatter(uniqueness_scores(distances), usable), ids=ids)
    warn_skipped(ids, usable, embeddings_field)
    samples.dataset.register_brain_run(uniqueness_field, {
        "method": "uniqueness", "embeddings_field": embeddings_field, "k": k, "metric": metric},
        [uniqueness_field])
    return int(usable.sum())
