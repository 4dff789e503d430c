"""The collection interface shared by datasets and views.

A ``Dataset`` is a collection with no stages; a ``View`` is a dataset plus a
tuple of stages. Chain methods are one line each (build a stage, return a new
view); reading methods run one aggregation in the database and move only the
fields they need.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from bson import ObjectId

from labellens import codec, fields
from labellens.dataset import exporters, field_edits, flat_schema, metadata, serialize
from labellens.dataset.aggregations import Aggregations, CollectionAggregations
from labellens.dataset.exporters import ExportFormat
from labellens.dataset.protocols import DatasetCore
from labellens.dataset.sample import Sample
from labellens.db import pipelines
from labellens.errors import (
    FieldNotFoundError,
    SampleNotFoundError,
    ValidationError,
)
from labellens.progress import ProgressBar
from labellens.reporting import warn_skipped
from labellens.stages import (
    CompileContext,
    Concat,
    Exclude,
    ExcludeFields,
    ExcludeLabels,
    Exists,
    FilterField,
    FilterLabels,
    Limit,
    LimitLabels,
    Match,
    MatchLabels,
    MatchTags,
    Mongo,
    Select,
    SelectBy,
    SelectFields,
    SelectLabels,
    SetField,
    Shard,
    Shuffle,
    Skip,
    SortBy,
    Stage,
    Take,
)
from labellens.stages.base import DEFAULT_FIELDS, mongo_path
from labellens.stages.label_selection import label_refs
from labellens.validation import string_list

WRITE_BATCH = 10_000


class CompileMemo(NamedTuple):
    """A collection's first ``done`` stages compiled on ``schema`` (the dataset's schema object
    as last read: a new read makes a new object): their pipeline, the context the next stage
    compiles in (the output schema) and the fields they show only in part."""

    schema: dict[str, str]
    done: int
    pipeline: list[dict[str, Any]]
    context: CompileContext
    partial: frozenset[str]


def compile_stages(stages: Sequence[Stage], schema: dict[str, str], memo: CompileMemo | None = None,
                   *, collection: str = "") -> CompileMemo:
    """``stages`` compiled on ``schema``, continuing ``memo`` (its first stages compiled on the
    same schema object) when there is one; ``collection`` is the dataset's samples collection.
    Raises FieldNotFoundError for an unknown field."""
    if memo is not None and memo.schema is schema:
        _, done, pipeline, context, partial = memo
    else:
        done, pipeline, context, partial = 0, [], CompileContext(schema, schema, collection), _NO_FIELDS
    for stage in stages[done:]:
        pipeline = [*pipeline, *stage.to_mongo(context)]
        if shown_in_part := stage.partial_fields_in(context.schema):
            partial = partial.union(shown_in_part)
        output = stage.output_schema(context.schema)
        if output is not context.schema:
            context = context._replace(schema=output)
    return CompileMemo(schema, len(stages), pipeline, context, partial)


_NO_FIELDS: frozenset[str] = frozenset()
_PLAIN = frozenset({str, int, float, bool})  # stored values that decode to themselves


class SampleCollection(CollectionAggregations, field_edits.LabelEdits):
    """Reading, chaining and bulk-writing methods common to datasets and views."""

    @property
    def dataset(self) -> DatasetCore:
        raise NotImplementedError

    @property
    def stages(self) -> tuple[Stage, ...]:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def media_type(self) -> str:
        return "image"

    @property
    def default_classes(self) -> list[str]:
        return self.dataset.default_classes

    # -- chaining ---------------------------------------------------------------

    def add_stage(self, stage: Stage) -> SampleCollection:
        """A new view with ``stage`` appended (validated against the schema now)."""
        raise NotImplementedError

    def match_tags(self, tags: str | Sequence[str], bool: bool = True,  # noqa: A002
                   all: bool = False) -> SampleCollection:  # noqa: A002
        return self.add_stage(MatchTags(tags, bool, all))

    def match(self, filter: Any) -> SampleCollection:  # noqa: A002
        return self.add_stage(Match(filter))

    def exists(self, field: str, bool: bool = True) -> SampleCollection:  # noqa: A002
        return self.add_stage(Exists(field, bool))

    def sort_by(self, field_or_expr: Any, reverse: bool = False) -> SampleCollection:
        return self.add_stage(SortBy(field_or_expr, reverse))

    def take(self, size: int, seed: int | None = None) -> SampleCollection:
        return self.add_stage(Take(size, seed))

    def shuffle(self, seed: int | None = None) -> SampleCollection:
        return self.add_stage(Shuffle(seed))

    def limit(self, limit: int) -> SampleCollection:
        return self.add_stage(Limit(limit))

    def skip(self, skip: int) -> SampleCollection:
        return self.add_stage(Skip(skip))

    def select(self, sample_ids: Any, ordered: bool = False) -> SampleCollection:
        return self.add_stage(Select(sample_ids, ordered))

    def exclude(self, sample_ids: Any) -> SampleCollection:
        return self.add_stage(Exclude(sample_ids))

    def select_by(self, field: str, values: Any, ordered: bool = False) -> SampleCollection:
        """The samples whose ``field`` is one of ``values`` (in that order with ``ordered``)."""
        return self.add_stage(SelectBy(field, values, ordered))

    def select_fields(self, field_names: str | Sequence[str] | None = None) -> SampleCollection:
        """Only ``field_names`` and the default fields (no names: the default fields only)."""
        return self.add_stage(SelectFields(field_names if field_names else DEFAULT_FIELDS))

    def exclude_fields(self, field_names: str | Sequence[str]) -> SampleCollection:
        return self.add_stage(ExcludeFields(field_names))

    def shard(self, index: int, count: int) -> SampleCollection:
        """The ``index``-th of ``count`` disjoint shards (for parallel workers)."""
        return self.add_stage(Shard(index, count))

    def filter_labels(self, field: str, filter: Any, only_matches: bool = True) -> SampleCollection:  # noqa: A002
        return self.add_stage(FilterLabels(field, filter, only_matches))

    def filter_field(self, field: str, filter: Any, only_matches: bool = True) -> SampleCollection:  # noqa: A002
        """Show ``field`` only where ``filter`` (relative to its value: ``F("label")``, ``F()``) holds."""
        return self.add_stage(FilterField(field, filter, only_matches))

    def limit_labels(self, field: str, limit: int) -> SampleCollection:
        """At most ``limit`` labels (the first ones) of the label-list field ``field``."""
        return self.add_stage(LimitLabels(field, limit))

    def match_labels(self, labels: Sequence[Mapping[str, Any]] | None = None, *, ids: Any = None,
                     tags: Any = None, filter: Any = None, fields: Any = None,  # noqa: A002
                     bool: bool = True) -> SampleCollection:  # noqa: A002
        """Samples with a label that has ``ids`` / ``tags`` and satisfies ``filter``
        (``bool=False``: the other samples)."""
        ids, fields = label_refs(labels, ids, fields)
        return self.add_stage(MatchLabels(ids, tags, filter, fields, bool))

    def mongo(self, pipeline: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> SampleCollection:
        """Raw aggregation stages (checked: no JavaScript, writes or reads of other collections)."""
        return self.add_stage(Mongo(pipeline))

    def concat(self, other: SampleCollection) -> SampleCollection:
        """This collection's samples, then those of ``other`` (a view of the same dataset)."""
        if not isinstance(other, SampleCollection) or other.dataset is not self.dataset:
            raise ValidationError(f"concat takes a view of the same dataset {self.name!r}, "
                                  f"got {other!r:.100}")
        return self.add_stage(Concat(other.stages))

    def set_field(self, field: str, expr: Any) -> SampleCollection:
        """Show ``field`` computed by ``expr`` (an expression, a MongoDB expression dict or a value)."""
        return self.add_stage(SetField(field, expr))

    def select_labels(self, labels: Sequence[Mapping[str, Any]] | None = None, *, ids: Any = None,
                      tags: Any = None, fields: Any = None, omit_empty: bool = True) -> SampleCollection:
        """Only the labels with ``ids`` / ``tags`` (``labels``: dicts with ``label_id`` and ``field``)."""
        ids, fields = label_refs(labels, ids, fields)
        return self.add_stage(SelectLabels(ids, tags, fields, omit_empty))

    def exclude_labels(self, labels: Sequence[Mapping[str, Any]] | None = None, *, ids: Any = None,
                       tags: Any = None, fields: Any = None, omit_empty: bool = True) -> SampleCollection:
        """Every label except those with ``ids`` / ``tags`` (``labels`` as in :meth:`select_labels`)."""
        ids, fields = label_refs(labels, ids, fields)
        return self.add_stage(ExcludeLabels(ids, tags, fields, omit_empty))

    @property
    def excluded_field_names(self) -> list[str]:
        """The dataset's fields this collection leaves out (by select_fields, exclude_fields ...)."""
        shown = self._compiled()[1]
        return [name for name in self.dataset._stored_schema(False) if name not in shown]

    def clone(self, name: str | None = None, persistent: bool = False) -> Any:
        """A new dataset with the samples this collection shows, its schema, classes and info."""
        return self.dataset._clone_collection(self, name, persistent)

    # -- compilation --------------------------------------------------------------

    def get_field_schema(self, *, flat: bool = False) -> dict[str, str]:
        """Field name -> type (e.g. ``FloatField``) of the samples this collection shows; ``flat``
        adds the declared attributes of labels as dotted paths (``ground_truth.label``)."""
        schema: Mapping[str, str] = self.dataset._stored_schema()
        for stage in self.stages:
            schema = stage.output_schema(schema)
        return flat_schema.flat(schema) if flat else dict(schema)

    def get_field(self, path: str) -> str | None:
        """The type of field ``path`` (e.g. ``"FloatField"``; ``"ObjectIdField"`` for ``id``; a declared
        label attribute ``"ground_truth.label"``), or None when this collection has no such field.
        Types are strings, not field objects."""
        if path == "id":
            return str(fields.OBJECT_ID)
        found = self.get_field_schema(flat="." in path).get(path)
        return None if found is None else str(found)

    def pipeline(self) -> list[dict[str, Any]]:
        """The aggregation pipeline of this collection (run on ``dataset.collection_name``)."""
        return list(self._compiled()[0])

    def _compiled(self, paths: Sequence[str] = ()) -> tuple[list[dict[str, Any]], Mapping[str, str]]:
        """The pipeline and output schema (shared: read them, never change them), after
        checking that ``paths`` exist.

        Compiles against the dataset's schema as last read, so a view costs no extra
        round trip; only a field unknown to it (another process may have just added
        it) makes it read the dataset record again and retry.
        """
        try:
            return self._compile(paths, fresh=False)
        except FieldNotFoundError:
            return self._compile(paths, fresh=True)

    def _compile(self, paths: Sequence[str], fresh: bool) -> tuple[list[dict[str, Any]], Mapping[str, str]]:
        dataset = self.dataset
        compiled = self._compile_stages(dataset._stored_schema(fresh))
        for path in paths:
            dataset._check_path(path, compiled.context.schema)
        return compiled.pipeline, compiled.context.schema

    def _compile_stages(self, schema: dict[str, str]) -> CompileMemo:
        """This collection's stages compiled on ``schema``."""
        return compile_stages(self.stages, schema, collection=self.dataset.collection_name)

    def explain(self) -> dict[str, Any]:
        """The database's query plan for this collection's pipeline."""
        return self.dataset._explain_pipeline(self.pipeline())

    def _ids(self) -> list[ObjectId]:
        """The ``_id`` of every sample, in view order, as stored (no string round trip)."""
        return [i for batch in self._columns([], 10_000, with_ids=True, object_ids=True) for i in batch["id"]]

    def _partial_fields(self) -> frozenset[str]:
        """Fields this collection shows only in part (none: a view overrides this)."""
        return _NO_FIELDS

    # -- reading --------------------------------------------------------------------

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Sample]:
        return self.iter_samples()

    def __bool__(self) -> bool:
        return True

    def __getitem__(self, sample_id: str | slice) -> Any:
        """The sample with id ``sample_id``, or for a slice ``[start:stop]`` a view (skip and limit)."""
        if isinstance(sample_id, slice):
            return self._slice(sample_id)
        if isinstance(sample_id, int) and not isinstance(sample_id, bool):
            raise SampleNotFoundError(f"samples are looked up by id, not by position ({sample_id}); use "
                                      "first(), last() or a slice such as [i:i + 1]")
        oid = _object_id(sample_id)
        found = next(self._sample_batches([{"$match": {"_id": oid}}, {"$limit": 1}]), None)
        if not found:
            raise SampleNotFoundError(f"no sample with id {sample_id!r} in {self._describe()}")
        return found[0]

    def _slice(self, part: slice) -> SampleCollection:
        """``[start:stop]`` as Skip and Limit stages (negative bounds count from the end: one count)."""
        if part.step not in (None, 1):
            raise ValidationError(f"views slice with step 1 only, got step {part.step!r}")
        for bound in (part.start, part.stop):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
                raise ValidationError(f"slice bounds must be ints, got {bound!r}")
        start, stop = part.start or 0, part.stop
        if start < 0 or (stop is not None and stop < 0):
            start, stop, _ = part.indices(len(self))
        if stop is None:
            return self.skip(start)
        return (self.skip(start) if start else self).limit(max(stop - start, 0))

    def _sample_batches(self, suffix: Sequence[dict[str, Any]] = (), batch_size: int | None = None, *,
                        timeout: float | None = None) -> Iterator[list[Sample]]:
        """The samples of this collection's pipeline (then ``suffix``), in lists built in bulk
        (SampleViews under stages), each list one batch as the database returns it."""
        pipeline = [*self._compiled()[0], *suffix]  # a new list: the compiled one is shared
        return map(self._sample_reader(), self.dataset._run_batches(pipeline, batch_size=batch_size,
                                                                    timeout=timeout))

    def _sample_reader(self) -> Callable[[list[dict[str, Any]]], list[Sample]]:
        """Stored documents -> this collection's samples (a view makes SampleViews)."""
        return Sample.reader(self.dataset)

    def _describe(self) -> str:
        return f"dataset {self.name!r}" + (" (view)" if self.stages else "")

    def iter_samples(self, progress: bool = False, autosave: bool = False,
                     batch_size: int = 1000, *, timeout: float | None = None) -> Iterator[Sample]:
        """Stream the samples; with ``autosave`` their changes are written in bulk batches.

        The view is checked now; the query runs when the first sample is asked for.
        ``timeout`` (seconds, here and in every read) makes the database stop a query
        that runs longer, raising QueryTimeoutError (ignored on ``mongomock://``).
        """
        samples = itertools.chain.from_iterable(self._sample_batches(batch_size=batch_size, timeout=timeout))
        if not progress and not autosave:  # the common case: no per-sample Python frame at all
            return samples
        return self._iter_with_work(samples, progress, autosave, batch_size)

    def _iter_with_work(self, samples: Iterator[Sample], progress: bool, autosave: bool, batch_size: int
                        ) -> Iterator[Sample]:
        pending: list[Sample] = []
        with ProgressBar(len(self) if progress else None, desc="samples", enabled=progress) as bar:
            for sample in samples:
                yield sample
                if progress:
                    bar.update()
                if autosave:
                    pending.append(sample)
                    if len(pending) >= batch_size:
                        self.dataset.save_samples(pending)
                        pending = []
        if pending:
            self.dataset.save_samples(pending)

    def first(self, *, timeout: float | None = None) -> Sample:
        found = next(self._sample_batches([{"$limit": 1}], timeout=timeout), None)
        if not found:
            raise SampleNotFoundError(f"{self._describe()} is empty")
        return found[0]

    def last(self, *, timeout: float | None = None) -> Sample:
        """The last sample in view order (one count, then one read of that sample)."""
        count = self.count(timeout=timeout)
        found = next(self._sample_batches([{"$skip": count - 1}, {"$limit": 1}], timeout=timeout), None) \
            if count else None
        if not found:
            raise SampleNotFoundError(f"{self._describe()} is empty")
        return found[0]

    def one(self, filter: Any, *, exact: bool = False) -> Sample:  # noqa: A002
        """The sample matching ``filter`` (an expression or query dict); ValidationError if none
        matches, and with ``exact`` if more than one does."""
        found = self.match(filter).limit(2 if exact else 1).head(2)
        if not found:
            raise ValidationError(f"no sample of {self._describe()} matches {filter!r}"[:300])
        if len(found) > 1:
            raise ValidationError(f"more than one sample of {self._describe()} matches {filter!r}"[:300])
        return found[0]

    def head(self, num_samples: int = 3, *, timeout: float | None = None) -> list[Sample]:
        suffix = [{"$limit": max(int(num_samples), 1)}]
        return [s for batch in self._sample_batches(suffix, timeout=timeout) for s in batch]

    def to_dict(self, include_private: bool = False) -> dict[str, Any]:
        """The samples (in view order), field types, classes and info as a JSON-serializable dict
        (see ``Dataset.from_dict``)."""
        return serialize.to_dict(self, self.dataset.info, include_private=include_private)

    def values(self, path: Any, *, as_numpy: bool = False, unwind: bool = False,
               timeout: float | None = None) -> Any:
        """One value per sample of ``path`` (``"id"``, ``"ground_truth.label"`` ...) in view order.

        Only that path travels (a projection). ``as_numpy`` returns an array: numbers
        as float64 with NaN for missing values, or stacked arrays (e.g. logits). An
        expression (``F("x") * 2``) gives its value for each sample instead. ``unwind``
        flattens list values into one list of their items (missing values left out). A list
        of paths gives a list of such columns, read in one pass.
        """
        if isinstance(path, (list, tuple)) and path and all(isinstance(p, str) for p in path):
            paths = list(dict.fromkeys(path))
            columns: dict[str, list[Any]] = {p: [] for p in paths}
            for batch in self._columns(paths, 10_000, with_ids="id" in paths, timeout=timeout):
                for p in paths:
                    columns[p].extend(batch[p])
            return [self._finished(columns[p], p, as_numpy=as_numpy, unwind=unwind) for p in path]
        if not isinstance(path, str):
            column = Aggregations(self, timeout).values(path)
        else:
            column = []
            for batch in self._columns([path], 10_000, with_ids=path == "id", timeout=timeout):
                column.extend(batch[path])
        return self._finished(column, path if isinstance(path, str) else "expression", as_numpy=as_numpy,
                              unwind=unwind)

    @staticmethod
    def _finished(column: list[Any], path: str, *, as_numpy: bool, unwind: bool) -> Any:
        """A column as ``values`` returns it: unwound and/or as an array when asked."""
        if unwind:
            column = _unwound(column)
        return _to_numpy(column, path) if as_numpy else column

    def _count_samples(self, *, timeout: float | None = None) -> int:
        pipeline = pipelines.count(self._compiled()[0])
        return pipelines.decode_count(self.dataset._run_pipeline(pipeline, timeout=timeout))

    def iter_batches(self, paths: Sequence[str], batch_size: int = 10_000, *, object_ids: bool = False,
                     timeout: float | None = None) -> Iterator[dict[str, list[Any]]]:
        """Stream columns of ``paths`` in batches of ``batch_size``; each batch also has ``"id"``.

        ``object_ids=True`` gives the ids as ``bson.ObjectId`` instead of strings: the
        cheapest form to hand back to ``set_values(..., ids=...)`` in bulk paths.
        """
        return self._columns(paths, batch_size, with_ids=True, object_ids=object_ids, timeout=timeout)

    def _columns(self, paths: Sequence[str], batch_size: int, with_ids: bool, object_ids: bool = False,
                 timeout: float | None = None) -> Iterator[dict[str, list[Any]]]:
        stored = {p: mongo_path(p) for p in paths if p != "id"}
        pipeline, schema = self._compiled(tuple(stored))  # "id" always exists: only the others are checked
        suffix, keys = pipelines.columns(list(stored.values()), with_ids=with_ids)
        # ObjectId fields read as strings and DateField values as dates, as on samples.
        readers = [(column, key, path.endswith("_id") or schema.get(column) == fields.OBJECT_ID,
                    schema.get(column) == fields.DATE) for key, (column, path) in zip(keys, stored.items())]
        for docs in self.dataset._run_batches([*pipeline, *suffix], batch_size=batch_size, timeout=timeout):
            batch: dict[str, list[Any]] = {}
            if with_ids:
                batch["id"] = [d["_id"] for d in docs] if object_ids else [str(d["_id"]) for d in docs]
            for name, key, is_id, is_date in readers:
                batch[name] = _decode_column([d.get(key) for d in docs], name, is_id)
                if is_date:
                    batch[name] = [v if v is None else codec.datetime_to_date(v) for v in batch[name]]
            yield batch

    # -- writing ----------------------------------------------------------------------

    def set_values(self, path: str, values: Sequence[Any] | np.ndarray | Mapping[Any, Any], *,
                   ids: Sequence[str] | None = None, key_field: str | None = None) -> None:
        """Write one value per sample to ``path`` in bulk (``None`` unsets it).

        Without ``ids``, ``values`` follow the view's order and must have one value per
        sample. With ``ids``, ``values[i]`` goes to sample ``ids[i]``. With ``key_field``,
        ``values`` is a dict: key -> value for the samples whose ``key_field`` has that key
        (samples whose key is not in it are left alone; a key no sample has is an error).
        Every value is checked before anything is written.
        """
        if key_field is not None:
            if ids is not None or not isinstance(values, Mapping):
                raise ValidationError("set_values(..., key_field=) takes a dict key -> value and no ids")
            ids, values = self._keyed(key_field, values)
        elif isinstance(values, Mapping):
            raise ValidationError("set_values takes a dict of values only with key_field= (the field "
                                  "holding its keys)")
        self._write_columns({path: values}, ids, call=f"set_values({path!r})")

    def _keyed(self, key_field: str, values: Mapping[Any, Any]) -> tuple[list[str], list[Any]]:
        """The ids and values of the samples whose ``key_field`` is a key of ``values``."""
        batch_ids: list[str] = []
        chosen: list[Any] = []
        found: set[Any] = set()
        for batch in self._columns([key_field], 10_000, with_ids=True):
            for sample_id, key in zip(batch["id"], batch[key_field]):
                if key is not None and not isinstance(key, (list, dict)) and key in values:
                    batch_ids.append(sample_id)
                    chosen.append(values[key])
                    found.add(key)
        missing = [key for key in values if key not in found]
        if missing:
            raise ValidationError(f"set_values: no sample has {key_field}={missing[0]!r} "
                                  f"({len(missing)} keys missing); nothing was written")
        return batch_ids, chosen

    def set_fields(self, values: Mapping[str, Sequence[Any] | np.ndarray], *,
                   ids: Sequence[str] | None = None) -> None:
        """Write several fields per sample in one bulk write: ``values`` maps path -> one value per sample.

        As :meth:`set_values` for each path (same order rules, ``None`` unsets, every value
        checked before anything is written), but one update per sample instead of one per field.
        """
        if not isinstance(values, Mapping) or not values:
            raise ValidationError("set_fields takes a non-empty {path: values} mapping")
        for path in values:
            if not isinstance(path, str) or not path:
                raise ValidationError(f"set_fields paths must be field names, got {path!r}")
        self._write_columns(values, ids, call=f"set_fields({list(values)})")

    def _write_columns(self, values: Mapping[str, Sequence[Any] | np.ndarray], ids: Sequence[str] | None,
                       *, call: str) -> None:
        """The write behind set_values / set_fields: views' partial fields refused, ids resolved."""
        partial = self._partial_fields()
        for path in values:
            if path.split(".", 1)[0] in partial:
                raise ValidationError(f"field {path!r} is filtered in this view; set it on the dataset")
        columns = {path: list(column) for path, column in values.items()}
        oids = self._ids if ids is None else [_object_id(i) for i in ids]
        self.dataset._writer.set_fields(columns, oids, call=call)

    def compute_metadata(self, overwrite: bool = False, progress: bool = False) -> list[str]:
        """Fill ``metadata`` (width, height, size_bytes, mime_type) from the image headers.

        Unreadable files get no metadata; their paths are returned and named in one warning.
        Samples that already have metadata are skipped unless ``overwrite``.
        """
        view = self if overwrite else self.exists("metadata", False)
        failed: list[str] = []
        for batch in view.iter_batches(["filepath"], batch_size=WRITE_BATCH):
            with ProgressBar(len(batch["id"]), desc="metadata", enabled=progress) as bar:
                found = metadata.read_all(batch["filepath"])
                bar.update(len(found))
            failed += [p for p, m in zip(batch["filepath"], found) if m is None]
            self.dataset.set_values("metadata", found, ids=batch["id"])
        warn_skipped(failed, "images could not be read and have no metadata")
        return failed

    def export(self, export_dir: str | os.PathLike[str], format: ExportFormat = "csv",  # noqa: A002
               label_field: str = "ground_truth", *, pred_field: str | None = None,
               score_fields: Sequence[str] | None = None) -> Path:
        """Write this collection's samples for review (csv, json or image-directory-tree)."""
        return exporters.export_view(self, export_dir, format, label_field, pred_field=pred_field,
                                     score_fields=score_fields)

    def tag_samples(self, tags: str | Iterable[str]) -> None:
        """Add ``tags`` to every sample of this collection."""
        self.dataset._writer.update_tags(self._ids(), string_list(tags, "tags"), add=True)

    def untag_samples(self, tags: str | Iterable[str]) -> None:
        """Remove ``tags`` from every sample of this collection."""
        self.dataset._writer.update_tags(self._ids(), string_list(tags, "tags"), add=False)

    # Annotation and evaluation are layers above the dataset (they read and write through this API):
    # these methods import them when called, so ``import labellens`` does not load them (evaluation
    # loads the brain); .importlinter lists these two upward imports as its only exceptions.
    def annotate(self, anno_key: str, **options: Any) -> dict[str, Any]:
        """Send these samples to an annotation tool as run ``anno_key`` (labellens.annotation.annotate)."""
        from labellens import annotation
        return annotation.annotate(self, anno_key, **options)

    def load_annotations(self, anno_key: str, **options: Any) -> dict[str, int]:
        """Write run ``anno_key``'s finished labels back (see labellens.annotation.load_annotations)."""
        from labellens import annotation
        return annotation.load_annotations(self.dataset, anno_key, **options)

    def list_annotation_runs(self) -> list[str]:
        return self.dataset.list_runs("annotation")

    def get_annotation_info(self, anno_key: str) -> dict[str, Any]:
        return self.dataset.get_run("annotation", anno_key)

    def delete_annotation_run(self, anno_key: str, **options: Any) -> None:
        from labellens import annotation
        annotation.delete_annotation_run(self.dataset, anno_key, **options)

    def evaluate_classifications(self, pred_field: str, gt_field: str = "ground_truth", *,
                                 eval_key: str | None = "eval", **options: Any) -> Any:
        """Metrics of ``pred_field`` against ``gt_field`` (labellens.evaluation.evaluate_classifications)."""
        from labellens import evaluation
        return evaluation.evaluate_classifications(self, pred_field, gt_field, eval_key=eval_key, **options)

    def list_evaluations(self) -> list[str]:
        from labellens import evaluation
        return evaluation.list_evaluations(self)

    def load_evaluation_results(self, eval_key: str) -> Any:
        from labellens import evaluation
        return evaluation.load_evaluation_results(self, eval_key)

    def delete_evaluation(self, eval_key: str) -> None:
        from labellens import evaluation
        evaluation.delete_evaluation(self, eval_key)


def _object_id(sample_id: Any) -> ObjectId:
    if isinstance(sample_id, ObjectId):
        return sample_id
    if isinstance(sample_id, str) and ObjectId.is_valid(sample_id):
        return ObjectId(sample_id)
    raise SampleNotFoundError(f"{sample_id!r} is not a sample id (a 24-character hex string)")


def _decode_column(values: list[Any], path: str, is_id: bool) -> list[Any]:
    """Stored values of ``path`` as Python values (plain ones are kept as they are)."""
    if all(v is None or v.__class__ in _PLAIN for v in values):
        return values
    decode = _id_strings if is_id else functools.partial(codec.decode_path, path=path)
    return [v if v is None or v.__class__ in _PLAIN else decode(v) for v in values]


def _id_strings(value: Any) -> Any:
    """Stored ids as strings (label ids of a label list come as a list)."""
    if isinstance(value, list):
        return [None if v is None else str(v) for v in value]
    return str(value)


def _unwound(column: list[Any]) -> list[Any]:
    """The items of a column's list values (nested lists flattened), its other values as they are,
    missing values left out."""
    items: list[Any] = []
    for value in column:
        if isinstance(value, (list, tuple)):
            items.extend(_unwound(list(value)))
        elif value is not None:
            items.append(value)
    return items


def _to_numpy(column: list[Any], path: str) -> np.ndarray:
    present = [v for v in column if v is not None]
    if present and isinstance(present[0], np.ndarray):
        if len(present) != len(column):
            raise ValidationError(f"{len(column) - len(present)} samples have no {path!r}; "
                                  "filter them out first (e.g. view.exists(...))")
        return np.stack(column)
    try:
        return np.array([np.nan if v is None else v for v in column], dtype=float)
    except (TypeError, ValueError):
        return np.array(column, dtype=object)
