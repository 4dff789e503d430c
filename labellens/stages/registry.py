"""Stage JSON: ``{"_cls": "SortBy", "kwargs": {...}}``, rebuilt by registered name.

Only the classes registered here can be rebuilt, and they are rebuilt through
their constructors, so JSON from a browser goes through the same validation as
Python code (no dotted-path imports, no raw pipelines).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labellens.errors import LabelLensError, StageError
from labellens.stages.base import Stage
from labellens.stages.computed import SetField
from labellens.stages.filtering import Exclude, Exists, Match, MatchTags, Select, SelectBy
from labellens.stages.label_matching import FilterField, LimitLabels, MatchLabels
from labellens.stages.label_selection import ExcludeLabels, SelectLabels
from labellens.stages.ordering import Limit, Shuffle, Skip, SortBy, Take
from labellens.stages.projection import ExcludeFields, FilterLabels, SelectFields
from labellens.stages.raw import Mongo
from labellens.stages.sharding import Shard

STAGES: dict[str, type[Stage]] = {cls.__name__: cls for cls in (
    MatchTags, Match, Exists, Select, Exclude, SortBy, Take, Shuffle, Limit, Skip,
    SelectFields, ExcludeFields, FilterLabels, Shard, SelectBy, SetField, SelectLabels, ExcludeLabels,
    FilterField, LimitLabels, MatchLabels, Mongo,
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
