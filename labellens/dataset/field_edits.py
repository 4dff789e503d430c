"""Bulk edits of one field or of labels across a dataset or a view's samples: clone_sample_field,
clear_sample_field (of a view), delete_labels, tag_labels / untag_labels, set_label_values.

Each is one update (or one per label field) run by the database on every sample
it concerns; arguments are checked first, so bad input writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from bson import ObjectId

from labellens import codec
from labellens.dataset import live
from labellens.dataset.record import DatasetRecord
from labellens.dataset.schema import Schema
from labellens.dataset.type_inference import check_field_name
from labellens.db.stores import SampleStore
from labellens.errors import FieldNotFoundError, InvalidFieldNameError, ValidationError
from labellens.fields import CLASSIFICATIONS, OBJECT_ID
from labellens.label_types import label_fields, list_path
from labellens.stages.label_selection import SelectLabels, named_label_fields
from labellens.validation import string_list


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


def clone_field_of(record: DatasetRecord, schema: Schema, name: str, new_name: str,
                   oids: Sequence[ObjectId]) -> None:
    """As :func:`clone_field` on the samples ``oids`` only (a view's). An attribute of a single-label
    field (``gt.score``) is copied into another attribute of it (``gt.score2``)."""
    fields = schema.fresh()
    top = name.split(".", 1)[0]
    if top not in fields:
        raise FieldNotFoundError(f"no field {top!r}; fields are: {', '.join(fields)}")
    if "." in name or "." in new_name:
        if new_name.split(".", 1)[0] != top or "." not in name or list_path(fields[top]) is not None:
            raise ValidationError(f"cannot clone {name!r} into {new_name!r}: an embedded field is cloned "
                                  "into another attribute of the same single-label field, e.g. gt.a -> gt.b")
        check_field_name(new_name.rsplit(".", 1)[1])
    else:
        check_field_name(new_name)
        if new_name in fields:
            raise InvalidFieldNameError(f"field {new_name!r} already exists")
        schema.declare({new_name: fields[name]})
    _update_some(record.samples, oids, {name: {"$exists": True}}, [{"$set": {new_name: f"${name}"}}])


def clear_field_of(record: DatasetRecord, schema: Schema, name: str, oids: Sequence[ObjectId]) -> None:
    """Clear ``name`` (a field: unset; an embedded path: None) on the samples ``oids`` only (a view's)."""
    fields = schema.fresh()
    top = name.split(".", 1)[0]
    if top in ("filepath", "id", "_id"):
        raise InvalidFieldNameError(f"cannot clear the built-in field {top!r}")
    if top not in fields:
        raise FieldNotFoundError(f"no field {top!r}; fields are: {', '.join(fields)}")
    if "." in name:  # the attribute stays, as None (a label keeps its attributes); no document is made
        _update_some(record.samples, oids, {top: {"$type": "object"}}, {"$set": {name: None}})
    else:
        _update_some(record.samples, oids, {}, {"$unset": {name: ""}})


def _update_some(store: SampleStore, oids: Sequence[ObjectId], query: dict[str, Any], update: Any,
                 batch: int = 10_000) -> None:
    """One update on the samples ``oids`` matching ``query``, in batches of ids; their in-memory
    objects are refreshed."""
    for start in range(0, len(oids), batch):
        store.update_all({"_id": {"$in": list(oids[start:start + batch])}, **query}, update)
    live.refresh(store, oids)


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


def retag_labels(store: SampleStore, view: Any, label_fields: Mapping[str, str], tags: list[str], *,
                 add: bool) -> None:
    """Add (or remove) ``tags`` on the labels ``view`` shows in ``label_fields`` (name -> type):
    one pipeline update per field, on the samples holding those labels."""
    for name, kind in label_fields.items():
        oids = [ObjectId(i) for i in _label_ids(view, {name: kind})]
        if not oids:
            continue
        if kind == CLASSIFICATIONS:
            path = f"{name}.classifications"
            # The label rebuilt key by key with its new tags (every stored label has ``tags``;
            # mongomock has no $mergeObjects here).
            entry = {"$cond": [{"$eq": ["$$entry.k", "tags"]},
                               {"k": "tags", "v": _retagged("$$label.tags", tags, add)}, "$$entry"]}
            retagged = {"$arrayToObject": {"$map": {"input": {"$objectToArray": "$$label"}, "as": "entry",
                                                    "in": entry}}}
            labels = {"$map": {"input": f"${path}", "as": "label",
                               "in": {"$cond": [{"$in": ["$$label._id", oids]}, retagged, "$$label"]}}}
            store.update_all({f"{path}._id": {"$in": oids}}, [{"$set": {path: labels}}])
        else:
            store.update_all({f"{name}._id": {"$in": oids}},
                             [{"$set": {f"{name}.tags": _retagged(f"${name}.tags", tags, add)}}])


def _retagged(current: str, tags: list[str], add: bool) -> dict[str, Any]:
    """The tags at ``current`` with ``tags`` appended (those missing) or removed, order kept."""
    held = {"$ifNull": [current, []]}
    if add:
        missing = {"$filter": {"input": {"$literal": tags}, "as": "tag",
                               "cond": {"$eq": [{"$in": ["$$tag", held]}, False]}}}
        return {"$concatArrays": [held, missing]}
    kept = {"$eq": [{"$in": ["$$tag", {"$literal": tags}]}, False]}
    return {"$filter": {"input": held, "as": "tag", "cond": kept}}


def label_value_updates(store: SampleStore, schema: Mapping[str, str], path: str, values: Mapping[Any, Any]
                        ) -> list[tuple[ObjectId, dict[str, Any], list[str]]]:
    """The stored updates that set attribute ``path`` (``gt.attr``, ``preds.classifications.attr``)
    of each label ``values`` names by id to its value: one read of the samples holding them
    (a label list is rewritten whole). Everything is checked before anything is returned."""
    top, _, rest = path.partition(".")
    kind = schema.get(top)
    if kind is None or top not in label_fields({top: kind}):
        raise ValidationError(f"set_label_values needs a label field path such as 'gt.attr', got {path!r}; "
                              f"label fields are: {', '.join(label_fields(schema))}")
    key = list_path(kind)
    attr = rest[len(key) + 1:] if key is not None and rest.startswith(f"{key}.") else rest
    if key is not None and attr == rest or not attr or "." in attr or attr in ("id", "_id", "_cls"):
        shape = f"{top}.{key}.ATTR" if key is not None else f"{top}.ATTR"
        raise ValidationError(f"set_label_values sets one attribute of each label: {shape}, got {path!r}")
    check_field_name(attr)
    try:
        by_id = {ObjectId(str(i)): codec.encode(v) for i, v in values.items()}
    except Exception as exc:  # bad ids (bson.InvalidId, TypeError) and values (SchemaError)
        raise ValidationError(f"set_label_values takes {{label id: storable value}}: {exc}") from None
    listed = f"{top}.{key}" if key is not None else top
    found = store.batches([{"$match": {f"{listed}._id": {"$in": list(by_id)}}}, {"$project": {top: 1}}])
    updates: list[tuple[ObjectId, dict[str, Any], list[str]]] = []
    for doc in (d for docs in found for d in docs):
        if key is None:
            updates.append((doc["_id"], {f"{top}.{attr}": by_id[doc[top]["_id"]]}, []))
        else:
            labels = [{**label, attr: by_id[label["_id"]]} if label.get("_id") in by_id else label
                      for label in doc[top][key]]
            updates.append((doc["_id"], {listed: labels}, []))
    return updates


def _label_ids(view: Any, label_fields: Mapping[str, str]) -> Iterator[str]:
    """The ids of the labels ``view`` shows in ``label_fields`` (name -> type; one column read each)."""
    for name, kind in label_fields.items():
        listed = kind == CLASSIFICATIONS
        for value in view.values(f"{name}.classifications.id" if listed else f"{name}.id"):
            if isinstance(value, list):
                yield from (i for i in value if i is not None)
            elif value is not None:
                yield value


class LabelEdits:
    """The label-editing methods of collections (mixed into SampleCollection): they edit the
    labels a collection shows, or those named by id, in bulk."""

    dataset: Any  # what SampleCollection provides
    get_field_schema: Any

    def tag_labels(self, tags: str | Iterable[str], label_fields: str | Sequence[str] | None = None
                   ) -> None:
        """Add ``tags`` to every label this collection shows, in ``label_fields`` (all by default)."""
        self._retag_labels(tags, label_fields, add=True)

    def untag_labels(self, tags: str | Iterable[str], label_fields: str | Sequence[str] | None = None
                     ) -> None:
        """Remove ``tags`` from every label this collection shows, in ``label_fields`` (all by default)."""
        self._retag_labels(tags, label_fields, add=False)

    def _retag_labels(self, tags: str | Iterable[str], label_fields: str | Sequence[str] | None, *,
                      add: bool) -> None:
        shown = self.get_field_schema()
        named = None if label_fields is None else string_list(label_fields, "label_fields")
        fields = {name: shown[name] for name in named_label_fields(named, shown)}
        store = self.dataset._record.samples  # type: ignore[attr-defined]
        retag_labels(store, self, fields, string_list(tags, "tags"), add=add)
        live.refresh(store)

    def set_label_values(self, path: str, values: Mapping[Any, Any]) -> None:
        """Set attribute ``path`` (``gt.attr`` or ``preds.classifications.attr``) of the labels
        ``values`` names, ``{label id: value}``, wherever they are in the dataset (bulk)."""
        if not isinstance(values, Mapping):
            raise ValidationError("set_label_values takes a {label id: value} dict, "
                                  f"got {type(values).__name__}")
        store = self.dataset._record.samples  # type: ignore[attr-defined]
        updates = label_value_updates(store, self.dataset._stored_schema(True), path, values)
        if updates:
            self.dataset._writer.write_stored(updates)  # type: ignore[attr-defined]
