"""Test-time augmentation: each image is also seen through augmentations, in one pass.

``tta="flip"`` adds the horizontally mirrored image; a list may mix the name
``"flip"`` and callables PIL image -> PIL image (applied before the model's
transform). The original image always comes first. Every image is decoded once:
the transform stacks its A views into one (A, C, H, W) tensor, the model sees
(B * A, C, H, W), and its outputs come back as (B, A, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps
from torchvision.transforms import functional as tvf

from labellens.dataset.type_inference import check_field_name
from labellens.errors import ValidationError

Augmentation = Callable[[Image.Image], Image.Image]
ImageTransform = Callable[[Image.Image], torch.Tensor]
ModelFn = Callable[[torch.Tensor], torch.Tensor]
TTASpec = str | Augmentation | Sequence[str | Augmentation] | None


def hflip(image: Image.Image) -> Image.Image:
    """The image mirrored left to right."""
    return ImageOps.mirror(image)


NAMED = {"flip": hflip}


def resolve_tta(tta: TTASpec) -> list[tuple[str, Augmentation]]:
    """``(name, augmentation)`` per augmentation (the original image not included); names are unique.

    A callable is named by its ``__name__`` (or its class name), lower-cased.
    """
    if tta is None:
        return []
    items = [tta] if isinstance(tta, str) or callable(tta) else list(tta)
    resolved = []
    for item in items:
        if isinstance(item, str):
            if item not in NAMED:
                raise ValidationError(f"unknown test-time augmentation {item!r}; use one of "
                                      f"{', '.join(map(repr, NAMED))} or a callable PIL image -> PIL image")
            resolved.append((item, NAMED[item]))
        elif callable(item):
            name = getattr(item, "__name__", type(item).__name__)
            resolved.append((re.sub(r"\W+", "_", name).strip("_").lower() or "tta", item))
        else:
            raise ValidationError(f"tta must be 'flip', a callable or a list of them, got {item!r}")
    if not resolved:
        raise ValidationError("tta is an empty list; pass None for no test-time augmentation")
    names = [name for name, _ in resolved]
    if len(set(names)) != len(names):
        raise ValidationError(f"test-time augmentations need distinct names, got {names}; give each "
                              "callable its own __name__")
    return resolved


class StackedTransform:
    """PIL image -> (A, C, H, W): ``transform`` of the image and of each augmentation (picklable)."""

    def __init__(self, transform: ImageTransform,
                 augmentations: Sequence[Augmentation]) -> None:
        self.transform = transform
        self.augmentations = list(augmentations)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        views = [self.transform(image), *(self.transform(aug(image)) for aug in self.augmentations)]
        return torch.stack(views)


def over_views(fn: ModelFn) -> ModelFn:
    """A model function on (B, A, C, H, W) stacked views: runs ``fn`` on (B * A, ...), gives (B, A, ...)."""

    def run(images: torch.Tensor) -> torch.Tensor:
        out: Any = fn(images.flatten(0, 1))
        return out.reshape(images.shape[0], images.shape[1], *out.shape[1:])

    return run


def with_views(fn: ModelFn, transform: ImageTransform | None,
               augmentations: Sequence[tuple[str, Augmentation]]) -> tuple[ModelFn, ImageTransform | None]:
    """``(fn, transform)`` for the loop: unchanged without augmentations, else over stacked views."""
    if not augmentations:
        return fn, transform
    return over_views(fn), StackedTransform(transform or tvf.to_tensor, [aug for _, aug in augmentations])


def tta_field_names(field: str, augmentations: Sequence[tuple[str, Augmentation]],
                    separate: bool) -> list[str]:
    """The fields written: ``[field]``, or with ``separate`` also ``<field>_<name>`` per augmentation."""
    if not separate or not augmentations:
        return [field]
    names = [field, *(f"{field}_{name}" for name, _ in augmentations)]
    for name in names[1:]:
        check_field_name(name)
    return names


def split_views(outputs: np.ndarray, augmentations: Sequence[tuple[str, Augmentation]],
                separate: bool) -> list[np.ndarray]:
    """Per-field (B, ...) outputs: ``outputs`` as is without augmentations; from (B, A, ...) the
    mean over the A views, or with ``separate`` one array per view (the original first)."""
    if not augmentations:
        return [outputs]
    if separate:
        return [outputs[:, i] for i in range(outputs.shape[1])]
    return [outputs.mean(axis=1)]
