"""Views: a dataset plus an immutable tuple of stages, evaluated lazily by the database."""

from __future__ import annotations

from typing import Any

from labellens.dataset.collection import CompileMemo, SampleCollection
from labellens.dataset.printing import summary
from labellens.dataset.protocols import DatasetCore
from labellens.stages import Stage, stage_to_json


class View(SampleCollection):
    """An immutable view: every chain method returns a new view; the data never changes."""

    __slots__ = ("_dataset", "_stages", "_memo")

    def __init__(self, dataset: DatasetCore, stages: tuple[Stage, ...], memo: CompileMemo | None = None
                 ) -> None:
        object.__setattr__(self, "_dataset", dataset)
        object.__setattr__(self, "_stages", tuple(stages))
        object.__setattr__(self, "_memo", memo)  # the parent's compiled stages, then this view's
        self.pipeline()  # validate every stage (fields included) against the schema now

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

    def _compile_stages(self, schema: dict[str, str], memo: CompileMemo | None = None
                        ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """Compiled once per schema read: a view is immutable, and chaining compiles only the new stage."""
        memo = self._memo
        if memo is None or memo.schema is not schema or memo.done != len(self._stages):
            pipeline, output = super()._compile_stages(schema, memo)
            memo = CompileMemo(schema, len(self._stages), pipeline, output)
            object.__setattr__(self, "_memo", memo)
        return memo.pipeline, memo.output

    def _compile_memo(self) -> CompileMemo | None:
        return self._memo

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
