"""The one "N samples skipped: first k ids" report, shared by every bulk operation."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

SHOWN = 5


def skipped_message(items: Sequence[str], what: str, *, shown: int = SHOWN) -> str:
    """``"<N> <what>: a, b, c ..."`` naming the first ``shown`` of ``items`` (ids or paths)."""
    listed = ", ".join(str(item) for item in items[:shown])
    return f"{len(items)} {what}: {listed}{' ...' if len(items) > shown else ''}"


def warn_skipped(items: Sequence[str], what: str, *, stacklevel: int = 2) -> None:
    """One warning naming how many items were skipped and the first few; nothing when none were."""
    if items:
        warnings.warn(skipped_message(items, what), stacklevel=stacklevel + 1)
