"""Shard: split a collection into disjoint parts for several workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labellens.errors import StageError
from labellens.stages.base import CompileContext, Stage, require_int
from labellens.stages.ordering import RAND_FIELD


@dataclass(frozen=True, repr=False)
class Shard(Stage):
    """The ``index``-th of ``count`` disjoint shards that together hold every sample.

    Shards split on each sample's stored random value (``_rand``, uniform in
    [0, 1)) into ``count`` equal ranges, so they are about equal in size, stable
    across processes, and independent of the view's order; workers that each
    process ``view.shard(i, n)`` never write the same sample. A plain range match
    costs no expression per document and is served by an index on ``_rand``
    where one exists (``dataset.create_index("_rand")``).
    ``Shard(1, 4).to_mongo(ctx) == [{"$match": {"_rand": {"$gte": 0.25, "$lt": 0.5}}}]``
    """

    index: Any
    count: Any

    def __post_init__(self) -> None:
        require_int(self.count, "count", minimum=1)
        require_int(self.index, "index")
        if self.index >= self.count:
            raise StageError(f"shard index must be below count ({self.count}), got {self.index}")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        # Each bound is computed once by the same expression, so neighbouring
        # shards share it exactly: no value falls between two shards or into both.
        return [{"$match": {RAND_FIELD: {"$gte": self.index / self.count,
                                         "$lt": (self.index + 1) / self.count}}}]
