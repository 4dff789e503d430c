"""Views: a dataset plus an immutable tuple of stages, evaluated lazily by the database."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from labellens.dataset import field_edits
from labellens.dataset.collection import WRITE_BATCH, CompileMemo, SampleCollection, compile_stages
from labellens.dataset.printing import summary
from labellens.dataset.protocols import DatasetCore
from labellens.dataset.sample import Sample, SampleView
from labellens.errors import ValidationError
from labellens.stages import Mongo, Stage, stage_to_json
from labellens.validation import string_list


class View(SampleCollection):
    """An immutable view: every chain method returns a new view; the data never changes."""

    # ``dataset`` and ``stages`` are slots (read without a Python call: building and reading
    # a view are hot paths); ``__setattr__`` keeps every attribute read-only.
    __slots__ = ("dataset", "stages", "_memo", "_reader")
    dataset: DatasetCore
    stages: tuple[Stage, ...]

    def __init__(self, dataset: DatasetCore, stages: tuple[Stage, ...], memo: CompileMemo | None = None
                 ) -> None:
        _set = object.__setattr__
        _set(self, "dataset", dataset)
        _set(self, "stages", tuple(stages))
        _set(self, "_memo", memo)  # the parent's compiled stages, then this view's
        _set(self, "_reader", None)  # made on the first read
        self._compiled()  # validate every stage (fields included) against the schema now

    def _compiled(self, paths: Sequence[str] = ()) -> tuple[list[dict[str, Any]], Mapping[str, str]]:
        """As the collection's, with a fast path for the common read: no paths to check, and every
        stage already compiled on the schema as last read (only the constructor finds one missing)."""
        memo = self._memo
        if not paths and memo is not None and memo.schema is self.dataset._stored_schema(False) \
                and memo.done == len(self.stages):
            return memo.pipeline, memo.context.schema
        return super()._compiled(paths)

    def __copy__(self) -> View:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> View:
        """An equal view of the same dataset (its stages copied; the dataset is never copied)."""
        return View(self.dataset, copy.deepcopy(self.stages, memo))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"views are immutable: cannot set {name!r}; chain a stage instead "
                             "(e.g. view.limit(5) returns a new view)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"views are immutable: cannot delete {name!r}")

    def add_stage(self, stage: Stage) -> View:
        """A new view with ``stage`` appended: only the new stage is compiled (validated now)."""
        return View(self.dataset, (*self.stages, stage), self._memo)

    def _compile_stages(self, schema: dict[str, str]) -> CompileMemo:
        """Compiled once per schema read: a view is immutable, and chaining compiles only the new stage."""
        memo = self._memo
        if memo is None or memo.schema is not schema or memo.done != len(self.stages):
            memo = compile_stages(self.stages, schema, memo, collection=self.dataset.collection_name)
            object.__setattr__(self, "_memo", memo)
        return memo

    def _sample_reader(self) -> Callable[[list[dict[str, Any]]], list[Sample]]:
        """SampleViews (they know the fields the stages show in part), made once: a view's
        stages never change."""
        reader = self._reader
        if reader is None:
            reader = SampleView.reader(self.dataset, self._partial_fields())
            object.__setattr__(self, "_reader", reader)
        return reader

    def _partial_fields(self) -> frozenset[str]:
        memo = self._memo
        assert memo is not None  # compiled when the view was made
        return memo.partial

    # -- writing the view back ----------------------------------------------------------

    def save(self, fields: str | Sequence[str] | None = None) -> None:
        """Write this view's values of ``fields`` (every field it shows by default) back to the
        dataset: filtered labels, computed values (None or missing: unset). Samples and fields
        the view leaves out are not changed (see :meth:`keep` and :meth:`keep_fields`). A view with
        raw ``mongo`` stages is refused: they may reshape values in ways labellens cannot check."""
        if any(isinstance(stage, Mongo) for stage in self.stages):
            raise ValidationError("a view with mongo() stages cannot be saved: its values are unchecked; "
                                  "compute them with set_field, or write them with set_values")
        shown = self._compiled()[1]
        names = list(shown) if fields is None else string_list(fields, "fields")
        stored = self.dataset._stored_schema(True)
        unknown = [n for n in names if n not in stored or n not in shown]
        if unknown:
            raise ValidationError(f"cannot save {unknown[0]!r}: only fields of the dataset that this view "
                                  f"shows can be saved: {', '.join(n for n in shown if n in stored)}")
        pipeline = [*self._compiled()[0], {"$project": dict.fromkeys(names, 1)}]
        for docs in self.dataset._run_batches(pipeline, batch_size=WRITE_BATCH):
            self.dataset._writer.write_stored([
                (doc["_id"], {n: doc[n] for n in names if doc.get(n) is not None},
                 [n for n in names if doc.get(n) is None]) for doc in docs])

    def keep(self) -> None:
        """Delete the dataset's samples that this view leaves out (the others are not changed)."""
        kept = set(self._ids())
        self.dataset._writer.delete([oid for oid in self.dataset._ids() if oid not in kept])

    def keep_fields(self) -> None:
        """Delete the dataset's fields that this view leaves out (from every sample and the schema)."""
        for name in self.excluded_field_names:
            self.dataset.delete_sample_field(name)

    def clone_sample_field(self, name: str, new_name: str) -> None:
        """Copy ``name`` into ``new_name`` on this view's samples only (the new field is declared
        on the dataset; others lack it). ``gt.a`` -> ``gt.b`` copies a label attribute."""
        dataset = self.dataset
        field_edits.clone_field_of(dataset._record, dataset._schema, name, new_name,  # type: ignore[attr-defined]
                                   self._ids())

    def clear_sample_field(self, name: str) -> None:
        """Unset ``name`` (a field or an embedded path such as ``gt.score``) on this view's samples only."""
        dataset = self.dataset
        field_edits.clear_field_of(dataset._record, dataset._schema, name, self._ids())  # type: ignore[attr-defined]

    def to_json(self) -> list[dict[str, Any]]:
        """The stages as JSON (rebuild with ``dataset.view_from_json``)."""
        return [stage_to_json(stage) for stage in self.stages]

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, View) and other.dataset.name == self.dataset.name
                and other.to_json() == self.to_json())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return summary(self)

    __str__ = __repr__
