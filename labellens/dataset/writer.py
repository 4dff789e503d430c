"""Bulk writes of one dataset's samples: validated first, then sent in batches.

:class:`SampleWriter` is the part of a dataset that changes samples. Every
method checks and encodes all values of a batch before anything is written
(a bad value leaves the database as it was), then queues the bulk write on a
write-behind thread so the next batch is encoded meanwhile. After a write, the
dataset's in-memory samples of the ids it changed are refreshed
(:mod:`labellens.dataset.live`), so an object read before sees what was written.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

import bson
from bson import ObjectId

from labellens import codec
from labellens.background import BackgroundWriter
from labellens.codec import LATE_TYPES, LOGITS_DTYPE, MAX_DOCUMENT_BYTES, stored_size, stored_size_bound
from labellens.dataset import live
from labellens.dataset.sample import Sample
from labellens.dataset.schema import Column, Schema, type_key
from labellens.db.stores import SampleStore
from labellens.errors import DatabaseUnavailableError, DocumentTooLargeError, ValidationError
from labellens.ids import new_object_ids
from labellens.labels import Classification, Classifications
from labellens.stages.base import mongo_path
from labellens.stages.ordering import RAND_FIELD

INSERT_BATCH = 2000
WRITE_BATCH = 10_000
COLLECT_EVERY = 50  # batches of add_samples between collections of the caller's young cycles
# Changes larger than this are checked against the sample's stored document (read then), not only
# on their own: a sample's other fields rarely come near the 16 MiB limit, so smaller ones are not.
LARGE_CHANGE = 1024 * 1024
SIZE_READ_BATCH = 8  # stored documents read at once for that check (each may be up to 16 MiB)


class SampleWriter:
    """Adds, changes and deletes the samples of one dataset."""

    def __init__(self, store: SampleStore, schema: Schema, where: str) -> None:
        self._store = store
        self._schema = schema
        self._where = where
        self._live = live.of(store.collection_name)

    # -- adding ---------------------------------------------------------------------------

    def add(self, owner: Any, samples: Iterable[Sample], batch_size: int) -> list[ObjectId]:
        """Insert samples in batches (a generator is streamed); binds each to ``owner``.

        If a later batch fails, the samples already inserted are removed again, and the
        fields this call declared; if they cannot be (the server is gone), the error says
        how many samples may remain.
        """
        ids: list[ObjectId] = []
        declared: dict[str, str] = {}
        try:
            # The collector stays paused for the whole call (the samples and their encodings are
            # freed by reference counting); cycles the caller's generator makes are collected
            # every COLLECT_EVERY batches.
            with self._store.writer() as writer, _gc_paused() as collect_cycles:
                for number, batch in enumerate(_batches(samples, batch_size), 1):
                    ids += self._insert(owner, batch, writer, declared, len(ids))
                    if number % COLLECT_EVERY == 0:
                        collect_cycles()
        except BaseException as exc:
            self._roll_back(ids, declared, exc)
            raise
        return ids

    def _insert(self, owner: Any, samples: list[Sample], writer: BackgroundWriter,
                declared: dict[str, str], offset: int) -> list[ObjectId]:
        """Validate and encode one batch, declare its new fields (added to ``declared``), and queue
        its insert; ``offset`` is the number of samples of the call before this batch. A sample
        already in a dataset is added as a copy (it stays where it is)."""
        if any(s._stored is not None for s in samples):
            samples = [s.copy() if s._stored is not None else s for s in samples]
        schema = self._schema.current()
        classes = self._schema.default_classes()
        if classes:
            for i, sample in enumerate(samples):
                for name, value in sample.items():
                    self._check_logits(value, classes, name, lambda i=i: _new_sample(samples, offset, i),
                                       "add_samples")
        encoded = [s.to_mongo() for s in samples]
        new_types: dict[str, str] = {}
        for name, values in _distinct_kinds(samples).items():
            kind = self._schema.new_type(name, values, schema)
            if kind:
                new_types[name] = kind
        if new_types:
            declared.update(self._schema.declare(new_types))
        ids = new_object_ids(len(samples))
        for sample, doc, sample_id in zip(samples, encoded, ids):
            # The inserted dict doubles as the sample's stored snapshot ("_" keys are internal).
            doc["_id"] = sample_id
            doc[RAND_FIELD] = random.random()
            sample.bind(owner, doc)
        self._live.register(ids, samples)
        writer.submit(self._insert_batch, samples, encoded, offset)
        return ids

    def _insert_batch(self, samples: list[Sample], docs: list[dict[str, Any]], offset: int) -> None:
        try:
            self._store.insert_many(docs)
        except DocumentTooLargeError as exc:
            raise DocumentTooLargeError(
                f"add_samples: {_new_sample(samples, offset, exc.index)} would be {exc.size:,} bytes stored; "
                f"{_LIMIT}. Nothing was written", index=offset + exc.index, size=exc.size) from None

    def _roll_back(self, ids: list[ObjectId], declared: dict[str, str], exc: BaseException) -> None:
        """Remove what a failed add_samples wrote, samples and fields; if the server is gone, say how
        much may remain."""
        if ids:
            try:
                self._store.delete_by_ids(ids)
            except DatabaseUnavailableError as failure:
                raise DatabaseUnavailableError(
                    f"add_samples stopped after writing up to {len(ids)} samples and could not remove them "
                    f"again: {failure}. Once the server is back, add the rest without duplicates: "
                    "stored = set(dataset.values('filepath')); "
                    "dataset.add_samples(s for s in samples if s.filepath not in stored)") from exc
        with contextlib.suppress(DatabaseUnavailableError):  # a declared field no sample has is harmless
            self._undeclare(declared)
        if ids and isinstance(exc, DatabaseUnavailableError):
            raise DatabaseUnavailableError(
                f"{exc}. add_samples wrote nothing: the up to {len(ids)} samples it had written were "
                "removed again, so re-running the same call is safe") from None

    def _undeclare(self, declared: Mapping[str, str]) -> None:
        """Remove fields a failed call declared, unless another writer stored values in them meanwhile."""
        for name, kind in declared.items():
            if next(self._store.batches([{"$match": {name: {"$exists": True}}}, {"$limit": 1},
                                         {"$project": {"_id": 1}}]), None) is None:
                self._schema.undeclare(name, kind)

    # -- changing -----------------------------------------------------------------------------

    def save(self, samples: Sequence[Sample]) -> None:
        """Write the changed fields of samples in one bulk write (all checked first)."""
        schema = self._schema.current()
        classes = self._schema.default_classes()
        changes = [(s, *s.changes()) for s in samples]
        new_types: dict[str, str] = {}
        large = []
        for sample, to_set, to_unset in changes:
            for name, stored in to_set.items():
                value = stored if type(stored) is ObjectId else sample.get(name)  # ObjectIds read as str
                kind = self._schema.new_type(name, [value], {**schema, **new_types})
                if kind:
                    new_types[name] = kind
                if classes:
                    self._check_logits(stored, classes, name, lambda s=sample: f"sample {s.id}", "save()")
            if sum(map(stored_size_bound, to_set.values())) > LARGE_CHANGE:
                large.append((sample._id, {**to_set, **dict.fromkeys(to_unset)}, None))
        if large:
            self._check_sizes(large, "save()")
        if new_types:
            self._schema.declare(new_types)
        updates = [(s._id, to_set, to_unset) for s, to_set, to_unset in changes if to_set or to_unset]
        self._store.update_by_id(updates)  # type: ignore[arg-type]
        for sample, to_set, to_unset in changes:
            sample.mark_saved(to_set, to_unset)
            other = self._live.get(sample._id) if to_set or to_unset else None
            if other is not None and other is not sample:  # e.g. saved through a view
                doc = dict(other._stored)
                doc.update(to_set)
                for name in to_unset:
                    doc.pop(name, None)
                other.refresh(doc)

    def set_fields(self, columns: Mapping[str, list[Any]],
                   oids: Sequence[ObjectId] | Callable[[], Sequence[ObjectId]], *, call: str) -> None:
        """Several fields per sample in one bulk write: ``columns[path][i]`` to sample ``oids[i]``.

        Every column is checked before anything is written (``None`` unsets) and encoded then,
        but for labels whose encoding cannot fail, which each batch encodes as it is built;
        new fields are declared only then. ``call`` names the user's call (``set_values('x')``)
        in errors. ``oids`` may be a function that reads them: it runs in the write thread
        while the values are encoded, and each batch's update is built while the one before
        it is sent.
        """
        writing = False
        try:
            with self._store.writer() as writer, _gc_paused():
                reading: Future[Sequence[ObjectId]] | None = None
                ids: Sequence[ObjectId] = ()
                if callable(oids):
                    reading = writer.call(oids)
                else:
                    ids = oids
                kinds = {path: self._schema.column(path, self._where) for path in columns}
                # Encoding refuses what BSON cannot store (and a label attribute its model refuses).
                encoded = [kinds[path].encode(values) for path, values in columns.items()]
                if reading is not None:
                    ids = reading.result()
                self._check_lengths(columns, len(ids), call)
                new_types: dict[str, str] = {}
                for path, values in columns.items():
                    new_types.update(self._schema.check_values(path, values))
                targets = [mongo_path(path) for path in columns]
                self._check_columns(kinds, encoded, ids, call)
                self._check_column_sizes(targets, encoded, ids, call)
                if new_types:
                    self._schema.declare(new_types)
                writing = True
                for start in range(0, len(ids), WRITE_BATCH):
                    stop = start + WRITE_BATCH
                    slices = [codec.encode_late(column[start:stop]) for column in encoded]
                    rows = list(zip(ids[start:stop], zip(*slices)))
                    batch = self._store.prepare_set_fields(targets, rows)
                    writer.submit(self._store.write, batch)
        except DatabaseUnavailableError as exc:
            if not writing:
                raise
            raise DatabaseUnavailableError(
                f"{call} stopped part-way through {len(ids)} samples: {exc}. "
                "Re-running the same call is safe: it writes the same values") from None
        live.refresh(self._store, ids)

    def _check_columns(self, kinds: Mapping[str, Column], encoded: Sequence[list[Any]],
                       ids: Sequence[ObjectId], call: str) -> None:
        """Logits of one value per class; a label's attribute set only where the sample holds the label."""
        classes = self._schema.default_classes()
        for (path, kind), values in zip(kinds.items(), encoded):
            if classes:
                for i, value in enumerate(values):
                    self._check_logits(value, classes, path, lambda i=i: f"sample {ids[i]}", call)
            if kind.document is not None:
                lacking = self._lacking(kind.document, [oid for oid, v in zip(ids, values) if v is not None])
                if lacking is not None:
                    raise ValidationError(
                        f"{call}: sample {lacking} has no {kind.document!r} whose {path.split('.', 1)[1]} "
                        f"could change; set the whole field for such samples, e.g. "
                        f"set_values({kind.document!r}, [Classification(label=...), ...]) "
                        "(nothing was written)")

    def _lacking(self, field: str, oids: Sequence[ObjectId]) -> ObjectId | None:
        """One of ``oids`` whose sample has no embedded document in ``field``, or None.

        One read of the ids of every sample without one (no ``$in`` of the ids: mongomock
        would compare each id with each sample).
        """
        pipeline = [{"$match": {field: {"$not": {"$type": "object"}}}}, {"$project": {"_id": 1}}]
        lacking = {doc["_id"] for docs in self._store.batches(pipeline, batch_size=WRITE_BATCH)
                   for doc in docs}
        return next((oid for oid in oids if oid in lacking), None) if lacking else None

    @staticmethod
    def _check_logits(value: Any, classes: Sequence[str], field: str, sample: Callable[[], str],
                      call: str) -> None:
        """ValidationError when a label's logits do not have one value per class of the dataset."""
        for count in _logit_counts(value):
            if count != len(classes):
                shown = ", ".join(classes[:4]) + (", ..." if len(classes) > 4 else "")
                raise ValidationError(
                    f"{call}: {field!r} of {sample()} has {count} logits, but the dataset has "
                    f"{len(classes)} default_classes ({shown}); "
                    "logits need one value per class: check the model's outputs, or set the dataset's "
                    "default_classes (nothing was written)")

    def _check_column_sizes(self, paths: Sequence[str], encoded: Sequence[list[Any]],
                            ids: Sequence[ObjectId], call: str) -> None:
        """DocumentTooLargeError before any write when a sample would exceed MongoDB's limit.

        Each value's size is bounded without encoding it (strings by their length, labels by
        theirs); only samples whose changes are over :data:`LARGE_CHANGE` are measured exactly.
        """
        if len(encoded) == 1:
            sizes: Iterable[int] = _size_bounds(encoded[0])
        else:
            sizes = map(sum, zip(*map(_size_bounds, encoded)))
        large = [i for i, size in enumerate(sizes) if size > LARGE_CHANGE]
        if large:
            self._check_sizes([(ids[i], {path: column[i] for path, column in zip(paths, encoded)}, i)
                               for i in large], call)

    def _check_sizes(self, changes: Sequence[tuple[ObjectId, Mapping[str, Any], int | None]],
                     call: str) -> None:
        """DocumentTooLargeError unless each sample stays within MongoDB's document limit after its
        ``(id, {stored path: value}, position of the value in the call or None)`` changes (None
        unsets): the values alone, then with the stored document."""
        stored_changes: dict[ObjectId, tuple[dict[str, Any], str]] = {}
        for oid, change, position in changes:
            stored = dict(zip(change, codec.encode_late(list(change.values()))))
            number = f" {position}" if position is not None else ""
            what = f"the value{'s' if len(stored) > 1 else ''}{number} for {', '.join(map(repr, stored))} " \
                   f"of sample {oid}"
            size = sum(stored_size(v) for v in stored.values() if v is not None)
            if size > MAX_DOCUMENT_BYTES:
                raise DocumentTooLargeError(f"{call}: {what} would be {size:,} bytes stored; {_LIMIT} "
                                            "(nothing was written)", index=position or 0, size=size)
            stored_changes[oid] = (stored, what)
        oids = list(stored_changes)
        for start in range(0, len(oids), SIZE_READ_BATCH):
            query = {"_id": {"$in": oids[start:start + SIZE_READ_BATCH]}}
            for docs in self._store.batches([{"$match": query}]):
                for doc in docs:
                    stored, what = stored_changes[doc["_id"]]
                    for path, value in stored.items():
                        _apply(doc, path, value)
                    size = len(bson.encode(doc))
                    if size > MAX_DOCUMENT_BYTES:
                        raise DocumentTooLargeError(
                            f"{call}: with {what}, the sample would be {size:,} bytes stored; {_LIMIT} "
                            "(nothing was written)", size=size)

    @staticmethod
    def _check_lengths(columns: Mapping[str, list[Any]], count: int, call: str) -> None:
        for path, values in columns.items():
            if len(values) != count:
                of = f" of {path!r}" if len(columns) > 1 else ""
                raise ValidationError(f"{call} got {len(values)} values{of} for {count} "
                                      "samples; pass exactly one value per sample (nothing was written)")

    def update_tags(self, oids: Sequence[ObjectId], tags: list[str], *, add: bool) -> None:
        operator = {"$addToSet": {"tags": {"$each": tags}}} if add else {"$pullAll": {"tags": tags}}
        self._store.update_matching(oids, operator)
        live.refresh(self._store, oids)

    def write_stored(self, updates: Sequence[tuple[ObjectId, Mapping[str, Any], Sequence[str]]]) -> None:
        """``(id, stored values to $set, fields to $unset)`` triples already in stored form (read
        from the database, e.g. a view's values saved back), in one bulk write."""
        self._store.update_by_id(updates)
        live.refresh(self._store, [oid for oid, _, _ in updates])

    # -- deleting -------------------------------------------------------------------------------

    def delete(self, oids: Sequence[ObjectId]) -> None:
        """Delete samples; their in-memory objects leave the dataset (keeping their values)."""
        self._store.delete_by_ids(oids)
        for sample in self._live.forget(oids):
            sample.unbind()

    def clear(self) -> None:
        self._store.delete_all()
        samples = self._live.all()
        self._live.forget(s._id for s in samples)
        for sample in samples:
            sample.unbind()


def _batches(samples: Iterable[Sample], size: int) -> Iterator[list[Sample]]:
    """Lists of up to ``size`` samples from ``samples`` (a generator runs as it is read).

    The collector is paused while a batch is drawn: the caller's loop (constructors)
    then costs what it costs outside add_samples, instead of full collections walking
    the batch; it runs again between batches, so a cycle waits at most one batch.
    """
    iterator = iter(samples)
    while True:
        batch = list(itertools.islice(iterator, size))
        if not batch:
            return
        for sample in batch:
            if not isinstance(sample, Sample):
                raise ValidationError(f"add_samples takes Sample objects, got {type(sample).__name__}")
        yield batch


_LIMIT = (f"MongoDB stores at most {MAX_DOCUMENT_BYTES:,} bytes (16 MiB) per sample: keep large data "
          "in files and store their paths")


def _size_bounds(column: Sequence[Any]) -> Iterator[int]:
    """:func:`~labellens.codec.stored_size_bound` of each value; a column of labels of one type
    (the common case) calls their own bound directly, twice as fast."""
    kinds = set(map(type, column))
    kind = kinds.pop() if len(kinds) == 1 else None
    if kind in LATE_TYPES:
        return map(kind.stored_size_bound, column)  # type: ignore[union-attr]
    return map(stored_size_bound, column)


def _new_sample(samples: Sequence[Sample], offset: int, index: int) -> str:
    """How an error names sample ``index`` of a batch of add_samples (its position in the call)."""
    return f"sample {offset + index} ({samples[index].get('filepath')!r})"


def _logit_counts(value: Any) -> Iterator[int]:
    """The number of logits of each label in ``value``: a label, its stored form, or compact logits."""
    if isinstance(value, Classification):
        if value.logits is not None:
            yield value.logits.size
    elif isinstance(value, Classifications):
        for label in value.classifications:
            yield from _logit_counts(label)
    elif isinstance(value, bytes):  # set_values("<field>.logits"): only logits are stored as raw bytes
        yield len(value) // LOGITS_DTYPE.itemsize
    elif isinstance(value, dict):
        kind = value.get("_cls")
        if kind == Classification.__name__ and isinstance(value.get("logits"), bytes):
            yield len(value["logits"]) // LOGITS_DTYPE.itemsize
        elif kind == Classifications.__name__:
            for label in value.get("classifications") or []:
                yield from _logit_counts(label)


def _apply(doc: dict[str, Any], path: str, value: Any) -> None:
    """``$set`` (``$unset`` for None) of a dotted path in a document, in place."""
    *parents, leaf = path.split(".")
    for part in parents:
        child = doc.get(part)
        if not isinstance(child, dict):
            child = doc[part] = {}
        doc = child
    if value is None:
        doc.pop(leaf, None)
    else:
        doc[leaf] = value


def _distinct_kinds(samples: Sequence[Sample]) -> dict[str, list[Any]]:
    """Per field, one value of each Python type (each element-type set, for flat lists) in ``samples``.

    A value's field type depends only on that, so checking these is checking them all,
    in one pass over the batch instead of one per field.
    """
    seen: set[tuple[str, Any]] = set()
    found: dict[str, list[Any]] = {}
    for sample in samples:
        for name, value in sample.items():
            kind = type_key(value) or id(value)  # None for a nested list: every one is checked
            if (name, kind) not in seen:
                seen.add((name, kind))
                found.setdefault(name, []).append(value)
    return found


@contextlib.contextmanager
def _gc_paused() -> Iterator[Callable[[], None]]:
    """Pause the cyclic garbage collector during a bulk write; yields a function that collects the
    young generations (what a caller's generator made since) if the collector was on.

    Encoding allocates many small objects, which triggers collections that walk every
    live sample (half the cost of a bulk write); the objects are freed by reference
    counting anyway. The collector's previous state is restored.
    """
    enabled = gc.isenabled()
    gc.disable()

    def collect_young() -> None:
        if enabled:
            gc.collect(1)

    try:
        yield collect_young
    finally:
        if enabled:
            gc.enable()
