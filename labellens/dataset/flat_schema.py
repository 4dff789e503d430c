"""The flat form of a field schema (``get_field_schema(flat=True)``): the declared attributes of
embedded documents (labels, metadata) added as dotted paths, e.g. ``ground_truth.label`` and
``predictions.classifications.confidence``.

Only declared attributes are listed: extra attributes set on single labels are stored but are
not part of the schema, as in FiftyOne without ``dynamic=True``.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin

import numpy as np

from labellens import codec, fields
from labellens.fields import FieldType

_SCALARS: dict[Any, FieldType] = {
    str: fields.STRING, int: fields.INT, float: fields.FLOAT, bool: fields.BOOLEAN,
    dt.datetime: fields.DATETIME, dt.date: fields.DATE, dict: fields.DICT, np.ndarray: fields.ARRAY,
}


def flat(schema: Mapping[str, str]) -> dict[str, str]:
    """``schema`` with each embedded document's declared attributes following its field."""
    out: dict[str, str] = {}
    for name, kind in schema.items():
        out[name] = kind
        out.update(_attributes(name, FieldType(kind)))
    return out


def _attributes(prefix: str, kind: FieldType) -> dict[str, str]:
    """Dotted path -> type of the declared attributes of the documents a field of ``kind`` holds."""
    document = (kind.element or kind).document
    model = codec.document_class(document) if document else None
    if model is None:
        return {}
    out: dict[str, str] = {}
    for name, info in model.model_fields.items():
        found = fields.OBJECT_ID if name == "id" else _annotation_type(info.annotation)
        if found is not None:
            out[f"{prefix}.{name}"] = found
            out.update(_attributes(f"{prefix}.{name}", found))
    return out


def _annotation_type(annotation: Any) -> FieldType | None:
    """The field type of a model attribute's annotation (``float | None`` -> FloatField), else None."""
    if get_origin(annotation) in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        if len(options) != 1:
            return None
        annotation = options[0]
    if get_origin(annotation) is list:
        items = get_args(annotation)
        return FieldType.list_of(_annotation_type(items[0]) if items else None)
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if isinstance(annotation, type) and codec.document_class(annotation.__name__) is annotation:
        return FieldType.embedded(annotation.__name__)
    return None
