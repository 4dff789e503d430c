"""Checking and reading embedding fields for the embedding-based brain methods.

Shared by :mod:`~labellens.brain.visualization`, :mod:`~labellens.brain.uniqueness`,
:mod:`~labellens.brain.duplicates` and :mod:`~labellens.brain.outliers`: inputs are
checked before anything is written, and embeddings are read in batches of one projection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from labellens.brain.run import BrainRun
from labellens.errors import FieldNotFoundError, ValidationError

BATCH_SIZE = 10_000

__all__ = ["BATCH_SIZE", "check_embeddings_field", "read_embeddings"]


def check_embeddings_field(schema: Mapping[str, str], field: str) -> None:
    """``field`` names an existing field (of per-sample vectors), or a clear error."""
    if not isinstance(field, str) or not field:
        raise ValidationError(f"embeddings_field must be a field name, got {field!r}")
    if field not in schema:
        raise FieldNotFoundError(f"embeddings_field {field!r} does not exist; compute it first with "
                                 "labellens.inference.compute_embeddings(..., embeddings_field=...)")


def read_embeddings(run: BrainRun, field: str, extra: Sequence[str] = (), *, minimum: int = 0
                    ) -> tuple[list[str], np.ndarray, np.ndarray, dict[str, list[Any]]]:
    """Ids, (N, D) float32 embeddings, (N,) mask of usable rows and ``extra`` columns of ``run``'s samples.

    Rows without a vector or with NaN/infinite values are zeros, not usable, and
    skipped by ``run``; vectors of different lengths, or fewer than ``minimum`` usable rows, raise.
    """
    ids: list[str] = []
    columns: dict[str, list[Any]] = {path: [] for path in extra}
    rows: list[Any] = []
    for batch in run.samples.iter_batches([field, *extra], batch_size=BATCH_SIZE):
        ids += batch["id"]
        rows += batch[field]
        for path in extra:
            columns[path] += batch[path]
    width = next((np.size(v) for v in rows if v is not None), 0)
    matrix = np.zeros((len(rows), width), dtype=np.float32)
    usable = np.zeros(len(rows), dtype=bool)
    for i, value in enumerate(rows):
        if value is None:
            continue
        vector = np.ravel(np.asarray(value, dtype=np.float32))
        if vector.size != width:
            raise ValidationError(f"embeddings in {field!r} have different lengths ({vector.size} and "
                                  f"{width}); recompute them with one model")
        matrix[i] = vector
        usable[i] = np.isfinite(vector).all()
    matrix[~usable] = 0.0
    if int(usable.sum()) < minimum:
        raise ValidationError(f"only {int(usable.sum())} samples have a finite {field!r} embedding; "
                              f"this method needs at least {minimum}")
    run.skip([ids[i] for i in np.flatnonzero(~usable)],
             f"have no finite {field!r} embedding and were skipped")
    return ids, matrix, usable, columns
