"""Bulk operations on collections: the only place that builds driver requests.

Callers pass plain dicts and ids; these functions batch them into
``insert_many`` and unordered ``bulk_write`` calls, and turn driver failures
into labellens errors that name the server.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import bson
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConnectionFailure,
    DocumentTooLarge,
    DuplicateKeyError,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from labellens.background import BackgroundWriter
from labellens.codec import MAX_DOCUMENT_BYTES
from labellens.db import client
from labellens.errors import DocumentTooLargeError

SORT_ASCENDING = ASCENDING
SORT_DESCENDING = DESCENDING
_DUPLICATE_KEY = 11000


class translate_errors(contextlib.AbstractContextManager[None]):  # noqa: N801 (used like a function)
    """Turn 'server unreachable' driver errors into a clear DatabaseUnavailableError.

    A class, not a generator context manager: it wraps every read, so it is kept cheap.
    """

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if kind is not None and issubclass(kind, UNREACHABLE):
            raise unreachable(exc) from None  # type: ignore[arg-type]


# The driver errors that mean "server unreachable".
UNREACHABLE = (ServerSelectionTimeoutError, ConnectionFailure, AutoReconnect)


def unreachable(exc: BaseException) -> Exception:
    """The clear error to raise for an :data:`UNREACHABLE` driver error (see :class:`translate_errors`)."""
    return client.unavailable(client.current_uri(), exc)


def background_writer(collection: Collection, depth: int = 2) -> BackgroundWriter:
    """A write-behind for ``collection``; inline for mongomock, which is not thread-safe."""
    return BackgroundWriter(depth, inline=is_mock(collection))


def is_mock(collection: Any) -> bool:
    """Whether ``collection`` belongs to the in-memory mongomock backend (imported only when used)."""
    return type(collection).__module__.startswith("mongomock")


def insert_one_unique(collection: Collection, doc: dict[str, Any]) -> bool:
    """Insert one document; False (and nothing written) when a unique index refuses it."""
    try:
        with translate_errors():
            collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


def insert_many(collection: Collection, docs: Sequence[dict[str, Any]]) -> None:
    """Insert documents in one ordered call (ids are set by the caller).

    A document over MongoDB's size limit raises DocumentTooLargeError (its ``index``), found
    when the driver or server refuses the insert (the documents before it may be written);
    mongomock, which would store it, is checked first.
    """
    if not docs:
        return
    if is_mock(collection):
        _check_sizes(docs)
    try:
        with translate_errors():
            collection.insert_many(docs, ordered=True)
    except (DocumentTooLarge, OperationFailure):
        _check_sizes(docs)
        raise


def _check_sizes(docs: Sequence[dict[str, Any]]) -> None:
    """DocumentTooLargeError for the first document whose BSON is over the limit."""
    for index, doc in enumerate(docs):
        size = len(bson.encode(doc))
        if size > MAX_DOCUMENT_BYTES:
            raise DocumentTooLargeError(f"document {index} is {size:,} bytes; MongoDB stores at most "
                                        f"{MAX_DOCUMENT_BYTES:,}", index=index, size=size)


Updates = Sequence[tuple[ObjectId, Mapping[str, Any], Sequence[str]]]


@dataclass(frozen=True)
class PreparedUpdates:
    """A bulk update by id, built and not yet sent (:func:`write_updates` sends it).

    ``requests`` are the driver's; mongomock gets the ``(id, $set, $unset)`` triples
    in ``updates`` instead (it cannot take pymongo's requests, see :func:`_mock_update_by_id`).
    """

    requests: list[UpdateOne] = field(default_factory=list)
    updates: Updates = ()


def prepare_updates(updates: Updates, *, mock: bool) -> PreparedUpdates:
    """``(id, fields to $set, fields to $unset)`` triples as one unordered bulk update."""
    if mock:
        return PreparedUpdates(updates=updates)
    requests = []
    for sample_id, to_set, to_unset in updates:
        update: dict[str, Any] = {}
        if to_set:
            update["$set"] = dict(to_set)
        if to_unset:
            update["$unset"] = {name: "" for name in to_unset}
        if update:
            requests.append(UpdateOne({"_id": sample_id}, update))
    return PreparedUpdates(requests)


def prepare_set_fields(paths: Sequence[str], rows: Sequence[tuple[ObjectId, Sequence[Any]]], *,
                       mock: bool) -> PreparedUpdates:
    """``$set`` of ``paths`` to each row's values on the row's id (``None`` values ``$unset``)."""
    if mock or len(paths) != 1:
        return prepare_updates([(oid, {p: v for p, v in zip(paths, values) if v is not None},
                                 [p for p, v in zip(paths, values) if v is None]) for oid, values in rows],
                               mock=mock)
    path = paths[0]  # set_values: one path, built in one pass (the hot path of bulk writes)
    return PreparedUpdates([UpdateOne({"_id": oid}, {"$set": {path: value}} if value is not None
                                      else {"$unset": {path: ""}}) for oid, (value,) in rows])


def write_updates(collection: Collection, prepared: PreparedUpdates) -> int:
    """Send a prepared bulk update; returns the number of documents matched."""
    if is_mock(collection):
        return _mock_update_by_id(collection, prepared.updates)
    if not prepared.requests:
        return 0
    with translate_errors():
        result = collection.bulk_write(prepared.requests, ordered=False)
    return result.matched_count


def update_many_by_id(collection: Collection, updates: Updates) -> int:
    """Apply ``(id, fields to $set, fields to $unset)`` triples in one unordered bulk write.

    Returns the number of documents matched.
    """
    return write_updates(collection, prepare_updates(updates, mock=is_mock(collection)))


def _mock_update_by_id(collection: Any,
                       updates: Sequence[tuple[ObjectId, Mapping[str, Any], Sequence[str]]]) -> int:
    """The in-memory backend's bulk update by id.

    mongomock 4.3 cannot take pymongo >= 4.9's ``UpdateOne`` and scans the whole
    collection for every ``update_one``, which makes bulk writes quadratic; its
    store is a dict by ``_id``, so the ``$set`` / ``$unset`` of paths is applied there.
    """
    store = collection._store
    matched = 0
    for sample_id, to_set, to_unset in updates:
        if sample_id not in store:
            continue
        doc = copy.deepcopy(store[sample_id])
        for path, value in to_set.items():
            *parents, leaf = path.split(".")
            target = doc
            for part in parents:
                child = target.get(part)
                if not isinstance(child, dict):
                    child = target[part] = {}
                target = child
            target[leaf] = copy.deepcopy(value)
        for path in to_unset:
            *parents, leaf = path.split(".")
            target = doc
            for part in parents:
                target = target.get(part) if isinstance(target, dict) else None
            if isinstance(target, dict):
                target.pop(leaf, None)
        store[sample_id] = doc
        matched += 1
    return matched


def insert_new(collection: Collection, docs: Sequence[dict[str, Any]]) -> list[int]:
    """Insert documents in one unordered call; the positions of those a unique index refused.

    Nothing is written for a refused document; the others are inserted.
    """
    if not docs:
        return []
    try:
        with translate_errors():
            collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != _DUPLICATE_KEY for error in errors):
            raise
        return sorted(error["index"] for error in errors)
    return []


Condition = tuple[Mapping[str, Any], Mapping[str, Any]]


def update_where(collection: Collection, requests: Sequence[Condition]) -> list[bool]:
    """``(filter, update)`` pairs, each on the one document its filter's ``_id`` names, in one
    unordered bulk write; whether each matched (a filter that fails changes nothing).

    The driver's bulk result counts matches without saying which request matched, so each
    update is sent as an upsert: a filter that fails on an existing document then fails on
    its own with a duplicate ``_id``, and a document deleted meanwhile gets a stub, which is
    deleted again at once. mongomock takes the requests one by one.
    """
    if not requests:
        return []
    if is_mock(collection):
        with translate_errors():
            return [collection.update_one(dict(flt), dict(update)).matched_count > 0
                    for flt, update in requests]
    matched = [True] * len(requests)
    operations = [UpdateOne(dict(flt), dict(update), upsert=True) for flt, update in requests]
    try:
        with translate_errors():
            upserted = collection.bulk_write(operations, ordered=False).upserted_ids
    except BulkWriteError as exc:
        upserted = {item["index"]: item["_id"] for item in exc.details.get("upserted", [])}
        errors = exc.details.get("writeErrors", [])
        # A duplicate key is a refused insert, i.e. a filter that failed (nothing was written for it).
        if any(error.get("code") != _DUPLICATE_KEY for error in errors):
            _delete_stubs(collection, upserted)
            raise
        for error in errors:
            matched[error["index"]] = False
    for index in _delete_stubs(collection, upserted):
        matched[index] = False
    return matched


def _delete_stubs(collection: Collection, upserted: Mapping[int, Any]) -> list[int]:
    """Delete the documents :func:`update_where`'s upserts made (their samples were gone)."""
    if upserted:
        with translate_errors():
            collection.delete_many({"_id": {"$in": list(upserted.values())}})
    return list(upserted)


def update_many_matching(collection: Collection, ids: Sequence[ObjectId], update: dict[str, Any],
                         batch_size: int = 10_000) -> None:
    """Apply one update document to the given ids, in batches of ``$in`` queries."""
    with translate_errors():
        for start in range(0, len(ids), batch_size):
            collection.update_many({"_id": {"$in": list(ids[start:start + batch_size])}}, update)


def delete_by_ids(collection: Collection, ids: Sequence[ObjectId], batch_size: int = 10_000) -> None:
    with translate_errors():
        for start in range(0, len(ids), batch_size):
            collection.delete_many({"_id": {"$in": list(ids[start:start + batch_size])}})


def delete_all(collection: Collection) -> None:
    with translate_errors():
        collection.delete_many({})


def explain_aggregate(collection: Collection, pipeline: list[dict[str, Any]]) -> dict[str, Any]:
    """The server's query plan for an aggregation (needs a real MongoDB server)."""
    with translate_errors():
        return collection.database.command(
            "explain", {"aggregate": collection.name, "pipeline": pipeline, "cursor": {}},
            verbosity="queryPlanner")


def explain_find(collection: Collection, query: dict[str, Any]) -> dict[str, Any]:
    """The server's query plan for a ``find`` (needs a real MongoDB server)."""
    with translate_errors():
        return collection.find(**query).explain()


__all__ = ["OperationFailure", "PreparedUpdates", "PyMongoError", "SORT_ASCENDING", "SORT_DESCENDING",
           "background_writer", "delete_all", "delete_by_ids", "explain_aggregate", "explain_find",
           "insert_many", "insert_new", "insert_one_unique", "prepare_set_fields", "prepare_updates",
           "translate_errors", "update_many_by_id", "update_many_matching", "update_where", "write_updates"]
