"""Mongo: raw aggregation stages, checked like Match's query dicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labellens.errors import StageError
from labellens.expr import check_safe
from labellens.stages.base import CompileContext, Stage, set_frozen

# Stages that read other collections or the server's state: a view reads its own dataset only.
_OUTSIDE_READS = frozenset({"$lookup", "$unionWith", "$graphLookup", "$collStats", "$indexStats",
                            "$currentOp", "$listSessions", "$listLocalSessions", "$planCacheStats"})


@dataclass(frozen=True, repr=False, eq=False)
class Mongo(Stage):
    """Raw aggregation stages, e.g. ``Mongo([{"$limit": 1}])`` -> ``[{"$limit": 1}]``.

    Each stage is a one-key dict. Server-side JavaScript, writes (``$out``, ``$merge``)
    and stages that read other collections are refused. The stages may reshape samples
    in ways labellens cannot follow, so every field is shown only in part (never saved back).
    """

    pipeline: Any

    def __post_init__(self) -> None:
        stages = [self.pipeline] if isinstance(self.pipeline, dict) else self.pipeline
        if not isinstance(stages, (list, tuple)) or not all(
                isinstance(s, dict) and len(s) == 1 and str(next(iter(s))).startswith("$") for s in stages):
            raise StageError('mongo takes a list of aggregation stages such as [{"$limit": 1}], '
                             f"got {self.pipeline!r}"[:300])
        check_safe(stages, "mongo pipeline")
        outside = next((k for s in stages for k in s if k in _OUTSIDE_READS), None)
        if outside is not None:
            raise StageError(f"mongo pipeline uses {outside}, which reads outside this dataset; "
                             "labellens refuses it in views")
        set_frozen(self, "pipeline", tuple(stages))

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        return list(self.pipeline)

    def partial_fields_in(self, schema: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(schema)
