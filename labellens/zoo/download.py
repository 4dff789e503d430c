"""Downloading zoo files: cache folders, a streamed download with a progress bar, checksums.

A download goes to ``<name>.part`` beside its destination and is renamed only
after its checksum matches, so an interrupted or corrupt download never looks
like a cached file.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Literal

from labellens.errors import DownloadError
from labellens.progress import ProgressBar

Algorithm = Literal["md5", "sha256"]
CHUNK = 1 << 20
TIMEOUT_S = 30


def cache_dir(env_var: str, default: str) -> Path:
    """The folder named by ``env_var`` (or ``default``), with ``~`` expanded."""
    return Path(os.environ.get(env_var) or default).expanduser()


def file_digest(path: Path, algorithm: Algorithm) -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_digest(path: Path, expected: str, algorithm: Algorithm) -> None:
    """Raise DownloadError if the file's digest is not ``expected`` (a hex prefix is enough)."""
    actual = file_digest(path, algorithm)
    if not actual.startswith(expected.lower()):
        raise DownloadError(f"{path} has {algorithm} {actual}, expected {expected}: the file is "
                            "corrupt or not the expected one; delete it and try again")


def download(url: str, dest: Path, *, expected: str | None, algorithm: Algorithm,
             progress: bool = True) -> Path:
    """Fetch ``url`` to ``dest`` with a progress bar; verify its digest before keeping it.

    Raises
    ------
    DownloadError
        The server cannot be reached, the transfer fails, or the digest differs
        (nothing is left at ``dest`` then).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with ProgressBar(total, desc=f"downloading {dest.name}", unit="B",
                             enabled=progress) as bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
        if expected is not None:
            check_digest(part, expected, algorithm)
    except DownloadError:
        part.unlink(missing_ok=True)
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"could not download {url}: {exc}") from None
    part.replace(dest)
    return dest
