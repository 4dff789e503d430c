"""Shared helpers for the benchmarks: a real mongod to measure on, timing, tables."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from labellens import db
from labellens.db import mongod


@contextlib.contextmanager
def benchmark_server(name: str) -> Iterator[str]:
    """Use LABELLENS_DATABASE_URI if set, else a throwaway mongod; a fresh database ``name``."""
    uri = os.environ.get("LABELLENS_DATABASE_URI")
    with tempfile.TemporaryDirectory(prefix="labellens-bench-") as tmp:
        if not uri:
            uri = mongod.ensure_server(Path(tmp)).uri
        os.environ["LABELLENS_DATABASE_URI"] = uri
        os.environ["LABELLENS_DATABASE_NAME"] = name
        db.close_clients()
        db.get_client().drop_database(name)
        try:
            yield uri
        finally:
            db.get_client().drop_database(name)
            db.close_clients()
            if Path(tmp, mongod.STATE_FILE).exists():
                mongod.stop_server(Path(tmp))


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall-clock seconds over ``repeat`` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def rounds_for(calls: list[Callable[[], Any]], repeat: int, budget_s: float = 0.3) -> int:
    """How many alternating rounds to time ``calls`` in: ``repeat``, or for calls of a fraction
    of a millisecond as many as fit in about ``budget_s`` per call. The best of a few timings of
    such a call measures the shared machine's jitter more than the call."""
    slowest = max(timed(call)[0] for call in calls)
    return max(repeat, min(1000, int(budget_s / max(slowest, 1e-6))))


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [headers, *[[f"{c:.3f}" if isinstance(c, float) else str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for i, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
