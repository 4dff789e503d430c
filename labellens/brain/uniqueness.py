"""``compute_uniqueness``: how far each sample lies from its nearest neighbours in embedding space.

FiftyOne's meaning: a weighted mean of the distances to the ``k`` nearest
neighbours (weights 0.6, 0.3, 0.1 for ``k = 3``), divided by the largest one, so
the most unique sample scores 1 and near duplicates score close to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labellens.brain.embedding_inputs import check_embeddings_field, read_embeddings
from labellens.brain.neighbors import knn
from labellens.brain.run import BrainRun, RunSummary
from labellens.dataset.collection import SampleCollection
from labellens.errors import ValidationError
from labellens.fields import FLOAT

WEIGHTS = (0.6, 0.3, 0.1)


@dataclass(kw_only=True, eq=False)
class UniquenessSummary(RunSummary):
    """A :class:`RunSummary` that also compares equal to the count ``scored``, which older versions
    returned."""

    def __eq__(self, other: object) -> bool:
        return self.scored == other if isinstance(other, int) else RunSummary.__eq__(self, other)


def uniqueness_scores(distances: np.ndarray) -> np.ndarray:
    """(N, k) distances to the nearest neighbours (nearest first) -> (N,) uniqueness in [0, 1]."""
    distances = np.maximum(np.asarray(distances, dtype=np.float64), 0.0)
    k = distances.shape[1]
    weights = np.array(WEIGHTS[:k] if k <= len(WEIGHTS) else np.full(k, 1.0 / k))
    raw = distances @ (weights / weights.sum())
    top = raw.max(initial=0.0)
    return raw / top if top > 0 else np.zeros(len(raw))


def compute_uniqueness(samples: SampleCollection, embeddings_field: str,
                       uniqueness_field: str = "uniqueness", *, k: int = 3, metric: str = "cosine"
                       ) -> UniquenessSummary:
    """Write uniqueness in [0, 1] to ``uniqueness_field`` (also the brain key); ``scored``: how many.

    Neighbours are searched among the samples of ``samples`` that have an
    embedding; samples without one stay unset and are named in a warning.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValidationError(f"k must be a positive integer, got {k!r}")
    schema = samples.get_field_schema()
    check_embeddings_field(schema, embeddings_field)
    run = BrainRun(samples, uniqueness_field, "uniqueness", {"embeddings_field": embeddings_field, "k": k,
                                                            "metric": metric},
                   inputs=[embeddings_field], outputs={uniqueness_field: FLOAT}, schema=schema)
    ids, matrix, usable, _ = read_embeddings(run, embeddings_field, minimum=2)
    _, distances = knn(matrix[usable], min(k, int(usable.sum()) - 1), metric=metric)
    run.write(ids, {uniqueness_field: uniqueness_scores(distances)}, usable)
    return run.finish(UniquenessSummary, scored=int(usable.sum()))
