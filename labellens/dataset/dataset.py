"""Datasets: a named MongoDB collection of samples with a catalog record.

The record (see :mod:`labellens.dataset.catalog`) keeps the field schema, classes,
info, saved views and brain runs, so a persistent dataset is loadable from any
process with everything it had.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from bson import ObjectId
from pymongo.collection import Collection

from labellens.background import BackgroundWriter
from labellens.dataset import catalog, codec, exporters, importers
from labellens.dataset.collection import SampleCollection, _object_id
from labellens.dataset.printing import summary
from labellens.dataset.records import RecordsMixin
from labellens.dataset.sample import Sample
from labellens.dataset.schema import DEFAULT_SCHEMA, check_field_name, check_value
from labellens.dataset.view import View
from labellens.db import ops
from labellens.errors import (
    DatabaseUnavailableError,
    FieldNotFoundError,
    SchemaError,
    StageError,
    ValidationError,
)
from labellens.stages import Stage
from labellens.stages.ordering import RAND_FIELD
from labellens.types import DatasetType, ImageClassificationDirectoryTree

INSERT_BATCH = 2000


class Dataset(RecordsMixin, SampleCollection):
    """A named, optionally persistent collection of samples.

    ``Dataset()`` makes a new dataset (a generated name when ``name`` is None); an
    existing name raises DatasetExistsError unless ``overwrite=True``.
    """

    def __init__(self, name: str | None = None, persistent: bool = False,
                 overwrite: bool = False) -> None:
        if name is None:
            name = dt.datetime.now().strftime("%Y.%m.%d.%H.%M.%S.") + str(ObjectId())[-6:]
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"a dataset name must be a non-empty string, got {name!r}")
        if not isinstance(persistent, bool):
            raise ValidationError(f"persistent must be True or False, got {persistent!r}")
        if overwrite and catalog.exists(name):
            catalog.delete(name)
        self._record = catalog.create_record(name, persistent)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Dataset:
        """A Dataset object for an existing catalog record (see :func:`load_dataset`)."""
        dataset = cls.__new__(cls)
        dataset._record = record
        return dataset

    @classmethod
    def from_dir(cls, dataset_dir: str | os.PathLike[str],
                 dataset_type: type[DatasetType] | DatasetType = ImageClassificationDirectoryTree,
                 name: str | None = None, label_field: str = "ground_truth",
                 tags: str | Sequence[str] | None = None, persistent: bool = False,
                 overwrite: bool = False) -> Dataset:
        """A new dataset from images on disk (``<root>/<class>/<image>`` by default)."""
        dataset = cls(name, persistent=persistent, overwrite=overwrite)
        try:
            importers.import_directory(dataset, dataset_dir, dataset_type, label_field, tags)
        except BaseException:
            dataset.delete()
            raise
        return dataset

    def import_labels(self, path: str | os.PathLike[str], label_field: str = "ground_truth",
                      tag: str | None = "reviewed") -> exporters.ImportSummary:
        """Read reviewed labels (from ``export``) back by sample id and tag the samples that changed."""
        return exporters.import_labels(self, path, label_field=label_field, tag=tag)

    # -- identity and settings ---------------------------------------------------------

    @property
    def dataset(self) -> Dataset:
        return self

    @property
    def stages(self) -> tuple[Stage, ...]:
        return ()

    @property
    def name(self) -> str:
        return self._record["name"]

    @property
    def collection_name(self) -> str:
        """The MongoDB collection that holds the samples."""
        return self._record["sample_collection_name"]

    @property
    def created_at(self) -> dt.datetime:
        return self._record["created_at"]

    @property
    def persistent(self) -> bool:
        return self._record["persistent"]

    @persistent.setter
    def persistent(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise ValidationError(f"persistent must be True or False, got {value!r}")
        self._update({"$set": {"persistent": value, "owner": catalog.owner_token()}})
        self._record["persistent"] = value
        (catalog.forget_owned if value else catalog.remember_owned)(self.name)

    @property
    def default_classes(self) -> list[str]:
        return list(self._record.get("default_classes", []))

    @default_classes.setter
    def default_classes(self, classes: Sequence[str]) -> None:
        classes = list(classes)
        if not all(isinstance(c, str) for c in classes):
            raise ValidationError(f"default_classes must be a list of strings, got {classes!r}")
        self._update({"$set": {"default_classes": classes}})
        self._record["default_classes"] = classes

    @property
    def info(self) -> dict[str, Any]:
        """A free-form dict about the dataset; call ``save()`` to store changes."""
        return self._record.setdefault("info", {})

    @info.setter
    def info(self, value: dict[str, Any]) -> None:
        if not isinstance(value, dict):
            raise ValidationError(f"info must be a dict, got {type(value).__name__}")
        self._record["info"] = value

    def save(self) -> None:
        """Store ``info``."""
        self._update({"$set": {"info": self.info}})

    def reload(self) -> None:
        """Read the record again (classes, info, schema written by other processes)."""
        self._record = catalog.reload_record(self._record["_id"], self.name)

    def _update(self, update: dict[str, Any], condition: dict[str, Any] | None = None) -> bool:
        return catalog.update_record(self._record["_id"], self.name, update, condition)

    # -- database access ----------------------------------------------------------------

    def sample_collection(self) -> Collection:
        return catalog.sample_collection(self._record)

    def make_view(self, stages: tuple[Stage, ...]) -> View:
        return View(self, stages)

    def aggregate(self, pipeline: list[dict[str, Any]], batch_size: int | None = None
                  ) -> Iterator[dict[str, Any]]:
        """Run a pipeline on the samples, streaming the results.

        A pipeline the server rejects raises StageError; a dataset that another
        process deletes meanwhile raises DatasetNotFoundError (not a driver error).
        """
        options: dict[str, Any] = {"allowDiskUse": True}
        if batch_size:
            options["batchSize"] = batch_size
        try:
            with ops.translate_errors():
                cursor = self.sample_collection().aggregate(pipeline, **options)
                first = next(cursor, None)
                if first is None:
                    # Views compile against the record as last read; an empty result
                    # is when to check that the dataset was not deleted meanwhile.
                    self.reload()
                    return
                yield first
                count = 1
                for doc in cursor:
                    yield doc
                    count += 1
                    if batch_size and count % batch_size == 0:
                        # Some servers keep serving a dropped collection's cursor: check the record.
                        self.reload()
        except ops.OperationFailure as exc:
            self.reload()
            detail = str((exc.details or {}).get("errmsg") or exc).splitlines()[0][:300]
            raise StageError(f"the database rejected this view ({detail}); change the view or its "
                             "filters") from None

    def _count_samples(self) -> int:
        with ops.translate_errors():
            return self.sample_collection().count_documents({})

    def explain_pipeline(self, pipeline: list[dict[str, Any]]) -> dict[str, Any]:
        return ops.explain_aggregate(self.sample_collection(), pipeline)

    # -- schema -----------------------------------------------------------------------------

    def stored_schema(self, fresh: bool = True) -> dict[str, str]:
        """Field name -> type of the dataset (read fresh, since other processes may add fields,
        unless ``fresh=False``: then the copy held since the last read)."""
        if fresh:
            self.reload()
        return {**DEFAULT_SCHEMA, **self._record.get("sample_fields", {})}

    def check_path(self, path: str, schema: dict[str, str]) -> None:
        if not isinstance(path, str) or not path:
            raise FieldNotFoundError(f"a field path must be a non-empty string, got {path!r}")
        top = path.split(".", 1)[0]
        if top != "id" and top not in schema:
            raise FieldNotFoundError(f"no field {top!r} in {self._describe()}; fields are: "
                                     f"{', '.join(['id', *schema])}")

    def declare_fields(self, types: dict[str, str]) -> None:
        """Add new fields to the schema; a field declared meanwhile with another type fails."""
        for name, kind in types.items():
            if not self._update({"$set": {f"sample_fields.{name}": kind}},
                                {f"sample_fields.{name}": {"$exists": False}}):
                self.reload()
                declared = self.stored_schema().get(name)
                if declared is not None and declared != kind and not (
                        declared == "FloatField" and kind == "IntField"):
                    raise SchemaError(f"field {name!r} was declared {declared} by another writer, "
                                      f"not {kind}")
        self.reload()

    def _typed(self, name: str, values: Iterable[Any], schema: dict[str, str]) -> str | None:
        """Check values against field ``name``; return the type to declare if it is new.

        A value's type depends only on its Python type, except for lists, so each
        Python type is checked once (the hot path of bulk writes).
        """
        declared = schema.get(name)
        new_type = None
        seen: set[type] = set()
        for value in values:
            kind_of_value = type(value)
            if kind_of_value in seen:
                continue
            if kind_of_value is not list:
                seen.add(kind_of_value)
            kind = check_value(name, declared or new_type, value)
            new_type = new_type or kind
        return None if declared else new_type

    def check_values(self, path: str, values: list[Any]) -> None:
        """Validate values for ``path``, declaring a new top-level field (nothing else is written)."""
        top, _, rest = path.partition(".")
        schema = self.stored_schema()
        if not rest:
            if top not in DEFAULT_SCHEMA:
                check_field_name(top)
            new_type = self._typed(top, values, schema)
            if new_type:
                self.declare_fields({top: new_type})
        elif top not in schema:
            raise FieldNotFoundError(f"cannot set {path!r}: no field {top!r} in {self._describe()}")

    # -- samples ------------------------------------------------------------------------

    def add_sample(self, sample: Sample) -> str:
        """Add one sample; returns its id."""
        return self.add_samples([sample])[0]

    def add_samples(self, samples: Iterable[Sample], batch_size: int = INSERT_BATCH) -> list[str]:
        """Add samples in batches (a generator is streamed, never held whole); returns their ids.

        Each batch is validated before it is written; if a later batch fails, the
        samples this call already inserted are removed again. If they cannot be
        removed (the server is unreachable), the error says how many may remain.
        """
        ids: list[ObjectId] = []
        batch: list[Sample] = []
        try:
            with ops.background_writer(self.sample_collection()) as writer:
                for sample in samples:
                    if not isinstance(sample, Sample):
                        raise ValidationError(
                            f"add_samples takes Sample objects, got {type(sample).__name__}")
                    batch.append(sample)
                    if len(batch) >= batch_size:
                        ids += self._insert(batch, writer)
                        batch = []
                if batch:
                    ids += self._insert(batch, writer)
        except BaseException as exc:
            if ids:
                self._roll_back(ids, exc)
            raise
        return [str(i) for i in ids]

    def _roll_back(self, ids: list[ObjectId], exc: BaseException) -> None:
        """Remove what a failed add_samples wrote; if the server is gone, say how much may remain."""
        try:
            self._delete_ids(ids)
        except DatabaseUnavailableError as failure:
            raise DatabaseUnavailableError(
                f"add_samples stopped after writing up to {len(ids)} samples and could not remove them "
                f"again: {failure}. Once the server is back, add the rest without duplicates: "
                "stored = set(dataset.values('filepath')); "
                "dataset.add_samples(s for s in samples if s.filepath not in stored)") from exc
        if isinstance(exc, DatabaseUnavailableError):
            raise DatabaseUnavailableError(
                f"{exc}. add_samples wrote nothing: the up to {len(ids)} samples it had written were "
                "removed again, so re-running the same call is safe") from None

    def _insert(self, samples: list[Sample], writer: BackgroundWriter) -> list[ObjectId]:
        """Validate and encode one batch, declare its new fields, and queue its insert."""
        schema = self.stored_schema()
        with codec.gc_paused():
            encoded = [s.to_mongo() for s in samples]
        names = dict.fromkeys(name for doc in encoded for name in doc)
        new_types: dict[str, str] = {}
        for name in names:
            kind = self._typed(name, (s.get(name) for s in samples if name in s), schema)
            if kind:
                new_types[name] = kind
        if new_types:
            self.declare_fields(new_types)
        ids = []
        with codec.gc_paused():
            for sample, doc in zip(samples, encoded):
                # The inserted dict doubles as the sample's stored snapshot ("_" keys are internal).
                doc["_id"] = sample_id = ObjectId()
                doc[RAND_FIELD] = random.random()
                sample.bind(self, sample_id, doc)
                ids.append(sample_id)
        writer.submit(ops.insert_many, self.sample_collection(), encoded)
        return ids

    def save_samples(self, samples: Sequence[Sample]) -> None:
        """Write the changed fields of samples of this dataset in one bulk write."""
        schema = self.stored_schema()
        changes = [(s, *s.changes()) for s in samples]
        new_types: dict[str, str] = {}
        for sample, to_set, _ in changes:
            for name in to_set:
                kind = self._typed(name, [sample.get(name)], {**schema, **new_types})
                if kind:
                    new_types[name] = kind
        if new_types:
            self.declare_fields(new_types)
        updates = [(s._id, to_set, to_unset) for s, to_set, to_unset in changes if to_set or to_unset]
        ops.update_many_by_id(self.sample_collection(), updates)  # type: ignore[arg-type]
        for sample, to_set, to_unset in changes:
            sample.mark_saved(to_set, to_unset)

    def update_tags(self, ids: Sequence[str], tags: list[str], add: bool) -> None:
        """Add (or remove) tags on the given samples, in batches."""
        oids = [_object_id(i) for i in ids]
        operator = {"$addToSet": {"tags": {"$each": tags}}} if add else {"$pullAll": {"tags": tags}}
        ops.update_many_matching(self.sample_collection(), oids, operator)

    def delete_samples(self, samples_or_ids: Any) -> None:
        """Delete samples given as ids, Sample objects or a view."""
        if isinstance(samples_or_ids, SampleCollection):
            ids = samples_or_ids.values("id")
        else:
            items = [samples_or_ids] if isinstance(samples_or_ids, (str, Sample)) else samples_or_ids
            ids = [s.id if isinstance(s, Sample) else s for s in items]
        self._delete_ids([_object_id(i) for i in ids])

    def _delete_ids(self, ids: list[ObjectId]) -> None:
        ops.delete_by_ids(self.sample_collection(), ids)

    def clear(self) -> None:
        """Delete every sample (the dataset, its schema and settings stay)."""
        ops.delete_all(self.sample_collection())

    def delete(self) -> None:
        """Delete the dataset and its samples."""
        catalog.delete(self.name)

    @property
    def deleted(self) -> bool:
        return not catalog.exists(self.name)

    def __repr__(self) -> str:
        return summary(self, persistent=self.persistent)

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dataset) and other._record["_id"] == self._record["_id"]

    __hash__ = None  # type: ignore[assignment]


def load_dataset(name: str) -> Dataset:
    """Open an existing dataset by name (DatasetNotFoundError lists the names that exist)."""
    return Dataset.from_record(catalog.find_record(name))


def list_datasets(glob: str | None = None) -> list[str]:
    """Names of the datasets in the database, sorted (optionally matching a glob pattern)."""
    return catalog.list_names(glob)


def dataset_exists(name: str) -> bool:
    return catalog.exists(name)


def delete_dataset(name: str) -> None:
    """Delete a dataset and its samples."""
    catalog.delete(name)
