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

from labellens import db
from labellens.db.stores import CatalogStore
from labellens.errors import DatasetExistsError, DatasetNotFoundError, ValidationError

MAX_NAME_LENGTH = 100
NAME_PUNCTUATION = frozenset(" _.-")
COMPANIONS = ("history",)  # collections named "<prefix>.<sample collection>", dropped with the dataset
_HOST = socket.gethostname()
_lock = threading.Lock()
_opened: set[tuple[str, str]] = set()
_owned: dict[tuple[str, str], set[str]] = {}


def store() -> CatalogStore:
    """The catalog of the configured database (stale datasets cleaned on first use)."""
    catalog = CatalogStore(db.binding())
    database = catalog.binding.database
    key = (catalog.binding.uri, database.name)
    if key not in _opened:
        with _lock:
            if key not in _opened:
                _delete_orphans(catalog)
                _opened.add(key)
    return catalog


def check_name(name: Any) -> str:
    """``name`` if it is a valid name for a new dataset, else a ValidationError saying the rule.

    Letters and digits (any script), space, ``_``, ``.`` and ``-``; 1 to 100 characters, the
    first a letter, digit or ``_`` (not ``.``, ``..`` nor an option-like ``-x``), no space at
    the end, not ``system.`` (MongoDB's reserved prefix). Such a name is one URL path segment
    once percent-encoded, so every dataset opens in the App. Datasets made under older
    rules still load.
    """
    if not isinstance(name, str) or not name:
        raise ValidationError(f"a dataset name must be a non-empty string, got {name!r:.100}")
    bad = next((c for c in name if not (c.isalnum() or c in NAME_PUNCTUATION)), None)
    problem = (f"it has {len(name)} characters, more than {MAX_NAME_LENGTH}" if len(name) > MAX_NAME_LENGTH
               else f"it contains {bad!r}" if bad is not None
               else "it must start with a letter, a digit or '_'" if not (name[0].isalnum() or name[0] == "_")
               else "it ends with a space" if name.endswith(" ")
               else "names starting with 'system.' are reserved by MongoDB" if name.startswith("system.")
               else None)
    if problem:
        raise ValidationError(f"invalid dataset name {name!r:.120}: {problem}. Dataset names use letters, "
                              f"digits, space, '_', '.' and '-' (up to {MAX_NAME_LENGTH} characters)")
    return name


def new_record(name: str, persistent: bool) -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "name": name,
        "sample_collection_name": f"samples.{ObjectId()}",
        "persistent": persistent,
        "created_at": dt.datetime.now(dt.UTC),
        "default_classes": [],
        "info": {},
        "sample_fields": {},
        "schema_version": 0,
        "saved_views": {},
        "brain_runs": {},
        "runs": {},
        "owner": owner_token(),
    }


def create_record(catalog: CatalogStore, name: str, persistent: bool) -> dict[str, Any]:
    """Insert the record of a new dataset; DatasetExistsError if the name is taken."""
    record = new_record(name, persistent)
    if not catalog.insert_unique(record):
        raise DatasetExistsError(f"a dataset named {name!r} already exists; load it with "
                                 "load_dataset(name), or pass overwrite=True to replace it")
    if not persistent:
        remember_owned(catalog, name)
    return record


def find_record(catalog: CatalogStore, name: str) -> dict[str, Any]:
    record = catalog.find_one({"name": name})
    if record is None:
        raise DatasetNotFoundError(f"no dataset named {name!r}; datasets are: {list_names(catalog)}")
    return record


def list_names(catalog: CatalogStore, glob: str | None = None) -> list[str]:
    query = {"name": {"$regex": fnmatch.translate(glob)}} if glob else {}
    return sorted(r["name"] for r in catalog.find(query, {"name": 1}))


def delete(catalog: CatalogStore, name: str) -> None:
    """Delete a dataset's samples, companions and record (DatasetNotFoundError if absent)."""
    _drop(catalog, find_record(catalog, name))


def owner_token() -> dict[str, Any]:
    pid = os.getpid()
    return {"host": _HOST, "pid": pid, "start": _process_start(pid)}


def remember_owned(catalog: CatalogStore, name: str) -> None:
    _owned.setdefault((catalog.binding.uri, catalog.binding.name), set()).add(name)


def forget_owned(name: str) -> None:
    for names in _owned.values():
        names.discard(name)


def _drop(catalog: CatalogStore, record: dict[str, Any]) -> None:
    catalog.drop(record, COMPANIONS)
    forget_owned(record["name"])


def _delete_orphans(catalog: CatalogStore) -> None:
    for record in catalog.find({"persistent": False, "owner.host": _HOST}):
        owner = record.get("owner") or {}
        if not _alive(owner.get("pid"), owner.get("start")):
            _drop(catalog, record)


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


def _cleanup_at_exit() -> None:
    unreachable: set[str] = set()  # try a stopped server once, not once per database
    for (uri, name), datasets in list(_owned.items()):
        if not datasets or uri in unreachable:
            continue
        try:
            catalog = CatalogStore(db.Binding(uri, name))
            for record in catalog.find({"name": {"$in": sorted(datasets)}, "persistent": False}):
                _drop(catalog, record)
        except Exception:  # at exit, a server that is gone or refuses must not raise
            unreachable.add(uri)


atexit.register(_cleanup_at_exit)
