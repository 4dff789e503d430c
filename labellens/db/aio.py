"""Async data access for the App server.

The server reads and writes samples through an :class:`AsyncData` object so that
its handlers never block the event loop and never build a query by hand: they
pass pipelines that views compiled (``view.pipeline()``) and these functions only
append paging (``$skip``/``$limit``/``$project``) or a final grouping step. The sync
collection API (views, review writes, runs) goes through :meth:`AsyncData.run`, one worker
thread per call, so a request never hops from thread to thread. It is the server's one road to
the database. Every read runs under the context's query time limit (``maxTimeMS``, which the
App sets per request: :mod:`labellens.db.timeouts`).

Two implementations share that interface:

- :class:`MongoData` uses pymongo's ``AsyncMongoClient`` (one per event loop),
- :class:`MockData` serves the ``mongomock://`` backend by running the sync
  mongomock calls in a worker thread, so the same server code runs in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from bson import ObjectId
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from labellens.db import client, pipelines, timeouts
from labellens.db.client import Binding
from labellens.errors import ValidationError

ID_BATCH = 10_000
MAX_INDEXED_TAGS = 64  # more distinct tags than this: one aggregation beats a count per tag

Pipeline = list[dict[str, Any]]
T = TypeVar("T")


class AsyncData:
    """Async reads and writes on one database; subclasses supply the four primitives.

    It reads through a :class:`~labellens.db.client.Binding`, the same object the
    sync dataset layer binds to: the URI is resolved by it (once, and again only
    after the server was lost), so the App never keeps a stale URI.
    """

    def __init__(self, binding: Binding) -> None:
        self.binding = binding
        self._serial: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if binding.is_mock else contextlib.nullcontext())

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` of the sync API in a worker thread, with this request's
        time limit (the thread inherits the context); one at a time on ``mongomock://``."""
        return await asyncio.to_thread(self._serialized, partial(function, *args, **kwargs))

    def _serialized(self, call: Callable[[], T]) -> T:
        with self._serial:
            return call()

    @property
    def uri(self) -> str:
        """The database's URI as resolved now (resolving it on first use)."""
        self.binding.database  # noqa: B018 - resolves the URI (and restarts a lost embedded server)
        return self.binding.uri

    @property
    def name(self) -> str:
        return self.binding.name

    async def _aggregate(self, collection: str, pipeline: Pipeline) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def _find_one(self, collection: str, query: Mapping[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError

    async def _distinct(self, collection: str, path: str) -> list[Any]:
        raise NotImplementedError

    async def _index_information(self, collection: str) -> Mapping[str, Any]:
        raise NotImplementedError

    async def _update_many(self, collection: str, query: Mapping[str, Any],
                           update: Mapping[str, Any]) -> int:
        raise NotImplementedError

    async def close(self) -> None:
        """Release connections (the object must not be used afterwards)."""

    async def aggregate(self, collection: str, pipeline: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run a view's pipeline and return every document."""
        with _translated(self.uri):
            return await self._aggregate(collection, list(pipeline))

    async def page(self, collection: str, pipeline: Sequence[dict[str, Any]], *, offset: int,
                   limit: int, fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """One page of a view (:func:`~labellens.db.pipelines.page`); ``fields`` keeps logits unsent."""
        return await self.aggregate(collection, pipelines.page(pipeline, offset=offset, limit=limit,
                                                               fields=fields))

    async def count(self, collection: str, pipeline: Sequence[dict[str, Any]]) -> int:
        """The number of documents a view's pipeline yields."""
        return pipelines.decode_count(await self.aggregate(collection, pipelines.count(pipeline)))

    async def ids(self, collection: str, pipeline: Sequence[dict[str, Any]]) -> list[ObjectId]:
        """The ``_id`` of every document of a view, in view order."""
        return pipelines.decode_ids(await self.aggregate(collection, pipelines.ids(pipeline)))

    async def sample_tags(self, collection: str, pipeline: Sequence[dict[str, Any]],
                          path: str = "tags") -> dict[Any, int]:
        """Tag -> samples carrying it in a view (:func:`~labellens.db.pipelines.sample_tags`).

        When the view keeps every sample and ``(path, _id)`` is indexed (what
        ``dataset.create_index(path)`` makes), no document is read: the tags come
        from a distinct scan of the index and each is counted over two halves of its
        index range at once, which keeps the App's sidebar fast at millions.
        """
        if await self._counts_from_index(collection, pipeline, path):
            with _translated(self.uri):
                tags = [tag for tag in await self._distinct(collection, path) if tag is not None]
            if len(tags) <= MAX_INDEXED_TAGS:
                return await self._count_carrying(collection, path, tags)
        rows = await self.aggregate(collection, pipelines.sample_tags(pipeline, path))
        return pipelines.decode_count_values(rows)

    async def _counts_from_index(self, collection: str, pipeline: Sequence[dict[str, Any]],
                                 path: str) -> bool:
        """True when ``pipeline`` keeps every document and ``(path, _id)`` is indexed (what
        ``dataset.create_index(path)`` makes): counts over the view are then index ranges."""
        if not pipelines.keeps_every_document(pipeline):
            return False
        with _translated(self.uri):
            indexes = await self._index_information(collection)
        return any([key for key, _ in info["key"]] == [path, "_id"] for info in indexes.values())

    async def _count_carrying(self, collection: str, path: str, tags: Sequence[Any]) -> dict[Any, int]:
        ends = await asyncio.gather(*(self.aggregate(collection, pipelines.first_id(last=last))
                                      for last in (False, True)))
        if not all(ends):
            return {}
        middle = pipelines.middle_id(ends[0][0]["_id"], ends[1][0]["_id"])
        halves = [(None, middle), (middle, None)]
        rows = await asyncio.gather(*(self.aggregate(collection, pipelines.carrying(tag, path, ids=half))
                                      for tag in tags for half in halves))
        counts = [pipelines.decode_count(r) for r in rows]
        return {tag: n for i, tag in enumerate(tags) if (n := counts[2 * i] + counts[2 * i + 1])}

    async def summarize(self, collection: str, pipeline: Sequence[dict[str, Any]], *,
                        value_paths: Sequence[str] = (), unwind: Sequence[bool] = (),
                        bound_paths: Sequence[str] = ()) -> dict[str, Any]:
        """Count, value counts and bounds of a view in one pass (:func:`.pipelines.summarize`)."""
        rows = await self.aggregate(collection, pipelines.summarize(
            pipeline, value_paths=value_paths, unwind=unwind, bound_paths=bound_paths))
        return pipelines.decode_summary(rows, value_paths=value_paths, bound_paths=bound_paths)

    async def bounds(self, collection: str, pipeline: Sequence[dict[str, Any]],
                     paths: Sequence[str]) -> dict[str, tuple[Any, Any]]:
        """The (min, max) of each numeric path over a view; (None, None) when it has no values."""
        if not paths:
            return {}
        rows = await self.aggregate(collection, pipelines.bounds(pipeline, paths))
        return pipelines.decode_bounds(rows, paths)

    async def histogram(self, collection: str, pipeline: Sequence[dict[str, Any]], path: str, *,
                        low: float, high: float, bins: int, unwind: bool = False
                        ) -> tuple[list[int], list[float], int]:
        """``(counts, edges, other)`` as :meth:`SampleCollection.histogram_values` with a given range.

        When the view keeps every sample and ``(path, _id)`` is indexed, no document is
        read: each bin is counted over its index range (:func:`~labellens.db.pipelines.bin_ranges`)
        and the others (outside the range, None, missing) are the rest of the samples, all at once.
        """
        edges = pipelines.histogram_edges(low, high, bins)
        if not unwind and await self._counts_from_index(collection, pipeline, path):
            rows = await asyncio.gather(*(self.aggregate(collection, count) for count in
                                          pipelines.indexed_histogram(path, low=low, high=high, bins=bins)))
            counts, other = pipelines.decode_indexed_histogram([pipelines.decode_count(r) for r in rows])
            return counts, edges, other
        rows = await self.aggregate(collection, pipelines.histogram(
            pipeline, path, low=low, high=high, bins=bins, unwind=unwind))
        counts, other = pipelines.decode_histogram(rows, bins)
        return counts, edges, other

    async def find_by_id(self, collection: str, sample_id: str) -> dict[str, Any] | None:
        """The full document with this id, or None (also for a malformed id)."""
        if not ObjectId.is_valid(sample_id):
            return None
        with _translated(self.uri):
            return await self._find_one(collection, {"_id": ObjectId(sample_id)})

    async def find_by_filepath(self, collection: str, filepath: str) -> dict[str, Any] | None:
        """The first document whose ``filepath`` equals this exact string, or None."""
        with _translated(self.uri):
            return await self._find_one(collection, {"filepath": {"$eq": filepath}})

    async def add_tag(self, collection: str, ids: Sequence[ObjectId], tag: str) -> int:
        """Add ``tag`` to the samples with these ids; returns how many were changed."""
        return await self._update_ids(collection, ids, {"$addToSet": {"tags": tag}}, {"tags": {"$ne": tag}})

    async def remove_tag(self, collection: str, ids: Sequence[ObjectId], tag: str) -> int:
        """Remove ``tag`` from the samples with these ids; returns how many were changed."""
        return await self._update_ids(collection, ids, {"$pull": {"tags": tag}}, {"tags": tag})

    async def _update_ids(self, collection: str, ids: Sequence[ObjectId], update: dict[str, Any],
                          condition: dict[str, Any]) -> int:
        changed = 0
        with _translated(self.uri):
            for start in range(0, len(ids), ID_BATCH):
                batch = list(ids[start:start + ID_BATCH])
                changed += await self._update_many(collection, {"_id": {"$in": batch}, **condition}, update)
        return changed


class MongoData(AsyncData):
    """A real MongoDB server through pymongo's ``AsyncMongoClient``.

    The client is bound to the event loop that first uses it; a call from
    another loop (a test client's new loop) gets a client of its own.
    """

    def __init__(self, binding: Binding) -> None:
        super().__init__(binding)
        self._clients: dict[tuple[asyncio.AbstractEventLoop, str], Any] = {}

    def _db(self) -> Any:
        key = (asyncio.get_running_loop(), self.uri)
        mongo = self._clients.get(key)
        if mongo is None:
            mongo = client.get_async_client(key[1])
            self._clients[key] = mongo
        return mongo[self.name]

    async def _aggregate(self, collection: str, pipeline: Pipeline) -> list[dict[str, Any]]:
        cursor = await self._db()[collection].aggregate(pipeline, **_max_time())
        return await cursor.to_list(None)

    async def _find_one(self, collection: str, query: Mapping[str, Any]) -> dict[str, Any] | None:
        return await self._db()[collection].find_one(query, max_time_ms=_max_time().get("maxTimeMS"))

    async def _distinct(self, collection: str, path: str) -> list[Any]:
        return await self._db()[collection].distinct(path, **_max_time())

    async def _index_information(self, collection: str) -> Mapping[str, Any]:
        return await self._db()[collection].index_information()

    async def _update_many(self, collection: str, query: Mapping[str, Any],
                           update: Mapping[str, Any]) -> int:
        result = await self._db()[collection].update_many(query, update)
        return result.modified_count

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for key in [key for key in self._clients if key[0] is loop]:
            await self._clients.pop(key).close()


class MockData(AsyncData):
    """The ``mongomock://`` backend: sync mongomock calls run in a worker thread, one at a time.

    mongomock has no time limits: the App's query timeout does nothing here.
    """

    def _collection(self, collection: str) -> Any:
        return self.binding.database[collection]

    async def _aggregate(self, collection: str, pipeline: Pipeline) -> list[dict[str, Any]]:
        coll = self._collection(collection)
        try:
            return await self.run(lambda: list(coll.aggregate(pipeline)))
        except NotImplementedError as exc:
            raise ValidationError(f"the mongomock:// backend cannot run this view ({exc}); "
                                  "use a real MongoDB server for it") from None

    async def _find_one(self, collection: str, query: Mapping[str, Any]) -> dict[str, Any] | None:
        return await self.run(self._collection(collection).find_one, dict(query))

    async def _distinct(self, collection: str, path: str) -> list[Any]:
        return await self.run(self._collection(collection).distinct, path)

    async def _index_information(self, collection: str) -> Mapping[str, Any]:
        return await self.run(self._collection(collection).index_information)

    async def _update_many(self, collection: str, query: Mapping[str, Any],
                           update: Mapping[str, Any]) -> int:
        result = await self.run(self._collection(collection).update_many, dict(query), dict(update))
        return result.modified_count


def open_data(binding: Binding | None = None) -> AsyncData:
    """The async data access for ``binding``'s database (default: the binding datasets of the
    configured database share, :func:`labellens.db.client.binding`)."""
    binding = binding or client.binding()
    return MockData(binding) if binding.is_mock else MongoData(binding)


def _max_time() -> dict[str, int]:
    """``maxTimeMS`` of the context's query time limit (the App sets one per request)."""
    return timeouts.options(timeouts.resolve(None))


@contextlib.contextmanager
def _translated(uri: str) -> Iterator[None]:
    """Turn driver failures into labellens errors: unreachable server, query past its time
    limit (QueryTimeoutError), rejected query."""
    try:
        yield
    except (ServerSelectionTimeoutError, ConnectionFailure, AutoReconnect) as exc:
        raise client.unavailable(uri, exc) from None
    except timeouts.ExecutionTimeout:
        raise timeouts.timed_out(timeouts.resolve(None)) from None
    except OperationFailure as exc:
        detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise ValidationError(
            f"the database rejected this view ({detail}); change the view or its filters") from None


__all__ = ["AsyncData", "MockData", "MongoData", "open_data"]
