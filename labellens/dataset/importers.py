"""Readers of datasets on disk: folders of images, with or without class folders.

The walkers are pure (paths in, samples out); :func:`import_directory` feeds
them to a dataset through its public ``add_samples`` and sets its classes. It
receives the dataset object, so this module never imports ``dataset.dataset``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from labellens.dataset.sample import Sample
from labellens.errors import ValidationError
from labellens.labels import Classification
from labellens.types import DatasetType, ImageClassificationDirectoryTree, ImageDirectory
from labellens.validation import string_list

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key putting ``img2`` before ``img10`` (digit runs compare as numbers)."""
    return tuple((0, int(part), part) if part.isdigit() else (1, part.lower(), part)
                 for part in re.split(r"(\d+)", name) if part)


def is_image_file(entry: os.DirEntry[str] | Path) -> bool:
    """A visible regular file with an image extension."""
    return (not entry.name.startswith(".") and entry.is_file()
            and os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS)


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    """Image files of ``folder`` in natural name order (sub-folders after files when recursive)."""
    with os.scandir(folder) as entries:
        items = sorted(entries, key=lambda e: natural_key(e.name))
    images = [Path(e.path) for e in items if is_image_file(e)]
    if recursive:
        for entry in items:
            if entry.is_dir() and not entry.name.startswith("."):
                images += list_images(Path(entry.path), recursive=True)
    return images


def class_folders(root: Path) -> list[str]:
    """Class names of an image-classification tree: its visible sub-folders, sorted."""
    with os.scandir(root) as entries:
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))


def classification_tree_samples(root: Path, classes: Sequence[str], label_field: str,
                                tags: Sequence[str]) -> Iterator[Sample]:
    """One sample per image under ``<root>/<class>/`` (recursively), labelled with the class folder."""
    for name in classes:
        for path in list_images(root / name, recursive=True):
            yield Sample(path, tags=list(tags), **{label_field: Classification(label=name)})


def image_directory_samples(root: Path, tags: Sequence[str]) -> Iterator[Sample]:
    """One unlabelled sample per image under ``root`` (recursively)."""
    for path in list_images(root, recursive=True):
        yield Sample(path, tags=list(tags))


def import_directory(dataset: Any, dataset_dir: str | os.PathLike[str],
                     dataset_type: type[DatasetType] | DatasetType, label_field: str,
                     tags: str | Sequence[str] | None) -> None:
    """Add the images of ``dataset_dir`` to ``dataset`` as laid out by ``dataset_type``.

    For ``ImageClassificationDirectoryTree`` each image gets ``Classification(label=<folder>)``
    in ``label_field`` and ``dataset.default_classes`` becomes the sorted folder names.

    Raises
    ------
    ValidationError
        The folder is missing, the type is unknown, or no image was found (nothing is added).
    """
    root = Path(dataset_dir).expanduser().resolve()
    if not root.is_dir():
        raise ValidationError(f"{dataset_dir} is not a folder; pass the root of the dataset on disk")
    kind = dataset_type if isinstance(dataset_type, type) else type(dataset_type)
    tag_list = _tags(tags)
    if kind is ImageClassificationDirectoryTree:
        classes = class_folders(root)
        if not classes:
            raise ValidationError(f"{root} has no class folders; an image-classification tree is "
                                  "<root>/<class>/<image> (or use dataset_type=types.ImageDirectory)")
        samples: Iterator[Sample] = classification_tree_samples(root, classes, label_field, tag_list)
    elif kind is ImageDirectory:
        classes = []
        samples = image_directory_samples(root, tag_list)
    else:
        raise ValidationError(f"unsupported dataset_type {dataset_type!r}; use labellens.types."
                              "ImageClassificationDirectoryTree or labellens.types.ImageDirectory")
    first = next(samples, None)
    if first is None:
        raise ValidationError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) found in {root}")
    dataset.add_samples(_chain(first, samples))
    if classes:
        dataset.default_classes = classes


def _chain(first: Sample, rest: Iterator[Sample]) -> Iterator[Sample]:
    yield first
    yield from rest


def _tags(tags: str | Sequence[str] | None) -> list[str]:
    return string_list(tags, "tags", empty=True)
