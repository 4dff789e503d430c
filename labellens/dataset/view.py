"""Views: a dataset plus an immutable tuple of stages, evaluated lazily by the database."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from labellens.dataset.collection import CompileMemo, SampleCollection, compile_stages
from labellens.dataset.printing import summary
from labellens.dataset.protocols import DatasetCore
from labellens.dataset.sample import Sample, SampleView
from labellens.stages import Stage, stage_to_json


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
            memo = compile_stages(self.stages, schema, memo)
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
