"""Media files for the App: which files may be served, and cached thumbnails.

The server only serves a file that is the ``filepath`` of a sample of the
requested dataset (looked up in the database, by sample id or by exact path),
so a browser can never name an arbitrary file. On top of that, a path is
refused when it is relative or contains ``..`` (traversal), and when the file
it resolves to after following symlinks is not a regular image file (a
symlink planted to point at, say, ``/etc/passwd`` is not served).

Large images are shrunk with Pillow once and cached on disk, keyed by the
resolved path, size, modification time and thumbnail size, so a changed file
gets a fresh thumbnail.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from labellens.errors import MediaNotFoundError, ValidationError

MEDIA_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".bmp": "image/bmp", ".webp": "image/webp", ".tif": "image/tiff", ".tiff": "image/tiff",
}
THUMBNAIL_SIZE = 256
BROWSER_FORMATS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp"})


def default_cache_dir() -> Path:
    """The thumbnail cache: ``$LABELLENS_CACHE_DIR/thumbnails``, else ``~/.labellens/cache/thumbnails``."""
    root = os.environ.get("LABELLENS_CACHE_DIR")
    base = Path(root).expanduser() if root else Path.home() / ".labellens" / "cache"
    return base / "thumbnails"


def check_requested_path(filepath: str) -> str:
    """Refuse a requested path that is not a plain absolute path (relative, ``..``, NUL bytes)."""
    if not isinstance(filepath, str) or not filepath:
        raise ValidationError("give the media file as the absolute `filepath` of a sample")
    if "\x00" in filepath:
        raise ValidationError("a media path cannot contain NUL bytes")
    pure = PurePosixPath(filepath)
    if not pure.is_absolute() or ".." in pure.parts:
        raise ValidationError("a media path must be absolute and cannot contain '..'")
    return filepath


def resolve_media(filepath: str) -> Path:
    """The real file behind a sample's ``filepath``, checked to be a regular image file.

    Raises
    ------
    MediaNotFoundError
        When the file is missing, is not a regular file, or is (or links to)
        something that is not an image by its suffix.
    """
    check_requested_path(filepath)
    if Path(filepath).suffix.lower() not in MEDIA_TYPES:
        raise MediaNotFoundError(f"{filepath} is not an image file the App serves")
    try:
        real = Path(filepath).resolve(strict=True)
    except (OSError, RuntimeError):
        raise MediaNotFoundError(f"media file {filepath} does not exist") from None
    if not real.is_file() or real.suffix.lower() not in MEDIA_TYPES:
        raise MediaNotFoundError(f"{filepath} does not lead to an image file")
    return real


def media_type(path: Path) -> str:
    """The MIME type the App sends for an image path."""
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


def thumbnail(path: Path, cache_dir: Path, size: int = THUMBNAIL_SIZE) -> Path:
    """A file showing ``path`` at most ``size`` pixels wide and high: itself if small, else a cached copy.

    Only the image header is read to decide; a thumbnail is made once per
    version of the file and reused from ``cache_dir``.

    Raises
    ------
    MediaNotFoundError
        When Pillow cannot read the image.
    """
    stat = path.stat()
    key = hashlib.sha256(f"{path}\n{stat.st_size}\n{stat.st_mtime_ns}\n{size}".encode()).hexdigest()
    cached = cache_dir / key[:2] / f"{key}.png"
    if cached.exists():
        return cached
    try:
        with Image.open(path) as image:
            if max(image.size) <= size and path.suffix.lower() in BROWSER_FORMATS:
                return path
            image.draft("RGB", (size, size))
            image.thumbnail((size, size))
            small = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        raise MediaNotFoundError(f"cannot read the image {path}") from None
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.{secrets.token_hex(4)}.tmp")
    small.save(partial, format="PNG")
    os.replace(partial, cached)
    return cached
