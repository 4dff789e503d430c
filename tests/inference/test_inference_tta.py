"""Test-time augmentation in apply_model and compute_embeddings: one pass, averaged or one field per view."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import labellens as ll
from labellens.errors import ValidationError
from labellens.inference import apply_model, compute_embeddings
from labellens.inference.tta import StackedTransform, hflip, over_views, resolve_tta, split_views

CLASSES = ["left", "right", "none"]


class LeftRight(nn.Module):
    """Logits: mean red of the left half, of the right half, and 0 (mirroring swaps the first two)."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        red = images[:, 0]
        half = red.shape[-1] // 2
        left, right = red[..., :half].mean(dim=(1, 2)), red[..., half:].mean(dim=(1, 2))
        return torch.stack([left, right, torch.zeros_like(left)], dim=1)


def upside_down(image: Image.Image) -> Image.Image:
    return image.rotate(180)


def make_dataset(tree) -> ll.Dataset:
    dataset = ll.Dataset()
    dataset.add_samples(ll.Sample(p) for p in sorted(tree.good))
    dataset.default_classes = CLASSES
    return dataset


def expected_logits(dataset: ll.Dataset, augmentation=None) -> np.ndarray:
    model, out = LeftRight(), []
    for path in dataset.values("filepath"):
        image = Image.open(path).convert("RGB")
        image = augmentation(image) if augmentation else image
        tensor = torch.from_numpy(np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255)
        out.append(model(tensor[None])[0])
    return torch.stack(out).numpy()


def test_resolve_tta_names_and_errors() -> None:
    assert resolve_tta(None) == []
    assert resolve_tta("flip") == [("flip", hflip)]
    assert [name for name, _ in resolve_tta(["flip", upside_down])] == ["flip", "upside_down"]
    for bad, match in [("rotate", "unknown test-time augmentation"), ([], "empty list"),
                       (["flip", "flip"], "distinct names"), ([3], "tta must be")]:
        with pytest.raises(ValidationError, match=match):
            resolve_tta(bad)


def test_stacked_views_and_split() -> None:
    image = Image.new("RGB", (4, 2), (10, 20, 30))
    stacked = StackedTransform(lambda im: torch.zeros(3, im.height, im.width), [hflip, upside_down])(image)
    assert stacked.shape == (3, 3, 2, 4)
    run = over_views(lambda x: x.flatten(1)[:, :5])
    assert run(torch.ones(2, 3, 3, 2, 4)).shape == (2, 3, 5)
    outputs = np.arange(12.0).reshape(2, 3, 2)
    augs = resolve_tta(["flip", upside_down])
    np.testing.assert_allclose(split_views(outputs, augs, separate=False)[0], outputs.mean(axis=1))
    assert [a.tolist() for a in split_views(outputs, augs, separate=True)] == \
        [outputs[:, i].tolist() for i in range(3)]


def test_apply_model_flip_averages_logits_in_one_pass(backend, image_tree) -> None:
    dataset = make_dataset(image_tree)
    summary = apply_model(dataset, LeftRight(), "pred", tta="flip", num_workers=0, progress=False)
    assert summary.processed == len(image_tree.good)
    plain, flipped = expected_logits(dataset), expected_logits(dataset, hflip)
    logits = dataset.values("pred.logits", as_numpy=True)
    np.testing.assert_allclose(logits, (plain + flipped) / 2, atol=1e-5)
    np.testing.assert_allclose(logits[:, 0], logits[:, 1], atol=1e-5)   # left and right averaged out
    assert "pred_flip" not in dataset.get_field_schema()


def test_apply_model_one_field_per_view(backend, image_tree) -> None:
    dataset = make_dataset(image_tree)
    apply_model(dataset, LeftRight(), "pred", tta=["flip", upside_down], tta_fields=True, num_workers=0,
                progress=False)
    for field, augmentation in [("pred", None), ("pred_flip", hflip), ("pred_upside_down", upside_down)]:
        np.testing.assert_allclose(dataset.values(f"{field}.logits", as_numpy=True),
                                   expected_logits(dataset, augmentation), atol=1e-5)
    labels = dataset.values("pred.label")
    assert set(labels) <= set(CLASSES)


def test_compute_embeddings_tta_mean_and_fields(backend, image_tree) -> None:
    dataset = make_dataset(image_tree)
    mean = compute_embeddings(dataset, LeftRight(), "emb", tta="flip", tta_fields=True, num_workers=0,
                              progress=False)
    plain, flipped = expected_logits(dataset), expected_logits(dataset, hflip)
    np.testing.assert_allclose(mean, (plain + flipped) / 2, atol=1e-5)
    np.testing.assert_allclose(dataset.values("emb", as_numpy=True), plain, atol=1e-5)
    np.testing.assert_allclose(dataset.values("emb_flip", as_numpy=True), flipped, atol=1e-5)
    averaged = compute_embeddings(dataset, LeftRight(), "avg", tta="flip", num_workers=0, progress=False)
    np.testing.assert_allclose(dataset.values("avg", as_numpy=True), averaged, atol=1e-6)


def test_bad_tta_raises_before_any_write(backend, image_tree) -> None:
    dataset = make_dataset(image_tree)
    with pytest.raises(ValidationError, match="unknown test-time augmentation"):
        apply_model(dataset, LeftRight(), "pred", tta="blur", progress=False)
    with pytest.raises(ValidationError, match="distinct names"):
        compute_embeddings(dataset, LeftRight(), "emb", tta=[hflip, hflip], progress=False)
    assert not {"pred", "emb"} & set(dataset.get_field_schema())
