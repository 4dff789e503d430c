"""Fixtures for the inference tests: a model cache and a small folder of good and bad images."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

CLASSES_USED = ("airplane", "cat", "ship")
PER_CLASS = 6


@dataclass(frozen=True)
class ImageTree:
    """A small ``<root>/<class>/<image>`` tree: readable JPEGs plus unreadable files."""

    root: Path
    good: list[Path]
    bad: list[Path]



@pytest.fixture
def image_tree(cifar10_test_dir: Path, tmp_path: Path) -> ImageTree:
    """18 CIFAR-10 test JPEGs in 3 class folders, plus an empty, a truncated and a non-image file."""
    root = tmp_path / "images"
    good = []
    for name in CLASSES_USED:
        (root / name).mkdir(parents=True)
        for source in sorted((cifar10_test_dir / name).iterdir())[:PER_CLASS]:
            good.append(Path(shutil.copy(source, root / name / source.name)))
    sample = good[0].read_bytes()
    bad = [root / "cat" / "empty.jpg", root / "ship" / "truncated.jpg", root / "airplane" / "notes.png"]
    bad[0].write_bytes(b"")
    bad[1].write_bytes(sample[: len(sample) // 2])
    bad[2].write_text("this is not an image\n")
    return ImageTree(root, good, bad)
