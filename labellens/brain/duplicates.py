"""``compute_near_duplicates``: groups of near-identical images, and exact copies by file hash.

Two samples are near duplicates when their embeddings are within ``threshold``
cosine distance (among each sample's ``k`` nearest neighbours), and exact
duplicates when their files have the same SHA-256; groups are the connected
components of both kinds of pairs. In each group the first sample (in the
collection's order) is the one to keep.

Fields written (``brain_key`` = ``"near_dup"`` by default):
``<key>_group`` (int group id; unset for a sample without duplicates),
``<key>_keep`` (True for the sample to keep, False for the copies to drop),
``<key>_exact`` (True where another sample's file has the same bytes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from labellens.brain.embedding_inputs import check_embeddings_field, read_embeddings
from labellens.brain.neighbors import knn
from labellens.brain.run import BrainRun, Flag, RunSummary
from labellens.dataset.collection import SampleCollection
from labellens.errors import ValidationError
from labellens.fields import BOOLEAN, INT

THRESHOLD = 0.01
NEIGHBOURS = 5
HASH_WORKERS = 8
HASH_CHUNK = 1 << 20


@dataclass(kw_only=True)
class DuplicatesSummary(RunSummary):
    """How many groups were found, how many samples they hold, and how many are copies to drop."""

    num_groups: int
    num_in_groups: int
    num_exact: int

    @property
    def num_to_drop(self) -> int:
        return self.num_in_groups - self.num_groups


def pairs_within(indices: np.ndarray, distances: np.ndarray, threshold: float) -> np.ndarray:
    """(P, 2) pairs (i, j) of rows whose neighbour distance is at most ``threshold``."""
    rows, cols = np.nonzero(np.asarray(distances) <= threshold)
    return np.stack([rows, np.asarray(indices)[rows, cols]], axis=1).astype(np.int64)


def equal_value_pairs(values: Sequence[object]) -> np.ndarray:
    """(P, 2) pairs linking each row to the first earlier row with the same non-None value."""
    first: dict[object, int] = {}
    pairs = []
    for i, value in enumerate(values):
        if value is None:
            continue
        j = first.setdefault(value, i)
        if j != i:
            pairs.append((j, i))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def duplicate_groups(num_rows: int, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) group id (-1: no duplicate) and (N,) keep flag (first row of each group) from pairs."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(num_rows, num_rows))
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component, minlength=num_rows)
    in_group = sizes[component] > 1
    _, first_row = np.unique(component, return_index=True)
    keep = np.zeros(num_rows, dtype=bool)
    keep[first_row] = True
    renumber = np.full(len(sizes), -1, dtype=np.int64)
    grouped = np.unique(component[in_group])
    renumber[grouped] = np.arange(len(grouped))
    return renumber[component], keep & in_group


def file_hashes(paths: Sequence[str | None], *, workers: int = HASH_WORKERS) -> list[str | None]:
    """SHA-256 hex digest of each file, read in threads (None where it cannot be read)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_hash_file, paths))


def _hash_file(path: str | None) -> str | None:
    if path is None:
        return None
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def compute_near_duplicates(samples: SampleCollection, embeddings_field: str | None = None, *,
                            threshold: float = THRESHOLD, brain_key: str = "near_dup",
                            hash_files: bool = True, k: int = NEIGHBOURS) -> DuplicatesSummary:
    """Find groups of near-identical images (by embedding) and exact copies (by file hash).

    ``threshold`` is the largest cosine distance between near duplicates;
    ``embeddings_field=None`` finds exact copies only. See the module docstring
    for the three fields written; the call is a brain run under ``brain_key``.
    """
    if embeddings_field is None and not hash_files:
        raise ValidationError("pass an embeddings_field, hash_files=True, or both")
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0 <= threshold < 2:
        raise ValidationError(f"threshold is a cosine distance in [0, 2), got {threshold!r}")
    schema = samples.get_field_schema()
    group_field, keep_field, exact_field = (f"{brain_key}_{name}" for name in ("group", "keep", "exact"))
    if embeddings_field is not None:
        check_embeddings_field(schema, embeddings_field)
    run = BrainRun(samples, brain_key, "near_duplicates", {
        "embeddings_field": embeddings_field, "threshold": float(threshold), "hash_files": bool(hash_files),
        "k": k}, inputs=[embeddings_field, "filepath"], schema=schema,
        outputs={group_field: INT, keep_field: BOOLEAN, exact_field: BOOLEAN},
        flags={"near_duplicate": Flag(keep_field, False)})
    pairs = [np.zeros((0, 2), dtype=np.int64)]
    if embeddings_field is not None:
        ids, matrix, usable, columns = read_embeddings(run, embeddings_field, ["filepath"])
        rows = np.flatnonzero(usable)
        if len(rows) > 1:
            indices, distances = knn(matrix[rows], min(k, len(rows) - 1), metric="cosine")
            pairs.append(rows[pairs_within(indices, distances, threshold)])
        paths = columns["filepath"]
    else:
        ids, paths = [], []
        for batch in samples.iter_batches(["filepath"]):
            ids += batch["id"]
            paths += batch["filepath"]
    exact = np.zeros(len(ids), dtype=bool)
    if hash_files:
        same = equal_value_pairs(file_hashes(paths))
        exact[same.ravel()] = True
        pairs.append(same)
    group, keep = duplicate_groups(len(ids), np.concatenate(pairs))
    grouped = group >= 0
    run.write(ids, {group_field: [int(g) if g >= 0 else None for g in group.tolist()],
                    keep_field: [bool(kept) if g else None for kept, g in zip(keep, grouped)],
                    exact_field: [True if e else None for e in exact.tolist()]})
    run.config["num_groups"] = num_groups = int(len(np.unique(group[grouped])))
    return run.finish(DuplicatesSummary, scored=len(ids), num_groups=num_groups,
                      num_in_groups=int(grouped.sum()), num_exact=int(exact.sum()))
