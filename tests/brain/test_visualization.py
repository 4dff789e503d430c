"""compute_visualization: 2-D points per sample as a brain run, on both backends."""

from __future__ import annotations

import numpy as np
import pytest

import labellens as ll
from labellens import brain
from labellens.brain.visualization import reduce_dimensions
from labellens.errors import FieldNotFoundError, ValidationError


def make_dataset(n: int = 120, seed: int = 0) -> tuple[ll.Dataset, np.ndarray]:
    """Three well-separated clusters of 16-d embeddings; sample 0 has none."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, 3, size=n)
    centres = rng.normal(size=(3, 16)) * 10
    embeddings = (centres[cluster] + rng.normal(size=(n, 16))).astype(np.float32)
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(filepath=f"/img/{i}.png", emb=None if i == 0 else embeddings[i],
                             ground_truth=ll.Classification(label=f"c{cluster[i]}")) for i in range(n))
    return ds, cluster


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_clusters_stay_apart_in_2d(method: str) -> None:
    rng = np.random.default_rng(0)
    cluster = rng.integers(0, 3, size=150)
    data = rng.normal(size=(3, 64))[cluster] * 10 + rng.normal(size=(150, 64))
    points = reduce_dimensions(data, method, seed=0)
    assert points.shape == (150, 2) and points.dtype == np.float32
    centres = np.stack([points[cluster == c].mean(axis=0) for c in range(3)])
    spread = max(np.linalg.norm(points[cluster == c] - centres[c], axis=1).mean() for c in range(3))
    gaps = min(np.linalg.norm(centres[a] - centres[b]) for a in range(3) for b in range(a + 1, 3))
    assert gaps > 2 * spread
    np.testing.assert_array_equal(points, reduce_dimensions(data, method, seed=0))


def test_points_are_written_as_a_brain_run(backend: str) -> None:
    ds, _ = make_dataset()
    with pytest.warns(UserWarning, match="1 samples have no finite 'emb'"):
        summary = brain.compute_visualization(ds, "emb", method="pca", brain_key="viz")
    points = ds.values("viz")
    assert points[0] is None and all(len(p) == 2 for p in points[1:])
    assert summary.num_points == len(ds) - 1 and summary.skipped_ids == [ds.values("id")[0]]
    info = ds.get_brain_info("viz")
    assert info["config"]["reduction"] == "pca" and info["fields"] == ["viz"]
    view = ds.match(ll.F("ground_truth.label") == "c1")
    brain.compute_visualization(view, "emb", method="pca", brain_key="viz_c1")
    assert sum(p is not None for p in ds.values("viz_c1")) == len(view.exists("emb"))
    ds.delete_brain_run("viz")
    assert "viz" not in ds.get_field_schema()


def test_bad_input_writes_nothing(backend: str) -> None:
    ds, _ = make_dataset(20)
    with pytest.raises(FieldNotFoundError, match="compute_embeddings"):
        brain.compute_visualization(ds, "nope", method="pca")
    with pytest.raises(ValidationError, match="method must be one of"):
        brain.compute_visualization(ds, "emb", method="mds")
    with pytest.raises(ValidationError, match="overwrite"):
        brain.compute_visualization(ds, "emb", method="pca", brain_key="emb")
    with pytest.raises(ValidationError, match="not written by a brain run"):
        brain.compute_visualization(ds, "emb", method="pca", brain_key="filepath")
    assert ds.list_brain_runs() == []
