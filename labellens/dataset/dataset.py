"""Datasets: a named MongoDB collection of samples with a catalog record.

``Dataset`` is a thin façade over three parts, each in its own module: the
catalog record (:class:`~labellens.dataset.record.DatasetRecord`: settings,
schema, saved views, runs), the schema checks
(:class:`~labellens.dataset.schema.Schema`) and the sample writer
(:class:`~labellens.dataset.writer.SampleWriter`), all bound once to the
dataset's database store. A persistent dataset is loadable from any process
with everything it had.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

from bson import ObjectId

from labellens.dataset import (
    catalog,
    deletion,
    exporters,
    field_edits,
    history,
    importers,
    live,
    merging,
    serialize,
)
from labellens.dataset.collection import SampleCollection, _object_id
from labellens.dataset.printing import summary
from labellens.dataset.record import BRAIN, DatasetRecord
from labellens.dataset.sample import Sample
from labellens.dataset.schema import Schema
from labellens.dataset.type_inference import DEFAULT_SCHEMA, check_field_name, declared_type
from labellens.dataset.view import View
from labellens.dataset.writer import INSERT_BATCH, SampleWriter
from labellens.errors import (
    FieldNotFoundError,
    InvalidFieldNameError,
    StageError,
    ValidationError,
)
from labellens.stages import SelectLabels, Stage, stages_from_json
from labellens.stages.base import mongo_path
from labellens.stages.label_selection import label_refs
from labellens.stages.ordering import RAND_FIELD
from labellens.types import DatasetType, ImageClassificationDirectoryTree
from labellens.validation import string_list


class Dataset(SampleCollection):
    """A named, optionally persistent collection of samples.

    ``Dataset()`` makes a new dataset (a generated name when ``name`` is None); an
    existing name raises DatasetExistsError unless ``overwrite=True``. Names use letters,
    digits, space, ``_``, ``.`` and ``-``, up to 100 characters (:func:`catalog.check_name`).
    """

    def __init__(self, name: str | None = None, persistent: bool = False,
                 overwrite: bool = False) -> None:
        if name is None:
            name = dt.datetime.now().strftime("%Y.%m.%d.%H.%M.%S.") + str(ObjectId())[-6:]
        catalog.check_name(name)
        if not isinstance(persistent, bool):
            raise ValidationError(f"persistent must be True or False, got {persistent!r}")
        store = catalog.store()
        if overwrite and store.exists({"name": name}):
            deletion.delete(store, name)
        self._bind(DatasetRecord(store, catalog.create_record(store, name, persistent)))

    def _bind(self, record: DatasetRecord) -> None:
        deletion.track(record.id, self)
        self._record = record
        self._classes: list[str] | None = None  # default_classes as handed out, stored by save()
        self._tags: list[str] | None = None  # tags as handed out, stored by save()
        self._schema = Schema(record)
        self._writer = SampleWriter(record.samples, self._schema, f"dataset {record.name!r}")

    @classmethod
    def _from_record(cls, record: DatasetRecord) -> Dataset:
        """A Dataset object for an existing catalog record (see :func:`load_dataset`)."""
        dataset = cls.__new__(cls)
        dataset._bind(record)
        return dataset

    @classmethod
    def from_dir(cls, dataset_dir: str | os.PathLike[str],
                 dataset_type: type[DatasetType] | DatasetType = ImageClassificationDirectoryTree,
                 name: str | None = None, *, label_field: str = "ground_truth",
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

    def import_labels(self, path: str | os.PathLike[str], label_field: str = "ground_truth", *,
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
        return self._record.name

    @property
    def collection_name(self) -> str:
        """The MongoDB collection that holds the samples."""
        return self._record.samples.collection_name

    @property
    def created_at(self) -> dt.datetime:
        return self._record.data["created_at"]

    @property
    def persistent(self) -> bool:
        return self._record.data["persistent"]

    @persistent.setter
    def persistent(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise ValidationError(f"persistent must be True or False, got {value!r}")
        self._record.update({"$set": {"persistent": value, "owner": catalog.owner_token()}})
        if value:
            catalog.forget_owned(self.name)
        else:
            catalog.remember_owned(self._record.catalog, self.name)

    @property
    def default_classes(self) -> list[str]:
        """The class names (logits have one value per class). The list is live: change it in place,
        then ``save()`` validates and stores it; assigning a list stores it at once."""
        if self._classes is None:
            self._classes = list(self._record.data.get("default_classes", []))
        return self._classes

    @default_classes.setter
    def default_classes(self, classes: Sequence[str] | None) -> None:
        names = string_list(classes, "default_classes", what="class name", single=False, empty=True)
        self._record.update({"$set": {"default_classes": names}})
        self._classes = list(names)

    @property
    def tags(self) -> list[str]:
        """Tags of the dataset itself (not of its samples). The list is live: change it in place,
        then ``save()`` stores it; assigning a list stores it at once."""
        if self._tags is None:
            self._tags = list(self._record.data.get("tags", []))
        return self._tags

    @tags.setter
    def tags(self, tags: Sequence[str] | None) -> None:
        names = string_list(tags, "tags", what="tag", single=False, empty=True)
        self._record.update({"$set": {"tags": names}})
        self._tags = list(names)

    @property
    def description(self) -> str | None:
        """A free-text description of the dataset (None until set); assigning stores it at once."""
        return self._record.data.get("description")

    @description.setter
    def description(self, text: str | None) -> None:
        if text is not None and not isinstance(text, str):
            raise ValidationError(f"description must be a string or None, got {type(text).__name__}")
        self._record.update({"$set": {"description": text}})

    @property
    def info(self) -> dict[str, Any]:
        """A free-form dict about the dataset; call ``save()`` to store changes."""
        return self._record.data.setdefault("info", {})

    @info.setter
    def info(self, value: dict[str, Any]) -> None:
        if not isinstance(value, dict):
            raise ValidationError(f"info must be a dict, got {type(value).__name__}")
        self._record.data["info"] = value

    def save(self) -> None:
        """Store ``info``, ``tags`` and ``default_classes`` as changed in place (validated first)."""
        update: dict[str, Any] = {"info": self.info}
        if self._tags is not None and self._tags != self._record.data.get("tags", []):
            update["tags"] = string_list(self._tags, "tags", what="tag", single=False, empty=True)
        if self._classes is not None and self._classes != self._record.data.get("default_classes", []):
            try:
                update["default_classes"] = string_list(self._classes, "default_classes", what="class name",
                                                        single=False, empty=True)
            except ValidationError:
                self._classes = None  # refused: the classes read back as stored, as FiftyOne reloads
                raise
        self._record.update({"$set": update})

    def reload(self) -> None:
        """Read the record again (classes, info, schema written by other processes) and the
        in-memory samples (dropping their unsaved changes: their fields are re-read)."""
        self._record.reload()
        self._classes = None
        self._tags = None
        live.refresh(self._record.samples)

    # -- reading (used by views and aggregations of this dataset) --------------------------

    def _run_pipeline(self, pipeline: list[dict[str, Any]], batch_size: int | None = None, *,
                      timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Run a pipeline on the samples, streaming the results (see :meth:`_run_batches`)."""
        return itertools.chain.from_iterable(self._run_batches(pipeline, batch_size, timeout=timeout))

    def _run_batches(self, pipeline: list[dict[str, Any]], batch_size: int | None = None, *,
                     timeout: float | None = None) -> Iterator[list[dict[str, Any]]]:
        """Run a pipeline on the samples, streaming the results in lists of ``batch_size``.

        A pipeline the server rejects raises StageError, one running past ``timeout``
        seconds QueryTimeoutError; a dataset that another process deletes meanwhile
        raises DatasetNotFoundError (not a driver error): checked when a result is empty
        and when the server refuses (mongod kills the cursors of a dropped collection, so
        a read cut short lands here).
        """
        batches = self._record.samples.batches(pipeline, batch_size=batch_size, timeout=timeout)
        return self._checked_batches(batches)

    def _checked_batches(self, batches: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        try:
            first = next(batches, None)
            if first is None:
                self._record.reload()
                return
            yield first
            yield from batches
        except StageError:
            self._record.reload()
            raise

    def _count_samples(self, *, timeout: float | None = None) -> int:
        count = self._record.samples.count(timeout=timeout)
        if not count:
            self._record.reload()  # DatasetNotFoundError if another process deleted the dataset
        return count

    def add_stage(self, stage: Stage) -> View:
        """A view of this dataset with one stage (validated against the schema now)."""
        return View(self, (stage,))

    def _explain_pipeline(self, pipeline: list[dict[str, Any]]) -> dict[str, Any]:
        return self._record.samples.explain(pipeline)

    # -- schema -----------------------------------------------------------------------------

    def _stored_schema(self, fresh: bool = True) -> dict[str, str]:
        """Field name -> type (re-read when another process changed it, unless ``fresh=False``)."""
        return self._schema.fresh() if fresh else self._record.schema()

    def _check_path(self, path: str, schema: dict[str, str]) -> None:
        self._schema.check_path(path, schema, self._describe)

    # -- samples ------------------------------------------------------------------------

    def add_sample(self, sample: Sample, *, dynamic: bool = True) -> str:
        """Add one sample; returns its id."""
        return self.add_samples([sample], dynamic=dynamic)[0]

    def add_samples(self, samples: Iterable[Sample], batch_size: int = INSERT_BATCH, *,
                    dynamic: bool = True) -> list[str]:
        """Add samples in batches (a generator is streamed, never held whole); returns their ids.

        ``dynamic`` is accepted for FiftyOne code and changes nothing: labellens always
        declares new fields and label attributes from the values it is given.

        Each batch is validated before it is written; if a later batch fails, the
        samples this call already inserted are removed again. If they cannot be
        removed (the server is unreachable), the error says how many may remain.
        """
        return [str(i) for i in self._writer.add(self, samples, batch_size)]

    def save_samples(self, samples: Sequence[Sample]) -> None:
        """Write the changed fields of samples of this dataset in one bulk write."""
        self._writer.save(samples)

    def delete_samples(self, samples_or_ids: Any) -> None:
        """Delete samples given as ids, Sample objects or a view."""
        if isinstance(samples_or_ids, SampleCollection):
            ids = samples_or_ids.values("id")
        else:
            items = [samples_or_ids] if isinstance(samples_or_ids, (str, Sample)) else samples_or_ids
            ids = [s.id if isinstance(s, Sample) else s for s in items]
        self._writer.delete([_object_id(i) for i in ids])

    def clear(self) -> None:
        """Delete every sample (the dataset, its schema and settings stay)."""
        self._writer.clear()

    def delete(self) -> None:
        """Delete the dataset, its samples and its companion collections (e.g. label history).

        Every later operation on it (any Dataset object of it in this process, and their views)
        raises DatasetNotFoundError.
        """
        deletion.delete(self._record.catalog, self.name)

    def _forget(self) -> None:
        """Hold a :class:`~labellens.dataset.deletion.Deleted` instead of the record, schema and
        writer (the dataset is gone)."""
        gone = deletion.Deleted(self._record.name, self._record.id)
        self._record, self._schema, self._writer = gone, gone, gone  # type: ignore[assignment]

    @property
    def deleted(self) -> bool:
        return not self._record.exists()

    def __copy__(self) -> Dataset:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Dataset:
        """A dataset is its database record: a copy is the same dataset (use clone() for a new one)."""
        return self

    def view(self) -> View:
        """A view of the whole dataset, with no stages."""
        return View(self, ())

    # -- copies and merges (labellens.dataset.merging) ----------------------------------------

    def _clone_collection(self, source: SampleCollection, name: str | None, persistent: bool) -> Dataset:
        """A new dataset holding the samples ``source`` (this dataset or a view of it) shows."""
        clone = Dataset(name, persistent=persistent)
        try:
            clone._record.update({"$set": {"sample_fields": merging.user_fields(source.get_field_schema()),
                                           "default_classes": self.default_classes, "info": self.info},
                                  "$inc": {"schema_version": 1}})
            merging.clone_into(source, clone.collection_name)
        except BaseException:
            clone.delete()
            raise
        return clone

    def add_collection(self, sample_collection: SampleCollection, *, include_info: bool = True,
                       overwrite_info: bool = False, new_ids: bool = False) -> list[str]:
        """Add every sample of another dataset or view (keeping their ids unless ``new_ids``); their ids.

        Its fields join the schema (a type conflict raises SchemaError before anything is
        written); ``include_info`` copies its dataset's info keys this one lacks (all with
        ``overwrite_info``).
        """
        if not isinstance(sample_collection, SampleCollection):
            raise ValidationError("add_collection takes a dataset or a view; add samples with add_samples")
        ids = merging.add_collection(self._record, self._schema, sample_collection, new_ids=new_ids)
        if include_info and sample_collection.dataset is not self:
            other = sample_collection.dataset.info  # type: ignore[attr-defined]
            self.info = {**self.info, **other} if overwrite_info else {**other, **self.info}
            self.save()
        return ids

    def merge_samples(self, samples: SampleCollection | Iterable[Sample], key_field: str = "filepath", *,
                      skip_existing: bool = False, insert_new: bool = True,
                      fields: str | Sequence[str] | dict[str, str] | None = None,
                      omit_fields: str | Sequence[str] | None = None, merge_lists: bool = True,
                      overwrite: bool = True, expand_schema: bool = True) -> None:
        """Merge samples (a dataset, a view or Sample objects) into this dataset, matched by ``key_field``.

        A matched sample gets the source's non-None values of ``fields`` (all but the key by
        default; a dict renames; minus ``omit_fields``); with ``merge_lists``, list fields and
        Classifications gain the new elements (labels of the same id are updated); without
        ``overwrite``, only fields that are None are set. ``skip_existing`` leaves matched
        samples alone; ``insert_new=False`` adds no unmatched ones. Checked before writing:
        field types, the key present in every source sample and unique in this dataset.
        """
        if not isinstance(samples, SampleCollection):
            staging = Dataset()
            try:
                staging.add_samples(samples)
                self.merge_samples(staging, key_field, skip_existing=skip_existing, insert_new=insert_new,
                                   fields=fields, omit_fields=omit_fields, merge_lists=merge_lists,
                                   overwrite=overwrite, expand_schema=expand_schema)
            finally:
                staging.delete()
            return
        for flag, value in (("skip_existing", skip_existing), ("insert_new", insert_new),
                            ("merge_lists", merge_lists), ("overwrite", overwrite),
                            ("expand_schema", expand_schema)):
            if not isinstance(value, bool):
                raise ValidationError(f"{flag} must be True or False, got {value!r}")
        names = merging.field_names(samples.get_field_schema(), key_field, fields, omit_fields)
        options = merging.MergeOptions(key_field, skip_existing, insert_new, merge_lists, overwrite,
                                       expand_schema)
        merging.merge(self._record, self._schema, samples, names, options)

    # -- saved views ------------------------------------------------------------------

    def view_from_json(self, stages: Any) -> View:
        """Rebuild a view from stage JSON (validated through the stage registry)."""
        return View(self, stages_from_json(stages))

    def save_view(self, name: str, view: SampleCollection, overwrite: bool = False) -> None:
        """Store ``view`` under ``name`` with the dataset (loadable from any process)."""
        if view.dataset != self:
            raise ValidationError("save_view takes a view of this dataset")
        stages = view.to_json() if isinstance(view, View) else []
        self._record.save_view(name, stages, overwrite=overwrite)

    def load_saved_view(self, name: str) -> View:
        """The saved view ``name`` (SavedViewNotFoundError lists the saved views)."""
        return self.view_from_json(self._record.saved_view(name))

    def list_saved_views(self) -> list[str]:
        return sorted(self._record.saved_views())

    def delete_saved_view(self, name: str) -> None:
        self._record.delete_saved_view(name)

    # -- runs (brain, evaluation, annotation, ...) -----------------------------------------

    def register_run(self, kind: str, key: str, config: dict[str, Any], fields: Sequence[str]) -> None:
        """Record a run of ``kind``: its config, the fields it wrote, and when."""
        self._record.register_run(kind, key, config, fields)

    def list_runs(self, kind: str) -> list[str]:
        return sorted(self._record.runs(kind))

    def get_run(self, kind: str, key: str) -> dict[str, Any]:
        """``{"key", "config", "fields", "timestamp"}`` of a run (RunNotFoundError if none)."""
        return self._record.run(kind, key)

    def delete_run(self, kind: str, key: str, *, fields: bool = False) -> None:
        """Delete a run's record, and with ``fields`` also the fields it wrote that still exist."""
        if fields:
            written = self.get_run(kind, key)["fields"]
            schema = self._stored_schema()
            for name in written:
                if name in schema:
                    self.delete_sample_field(name)
        self._record.delete_run(kind, key)

    def register_brain_run(self, key: str, config: dict[str, Any], fields: list[str]) -> None:
        """Record a brain run: its config, the fields it wrote, and when."""
        self.register_run(BRAIN, key, config, fields)

    def list_brain_runs(self) -> list[str]:
        return self.list_runs(BRAIN)

    def get_brain_info(self, key: str) -> dict[str, Any]:
        """``{"key", "config", "fields", "timestamp"}`` of a brain run."""
        return self.get_run(BRAIN, key)

    def delete_brain_run(self, key: str) -> None:
        """Delete a brain run's record and the fields it wrote."""
        self.delete_run(BRAIN, key, fields=True)

    # -- indexes ---------------------------------------------------------------------------

    def create_index(self, field: str, unique: bool = False) -> str:
        """Index ``field`` to sort and filter by it fast; returns the index name.

        The index is ``(field, _id)``: views sort with an ``_id`` tie-break, so a
        sorted page is read from the index in either direction. ``"_rand"``, the
        stored random value, may be indexed too: it serves ``view.shard(i, n)``.
        """
        if field != RAND_FIELD:
            self._check_path(field, self._stored_schema())
        keys = [(mongo_path(field), 1)] if unique else [(mongo_path(field), 1), ("_id", 1)]
        return self._record.create_index(keys, unique=unique)

    def list_indexes(self) -> list[str]:
        return sorted(self._record.indexes())

    def indexed_fields(self) -> list[str]:
        """Fields that lead an index: sorting or range-filtering by them is an index scan."""
        return sorted({"id" if keys[0] == "_id" else keys[0] for keys in self._record.indexes().values()})

    def drop_index(self, name: str) -> None:
        """Drop an index by the name ``create_index`` returned (IndexNotFoundError if none)."""
        self._record.drop_index(name)

    # -- serialized form ---------------------------------------------------------------------

    @classmethod
    def from_dict(cls, d: dict[str, Any], name: str | None = None, *, persistent: bool = False,
                  overwrite: bool = False) -> Dataset:
        """A new dataset from :meth:`to_dict`'s output: its fields (with their types), classes,
        info and samples (with new ids). ``name`` defaults to the dict's name while no dataset has
        it, else to a new generated one."""
        return serialize.from_dict(cls, d, name, persistent=persistent, overwrite=overwrite)

    # -- fields ------------------------------------------------------------------------------

    def add_sample_field(self, name: str, ftype: str, *, embedded_doc_type: Any = None,
                         subfield: str | None = None) -> None:
        """Declare a field before any sample has it: ``ftype`` like ``"FloatField"`` or
        ``labellens.fields.FloatField``; ``EmbeddedDocumentField`` with ``embedded_doc_type`` (a label
        class or its name), ``ListField`` with ``subfield`` (the element type)."""
        check_field_name(name)
        kind = declared_type(ftype, embedded_doc_type, subfield)
        if name in self._stored_schema():
            raise ValidationError(f"field {name!r} already exists")
        self._schema.declare({name: kind})

    def delete_sample_field(self, name: str) -> None:
        """Remove a field from every sample and from the schema."""
        self._check_user_field(name)
        self._record.delete_field(name)

    def rename_sample_field(self, name: str, new_name: str) -> None:
        """Rename a field in every sample and in the schema (keeping its position)."""
        self._check_user_field(name)
        check_field_name(new_name)
        self._record.rename_field(name, new_name)

    def clone_sample_field(self, name: str, new_name: str) -> None:
        """Copy field ``name`` of every sample into a new field ``new_name`` (labels keep their ids)."""
        field_edits.clone_field(self._record, self._schema, name, new_name)

    def clear_sample_field(self, name: str) -> None:
        """Set field ``name`` to None on every sample (it stays in the schema)."""
        self._check_user_field(name)
        self._record.samples.unset_field(name)

    def delete_labels(self, labels: Sequence[dict[str, Any]] | None = None, *, ids: Any = None,
                      tags: Any = None, view: SampleCollection | None = None, fields: Any = None) -> None:
        """Delete labels from the samples: those with ``ids`` and/or ``tags``, those shown in ``view``,
        or (none of these) every label of ``fields``; in the label fields named by ``fields`` (all by
        default). A Classification field is unset; a Classifications field loses the labels."""
        if view is not None and view.dataset is not self:
            raise ValidationError("delete_labels takes a view of this dataset")
        label_ids, label_fields = label_refs(labels, ids, fields)
        chosen = SelectLabels(label_ids, tags, label_fields)  # validates ids, tags and fields
        field_edits.delete_labels(self._record.samples, self._stored_schema(), chosen, view)

    def _check_user_field(self, name: str) -> None:
        schema = self._stored_schema()
        if name in DEFAULT_SCHEMA:
            raise InvalidFieldNameError(f"cannot delete or rename the built-in field {name!r}")
        if name not in schema:
            raise FieldNotFoundError(f"no field {name!r}; fields are: {', '.join(schema)}")

    def __repr__(self) -> str:
        return summary(self, persistent=self.persistent)

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dataset) and other._record.id == self._record.id

    __hash__ = None  # type: ignore[assignment]

    # -- label history (labellens.dataset.history) ---------------------------------------

    def apply_label_changes(self, field: str, changes: Sequence[history.LabelChange], *,
                            tag_samples: bool = True) -> list[dict[str, Any]]:
        """Write label decisions in bulk, tag ``reviewed``/``relabeled``; the history entries written.

        ``field`` is a declared top-level Classification field. Each sample's write is
        conditional on its label (``LabelChange.seen_label``, else the label read just
        before): a sample whose label is not the expected one at the read fails the whole
        call with ConflictError before anything is written; one changed by another writer in
        the instant between that read and the write is left alone, the others are written,
        and ConflictError lists it (``sample_ids``; ``written``: the entries written).
        """
        samples = self._record.samples
        try:
            return history.apply(self, samples, samples.related("history"), field, changes,
                                 tag_samples=tag_samples)
        finally:  # what was written, also when a conflict stopped part of it
            live.refresh(samples, [_object_id(c.sample_id) for c in changes])

    def label_history(self, sample_id: str | None = None, field: str | None = None) -> list[dict[str, Any]]:
        """History entries (dicts), newest first, optionally of one sample and/or field."""
        return history.entries(self._record.samples.related("history"), sample_id=sample_id, field=field)

    def revert_labels(self, entries: Sequence[dict[str, Any]] | None = None, *,
                      since: dt.datetime | None = None,
                      decision: Literal["revert", "undo"] = "revert", force: bool = False,
                      reviewer: str | None = None) -> list[dict[str, Any]]:
        """Restore the label documents before ``entries`` (or all since ``since``); recorded as ``decision``
        by ``reviewer`` (default: ``LABELLENS_REVIEWER``, else the OS user).

        Only where the label is still the one the newest of those entries wrote: a later
        decision on a sample raises ConflictError naming it and nothing is reverted, unless
        ``force=True``.
        """
        samples = self._record.samples
        store = samples.related("history")
        if (entries is None) == (since is None):
            raise ValidationError("pass either entries (from label_history) or since=datetime")
        selected = history.entries(store, since=since) if since is not None else list(entries or [])
        try:
            return history.revert(self, samples, store, history.check_entries(selected), decision=decision,
                                  force=force, reviewer=reviewer)
        finally:
            live.refresh(samples, [_object_id(e["sample_id"]) for e in selected])


def load_dataset(name: str, *, create_if_necessary: bool = False) -> Dataset:
    """Open an existing dataset by name (DatasetNotFoundError lists the names that exist), or with
    ``create_if_necessary`` make a new non-persistent one of that name when none exists."""
    store = catalog.store()
    if create_if_necessary and not store.exists({"name": name}):
        return Dataset(name)
    return Dataset._from_record(DatasetRecord(store, catalog.find_record(store, name)))


def list_datasets(glob: str | None = None) -> list[str]:
    """Names of the datasets in the database, sorted (optionally matching a glob pattern)."""
    return catalog.list_names(catalog.store(), glob)


def dataset_exists(name: str) -> bool:
    return catalog.store().exists({"name": name})


def delete_dataset(name: str) -> None:
    """Delete a dataset and its samples (its Dataset objects in this process then raise on use)."""
    deletion.delete(catalog.store(), name)
