"""compute_embeddings: (N, D) in view order, stored compactly, NaN rows for unreadable images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import labellens as ll
from labellens.errors import ValidationError
from labellens.inference import compute_embeddings
from labellens.zoo import load_zoo_model


@pytest.fixture
def dataset(backend, image_tree) -> ll.Dataset:
    dataset = ll.Dataset()
    dataset.add_samples(ll.Sample(p) for p in sorted([*image_tree.good, *image_tree.bad]))
    return dataset


def test_zoo_model_embeddings_follow_the_view_order_and_are_stored(dataset, image_tree, model_cache) -> None:
    model = load_zoo_model("cifar10-resnet20")
    view = dataset.sort_by("filepath", reverse=True)
    with pytest.warns(UserWarning, match="3 images could not be read"):
        embeddings = compute_embeddings(view, model, "emb", batch_size=5, num_workers=0, progress=False)
    paths = view.values("filepath")
    assert embeddings.shape == (len(paths), 64) and embeddings.dtype == np.float32
    bad = {str(p) for p in image_tree.bad}
    rows_bad = [i for i, p in enumerate(paths) if p in bad]
    assert np.isnan(embeddings[rows_bad]).all() and not np.isnan(np.delete(embeddings, rows_bad, 0)).any()
    i = next(i for i, p in enumerate(paths) if p not in bad)
    with torch.inference_mode():
        image = model.transform(Image.open(paths[i]).convert("RGB"))[None]
        expected = model.net.features(image).numpy()[0]
    assert np.allclose(embeddings[i], expected, atol=1e-5)
    stored = view.values("emb")
    assert all(stored[j] is None for j in rows_bad)
    assert stored[i].dtype == np.float32 and np.array_equal(stored[i], embeddings[i])
    assert dataset.get_field_schema()["emb"] == "ArrayField"


def test_without_a_field_nothing_is_stored_and_any_module_embeds(dataset, image_tree) -> None:
    view = dataset.sort_by("filepath")
    pooled = nn.Sequential(nn.AdaptiveAvgPool2d(2))
    with pytest.warns(UserWarning):
        embeddings = compute_embeddings(view, pooled, num_workers=1, progress=False)
    assert embeddings.shape == (len(view), 12)
    assert "emb" not in dataset.get_field_schema()
    with pytest.raises(ValidationError, match="torch.nn.Module"):
        compute_embeddings(view, "resnet", progress=False)
