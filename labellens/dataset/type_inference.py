"""Field types: inferred from values when a field first appears, then enforced.

Types are :class:`~labellens.fields.FieldType` values (strings such as
``"FloatField"`` or ``"ListField(StringField)"``); ``print(dataset)`` shows them
with the ``labellens.fields.`` prefix.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from bson import ObjectId

from labellens import codec, fields
from labellens.errors import InvalidFieldNameError, SchemaError, ValidationError
from labellens.fields import FieldType
from labellens.labels import EmbeddedDocument

DEFAULT_SCHEMA: dict[str, str] = {
    "filepath": fields.STRING,
    "tags": fields.STRINGS,
    "metadata": fields.IMAGE_METADATA,
}
RESERVED_NAMES = frozenset({"id", "_id", "media_type"})

_SCALAR_TYPES: tuple[tuple[type | tuple[type, ...], FieldType], ...] = (
    ((bool, np.bool_), fields.BOOLEAN),
    ((int, np.integer), fields.INT),
    ((float, np.floating), fields.FLOAT),
    (str, fields.STRING),
    (dt.datetime, fields.DATETIME),
    (dt.date, fields.DATE),  # after datetime, a subclass of date
    (ObjectId, fields.OBJECT_ID),
    (np.ndarray, fields.ARRAY),
    (dict, fields.DICT),
)


def check_field_name(name: Any) -> str:
    """Return ``name`` if MongoDB can store it as a user field, else raise InvalidFieldNameError."""
    if not isinstance(name, str) or not name:
        raise InvalidFieldNameError(f"a field name must be a non-empty string, got {name!r}")
    if name in RESERVED_NAMES:
        raise InvalidFieldNameError(f"{name!r} is a built-in sample attribute; choose another field name")
    if name.startswith(("$", "_")) or "." in name or "\x00" in name:
        raise InvalidFieldNameError(
            f"invalid field name {name!r}: names cannot start with '$' or '_' or contain '.'")
    return name


def infer_type(value: Any) -> FieldType | None:
    """The field type of a Python value, or None for None."""
    if value is None:
        return None
    if isinstance(value, EmbeddedDocument):
        return FieldType.embedded(type(value).__name__)
    if isinstance(value, (list, tuple)):
        inner = {infer_type(v) for v in value} - {None}
        return FieldType.list_of(inner.pop() if len(inner) == 1 else None)
    for types, name in _SCALAR_TYPES:
        if isinstance(value, types):
            return name
    raise SchemaError(f"cannot store a value of type {type(value).__name__}: {value!r:.80}")


def check_value(name: str, declared: str | None, value: Any) -> FieldType | None:
    """The value's type, after checking it against the declared type of field ``name``."""
    actual = infer_type(value)
    if declared is not None and not _fits(declared, actual, value):
        raise SchemaError(f"field {name!r} holds {declared}, not {actual} ({value!r:.80}); "
                          "use another field name or convert the value")
    return actual


def widens(declared: str, actual: str) -> bool:
    """Whether values of type ``actual`` may be stored in a field declared ``declared``."""
    return declared == actual or (declared == fields.FLOAT and actual == fields.INT)


def _fits(declared: str, actual: str | None, value: Any) -> bool:
    if actual is None or widens(declared, actual):
        return True
    declared_type, actual_type = FieldType(declared), FieldType(actual)
    if declared_type.is_list and actual_type.is_list:
        # An untyped list field takes any list; an empty or mixed list fits only when empty.
        if declared == fields.LIST or not value:
            return True
        return declared == FieldType.list_of(fields.FLOAT) and actual == FieldType.list_of(fields.INT)
    return False


def display_type(type_name: str) -> str:
    """``ListField(StringField)`` -> ``labellens.fields.ListField(labellens.fields.StringField)``."""
    return FieldType(type_name).display()


def declared_type(ftype: Any, embedded_doc_type: Any = None, subfield: Any = None) -> str:
    """The type name ``add_sample_field`` declares (ValidationError saying what a valid one is)."""
    if not isinstance(ftype, str) or not ftype.endswith(("Field", ")")):
        raise ValidationError(f"ftype must be a field type such as 'FloatField', got {ftype!r}")
    if ftype == fields.EmbeddedDocumentField:
        document = getattr(embedded_doc_type, "__name__", embedded_doc_type)
        if not isinstance(document, str) or codec.document_class(document) is None:
            raise ValidationError(f"an EmbeddedDocumentField needs embedded_doc_type, a label class such as "
                                  f"labellens.Classification, got {embedded_doc_type!r}")
        return FieldType.embedded(document)
    if embedded_doc_type is not None:
        raise ValidationError(f"embedded_doc_type is for an EmbeddedDocumentField, not {ftype}")
    if subfield is not None:
        element_ok = isinstance(subfield, str) and subfield.endswith(("Field", ")"))
        if ftype != fields.ListField or not element_ok:
            raise ValidationError(f"subfield is the element type of a ListField (e.g. 'StringField'), "
                                  f"got ftype={ftype!r}, subfield={subfield!r}")
        return FieldType.list_of(subfield)
    return ftype
