"""A torch dataset of image files that skips unreadable images instead of failing.

``TorchImageDataset`` works with a plain ``DataLoader`` as in the tutorial:
batched loading goes through ``__getitems__``, which leaves unreadable images
out of the batch (and logs them), so the default collate never sees them. Use
``collate_images`` as the loader's ``collate_fn`` to also get the failures back
from worker processes (``apply_model`` does), and to survive a batch in which
every image is unreadable.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms import functional as tvf

from labellens.errors import ValidationError

logger = logging.getLogger(__name__)

Transform = Callable[[Image.Image], torch.Tensor]


@dataclass(frozen=True)
class ImageFailure:
    """An image that could not be decoded: its sample id, path and the reason."""

    sample_id: Any
    path: str
    reason: str


class ItemList(list):  # type: ignore[type-arg]
    """The readable ``(image, id)`` items of a batch, with the batch's failures attached."""

    failures: list[ImageFailure]

    def __init__(self, items: list[tuple[torch.Tensor, Any]], failures: list[ImageFailure]) -> None:
        super().__init__(items)
        self.failures = failures


@dataclass
class ImageBatch:
    """A collated batch: (B, ...) images (None if B = 0), their ids and the batch's failures."""

    images: torch.Tensor | None
    ids: list[Any]
    failures: list[ImageFailure] = field(default_factory=list)

    def pin_memory(self) -> ImageBatch:
        """The batch with its images in page-locked memory (DataLoader ``pin_memory=True``)."""
        images = self.images.pin_memory() if self.images is not None else None
        return ImageBatch(images, self.ids, self.failures)


class TorchImageDataset(Dataset):
    """Images from files, transformed, paired with their sample ids.

    Parameters
    ----------
    image_paths : sequence of str
        Image files.
    sample_ids : sequence, optional
        One id per image, yielded with it; default the image paths.
    transform : callable, optional
        PIL RGB image -> tensor; default a float tensor in [0, 1], (3, H, W).

    Notes
    -----
    ``failures`` lists the unreadable images met in this process (with
    ``num_workers > 0`` they are met in the workers: use ``collate_images``).
    """

    def __init__(self, image_paths: Sequence[str | os.PathLike[str]], sample_ids: Sequence[Any] | None = None,
                 transform: Transform | None = None) -> None:
        self.image_paths = [os.fspath(p) for p in image_paths]
        self.sample_ids = list(sample_ids) if sample_ids is not None else list(self.image_paths)
        if len(self.sample_ids) != len(self.image_paths):
            raise ValidationError(f"got {len(self.image_paths)} image paths but {len(self.sample_ids)} "
                                  "sample ids; pass one id per image")
        self.transform = transform if transform is not None else tvf.to_tensor
        self.failures: list[ImageFailure] = []

    def __len__(self) -> int:
        return len(self.image_paths)

    def load(self, index: int) -> tuple[torch.Tensor, Any] | ImageFailure:
        """The transformed image and id at ``index``, or why its file cannot be decoded."""
        path = self.image_paths[index]
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            failure = ImageFailure(self.sample_ids[index], path, f"{type(exc).__name__}: {exc}")
            self.failures.append(failure)
            logger.warning("skipping unreadable image %s (%s)", path, failure.reason)
            return failure
        return self.transform(rgb), self.sample_ids[index]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        item = self.load(index)
        if isinstance(item, ImageFailure):
            raise ValidationError(f"cannot read image {item.path}: {item.reason}")
        return item

    def __getitems__(self, indices: Sequence[int]) -> ItemList:
        """The readable items of a batch (torch's DataLoader fetches batches through this)."""
        loaded = [self.load(i) for i in indices]
        return ItemList([x for x in loaded if not isinstance(x, ImageFailure)],
                        [x for x in loaded if isinstance(x, ImageFailure)])


def collate_images(items: Sequence[tuple[torch.Tensor, Any]]) -> ImageBatch:
    """Stack a batch of ``(image, id)`` items, keeping the failures ``__getitems__`` attached."""
    failures = list(getattr(items, "failures", []))
    if not items:
        return ImageBatch(None, [], failures)
    try:
        images = torch.stack([image for image, _ in items])
    except (RuntimeError, TypeError) as exc:
        raise ValidationError(f"cannot batch the transformed images ({exc}); use a transform that "
                              "gives tensors of one size, e.g. with a Resize") from None
    return ImageBatch(images, [sample_id for _, sample_id in items], failures)
