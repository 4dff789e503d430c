"""Handlers for the session: what it shows, the browser's selection, and the live-update stream.

``GET /api/events`` is a server-sent-events stream: it starts with the current
state, then sends an event each time Python changes the session
(``session.view = ...``), every tab's selection changes, or tags are written,
and a comment line every few seconds so proxies keep it open.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from labellens.errors import ValidationError
from labellens.server.routes import json_body, sample_ids
from labellens.server.state import context_of

KEEPALIVE_S = 10.0


async def session(request: Request) -> Response:
    """``GET /api/session``: the dataset and view the session shows, and the selection."""
    return JSONResponse(context_of(request).state.snapshot())


async def select(request: Request) -> Response:
    """``POST /api/session/selected {ids}``: record the samples selected in the browser."""
    ids = sample_ids((await json_body(request)).get("ids"))
    context_of(request).state.select(ids)
    return JSONResponse({"selected": len(ids)})


async def ui(request: Request) -> Response:
    """``POST /api/session/ui {filters}``: record the sidebar's filters (``session.freeze()`` uses them)."""
    filters = (await json_body(request)).get("filters") or {}
    if not isinstance(filters, dict) or len(json.dumps(filters)) > 100_000:
        raise ValidationError("filters must be an object")
    context_of(request).state.set_filters(filters)
    return JSONResponse({"ok": True})


async def events(request: Request) -> Response:
    """``GET /api/events``: the live-update stream (``text/event-stream``)."""
    state = context_of(request).state
    queue = state.subscribe()

    async def stream() -> AsyncIterator[str]:
        try:
            yield _event({"type": "state", **state.snapshot()})
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if event is None:
                    return
                yield _event(event)
        finally:
            state.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _event(event: dict[str, Any]) -> str:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"


ROUTES = [
    Route("/api/session", session),
    Route("/api/session/selected", select, methods=["POST"]),
    Route("/api/session/ui", ui, methods=["POST"]),
    Route("/api/events", events),
]
