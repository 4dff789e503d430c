"""Field types: inferred from values when a field first appears, then enforced.

Types are strings such as ``"FloatField"``, ``"ListField(StringField)"`` or
``"EmbeddedDocumentField(Classification)"``; ``print(dataset)`` shows them with
the ``labellens.fields.`` prefix.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from bson import ObjectId

from labellens.errors import InvalidFieldNameError, SchemaError
from labellens.labels import EmbeddedDocument

DEFAULT_SCHEMA = {
    "filepath": "StringField",
    "tags": "ListField(StringField)",
    "metadata": "EmbeddedDocumentField(ImageMetadata)",
}
RESERVED_NAMES = frozenset({"id", "_id", "media_type"})

_SCALAR_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    ((bool, np.bool_), "BooleanField"),
    ((int, np.integer), "IntField"),
    ((float, np.floating), "FloatField"),
    (str, "StringField"),
    (dt.datetime, "DateTimeField"),
    (ObjectId, "ObjectIdField"),
    (np.ndarray, "ArrayField"),
    (dict, "DictField"),
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


def infer_type(value: Any) -> str | None:
    """The field type of a Python value, or None for None."""
    if value is None:
        return None
    if isinstance(value, EmbeddedDocument):
        return f"EmbeddedDocumentField({type(value).__name__})"
    if isinstance(value, (list, tuple)):
        inner = {infer_type(v) for v in value} - {None}
        return f"ListField({inner.pop()})" if len(inner) == 1 else "ListField"
    for types, name in _SCALAR_TYPES:
        if isinstance(value, types):
            return name
    raise SchemaError(f"cannot store a value of type {type(value).__name__}: {value!r:.80}")


def check_value(name: str, declared: str | None, value: Any) -> str | None:
    """The value's type, after checking it against the declared type of field ``name``."""
    actual = infer_type(value)
    if declared is not None and not _fits(declared, actual, value):
        raise SchemaError(f"field {name!r} holds {declared}, not {actual} ({value!r:.80}); "
                          "use another field name or convert the value")
    return actual


def _fits(declared: str, actual: str | None, value: Any) -> bool:
    if actual is None or declared == actual:
        return True
    if declared == "FloatField" and actual == "IntField":
        return True
    if declared.startswith("ListField") and actual.startswith("ListField"):
        # An untyped list field takes any list; an empty or mixed list fits only when empty.
        if declared == "ListField" or not value:
            return True
        return declared == "ListField(FloatField)" and actual == "ListField(IntField)"
    return False


def display_type(type_name: str) -> str:
    """``ListField(StringField)`` -> ``labellens.fields.ListField(labellens.fields.StringField)``."""
    if type_name.startswith("EmbeddedDocumentField("):
        inner = type_name[len("EmbeddedDocumentField("):-1]
        module = "labellens.labels"
        return f"labellens.fields.EmbeddedDocumentField({module}.{inner})"
    if type_name.startswith("ListField(") and type_name.endswith(")"):
        return f"labellens.fields.ListField({display_type(type_name[len('ListField('):-1])})"
    return f"labellens.fields.{type_name}"
