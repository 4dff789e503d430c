"""Dataset features kept in the catalog record or on the collection: saved views,
brain runs, indexes and field management."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from labellens.dataset.schema import DEFAULT_SCHEMA, check_field_name
from labellens.db import ops
from labellens.errors import FieldNotFoundError, InvalidFieldNameError, ValidationError
from labellens.stages import stages_from_json
from labellens.stages.base import mongo_path

if TYPE_CHECKING:
    from labellens.dataset.collection import SampleCollection
    from labellens.dataset.view import View


class RecordsMixin:
    """Saved views, brain runs, indexes and field management of a Dataset."""

    _record: dict[str, Any]

    # -- saved views ------------------------------------------------------------------

    def view_from_json(self, stages: Any) -> View:
        """Rebuild a view from stage JSON (validated through the stage registry)."""
        return self.make_view(stages_from_json(stages))  # type: ignore[attr-defined]

    def save_view(self, name: str, view: SampleCollection, overwrite: bool = False) -> None:
        """Store ``view`` under ``name`` with the dataset (loadable from any process)."""
        _check_key(name, "view name")
        if view.dataset != self:
            raise ValidationError("save_view takes a view of this dataset")
        if name in self.list_saved_views() and not overwrite:
            raise ValidationError(f"a saved view named {name!r} exists; pass overwrite=True")
        stages = view.to_json() if view.stages else []  # type: ignore[attr-defined]
        self._update({"$set": {f"saved_views.{name}": stages}})  # type: ignore[attr-defined]

    def load_saved_view(self, name: str) -> View:
        self.reload()  # type: ignore[attr-defined]
        views = self._record.get("saved_views", {})
        if name not in views:
            raise ValidationError(f"no saved view {name!r}; saved views are: {sorted(views)}")
        return self.view_from_json(views[name])

    def list_saved_views(self) -> list[str]:
        self.reload()  # type: ignore[attr-defined]
        return sorted(self._record.get("saved_views", {}))

    def delete_saved_view(self, name: str) -> None:
        if name not in self.list_saved_views():
            raise ValidationError(f"no saved view {name!r}")
        self._update({"$unset": {f"saved_views.{name}": ""}})  # type: ignore[attr-defined]

    # -- brain runs ---------------------------------------------------------------------

    def register_brain_run(self, key: str, config: dict[str, Any], fields: list[str]) -> None:
        """Record a brain run: its config, the fields it wrote, and when."""
        _check_key(key, "brain key")
        run = {"config": config, "fields": list(fields), "timestamp": dt.datetime.now(dt.UTC)}
        self._update({"$set": {f"brain_runs.{key}": run}})  # type: ignore[attr-defined]

    def list_brain_runs(self) -> list[str]:
        self.reload()  # type: ignore[attr-defined]
        return sorted(self._record.get("brain_runs", {}))

    def get_brain_info(self, key: str) -> dict[str, Any]:
        """``{"key", "config", "fields", "timestamp"}`` of a brain run."""
        self.reload()  # type: ignore[attr-defined]
        runs = self._record.get("brain_runs", {})
        if key not in runs:
            raise ValidationError(f"no brain run {key!r}; runs are: {sorted(runs)}")
        return {"key": key, **runs[key]}

    def delete_brain_run(self, key: str) -> None:
        """Delete a brain run's record and the fields it wrote."""
        info = self.get_brain_info(key)
        schema = self.stored_schema()  # type: ignore[attr-defined]
        for field in info["fields"]:
            if field in schema:
                self.delete_sample_field(field)
        self._update({"$unset": {f"brain_runs.{key}": ""}})  # type: ignore[attr-defined]

    # -- indexes ---------------------------------------------------------------------------

    def create_index(self, field: str, unique: bool = False) -> str:
        """Index ``field`` (e.g. to sort by it fast); returns the index name."""
        self.check_path(field, self.stored_schema())  # type: ignore[attr-defined]
        with ops.translate_errors():
            return self.sample_collection().create_index(mongo_path(field), unique=unique)  # type: ignore[attr-defined]

    def list_indexes(self) -> list[str]:
        with ops.translate_errors():
            return sorted(self.sample_collection().index_information())  # type: ignore[attr-defined]

    def drop_index(self, name: str) -> None:
        if name not in self.list_indexes() or name == "_id_":
            raise ValidationError(f"no index {name!r} to drop; indexes are: {self.list_indexes()}")
        with ops.translate_errors():
            self.sample_collection().drop_index(name)  # type: ignore[attr-defined]

    # -- fields ------------------------------------------------------------------------------

    def add_sample_field(self, name: str, ftype: str) -> None:
        """Declare a field before any sample has it (``ftype`` like ``"FloatField"``)."""
        check_field_name(name)
        if not isinstance(ftype, str) or not ftype.endswith(("Field", ")")):
            raise ValidationError(f"ftype must be a field type such as 'FloatField', got {ftype!r}")
        if name in self.stored_schema():  # type: ignore[attr-defined]
            raise ValidationError(f"field {name!r} already exists")
        self.declare_fields({name: ftype})  # type: ignore[attr-defined]

    def delete_sample_field(self, name: str) -> None:
        """Remove a field from every sample and from the schema."""
        self._check_user_field(name)
        with ops.translate_errors():
            self.sample_collection().update_many({}, {"$unset": {name: ""}})  # type: ignore[attr-defined]
        self._update({"$unset": {f"sample_fields.{name}": ""}})  # type: ignore[attr-defined]

    def rename_sample_field(self, name: str, new_name: str) -> None:
        """Rename a field in every sample and in the schema (keeping its position)."""
        self._check_user_field(name)
        check_field_name(new_name)
        schema = self._record.get("sample_fields", {})
        if new_name in schema or new_name in DEFAULT_SCHEMA:
            raise InvalidFieldNameError(f"field {new_name!r} already exists")
        with ops.translate_errors():
            self.sample_collection().update_many({}, {"$rename": {name: new_name}})  # type: ignore[attr-defined]
        renamed = {new_name if k == name else k: v for k, v in schema.items()}
        self._update({"$set": {"sample_fields": renamed}})  # type: ignore[attr-defined]
        self.reload()  # type: ignore[attr-defined]

    def _check_user_field(self, name: str) -> None:
        schema = self.stored_schema()  # type: ignore[attr-defined]
        if name in DEFAULT_SCHEMA:
            raise InvalidFieldNameError(f"cannot delete or rename the built-in field {name!r}")
        if name not in schema:
            raise FieldNotFoundError(f"no field {name!r}; fields are: {', '.join(schema)}")


def _check_key(key: Any, what: str) -> None:
    if not isinstance(key, str) or not key or key.startswith("$") or "." in key:
        raise ValidationError(f"invalid {what} {key!r}: use a non-empty name without '.' or '$'")
