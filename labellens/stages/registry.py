"""Stage JSON: ``{"_cls": "SortBy", "kwargs": {...}}``, rebuilt by registered name.

Only the classes registered here can be rebuilt, and they are rebuilt through
their constructors, so JSON from a browser goes through the same validation as
Python code (no dotted-path imports; raw pipelines only through Mongo, which
checks them). Concat lives here: it rebuilds the other view's stages by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labellens.errors import LabelLensError, StageError
from labellens.stages.base import CompileContext, Stage, set_frozen
from labellens.stages.computed import SetField
from labellens.stages.filtering import Exclude, Exists, Match, MatchTags, Select, SelectBy
from labellens.stages.label_matching import FilterField, LimitLabels, MatchLabels
from labellens.stages.label_selection import ExcludeLabels, SelectLabels
from labellens.stages.ordering import Limit, Shuffle, Skip, SortBy, Take
from labellens.stages.projection import ExcludeFields, FilterLabels, SelectFields
from labellens.stages.raw import Mongo
from labellens.stages.sharding import Shard


@dataclass(frozen=True, repr=False, eq=False)
class Concat(Stage):
    """This view's samples, then those of another view of the same dataset (its ``stages``).

    ``Concat([Limit(1)])`` -> ``[{"$unionWith": {"coll": <the dataset's collection>,
    "pipeline": [{"$limit": 1}]}}]``. The other view's stages are rebuilt from JSON like any
    stage, and it reads only this dataset's collection. MongoDB runs it (mongomock has no
    ``$unionWith``).
    """

    stages: Any

    def __post_init__(self) -> None:
        items = self.stages if isinstance(self.stages, (list, tuple)) else [self.stages]
        set_frozen(self, "stages", tuple(s if isinstance(s, Stage) else stage_from_json(s) for s in items))

    def kwargs(self) -> dict[str, Any]:
        return {"stages": [stage_to_json(stage) for stage in self.stages]}

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        if not ctx.collection:
            raise StageError("concat compiles only in a view of a dataset (it reads its collection)")
        pipeline, _ = self._compile_other(ctx)
        return [{"$unionWith": {"coll": ctx.collection, "pipeline": pipeline}}]

    def partial_fields_in(self, schema: Mapping[str, str]) -> tuple[str, ...]:
        return self._compile_other(CompileContext(schema))[1]

    def _compile_other(self, ctx: CompileContext) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        """The other view's pipeline, compiled on the dataset's schema, and the fields it shows in part."""
        other = CompileContext(ctx.root if ctx.root is not None else ctx.schema, ctx.root, ctx.collection)
        pipeline: list[dict[str, Any]] = []
        partial: list[str] = []
        for stage in self.stages:
            pipeline += stage.to_mongo(other)
            partial += stage.partial_fields_in(other.schema)
            other = other._replace(schema=stage.output_schema(other.schema))
        return pipeline, tuple(partial)


STAGES: dict[str, type[Stage]] = {cls.__name__: cls for cls in (
    MatchTags, Match, Exists, Select, Exclude, SortBy, Take, Shuffle, Limit, Skip,
    SelectFields, ExcludeFields, FilterLabels, Shard, SelectBy, SetField, SelectLabels, ExcludeLabels,
    FilterField, LimitLabels, MatchLabels, Mongo, Concat,
)}


def stage_to_json(stage: Stage) -> dict[str, Any]:
    """The JSON form of a stage."""
    return {"_cls": type(stage).__name__, "kwargs": stage.kwargs()}


def stage_from_json(data: Any) -> Stage:
    """Rebuild a stage from its JSON form; anything malformed raises StageError."""
    if not isinstance(data, dict) or set(data) - {"_cls", "kwargs"}:
        raise StageError(f'a stage must be {{"_cls": NAME, "kwargs": {{...}}}}, got {data!r}'[:300])
    name = data.get("_cls")
    cls = STAGES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise StageError(f"unknown stage {name!r}; stages are: {', '.join(STAGES)}")
    kwargs = data.get("kwargs", {})
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise StageError(f"the kwargs of {name} must be an object, got {kwargs!r}"[:300])
    try:
        return cls(**kwargs)
    except LabelLensError:
        raise
    except (TypeError, ValueError) as exc:
        raise StageError(f"invalid parameters for {name}: {exc}") from None


def stages_from_json(data: Any) -> tuple[Stage, ...]:
    """Rebuild a list of stages."""
    if not isinstance(data, Sequence) or isinstance(data, (str, bytes)):
        raise StageError(f"stages must be a list, got {data!r}"[:300])
    return tuple(stage_from_json(item) for item in data)
