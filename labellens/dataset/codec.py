"""The dataset layer's view of the value codec (:mod:`labellens.codec`), plus batch helpers."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from labellens.codec import LATE_TYPES, NDARRAY, SELF_STORED, decode, decode_path, encode

__all__ = ["NDARRAY", "SELF_STORED", "decode", "decode_path", "encode", "encode_checked", "encode_late",
           "gc_paused"]


def encode_checked(values: Sequence[Any]) -> list[Any]:
    """Each value's stored form (SchemaError for one that cannot be stored), except labels whose
    encoding cannot fail (:data:`~labellens.codec.LATE_TYPES`, no extra attributes): they stay
    as they are, for :func:`encode_late` to encode batch by batch while earlier batches are written."""
    late = LATE_TYPES
    return [v if type(v) in late and not v.__pydantic_extra__ else encode(v) for v in values]


def encode_late(values: Sequence[Any]) -> list[Any]:
    """The stored forms of a slice of :func:`encode_checked`'s output."""
    late = LATE_TYPES
    return [v.to_mongo() if type(v) in late else v for v in values]


@contextlib.contextmanager
def gc_paused() -> Iterator[Callable[[], None]]:
    """Pause the cyclic garbage collector during a bulk write; yields a function that collects the
    young generations (what a caller's generator made since) if the collector was on.

    Encoding allocates many small objects, which triggers collections that walk every
    live sample (half the cost of a bulk write); the objects are freed by reference
    counting anyway. The collector's previous state is restored.
    """
    enabled = gc.isenabled()
    gc.disable()

    def collect_young() -> None:
        if enabled:
            gc.collect(1)

    try:
        yield collect_young
    finally:
        if enabled:
            gc.enable()
