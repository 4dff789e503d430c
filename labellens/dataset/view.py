"""Views: a dataset plus an immutable tuple of stages, evaluated lazily by the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labellens.dataset.collection import CompileMemo, SampleCollection, compile_stages
from labellens.dataset.printing import summary
from labellens.dataset.protocols import DatasetCore
from labellens.dataset.sample import Sample
from labellens.stages import Stage, stage_to_json


class View(SampleCollection):
    """An immutable view: every chain method returns a new view; the data never changes."""

    __slots__ = ("_dataset", "_stages", "_memo", "_reader")

    def __init__(self, dataset: DatasetCore, stages: tuple[Stage, ...], memo: CompileMemo | None = None
                 ) -> None:
        object.__setattr__(self, "_dataset", dataset)
        object.__setattr__(self, "_stages", tuple(stages))
        object.__setattr__(self, "_memo", memo)  # the parent's compiled stages, then this view's
        object.__setattr__(self, "_reader", None)  # made on the first read
        self._compiled()  # validate every stage (fields included) against the schema now

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"views are immutable: cannot set {name!r}; chain a stage instead "
                             "(e.g. view.limit(5) returns a new view)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"views are immutable: cannot delete {name!r}")

    @property
    def dataset(self) -> DatasetCore:
        return self._dataset

    @property
    def stages(self) -> tuple[Stage, ...]:
        return self._stages

    def add_stage(self, stage: Stage) -> View:
        """A new view with ``stage`` appended: only the new stage is compiled (validated now)."""
        return View(self._dataset, (*self._stages, stage), self._memo)

    def _compile_stages(self, schema: dict[str, str]) -> CompileMemo:
        """Compiled once per schema read: a view is immutable, and chaining compiles only the new stage."""
        memo = self._memo
        if memo is None or memo.schema is not schema or memo.done != len(self._stages):
            memo = compile_stages(self._stages, schema, memo)
            object.__setattr__(self, "_memo", memo)
        return memo

    def _sample_reader(self) -> Callable[[list[dict[str, Any]]], list[Sample]]:
        """Made once: the view's stages, and so the fields it shows in part, never change."""
        reader = self._reader
        if reader is None:
            reader = super()._sample_reader()
            object.__setattr__(self, "_reader", reader)
        return reader

    def to_json(self) -> list[dict[str, Any]]:
        """The stages as JSON (rebuild with ``dataset.view_from_json``)."""
        return [stage_to_json(stage) for stage in self._stages]

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, View) and other._dataset.name == self._dataset.name
                and other.to_json() == self.to_json())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return summary(self)

    __str__ = __repr__
