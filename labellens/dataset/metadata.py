"""Image metadata read from file headers with Pillow (no full decode), in threads."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, UnidentifiedImageError

from labellens.labels import ImageMetadata

_MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "BMP": "image/bmp",
               "WEBP": "image/webp", "TIFF": "image/tiff"}


def read_metadata(path: str) -> ImageMetadata | None:
    """Width, height, size and MIME type from the image header; None when unreadable."""
    try:
        size = os.path.getsize(path)
        with Image.open(path) as image:
            width, height = image.size
            kind = image.format or ""
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    return ImageMetadata(size_bytes=size, mime_type=_MIME_TYPES.get(kind, f"image/{kind.lower()}"),
                         width=width, height=height)


def read_all(paths: Sequence[str], num_workers: int = 8) -> list[ImageMetadata | None]:
    """Metadata of every path, in order (threads overlap the file I/O)."""
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        return list(pool.map(read_metadata, paths, chunksize=64))
