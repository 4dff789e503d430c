"""A dataset's field schema as a part of the dataset: checking paths and values, declaring fields.

The schema lives in the catalog record (:class:`~labellens.dataset.record.DatasetRecord`).
Checks run against the copy held since the last read; declaring a new field is a
conditional update, so two processes that declare one field with different
types cannot both win, and only then (or when a path is unknown) is the record
read again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from labellens import codec, fields
from labellens.dataset.record import DatasetRecord
from labellens.dataset.type_inference import DEFAULT_SCHEMA, check_field_name, check_value, widens
from labellens.errors import FieldNotFoundError, SchemaError, ValidationError
from labellens.fields import FieldType


class Column(NamedTuple):
    """How a bulk write checks and encodes the values of one path.

    ``encode`` turns the values into their stored forms (raising for a bad one);
    ``document`` is the embedded-document field a sub-path writes into (its samples
    must hold one), None for a top-level field or a key of a dict field.
    """

    encode: Callable[[Sequence[Any]], list[Any]]
    document: str | None = None


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

    def declare(self, types: Mapping[str, str]) -> dict[str, str]:
        """Add new fields; returns those this call added (not another writer meanwhile).

        A field declared meanwhile with another type raises SchemaError (and this call's
        other new fields are removed again).
        """
        added: dict[str, str] = {}
        for name, kind in types.items():
            declared, new = self._record.declare(name, str(kind))
            if new:
                added[name] = str(kind)
            elif declared is not None and declared != kind and not widens(declared, kind):
                for name_added, kind_added in added.items():
                    self.undeclare(name_added, kind_added)
                raise SchemaError(f"field {name!r} was declared {declared} by another writer, not {kind}")
        return added

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

    def undeclare(self, name: str, kind: str) -> None:
        """Remove field ``name`` again if it still has type ``kind`` (a write that declared it failed)."""
        self._record.update({"$unset": {f"sample_fields.{name}": ""}, "$inc": {"schema_version": 1}},
                            {f"sample_fields.{name}": kind})

    def default_classes(self) -> list[str]:
        """The dataset's classes as last read: a label's logits have one value per class."""
        return self._record.data.get("default_classes") or []

    def check_values(self, path: str, values: list[Any]) -> dict[str, str]:
        """Validate values for top-level field ``path``; the field to declare if it is new.

        Sub-paths are checked by :meth:`column`'s encoder. Nothing is written.
        """
        if "." in path:
            return {}
        if path not in DEFAULT_SCHEMA:
            check_field_name(path)
        new_type = self.new_type(path, values, self.current())
        return {path: new_type} if new_type else {}

    def column(self, path: str, where: str) -> Column:
        """How values for ``path`` are checked and encoded (FieldNotFoundError for an unknown field).

        A sub-path of a label (``ground_truth.confidence``) is validated by the label's model
        as assigning the attribute would be; a sub-path of a dict field is any storable value;
        other fields have no sub-paths.
        """
        top, _, rest = path.partition(".")
        if not rest:
            return Column(codec.encode_checked)
        schema = self.current()
        if top not in schema:
            schema = self.fresh()
        if top not in schema:
            raise FieldNotFoundError(f"cannot set {path!r}: no field {top!r} in {where}")
        kind = FieldType(schema[top])
        model = codec.document_class(kind.document) if kind.document else None
        if kind == fields.DICT:
            return Column(codec.encode_checked)
        if model is None:
            raise SchemaError(f"cannot set {path!r}: field {top!r} holds {kind}, which has no sub-fields; "
                              f"set {top!r} itself")
        if "." in rest or rest in ("id", "_id") or rest.startswith(("_", "$")):
            example = next((n for n in model.model_fields if n not in ("id", "tags")), "tags")
            raise ValidationError(
                f"cannot set {path!r}: set one attribute of the {model.__name__} in {top!r} "
                f"(e.g. {top}.{example}) or the whole {top!r}; label ids cannot change")
        return Column(_attribute_encoder(model, rest, path), document=top)


def _attribute_encoder(model: Any, name: str, path: str) -> Callable[[Sequence[Any]], list[Any]]:
    """Values -> stored forms of attribute ``name`` of ``model`` (None stays None: it unsets)."""
    field = model.model_fields.get(name)
    required = field is not None and field.is_required()

    def encode(values: Sequence[Any]) -> list[Any]:
        attribute = model.attribute_encoder(name)
        stored = []
        for i, value in enumerate(values):
            if value is None:
                if required:
                    raise ValidationError(f"value {i} for {path!r} is None, but a {model.__name__} needs "
                                          f"a {name}; set the whole field to None to remove the label")
                stored.append(None)
                continue
            try:
                stored.append(attribute(value))
            except (ValidationError, SchemaError) as exc:
                raise type(exc)(f"value {i} for {path!r}: {exc} (nothing was written)") from None
        return stored

    return encode


def type_key(value: Any) -> Any:
    """What a value's field type depends on: its Python type, or for a flat list or tuple the set of
    its elements' types; None for nested lists (each is checked on its own)."""
    key: Any = type(value)
    if key is list or key is tuple:
        elements = frozenset(map(type, value))
        return None if list in elements or tuple in elements else (key, elements)
    return key
