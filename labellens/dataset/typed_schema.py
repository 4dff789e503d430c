"""A dataset's field schema as a part of the dataset: checking paths and values, declaring fields.

The schema lives in the catalog record (:class:`~labellens.dataset.record.DatasetRecord`).
Checks run against the copy held since the last read; declaring a new field is a
conditional update, so two processes that declare one field with different
types cannot both win, and only then (or when a path is unknown) is the record
read again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from labellens.dataset.record import DatasetRecord
from labellens.dataset.schema import DEFAULT_SCHEMA, check_field_name, check_value, widens
from labellens.errors import FieldNotFoundError, SchemaError


class Schema:
    """Field name -> type of one dataset, with the checks every write runs first."""

    def __init__(self, record: DatasetRecord) -> None:
        self._record = record

    def current(self) -> dict[str, str]:
        """The schema as last read (no round trip)."""
        return self._record.schema()

    def fresh(self) -> dict[str, str]:
        """The schema, re-read only when another process changed it (one small read)."""
        return self._record.refresh_schema()

    def check_path(self, path: Any, schema: Mapping[str, str], where: Callable[[], str]) -> None:
        """FieldNotFoundError unless ``path``'s top-level field is in ``schema``; ``where()`` names
        the collection in the message (built only then: this check runs on every read)."""
        if not isinstance(path, str) or not path:
            raise FieldNotFoundError(f"a field path must be a non-empty string, got {path!r}")
        top = path.split(".", 1)[0]
        if top != "id" and top not in schema:
            raise FieldNotFoundError(
                f"no field {top!r} in {where()}; fields are: {', '.join(['id', *schema])}")

    def declare(self, types: Mapping[str, str]) -> None:
        """Add new fields; a field declared meanwhile with another type raises SchemaError."""
        for name, kind in types.items():
            declared = self._record.declare(name, str(kind))
            if declared is not None and declared != kind and not widens(declared, kind):
                raise SchemaError(f"field {name!r} was declared {declared} by another writer, not {kind}")

    def new_type(self, name: str, values: Iterable[Any], schema: Mapping[str, str]) -> str | None:
        """Check values against field ``name``; return the type to declare if the field is new.

        A value's type depends only on its Python type (a flat list's on the types of
        its elements), so each is checked once (the hot path of bulk writes).
        """
        declared = schema.get(name)
        new_type = None
        seen: set[Any] = set()
        for value in values:
            key = type_key(value)
            if key in seen:
                continue
            if key is not None:
                seen.add(key)
            kind = check_value(name, declared or new_type, value)
            new_type = new_type or kind
        return None if declared else new_type

    def check_values(self, path: str, values: list[Any], where: str) -> None:
        """Validate values for ``path``, declaring a new top-level field (nothing else is written)."""
        top, _, rest = path.partition(".")
        schema = self.current()
        if rest and top not in schema:
            schema = self.fresh()
        if not rest:
            if top not in DEFAULT_SCHEMA:
                check_field_name(top)
            new_type = self.new_type(top, values, schema)
            if new_type:
                self.declare({top: new_type})
        elif top not in schema:
            raise FieldNotFoundError(f"cannot set {path!r}: no field {top!r} in {where}")


def type_key(value: Any) -> Any:
    """What a value's field type depends on: its Python type, or for a flat list or tuple the set of
    its elements' types; None for nested lists (each is checked on its own)."""
    key: Any = type(value)
    if key is list or key is tuple:
        elements = frozenset(map(type, value))
        return None if list in elements or tuple in elements else (key, elements)
    return key
