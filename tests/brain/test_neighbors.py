"""Nearest neighbours: exact and approximate search agree, self is excluded, bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest

from labellens.brain import neighbors
from labellens.brain.neighbors import knn


def clustered(size: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dim))
    return (centres[rng.integers(0, 50, size)] + 0.3 * rng.standard_normal((size, dim))).astype(np.float32)


def brute_force(data: np.ndarray, k: int, metric: str) -> np.ndarray:
    if metric == "cosine":
        unit = data / np.linalg.norm(data, axis=1, keepdims=True)
        dist = 1.0 - unit @ unit.T
    else:
        dist = np.linalg.norm(data[:, None, :] - data[None, :, :], axis=2)
    np.fill_diagonal(dist, np.inf)
    return np.sort(dist, axis=1)[:, :k]


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_exact_search_returns_the_true_neighbours_nearest_first(metric: str) -> None:
    data = clustered(300)
    indices, distances = knn(data, 5, metric=metric, exact=True)
    assert indices.shape == distances.shape == (300, 5)
    assert indices.dtype == np.int64 and distances.dtype == np.float32
    np.testing.assert_allclose(distances, brute_force(data, 5, metric), atol=1e-4)
    assert (np.diff(distances, axis=1) >= 0).all()
    assert not (indices == np.arange(300)[:, None]).any()


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_approximate_search_recalls_the_exact_neighbours(metric: str) -> None:
    data = clustered(3000, dim=32)
    exact, _ = knn(data, 10, metric=metric, exact=True)
    approx, distances = knn(data, 10, metric=metric, exact=False)
    assert approx.shape == (3000, 10) and approx.dtype == np.int64 and distances.dtype == np.float32
    assert not (approx == np.arange(3000)[:, None]).any()
    assert ((approx >= 0) & (approx < 3000)).all()
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx.tolist(), exact.tolist())])
    assert recall >= 0.95
    assert (np.diff(distances, axis=1) >= -1e-5).all()


def test_size_picks_exact_or_approximate(monkeypatch: pytest.MonkeyPatch) -> None:
    used = []
    monkeypatch.setattr(neighbors, "_exact", lambda *a: used.append("exact") or (None, None))
    monkeypatch.setattr(neighbors, "_ivf", lambda *a: used.append("ivf") or (None, None))
    monkeypatch.setattr(neighbors, "EXACT_MAX_SIZE", 100)
    knn(clustered(100), 3)
    knn(clustered(101), 3)
    assert used == ["exact", "ivf"]


@pytest.mark.parametrize("exact", [True, False])
def test_duplicates_are_neighbours_but_self_is_not(exact: bool) -> None:
    data = np.repeat(clustered(40), 3, axis=0)
    indices, distances = knn(data, 2, exact=exact)
    assert not (indices == np.arange(120)[:, None]).any()
    np.testing.assert_array_equal(indices // 3, np.repeat(np.arange(40), 3)[:, None].repeat(2, axis=1))
    np.testing.assert_allclose(distances, 0.0, atol=1e-5)


def test_zero_vectors_are_at_cosine_distance_one() -> None:
    data = clustered(20)
    data[3] = 0.0
    _, distances = knn(data, 2, exact=True)
    np.testing.assert_allclose(distances[3], 1.0, atol=1e-6)


@pytest.mark.parametrize(("embeddings", "k", "metric", "message"), [
    (np.zeros(10), 1, "cosine", "2-d"),
    (np.zeros((10, 0)), 1, "cosine", "2-d"),
    (np.array([["a"], ["b"]]), 1, "cosine", "real numbers"),
    (np.zeros((10, 3)), 0, "cosine", r"\[1, 9\]"),
    (np.zeros((10, 3)), 10, "cosine", r"\[1, 9\]"),
    (np.zeros((10, 3)), 2.0, "cosine", "integer"),
    (np.zeros((10, 3)), 2, "manhattan", "metric must be one of"),
    (np.array([[1.0, 2.0], [np.nan, 1.0], [0.0, 1.0]]), 1, "cosine", "row 1"),
])
def test_bad_input_is_refused_with_the_fix(embeddings: np.ndarray, k: int, metric: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        knn(embeddings, k, metric=metric)


def test_ivf_cells_grow_with_the_square_root_of_the_rows() -> None:
    assert neighbors.ivf_cells(1_000_000) == 4_000
    assert neighbors.ivf_cells(1) == 4
