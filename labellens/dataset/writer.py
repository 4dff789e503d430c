"""Bulk writes of one dataset's samples: validated first, then sent in batches.

:class:`SampleWriter` is the part of a dataset that changes samples. Every
method checks and encodes all values of a batch before anything is written
(a bad value leaves the database as it was), then queues the bulk write on a
write-behind thread so the next batch is encoded meanwhile.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from bson import ObjectId

from labellens.background import BackgroundWriter
from labellens.dataset import codec
from labellens.dataset.sample import Sample
from labellens.dataset.typed_schema import Schema, type_key
from labellens.db.stores import SampleStore
from labellens.errors import DatabaseUnavailableError, ValidationError
from labellens.ids import new_object_ids
from labellens.stages.base import mongo_path
from labellens.stages.ordering import RAND_FIELD

INSERT_BATCH = 2000
WRITE_BATCH = 10_000
COLLECT_EVERY = 50  # batches of add_samples between collections of the caller's young cycles


class SampleWriter:
    """Adds, changes and deletes the samples of one dataset."""

    def __init__(self, store: SampleStore, schema: Schema, where: str) -> None:
        self._store = store
        self._schema = schema
        self._where = where

    # -- adding ---------------------------------------------------------------------------

    def add(self, owner: Any, samples: Iterable[Sample], batch_size: int) -> list[ObjectId]:
        """Insert samples in batches (a generator is streamed); binds each to ``owner``.

        If a later batch fails, the samples already inserted are removed again; if
        they cannot be (the server is gone), the error says how many may remain.
        """
        ids: list[ObjectId] = []
        try:
            # The collector stays paused for the whole call (the samples and their encodings are
            # freed by reference counting); cycles the caller's generator makes are collected
            # every COLLECT_EVERY batches.
            with self._store.writer() as writer, codec.gc_paused() as collect_cycles:
                for number, batch in enumerate(_batches(samples, batch_size), 1):
                    ids += self._insert(owner, batch, writer)
                    if number % COLLECT_EVERY == 0:
                        collect_cycles()
        except BaseException as exc:
            if ids:
                self._roll_back(ids, exc)
            raise
        return ids

    def _insert(self, owner: Any, samples: list[Sample], writer: BackgroundWriter) -> list[ObjectId]:
        """Validate and encode one batch, declare its new fields, and queue its insert."""
        schema = self._schema.current()
        encoded = [s.to_mongo() for s in samples]
        new_types: dict[str, str] = {}
        for name, values in _distinct_kinds(samples).items():
            kind = self._schema.new_type(name, values, schema)
            if kind:
                new_types[name] = kind
        if new_types:
            self._schema.declare(new_types)
        ids = new_object_ids(len(samples))
        for sample, doc, sample_id in zip(samples, encoded, ids):
            # The inserted dict doubles as the sample's stored snapshot ("_" keys are internal).
            doc["_id"] = sample_id
            doc[RAND_FIELD] = random.random()
            sample.bind(owner, doc)
        writer.submit(self._store.insert_many, encoded)
        return ids

    def _roll_back(self, ids: list[ObjectId], exc: BaseException) -> None:
        """Remove what a failed add_samples wrote; if the server is gone, say how much may remain."""
        try:
            self._store.delete_by_ids(ids)
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

    # -- changing -----------------------------------------------------------------------------

    def save(self, samples: Sequence[Sample]) -> None:
        """Write the changed fields of samples in one bulk write."""
        schema = self._schema.current()
        changes = [(s, *s.changes()) for s in samples]
        new_types: dict[str, str] = {}
        for sample, to_set, _ in changes:
            for name in to_set:
                kind = self._schema.new_type(name, [sample.get(name)], {**schema, **new_types})
                if kind:
                    new_types[name] = kind
        if new_types:
            self._schema.declare(new_types)
        updates = [(s._id, to_set, to_unset) for s, to_set, to_unset in changes if to_set or to_unset]
        self._store.update_by_id(updates)  # type: ignore[arg-type]
        for sample, to_set, to_unset in changes:
            sample.mark_saved(to_set, to_unset)

    def set_fields(self, columns: Mapping[str, list[Any]],
                   oids: Sequence[ObjectId] | Callable[[], Sequence[ObjectId]], *, call: str) -> None:
        """Several fields per sample in one bulk write: ``columns[path][i]`` to sample ``oids[i]``.

        Every column is checked before anything is written (``None`` unsets) and encoded then,
        but for labels whose encoding cannot fail, which each batch encodes as it is built;
        ``call`` names the user's call (``set_values('x')``) in errors. ``oids`` may be a
        function that reads them: it runs in the write thread while the values are
        encoded, and each batch's update is built while the one before it is sent.
        """
        writing = False
        try:
            with self._store.writer() as writer, codec.gc_paused():
                reading: Future[Sequence[ObjectId]] | None = None
                ids: Sequence[ObjectId] = ()
                if callable(oids):
                    reading = writer.call(oids)
                else:
                    ids = oids
                # Encoding refuses what BSON cannot store, before any write.
                encoded = [codec.encode_checked(values) for values in columns.values()]
                if reading is not None:
                    ids = reading.result()
                self._check_lengths(columns, len(ids), call)
                for path, values in columns.items():
                    self._schema.check_values(path, values, self._where)
                targets = [mongo_path(path) for path in columns]
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

    # -- deleting -------------------------------------------------------------------------------

    def delete(self, oids: Sequence[ObjectId]) -> None:
        self._store.delete_by_ids(oids)

    def clear(self) -> None:
        self._store.delete_all()


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

