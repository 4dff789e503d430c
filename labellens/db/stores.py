"""The storage boundary of datasets: the catalog and one store per dataset's samples.

The dataset layer never calls the driver: it holds a :class:`CatalogStore` and a
:class:`SampleStore`, bound once to a database (:class:`~labellens.db.client.Binding`),
and passes them plain dicts, pipelines and ids. Every driver failure comes back
as a labellens error naming the server.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from labellens.background import BackgroundWriter
from labellens.db import ops, pipelines, timeouts
from labellens.db.client import Binding
from labellens.errors import StageError

DATASETS = "datasets"
INDEX_SUFFIX_ID = ("_id", 1)
READ_CHUNK = 1000  # documents per list handed to Python when the caller gives no batch size

_catalog_lock = threading.Lock()
_catalog_opened: set[tuple[str, str]] = set()
_indexed: set[tuple[str, str, str, str]] = set()  # (uri, database, collection, key) indexed by ensure_index


class SampleStore:
    """Reads and bulk writes on one dataset's sample collection."""

    def __init__(self, binding: Binding, collection_name: str) -> None:
        self.binding = binding
        self.collection_name = collection_name
        self._bound: tuple[Any, Any] = (None, None)  # (database, its collection), rebuilt on a new client

    @property
    def _collection(self) -> Any:
        database = self.binding.database
        if self._bound[0] is not database:
            self._bound = (database, database[self.collection_name])
        return self._bound[1]

    @property
    def is_mock(self) -> bool:
        return self.binding.is_mock

    def aggregate(self, pipeline: Sequence[Mapping[str, Any]], *, batch_size: int | None = None,
                  timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Stream a pipeline's results; a pipeline the server rejects raises StageError."""
        return itertools.chain.from_iterable(self.batches(pipeline, batch_size=batch_size, timeout=timeout))

    def batches(self, pipeline: Sequence[Mapping[str, Any]], *, batch_size: int | None = None,
                timeout: float | None = None) -> Iterator[list[dict[str, Any]]]:
        """A pipeline's results in lists of ``batch_size`` (:data:`READ_CHUNK` when not given).

        A pipeline that is a plain query runs as ``find`` (:func:`~labellens.db.pipelines.as_find`);
        a pipeline the server rejects raises StageError, one running past ``timeout`` seconds
        (default: the context's, :mod:`~labellens.db.timeouts`) QueryTimeoutError.
        """
        query = pipelines.as_find(pipeline)
        size = batch_size or READ_CHUNK
        limit = timeouts.resolve(timeout)  # checked now, before the generator's first step
        return self._batches(pipeline, query, size, batch_size, limit)

    def _batches(self, pipeline: Sequence[Mapping[str, Any]], query: dict[str, Any] | None, size: int,
                 batch_size: int | None, limit: timeouts.Limit | None) -> Iterator[list[dict[str, Any]]]:
        max_time = timeouts.options(limit)
        try:  # as ops.translate_errors, without its two Python calls: this runs on every read
            if query is None:
                cursor = self._collection.aggregate(list(pipeline), allowDiskUse=True, **max_time,
                                                    **({"batchSize": batch_size} if batch_size else {}))
            else:
                cursor = self._collection.find(**query, allow_disk_use=True, batch_size=batch_size or 0,
                                               max_time_ms=max_time.get("maxTimeMS"))
            # pymongo's to_list takes a server batch at once, not a document per next().
            take = cursor.to_list if hasattr(cursor, "to_list") else (
                lambda n: list(itertools.islice(cursor, n)))  # mongomock's cursors lack it
            while chunk := take(size):
                yield chunk
                if len(chunk) < size:  # a short list: the cursor is exhausted (no call to find out)
                    return
        except ops.UNREACHABLE as exc:
            raise ops.unreachable(exc) from None
        except timeouts.ExecutionTimeout:
            raise timeouts.timed_out(limit) from None
        except ops.OperationFailure as exc:
            detail = str((exc.details or {}).get("errmsg") or exc).splitlines()[0][:300]
            raise StageError(f"the database rejected this view ({detail}); change the view or its "
                             "filters") from None

    def count(self, *, timeout: float | None = None) -> int:
        """The number of documents (QueryTimeoutError past ``timeout`` seconds, as :meth:`batches`)."""
        limit = timeouts.resolve(timeout)
        try:
            with ops.translate_errors():
                return self._collection.count_documents({}, **timeouts.options(limit))
        except timeouts.ExecutionTimeout:
            raise timeouts.timed_out(limit) from None

    def writer(self, depth: int = 2) -> BackgroundWriter:
        """A write-behind for this collection (inline on mongomock, which is not thread-safe)."""
        return BackgroundWriter(depth, inline=self.is_mock)

    def insert_many(self, docs: Sequence[dict[str, Any]]) -> None:
        ops.insert_many(self._collection, docs)

    def update_by_id(self, updates: Sequence[tuple[ObjectId, Mapping[str, Any], Sequence[str]]]) -> int:
        """``(id, fields to $set, fields to $unset)`` triples in one unordered bulk write."""
        return ops.update_many_by_id(self._collection, updates)

    def prepare_set_fields(self, paths: Sequence[str], rows: Sequence[tuple[ObjectId, Sequence[Any]]]
                           ) -> ops.PreparedUpdates:
        """The bulk ``$set`` of several paths per document (``None`` values ``$unset``), built and
        not sent: the caller builds the next batch while :meth:`write` sends this one."""
        return ops.prepare_set_fields(paths, rows, mock=self.is_mock)

    def write(self, prepared: ops.PreparedUpdates) -> int:
        """Send a bulk update made by :meth:`prepare_set_fields`; the number of documents matched."""
        return ops.write_updates(self._collection, prepared)

    def update_where(self, requests: Sequence[ops.Condition]) -> list[bool]:
        """Conditional ``(filter, update)`` pairs, one document each (the filter names its ``_id``),
        in one bulk write; whether each matched (see :func:`~labellens.db.ops.update_where`)."""
        return ops.update_where(self._collection, requests)

    def insert_new(self, docs: Sequence[dict[str, Any]]) -> list[int]:
        """Insert documents in one call; the positions of those a unique index refused (not written)."""
        return ops.insert_new(self._collection, docs)

    def ensure_index(self, key: str, *, unique: bool = False, sparse: bool = False) -> None:
        """Index ``key`` on first use in this process (later calls cost nothing)."""
        collection = self._collection
        marker = (self.binding.uri, self.binding.name, self.collection_name, key)
        if marker not in _indexed:
            with _catalog_lock:
                if marker not in _indexed:
                    with ops.translate_errors():
                        collection.create_index(key, unique=unique, sparse=sparse)
                    _indexed.add(marker)

    def update_matching(self, ids: Sequence[ObjectId], update: dict[str, Any]) -> None:
        ops.update_many_matching(self._collection, ids, update)

    def delete_by_ids(self, ids: Sequence[ObjectId]) -> None:
        ops.delete_by_ids(self._collection, ids)

    def delete_all(self) -> None:
        ops.delete_all(self._collection)

    def unset_field(self, name: str) -> None:
        with ops.translate_errors():
            self._collection.update_many({}, {"$unset": {name: ""}})

    def rename_field(self, name: str, new_name: str) -> None:
        with ops.translate_errors():
            self._collection.update_many({}, {"$rename": {name: new_name}})

    def update_all(self, query: Mapping[str, Any], update: Mapping[str, Any] | Sequence[Mapping[str, Any]]
                   ) -> None:
        """Apply one update (a document or an update pipeline) to every document matching ``query``."""
        with ops.translate_errors():
            self._collection.update_many(dict(query), update if isinstance(update, Mapping) else list(update))

    def explain(self, pipeline: list[dict[str, Any]]) -> dict[str, Any]:
        """The server's plan for ``pipeline``, run the way :meth:`batches` runs it."""
        query = pipelines.as_find(pipeline)
        if query is None:
            return ops.explain_aggregate(self._collection, pipeline)
        return ops.explain_find(self._collection, query)

    def create_index(self, keys: Sequence[tuple[str, int]], *, unique: bool = False) -> str:
        with ops.translate_errors():
            return self._collection.create_index(list(keys), unique=unique)

    def index_information(self) -> dict[str, Any]:
        with ops.translate_errors():
            return self._collection.index_information()

    def drop_index(self, name: str) -> None:
        with ops.translate_errors():
            self._collection.drop_index(name)

    def related(self, prefix: str) -> SampleStore:
        """A store for a companion collection of this dataset (e.g. ``history``), dropped with it."""
        return SampleStore(self.binding, f"{prefix}.{self.collection_name}")


class CatalogStore:
    """The ``datasets`` collection: one record per dataset (name unique)."""

    def __init__(self, binding: Binding) -> None:
        self.binding = binding

    @property
    def _collection(self) -> Any:
        collection = self.binding.database[DATASETS]
        key = (self.binding.uri, self.binding.name)
        if key not in _catalog_opened:
            with _catalog_lock:
                if key not in _catalog_opened:
                    with ops.translate_errors():
                        collection.create_index("name", unique=True)
                    _catalog_opened.add(key)
        return collection

    def samples(self, collection_name: str) -> SampleStore:
        return SampleStore(self.binding, collection_name)

    def insert_unique(self, record: dict[str, Any]) -> bool:
        """Insert a record; False (nothing written) when its name is taken."""
        return ops.insert_one_unique(self._collection, record)

    def find(self, query: Mapping[str, Any], projection: Mapping[str, Any] | None = None
             ) -> list[dict[str, Any]]:
        with ops.translate_errors():
            return list(self._collection.find(dict(query), projection))

    def find_one(self, query: Mapping[str, Any]) -> dict[str, Any] | None:
        with ops.translate_errors():
            return self._collection.find_one(dict(query))

    def update(self, query: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any] | None:
        """Apply ``update`` to the record matching ``query``; the updated record, or None if none matched."""
        with ops.translate_errors():
            return self._collection.find_one_and_update(dict(query), dict(update),
                                                        return_document=ReturnDocument.AFTER)

    def exists(self, query: Mapping[str, Any]) -> bool:
        with ops.translate_errors():
            return self._collection.count_documents(dict(query), limit=1) > 0

    def drop(self, record: Mapping[str, Any], companions: Sequence[str] = ()) -> None:
        """Delete a record, its sample collection and its companion collections."""
        name = record["sample_collection_name"]
        with ops.translate_errors():
            database = self.binding.database
            for collection in (name, *(f"{prefix}.{name}" for prefix in companions)):
                database.drop_collection(collection)
            self._collection.delete_one({"_id": record["_id"]})


__all__ = ["DATASETS", "CatalogStore", "SampleStore"]
