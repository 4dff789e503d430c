"""Time limits of queries: MongoDB's ``maxTimeMS``, given per call or for a whole context.

A read given a ``timeout`` (seconds) sends it as ``maxTimeMS``: the server itself
stops the query when it runs longer (so nothing keeps running after the caller
gave up) and labellens raises :class:`~labellens.errors.QueryTimeoutError`. The
App sets a default for each request with :func:`limited`; a call's own
``timeout`` wins over it. The ``mongomock://`` backend has no time limits: there
a timeout is checked and then ignored.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, NamedTuple

from pymongo.errors import ExecutionTimeout

from labellens.errors import QueryTimeoutError, ValidationError

MAX_TIMEOUT_S = 2_000_000  # about 23 days: maxTimeMS is a 32-bit count of milliseconds
CALL_HINT = "pass a larger timeout= (seconds)"


class Limit(NamedTuple):
    """A time limit and how its owner raises it (said in the error)."""

    seconds: float
    hint: str


_DEFAULT: ContextVar[Limit | None] = ContextVar("labellens_query_timeout", default=None)


def check(timeout: Any, name: str = "timeout") -> float | None:
    """``timeout`` as seconds (None: no limit); ValidationError unless a positive number of seconds."""
    if timeout is None:
        return None
    if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
            or not math.isfinite(timeout) or not 0 < timeout <= MAX_TIMEOUT_S):
        raise ValidationError(f"{name} must be a number of seconds above 0 and at most "
                              f"{MAX_TIMEOUT_S:,}, or None for no limit; got {timeout!r}")
    return float(timeout)


def resolve(timeout: float | None) -> Limit | None:
    """The limit a query runs under: its own ``timeout`` (checked), else the context's default."""
    seconds = check(timeout)
    return _DEFAULT.get() if seconds is None else Limit(seconds, CALL_HINT)


def options(limit: Limit | None) -> dict[str, int]:
    """The driver option of ``limit`` (``{"maxTimeMS": n}``, or nothing without a limit)."""
    return {} if limit is None else {"maxTimeMS": max(1, math.ceil(limit.seconds * 1000))}


@contextlib.contextmanager
def limited(seconds: float | None, hint: str) -> Iterator[None]:
    """Within this block, queries without a ``timeout`` of their own run under ``seconds``."""
    token = _DEFAULT.set(None if seconds is None else Limit(seconds, hint))
    try:
        yield
    finally:
        _DEFAULT.reset(token)


def timed_out(limit: Limit | None) -> QueryTimeoutError:
    """The error to raise when the server stopped a query at ``limit``."""
    spent = f"{limit.seconds:g} s" if limit else "its time limit"
    hint = limit.hint if limit else CALL_HINT
    return QueryTimeoutError(f"the query took longer than {spent} and the database stopped it; "
                             f"filter on an indexed field or drop costly stages ($expr, $where, "
                             f"$reduce), or {hint}")


__all__ = ["CALL_HINT", "MAX_TIMEOUT_S", "ExecutionTimeout", "Limit", "check", "limited", "options",
           "resolve", "timed_out"]
