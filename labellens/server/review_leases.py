"""Short per-sample leases so two reviewers on one queue never see the same sample at once.

A reviewer claims the first queued sample nobody else holds; the lease lasts ``ttl``
seconds and is renewed while the sample is shown, released when a decision is made.
An expired lease is free again, so a closed browser never blocks a sample for long.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable


class Leases:
    """Thread-safe leases ``sample id -> (reviewer, expiry)`` held by one App server."""

    def __init__(self, ttl: float = 30.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _free(self, sample_id: str, reviewer: str, now: float) -> bool:
        holder = self._held.get(sample_id)
        return holder is None or holder[0] == reviewer or holder[1] <= now

    def claim(self, reviewer: str, candidates: Iterable[str]) -> str | None:
        """Lease and return the first candidate no other reviewer holds (None when all are held)."""
        with self._lock:
            now = self._clock()
            for sample_id in candidates:
                if self._free(sample_id, reviewer, now):
                    self._held[sample_id] = (reviewer, now + self.ttl)
                    return sample_id
        return None

    def renew(self, reviewer: str, sample_id: str) -> bool:
        """Extend ``reviewer``'s lease; False when another reviewer holds the sample now."""
        with self._lock:
            now = self._clock()
            if not self._free(sample_id, reviewer, now):
                return False
            self._held[sample_id] = (reviewer, now + self.ttl)
            return True

    def release(self, reviewer: str, sample_id: str) -> None:
        """Drop ``reviewer``'s lease on the sample (a no-op when someone else holds it)."""
        with self._lock:
            holder = self._held.get(sample_id)
            if holder is not None and holder[0] == reviewer:
                del self._held[sample_id]

    def held_by_others(self, reviewer: str) -> set[str]:
        """Samples other reviewers hold now (to leave out of ``reviewer``'s queue)."""
        with self._lock:
            now = self._clock()
            return {s for s, (who, until) in self._held.items() if who != reviewer and until > now}


__all__ = ["Leases"]
