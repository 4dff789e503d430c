"""What one App server shows: the session's dataset and view, the browser's selection, and live updates.

A :class:`AppState` belongs to one app (no module globals). Python code (a
:class:`~labellens.session.Session`, in another thread) changes it; every open
browser tab holds a server-sent-events stream and hears about each change
through an :class:`asyncio.Queue` fed thread-safely on the server's loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request

from labellens.db.aio import AsyncData
from labellens.server.query import Datasets
from labellens.server.review_leases import Leases

CLOSED = None


@dataclass
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)


class AppState:
    """The session state an App serves, safe to change from any thread.

    Parameters
    ----------
    dataset
        The name of the dataset shown, or None to let the browser pick one.
    view
        The stages (JSON, as ``view.to_json()`` gives) of the view shown; empty
        for the whole dataset.
    """

    def __init__(self, dataset: str | None = None, view: Sequence[dict[str, Any]] = ()) -> None:
        self._lock = threading.Lock()
        self._dataset = dataset
        self._view = list(view)
        self._selected: list[str] = []
        self._filters: dict[str, Any] = {}
        self._version = 0
        self._subscribers: list[_Subscriber] = []

    @property
    def dataset(self) -> str | None:
        return self._dataset

    @property
    def view(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._view)

    @property
    def selected(self) -> list[str]:
        with self._lock:
            return list(self._selected)

    @property
    def filters(self) -> dict[str, Any]:
        """The sidebar filters last reported by a browser tab (tags, ranges, labels, sort)."""
        with self._lock:
            return dict(self._filters)

    @property
    def version(self) -> int:
        return self._version

    def snapshot(self) -> dict[str, Any]:
        """The state as JSON for the browser."""
        with self._lock:
            return {"dataset": self._dataset, "view": list(self._view),
                    "selected": list(self._selected), "version": self._version}

    def show(self, dataset: str | None, view: Sequence[dict[str, Any]] = ()) -> None:
        """Show ``view`` (stage JSON) of ``dataset`` in every open tab; the selection is cleared."""
        with self._lock:
            self._dataset = dataset
            self._view = list(view)
            self._selected = []
            self._filters = {}
            self._version += 1
        self.publish("state")

    def refresh(self) -> None:
        """Ask every open tab to reload what it shows (after the data changed)."""
        with self._lock:
            self._version += 1
        self.publish("refresh")

    def select(self, ids: Sequence[str]) -> None:
        """Record the sample ids selected in a browser tab."""
        with self._lock:
            self._selected = list(dict.fromkeys(ids))
        self.publish("selected")

    def set_filters(self, filters: dict[str, Any]) -> None:
        """Record the sidebar filters of the tab the user works in."""
        with self._lock:
            self._filters = dict(filters)

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        """A queue of events for one stream, on the running event loop."""
        subscriber = _Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.append(subscriber)
        return subscriber.queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s.queue is not queue]

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, kind: str) -> None:
        """Send an event with the current state to every stream (from any thread)."""
        event = {"type": kind, **self.snapshot()}
        self._send(event)

    def close_streams(self) -> None:
        """End every open stream (the server is shutting down)."""
        self._send(CLOSED)

    def _send(self, event: dict[str, Any] | None) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            if subscriber.loop.is_closed():
                self.unsubscribe(subscriber.queue)
                continue
            try:
                subscriber.loop.call_soon_threadsafe(subscriber.queue.put_nowait, event)
            except RuntimeError:
                self.unsubscribe(subscriber.queue)


@dataclass
class ServerContext:
    """What handlers reach through ``request.app.state.labellens``.

    ``data`` is the one road to the database: every read and write of a request,
    the sync collection API included (``data.run``), goes through it.
    """

    state: AppState
    data: AsyncData
    cache_dir: Path
    leases: Leases = field(default_factory=Leases)  # review mode's per-sample leases
    datasets: Datasets = field(default_factory=Datasets)


def context_of(request: Request) -> ServerContext:
    """The server context of the app handling ``request``."""
    context: ServerContext = request.app.state.labellens
    return context
