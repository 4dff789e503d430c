"""Bounds on what one request may cost the App: its body's size and its queries' time.

:class:`Limits` is pure ASGI middleware (one per App, added by ``create_app``):

- a request body over ``max_body_bytes`` is refused with 413: at once, before a
  byte of it is read, when its ``Content-Length`` says so; and as soon as the
  bytes read pass the limit when it has no length (chunked) or lies about it;
- every query a request runs (in the worker threads of the context's data access)
  gets the time limit ``query_timeout``: the database stops it there and the App
  answers 504 (:class:`~labellens.errors.QueryTimeoutError`).

Both defaults can be changed per process with ``LABELLENS_MAX_BODY_BYTES`` and
``LABELLENS_QUERY_TIMEOUT`` (seconds), or per App with ``create_app``'s options.
"""

from __future__ import annotations

import os

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labellens.db import timeouts
from labellens.errors import ValidationError

MAX_BODY_BYTES = 1024 * 1024
QUERY_TIMEOUT_S = 30.0
BODY_ENV = "LABELLENS_MAX_BODY_BYTES"
TIMEOUT_ENV = "LABELLENS_QUERY_TIMEOUT"
TIMEOUT_HINT = (f"ask for a longer limit: create_app(query_timeout=SECONDS) or {TIMEOUT_ENV}=SECONDS "
                "where the App is launched")


def max_body_bytes(value: int | None = None) -> int:
    """The body limit: ``value``, else ``LABELLENS_MAX_BODY_BYTES``, else 1 MiB (checked)."""
    if value is None:
        raw = os.environ.get(BODY_ENV)
        if not raw:
            return MAX_BODY_BYTES
        try:
            value = int(raw)
        except ValueError:
            raise ValidationError(f"{BODY_ENV} must be a number of bytes, got {raw!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"max_body_bytes must be a positive number of bytes, got {value!r}")
    return value


def query_timeout(value: float | None = None) -> float:
    """The query time limit in seconds: ``value``, else ``LABELLENS_QUERY_TIMEOUT``, else 30 (checked)."""
    name = "query_timeout"
    if value is None:
        raw = os.environ.get(TIMEOUT_ENV)
        if not raw:
            return QUERY_TIMEOUT_S
        try:
            value, name = float(raw), TIMEOUT_ENV
        except ValueError:
            raise ValidationError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from None
    seconds = timeouts.check(value, name)
    assert seconds is not None
    return seconds


class Limits:
    """Pure ASGI middleware: the body limit (413) and the query time limit of each request."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, query_timeout: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.query_timeout = query_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large()(scope, receive, send)
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # Raised where the handler reads the body: the App's HTTPException handler answers 413.
                    raise HTTPException(413, self._message())
            return message

        with timeouts.limited(self.query_timeout, TIMEOUT_HINT):
            await self.app(scope, bounded_receive, send)

    def _message(self) -> str:
        return (f"the request body is larger than this App accepts ({self.max_body_bytes} bytes); send "
                f"less (fewer ids: tag a view instead), or raise the limit with {BODY_ENV} / "
                "create_app(max_body_bytes=...)")

    def _too_large(self) -> JSONResponse:
        # The body of every App error ({"error", "status"}); the connection closes: its body stays unread.
        return JSONResponse({"error": self._message(), "status": 413}, status_code=413,
                            headers={"Connection": "close"})


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server (uvicorn) refuses a malformed length itself
    return None
