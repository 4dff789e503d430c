"""The dataset layer's view of the value codec (:mod:`labellens.codec`), plus batch helpers."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

from labellens.codec import NDARRAY, SELF_STORED, decode, decode_path, encode

__all__ = ["NDARRAY", "SELF_STORED", "decode", "decode_path", "encode", "gc_paused"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch is encoded.

    Encoding allocates many small objects, which triggers full collections that
    walk every live sample (half the cost of a bulk write); the objects are
    freed by reference counting anyway. The collector's previous state is restored.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
