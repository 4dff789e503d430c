"""Write-behind: run write calls in one background thread while the caller goes on.

Bulk writers (``add_samples``, ``set_values``, ``apply_model``, the brain) use it
so that building batch k+1 overlaps with the database writing batch k. At most
``depth`` writes are queued, so memory stays bounded by the batch size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundWriter:
    """Run ``submit``-ted calls in one background thread, at most ``depth`` queued.

    ``submit`` blocks while the queue is full and re-raises a failed write.
    Leaving the ``with`` block waits for every write and re-raises the first
    failure (unless the block itself raised). With ``inline=True`` calls run at
    once in the caller's thread (for backends that are not thread-safe).
    """

    def __init__(self, depth: int = 2, inline: bool = False) -> None:
        self._depth = depth
        self._pool = None if inline else ThreadPoolExecutor(max_workers=1,
                                                             thread_name_prefix="labellens-write")
        self._pending: deque[Future[Any]] = deque()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if self._pool is None:
            fn(*args, **kwargs)
            return
        while len(self._pending) >= self._depth:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(fn, *args, **kwargs))

    def call(self, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` in the background thread before the writes submitted after it (inline: now),
        outside the queue's depth; its result or error comes from the returned Future."""
        if self._pool is not None:
            return self._pool.submit(fn)
        future: Future[T] = Future()
        try:
            future.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the Future
            future.set_exception(exc)
        return future

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        first_error: BaseException | None = None
        while self._pending:
            try:
                self._pending.popleft().result()
            except BaseException as exc:  # noqa: BLE001 - re-raised below after draining
                first_error = first_error or exc
        if self._pool is not None:
            self._pool.shutdown()
        if first_error is not None and exc_info[0] is None:
            raise first_error
