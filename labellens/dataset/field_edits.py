"""Bulk edits of one field or of labels across a dataset: clone_sample_field, delete_labels.

Each is one update (or one per label field) run by the database on every sample
it concerns; arguments are checked first, so bad input writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bson import ObjectId

from labellens.dataset.record import DatasetRecord
from labellens.dataset.schema import Schema
from labellens.dataset.type_inference import check_field_name
from labellens.db.stores import SampleStore
from labellens.errors import FieldNotFoundError, InvalidFieldNameError
from labellens.fields import CLASSIFICATIONS, OBJECT_ID
from labellens.stages.label_selection import SelectLabels


def clone_field(record: DatasetRecord, schema: Schema, name: str, new_name: str) -> None:
    """Declare ``new_name`` with ``name``'s type, then copy the values in one pipeline update
    (``"id"`` copies the sample ids into an ObjectIdField)."""
    fields = {**schema.fresh(), "id": OBJECT_ID}
    if name not in fields:
        raise FieldNotFoundError(f"no field {name!r}; fields are: {', '.join(fields)}")
    check_field_name(new_name)
    if new_name in fields:
        raise InvalidFieldNameError(f"field {new_name!r} already exists")
    schema.declare({new_name: fields[name]})
    stored = "_id" if name == "id" else name
    record.samples.update_all({stored: {"$exists": True}}, [{"$set": {new_name: f"${stored}"}}])


def delete_labels(store: SampleStore, schema: Mapping[str, str], chosen: SelectLabels, view: Any) -> None:
    """Remove the labels ``chosen`` names (or, with ``view``, those the view shows in its label fields)."""
    names, label_ids = chosen.label_fields(schema), chosen.ids
    if view is not None:
        shown = view.get_field_schema()
        names = [name for name in names if name in shown]
        label_ids = tuple(_label_ids(view, {name: schema[name] for name in names}))
    oids = None if label_ids is None else [ObjectId(i) for i in label_ids]
    for name in names:
        query: dict[str, Any] = {} if oids is None else {"_id": {"$in": oids}}
        if chosen.tags is not None:
            query["tags"] = {"$in": list(chosen.tags)}
        if schema[name] == CLASSIFICATIONS and query:
            store.update_all({}, {"$pull": {f"{name}.classifications": query}})
        else:
            store.update_all({f"{name}.{key}": value for key, value in query.items()}, {"$unset": {name: ""}})


def _label_ids(view: Any, label_fields: Mapping[str, str]) -> Iterator[str]:
    """The ids of the labels ``view`` shows in ``label_fields`` (name -> type; one column read each)."""
    for name, kind in label_fields.items():
        listed = kind == CLASSIFICATIONS
        for value in view.values(f"{name}.classifications.id" if listed else f"{name}.id"):
            if isinstance(value, list):
                yield from (i for i in value if i is not None)
            elif value is not None:
                yield value
