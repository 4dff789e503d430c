"""Copying samples between datasets: clone, add_collection and merge_samples.

Each copies in bulk: a clone is one ``$out`` aggregation run by the database; adding
and merging read the source in batches and send each batch's inserts and updates as
one bulk write. Schemas are checked (and new fields declared) before anything is
written, so a conflicting type leaves the target as it was.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from bson import ObjectId

from labellens.dataset.merge_rules import merged
from labellens.dataset.protocols import PipelineSource
from labellens.dataset.record import DatasetRecord
from labellens.dataset.schema import Schema
from labellens.dataset.type_inference import DEFAULT_SCHEMA, check_field_name, widens
from labellens.errors import FieldNotFoundError, SchemaError, ValidationError
from labellens.fields import FieldType
from labellens.ids import new_object_ids
from labellens.stages.base import mongo_path
from labellens.stages.ordering import RAND_FIELD

BATCH = 1000


class MergeOptions(NamedTuple):
    """How ``merge_samples`` combines a source sample with the target sample of the same key."""

    key_field: str = "filepath"
    skip_existing: bool = False
    insert_new: bool = True
    merge_lists: bool = True
    overwrite: bool = True
    expand_schema: bool = True


def user_fields(schema: Mapping[str, str]) -> dict[str, str]:
    """The fields of ``schema`` that are not built in (what a record's ``sample_fields`` holds)."""
    return {name: kind for name, kind in schema.items() if name not in DEFAULT_SCHEMA}


def clone_into(source: PipelineSource, collection_name: str) -> None:
    """Write the samples ``source`` shows into the (new) collection ``collection_name``: one ``$out``."""
    pipeline = [*source._compiled()[0], {"$out": collection_name}]
    for _ in source.dataset._run_pipeline(pipeline):
        pass


def check_schemas(schema: Schema, source_schema: Mapping[str, str], names: Mapping[str, str], *,
                  expand: bool) -> dict[str, str]:
    """The target fields to declare for copying source fields ``names`` (source -> target name);
    SchemaError for a type the target field cannot hold or, unless ``expand``, a new field."""
    target = schema.fresh()
    new: dict[str, str] = {}
    for source_name, name in names.items():
        kind = source_schema[source_name]
        declared = target.get(name)
        if declared is None:
            if not expand:
                raise SchemaError(f"field {name!r} is not in the target dataset; pass expand_schema=True "
                                  "to add it")
            check_field_name(name)
            new[name] = kind
        elif not widens(declared, kind):
            raise SchemaError(f"field {name!r} is {declared} in the target dataset but {kind} in the source; "
                              "rename or omit it (fields=/omit_fields=)")
    return new


def add_collection(record: DatasetRecord, schema: Schema, source: Any, *, new_ids: bool) -> list[str]:
    """Insert every sample of ``source`` (a collection) into ``record``'s samples; their ids."""
    source_schema = source.get_field_schema()
    names = {name: name for name in source_schema}
    new_fields = check_schemas(schema, source_schema, names, expand=True)
    store = record.samples
    if not new_ids:
        for chunk in _chunks(source._ids(), 10_000):
            clash = next(store.aggregate([{"$match": {"_id": {"$in": chunk}}}, {"$limit": 1}]), None)
            if clash is not None:
                raise ValidationError(f"sample {clash['_id']} is already in dataset {record.name!r}; pass "
                                      "new_ids=True to add the samples under new ids")
    schema.declare(new_fields)
    ids: list[str] = []
    for docs in _source_batches(source, []):
        if new_ids:
            for doc, oid in zip(docs, new_object_ids(len(docs))):
                doc["_id"] = oid
        store.insert_many(docs)
        ids += [str(doc["_id"]) for doc in docs]
    return ids


def field_names(source_schema: Mapping[str, str], key_field: str, fields: Any, omit_fields: Any
                ) -> dict[str, str]:
    """Source field -> target field that ``merge_samples`` copies (``fields`` may rename: a dict)."""
    if fields is None:
        names = {name: name for name in source_schema if name != key_field}
    elif isinstance(fields, Mapping):
        names = {str(k): str(v) for k, v in fields.items()}
    else:
        names = {name: name for name in ([fields] if isinstance(fields, str) else fields)}
    for name in [omit_fields] if isinstance(omit_fields, str) else omit_fields or ():
        names.pop(name, None)
    missing = [name for name in names if name not in source_schema]
    if missing:
        raise FieldNotFoundError(f"no field {missing[0]!r} in the source; fields are: "
                                 f"{', '.join(source_schema)}")
    return names


def merge(record: DatasetRecord, schema: Schema, source: Any, names: Mapping[str, str],
          options: MergeOptions) -> None:
    """Merge ``source``'s samples into ``record``'s by ``options.key_field`` (see Dataset.merge_samples)."""
    key = options.key_field
    key_path = mongo_path(key)
    target_schema = schema.fresh()
    for where, fields_of in (("source", source.get_field_schema()), ("target", target_schema)):
        if key != "id" and key not in fields_of:
            raise FieldNotFoundError(f"key_field {key!r} is not a field of the {where} dataset")
    new_fields = check_schemas(schema, source.get_field_schema(), names, expand=options.expand_schema)
    _check_keys(record, source, key_path)
    schema.declare(new_fields)
    store = record.samples
    lists = {name for name, kind in {**target_schema, **new_fields}.items() if FieldType(kind).is_list}
    for docs in _source_batches(source, [key_path, *names]):
        keys = [doc[key_path] for doc in docs]
        projection = dict.fromkeys([key_path, *names.values()], 1)
        matched = {doc[key_path]: doc for doc in store.aggregate(
            [{"$match": {key_path: {"$in": keys}}}, {"$project": projection}])}
        updates, inserts = [], []
        for doc in docs:
            existing = matched.get(doc[key_path])
            if existing is None:
                if options.insert_new:
                    inserts.append(_new_doc(doc, names, key_path))
            elif not options.skip_existing:
                changes = merged(doc, existing, names, lists, merge_lists=options.merge_lists,
                                 overwrite=options.overwrite)
                if changes:
                    updates.append((existing["_id"], changes, ()))
        if inserts:
            store.insert_many(inserts)
        if updates:
            store.update_by_id(updates)


def _check_keys(record: DatasetRecord, source: Any, key_path: str) -> None:
    """ValidationError when a source sample lacks the key or two target samples share one."""
    lacking = next(source.dataset._run_pipeline([*source._compiled()[0], {"$match": {key_path: None}},
                                                 {"$limit": 1}]), None)
    if lacking is not None:
        raise ValidationError(f"source sample {lacking['_id']} has no {key_path!r}; every source sample "
                              "needs the key")
    if key_path == "_id":
        return
    shared = next(record.samples.aggregate([{"$group": {"_id": f"${key_path}", "n": {"$sum": 1}}},
                                            {"$match": {"n": {"$gt": 1}}}, {"$limit": 1}]), None)
    if shared is not None:
        raise ValidationError(f"{shared['n']} samples of dataset {record.name!r} share the key "
                              f"{shared['_id']!r}; merge_samples needs a key_field whose values are "
                              "unique in the target")


def _source_batches(source: Any, paths: Sequence[str]) -> Iterator[list[dict[str, Any]]]:
    """The stored documents ``source`` shows, in batches (only ``paths`` when given)."""
    suffix = [{"$project": dict.fromkeys(paths, 1)}] if paths else []
    return source.dataset._run_batches([*source._compiled()[0], *suffix], batch_size=BATCH)


def _new_doc(doc: dict[str, Any], names: Mapping[str, str], key_path: str) -> dict[str, Any]:
    """A source document as a new target sample: the copied fields, the key, a filepath and tags."""
    new = {target: doc[name] for name, target in names.items() if doc.get(name) is not None}
    new.setdefault(key_path, doc[key_path])
    new.setdefault("tags", [])
    if "filepath" not in new:
        raise ValidationError("merge_samples inserts new samples with a filepath: keep 'filepath' in fields, "
                              "or pass insert_new=False")
    if key_path != "_id":
        new["_id"] = ObjectId()
    new[RAND_FIELD] = random.random()
    return new


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])
