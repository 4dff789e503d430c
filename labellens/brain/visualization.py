"""``compute_visualization``: 2-D points of an embedding field for the App's embeddings map.

The pure :func:`reduce_dimensions` maps (N, D) embeddings to (N, 2) with UMAP
(umap-learn, the ``labellens[umap]`` extra), t-SNE or PCA (scikit-learn);
above ``PRE_PCA_DIMS`` dimensions UMAP and t-SNE first project onto that many
principal components, and UMAP takes its neighbour graph from
:func:`labellens.brain.neighbors.knn`, which keeps 100,000 samples within minutes. The points are
written as ``[x, y]`` to the field ``brain_key`` and the call is a brain run.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from labellens.brain.embedding_inputs import check_embeddings_field, read_embeddings
from labellens.brain.neighbors import knn
from labellens.brain.run import BrainRun, RunSummary
from labellens.dataset.collection import SampleCollection
from labellens.errors import MissingDependencyError, ValidationError
from labellens.fields import LIST

METHODS = ("umap", "tsne", "pca")
PRE_PCA_DIMS = 50
UMAP_NEIGHBORS = 15


@dataclass(kw_only=True)
class VisualizationSummary(RunSummary):
    """What ``compute_visualization`` wrote: the points' field, how many, and the samples skipped;
    ``method`` is the reduction (umap, tsne or pca)."""

    method: str
    num_points = property(lambda self: self.scored)  # the name of older versions


def reduce_dimensions(embeddings: np.ndarray, method: str = "umap", *, seed: int = 0) -> np.ndarray:
    """(N, D) embeddings -> (N, 2) float32 points; the same ``seed`` gives the same points."""
    if method not in METHODS:
        raise ValidationError(f"method must be one of {METHODS}, got {method!r}")
    data = np.asarray(embeddings, dtype=np.float32)
    if data.ndim != 2 or len(data) < 3:
        raise ValidationError(f"need at least 3 embeddings as an (N, D) array, got shape {data.shape}")
    from sklearn.decomposition import PCA

    if method == "pca" or data.shape[1] < 2:
        points = _pad(PCA(n_components=min(2, data.shape[1]), random_state=seed).fit_transform(data))
        return points.astype(np.float32)
    if data.shape[1] > PRE_PCA_DIMS and len(data) > PRE_PCA_DIMS:
        data = PCA(n_components=PRE_PCA_DIMS, random_state=seed).fit_transform(data).astype(np.float32)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(30.0, (len(data) - 1) / 3)
        return TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(
            data).astype(np.float32)
    try:
        import umap
    except ImportError as error:
        raise MissingDependencyError("method='umap' needs umap-learn: pip install 'labellens[umap]' "
                                     "(or use method='pca' or 'tsne')") from error
    neighbours = min(UMAP_NEIGHBORS, len(data) - 1)
    # The neighbour graph from labellens.brain.neighbors (faiss) instead of umap's own NN-descent:
    # faster, and no numba compilation of pynndescent. umap wants each row itself first.
    indices, distances = knn(data, neighbours - 1, metric="euclidean") if neighbours > 1 else (
        np.zeros((len(data), 0), dtype=np.int64), np.zeros((len(data), 0), dtype=np.float32))
    rows = np.arange(len(data), dtype=np.int64)[:, None]
    graph = (np.hstack([rows, indices]), np.hstack([np.zeros_like(rows, dtype=np.float32), distances]))
    reducer = umap.UMAP(n_components=2, n_neighbors=neighbours, random_state=seed, precomputed_knn=graph,
                        n_jobs=1)
    with warnings.catch_warnings():  # no transform() of new data without umap's own index: not used here
        warnings.filterwarnings("ignore", message="precomputed_knn", category=UserWarning)
        return np.asarray(reducer.fit_transform(data), dtype=np.float32)


def compute_visualization(samples: SampleCollection, embeddings_field: str, method: str = "umap", *,
                          brain_key: str = "viz", seed: int = 0) -> VisualizationSummary:
    """Write 2-D points ``[x, y]`` of ``embeddings_field`` to the field ``brain_key`` (a brain run).

    Samples without a finite embedding are left unset, listed in the summary and
    named in a warning. Run it again with another ``brain_key`` (or the same one)
    to compare methods.
    """
    if method not in METHODS:
        raise ValidationError(f"method must be one of {METHODS}, got {method!r}")
    schema = samples.get_field_schema()
    check_embeddings_field(schema, embeddings_field)
    run = BrainRun(samples, brain_key, "visualization", {"embeddings_field": embeddings_field,
                                                         "reduction": method, "seed": seed, "num_dims": 2},
                   inputs=[embeddings_field], outputs={brain_key: schema.get(brain_key, LIST)}, schema=schema)
    if brain_key in schema and brain_key not in samples.dataset.list_brain_runs():
        raise ValidationError(f"field {brain_key!r} exists and was not written by a brain run; "
                              "pick another brain_key")
    ids, matrix, usable, _ = read_embeddings(run, embeddings_field, minimum=3)
    points = reduce_dimensions(matrix[usable], method, seed=seed)
    run.write(ids, {brain_key: points.astype(np.float64)}, usable)
    return run.finish(VisualizationSummary, scored=int(usable.sum()), method=method)


def _pad(points: np.ndarray) -> np.ndarray:
    """1-D embeddings give points on the x axis."""
    return points if points.shape[1] == 2 else np.hstack([points, np.zeros((len(points), 1))])
