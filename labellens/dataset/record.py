"""A dataset's catalog record: settings, schema, saved views, runs and indexes.

:class:`DatasetRecord` holds the last copy of the record read from the catalog.
Every update is one ``find_one_and_update`` that returns the new record, so the
copy stays current without extra reads; ``schema_version`` counts schema
changes, so another process's new field is noticed by one cheap comparison
(:meth:`DatasetRecord.refresh_schema`) instead of a reload per operation.
Saved views come back as stage JSON and runs as dicts: turning them into views
is the :class:`~labellens.dataset.dataset.Dataset` façade's job. A field's schema
entry and its stored values change together here (delete, rename), as do the
indexes of the samples; the dataset's in-memory samples are refreshed after such a change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from labellens.dataset import live
from labellens.dataset.type_inference import DEFAULT_SCHEMA
from labellens.db.stores import CatalogStore, SampleStore
from labellens.errors import (
    BrainRunNotFoundError,
    DatasetNotFoundError,
    IndexNotFoundError,
    InvalidFieldNameError,
    RunNotFoundError,
    SavedViewNotFoundError,
    ValidationError,
)
from labellens.fields import FieldType

BRAIN = "brain"
_RUN_KEYS = {BRAIN: "brain_runs"}  # brain runs keep their original place in the record


class DatasetRecord:
    """The catalog record of one dataset, bound to its catalog."""

    def __init__(self, catalog: CatalogStore, record: dict[str, Any]) -> None:
        self.catalog = catalog
        self.data = record
        self.samples = catalog.samples(record["sample_collection_name"])
        self._schema: dict[str, str] = {}
        self._schema_of: dict[str, Any] | None = None  # the record data ``_schema`` was built from

    # -- identity --------------------------------------------------------------------

    @property
    def id(self) -> Any:
        return self.data["_id"]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def store(self) -> SampleStore:
        return self.samples

    # -- reading and writing the record ------------------------------------------------

    def reload(self) -> None:
        """Read the record again (DatasetNotFoundError if another process deleted it)."""
        record = self.catalog.find_one({"_id": self.id})
        if record is None:
            raise DatasetNotFoundError(f"dataset {self.name!r} was deleted")
        self.data = record

    def update(self, update: Mapping[str, Any], condition: Mapping[str, Any] | None = None) -> bool:
        """Apply ``update``; False when ``condition`` did not hold (the copy is then reloaded)."""
        record = self.catalog.update({"_id": self.id, **(condition or {})}, update)
        if record is None:
            self.reload()  # raises if the dataset is gone
            if not condition:
                raise DatasetNotFoundError(f"dataset {self.name!r} was deleted")
            return False
        self.data = record
        return True

    def exists(self) -> bool:
        return self.catalog.exists({"_id": self.id})

    # -- schema --------------------------------------------------------------------------

    def schema(self) -> dict[str, str]:
        """Field name -> type name as of the last read (built-in fields first).

        The same dict until the record is read or written again (views compile once per
        schema object): read it, never change it.
        """
        if self._schema_of is not self.data:
            self._schema = {**DEFAULT_SCHEMA, **self.data.get("sample_fields", {})}
            self._schema_of = self.data
        return self._schema

    @property
    def schema_version(self) -> int:
        return int(self.data.get("schema_version", 0))

    def refresh_schema(self) -> dict[str, str]:
        """The schema, reloaded only when another process changed it since the last read."""
        current = self.catalog.find({"_id": self.id}, {"schema_version": 1})
        if not current:
            raise DatasetNotFoundError(f"dataset {self.name!r} was deleted")
        if int(current[0].get("schema_version", 0)) != self.schema_version:
            self.reload()
        return self.schema()

    def declare(self, name: str, kind: str) -> tuple[str | None, bool]:
        """Declare field ``name`` with type ``kind`` unless it exists; returns the type it has and
        whether this call declared it."""
        if self.update({"$set": {f"sample_fields.{name}": kind}, "$inc": {"schema_version": 1}},
                       {f"sample_fields.{name}": {"$exists": False}}):
            return kind, True
        return self.schema().get(name), False

    def set_fields(self, fields: Mapping[str, str]) -> None:
        """Replace the user fields' types (a rename keeps their order)."""
        self.update({"$set": {"sample_fields": dict(fields)}, "$inc": {"schema_version": 1}})

    def delete_field(self, name: str) -> None:
        """Remove a user field from every sample, then from the schema."""
        self.samples.unset_field(name)
        self.update({"$unset": {f"sample_fields.{name}": ""}, "$inc": {"schema_version": 1}})
        live.refresh(self.samples)

    def rename_field(self, name: str, new_name: str) -> None:
        """Rename a user field in every sample and in the schema (keeping its position)."""
        fields = self.data.get("sample_fields", {})
        if new_name in fields or new_name in DEFAULT_SCHEMA:
            raise InvalidFieldNameError(f"field {new_name!r} already exists")
        self.samples.rename_field(name, new_name)
        self.set_fields({new_name if k == name else k: v for k, v in fields.items()})
        live.refresh(self.samples)

    def field_type(self, name: str) -> FieldType | None:
        kind = self.schema().get(name)
        return None if kind is None else FieldType(kind)

    # -- saved views -----------------------------------------------------------------------

    def saved_views(self) -> dict[str, list[dict[str, Any]]]:
        self.reload()
        return dict(self.data.get("saved_views", {}))

    def saved_view(self, name: str) -> list[dict[str, Any]]:
        views = self.saved_views()
        if name not in views:
            raise SavedViewNotFoundError(f"no saved view {name!r}; saved views are: {sorted(views)}")
        return views[name]

    def save_view(self, name: str, stages: list[dict[str, Any]], *, overwrite: bool) -> None:
        check_key(name, "view name")
        if name in self.saved_views() and not overwrite:
            raise ValidationError(f"a saved view named {name!r} exists; pass overwrite=True")
        self.update({"$set": {f"saved_views.{name}": stages}})

    def delete_saved_view(self, name: str) -> None:
        self.saved_view(name)
        self.update({"$unset": {f"saved_views.{name}": ""}})

    # -- runs ------------------------------------------------------------------------------

    def runs(self, kind: str) -> dict[str, dict[str, Any]]:
        """Key -> run of one kind (``brain``, ``evaluation``, ``annotation``, ...), read fresh."""
        self.reload()
        if kind in _RUN_KEYS:
            return dict(self.data.get(_RUN_KEYS[kind], {}))
        return dict(self.data.get("runs", {}).get(kind, {}))

    def run(self, kind: str, key: str) -> dict[str, Any]:
        """``{"key", "config", "fields", "timestamp"}`` of a run."""
        runs = self.runs(kind)
        if key not in runs:
            error = BrainRunNotFoundError if kind == BRAIN else RunNotFoundError
            raise error(f"no {kind} run {key!r}; runs are: {sorted(runs)}")
        return {"key": key, **runs[key]}

    def register_run(self, kind: str, key: str, config: Mapping[str, Any], fields: Sequence[str]) -> None:
        """Record a run: its config, the fields it wrote, and when (replacing a run of that key)."""
        check_key(kind, "run kind")
        check_key(key, f"{kind} key")
        if not isinstance(config, Mapping):
            raise ValidationError(f"a run's config must be a dict, got {type(config).__name__}")
        run = {"config": dict(config), "fields": list(fields), "timestamp": dt.datetime.now(dt.UTC)}
        self.update({"$set": {f"{self._runs_path(kind)}.{key}": run}})

    def delete_run(self, kind: str, key: str) -> dict[str, Any]:
        """Remove a run's record (not its fields); returns what it was."""
        info = self.run(kind, key)
        self.update({"$unset": {f"{self._runs_path(kind)}.{key}": ""}})
        return info

    @staticmethod
    def _runs_path(kind: str) -> str:
        return _RUN_KEYS.get(kind, f"runs.{kind}")

    # -- indexes of the samples ----------------------------------------------------------------

    def create_index(self, keys: Sequence[tuple[str, int]], *, unique: bool = False) -> str:
        return self.samples.create_index(keys, unique=unique)

    def indexes(self) -> dict[str, list[str]]:
        """Index name -> the stored paths it orders by, in order."""
        return {name: [key for key, _ in info["key"]]
                for name, info in self.samples.index_information().items()}

    def drop_index(self, name: str) -> None:
        """Drop a named index (IndexNotFoundError if there is none; the ``_id`` index stays)."""
        names = sorted(self.indexes())
        if name not in names or name == "_id_":
            raise IndexNotFoundError(f"no index {name!r} to drop; indexes are: {names}")
        self.samples.drop_index(name)


def check_key(key: Any, what: str) -> None:
    if not isinstance(key, str) or not key or key.startswith("$") or "." in key:
        raise ValidationError(f"invalid {what} {key!r}: use a non-empty name without '.' or '$'")
