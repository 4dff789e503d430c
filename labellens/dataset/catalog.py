"""The catalog of datasets: one record per dataset in the ``datasets`` collection.

A record holds the dataset's name (unique index), the name of the collection of
its samples, persistence, classes, info, field schema, saved views and brain
runs. Non-persistent datasets record their owning process; they are deleted
when it exits, and any left by crashed processes are deleted when a later
process first opens the catalog.
"""

from __future__ import annotations

import atexit
import datetime as dt
import fnmatch
import os
import socket
import threading
from typing import Any

from bson import ObjectId
from pymongo.collection import Collection

from labellens import db
from labellens.db import config, ops
from labellens.errors import DatasetExistsError, DatasetNotFoundError, LabelLensError

DATASETS = "datasets"
_HOST = socket.gethostname()
_lock = threading.Lock()
_opened: set[tuple[str, str]] = set()
_owned: dict[tuple[str, str], set[str]] = {}


def datasets_collection() -> Collection:
    """The catalog collection, with its unique index and stale datasets cleaned on first use."""
    uri = db.resolve_uri()
    key = (uri, config.database_name())
    collection = db.get_database(uri)[DATASETS]
    with _lock:
        if key not in _opened:
            with ops.translate_errors():
                collection.create_index("name", unique=True)
            _delete_orphans(collection)
            _opened.add(key)
    return collection


def sample_collection(record: dict[str, Any]) -> Collection:
    return db.get_database()[record["sample_collection_name"]]


def create_record(name: str, persistent: bool) -> dict[str, Any]:
    """Insert the record of a new dataset; DatasetExistsError if the name is taken."""
    record = {
        "_id": ObjectId(),
        "name": name,
        "sample_collection_name": f"samples.{ObjectId()}",
        "persistent": persistent,
        "created_at": dt.datetime.now(dt.UTC),
        "default_classes": [],
        "info": {},
        "sample_fields": {},
        "saved_views": {},
        "brain_runs": {},
        "owner": owner_token(),
    }
    if not ops.insert_one_unique(datasets_collection(), record):
        raise DatasetExistsError(f"a dataset named {name!r} already exists; load it with "
                                 "load_dataset(name), or pass overwrite=True to replace it")
    if not persistent:
        remember_owned(name)
    return record


def find_record(name: str) -> dict[str, Any]:
    with ops.translate_errors():
        record = datasets_collection().find_one({"name": name})
    if record is None:
        raise DatasetNotFoundError(f"no dataset named {name!r}; datasets are: {list_names()}")
    return record


def reload_record(record_id: ObjectId, name: str) -> dict[str, Any]:
    with ops.translate_errors():
        record = datasets_collection().find_one({"_id": record_id})
    if record is None:
        raise DatasetNotFoundError(f"dataset {name!r} was deleted")
    return record


def update_record(record_id: ObjectId, name: str, update: dict[str, Any],
                  condition: dict[str, Any] | None = None) -> bool:
    """Apply ``update`` to the record; False when ``condition`` did not hold."""
    with ops.translate_errors():
        result = datasets_collection().update_one({"_id": record_id, **(condition or {})}, update)
    if result.matched_count == 0 and not condition:
        raise DatasetNotFoundError(f"dataset {name!r} was deleted")
    return result.matched_count > 0


def list_names(glob: str | None = None) -> list[str]:
    query = {"name": {"$regex": _glob_regex(glob)}} if glob else {}
    with ops.translate_errors():
        return sorted(r["name"] for r in datasets_collection().find(query, {"name": 1}))


def exists(name: str) -> bool:
    with ops.translate_errors():
        return datasets_collection().count_documents({"name": name}, limit=1) > 0


def delete(name: str) -> None:
    """Delete a dataset's samples and record (DatasetNotFoundError if absent)."""
    record = find_record(name)
    _drop(datasets_collection(), record)


def owner_token() -> dict[str, Any]:
    pid = os.getpid()
    return {"host": _HOST, "pid": pid, "start": _process_start(pid)}


def remember_owned(name: str) -> None:
    _owned.setdefault((db.resolve_uri(), config.database_name()), set()).add(name)


def forget_owned(name: str) -> None:
    for names in _owned.values():
        names.discard(name)


def _drop(collection: Collection, record: dict[str, Any]) -> None:
    with ops.translate_errors():
        collection.database.drop_collection(record["sample_collection_name"])
        collection.delete_one({"_id": record["_id"]})
    forget_owned(record["name"])


def _delete_orphans(collection: Collection) -> None:
    with ops.translate_errors():
        candidates = list(collection.find({"persistent": False, "owner.host": _HOST}))
    for record in candidates:
        owner = record.get("owner") or {}
        if not _alive(owner.get("pid"), owner.get("start")):
            _drop(collection, record)


def _alive(pid: Any, start: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return start is None or _process_start(pid) == start


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks (tells a reused pid apart), where /proc exists."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _glob_regex(glob: str) -> str:
    return fnmatch.translate(glob)


def _cleanup_at_exit() -> None:
    unreachable: set[str] = set()  # try a stopped server once, not once per database
    for (uri, name), datasets in list(_owned.items()):
        if not datasets or uri in unreachable:
            continue
        try:
            collection = db.get_database(uri, name)[DATASETS]
            for record in collection.find({"name": {"$in": sorted(datasets)}, "persistent": False}):
                _drop(collection, record)
        except (LabelLensError, ops.PyMongoError):
            unreachable.add(uri)


atexit.register(_cleanup_at_exit)
