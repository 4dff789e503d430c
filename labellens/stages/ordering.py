"""Stages that order or slice samples: SortBy, Take, Shuffle, Limit, Skip.

Random stages fix their seed when made (a seed is drawn if none is given), and
order samples by a key derived from each sample's stored ``_rand`` value and the
seed, so the same stage shows the same samples in any process.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from labellens.errors import StageError
from labellens.expr import Expr, check_safe, compile_expr, raw_field_paths
from labellens.stages.base import CompileContext, Stage, mongo_path, require_bool, require_int, set_frozen

RAND_FIELD = "_rand"
MAX_SEED = 2**31 - 1


@dataclass(frozen=True, repr=False, eq=False)
class SortBy(Stage):
    """Samples sorted by a field or an expression, ascending unless ``reverse``.

    Samples lacking the field follow MongoDB's order: first when ascending, last
    when descending. Ties are broken by ``_id`` in the same direction, so paging over
    equal values never repeats or skips a sample, and a ``(field, _id)`` index serves
    both directions. ``SortBy("x", reverse=True).to_mongo(ctx) == [{"$sort": {"x": -1, "_id": -1}}]``
    """

    field_or_expr: str | Expr | dict[str, Any]
    reverse: bool = False

    def __post_init__(self) -> None:
        require_bool(self.reverse, "reverse")
        value = self.field_or_expr
        if isinstance(value, dict):
            check_safe(value, "SortBy expression")
        elif not isinstance(value, Expr) and (not isinstance(value, str) or not value):
            raise StageError(f"SortBy takes a field name or an expression, got {value!r}")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        direction = -1 if self.reverse else 1
        value = self.field_or_expr
        if isinstance(value, str):
            ctx.check_field(value)
            path = mongo_path(value)
            return [{"$sort": {path: direction} if path == "_id" else {path: direction, "_id": direction}}]
        if isinstance(value, Expr):
            key = compile_expr(value, ctx)
        else:
            for path in raw_field_paths(value, expression=True):
                ctx.check_field(path)
            key = value
        return [{"$addFields": {"_sort_key": key}},
                {"$sort": {"_sort_key": direction, "_id": direction}},
                {"$project": {"_sort_key": 0}}]

    def kwargs(self) -> dict[str, Any]:
        value = self.field_or_expr
        return {"field_or_expr": compile_expr(value) if isinstance(value, Expr) else value,
                "reverse": self.reverse}


def _random_order(multiplier: int, limit: int | None = None) -> list[dict[str, Any]]:
    # $limit right after $sort lets the server keep only the top ``limit`` while sorting.
    key = {"$mod": [{"$multiply": [f"${RAND_FIELD}", multiplier]}, 1]}
    return [{"$addFields": {"_rand_key": key}},
            {"$sort": {"_rand_key": 1, "_id": 1}},
            *([{"$limit": limit}] if limit is not None else []),
            {"$project": {"_rand_key": 0}}]


def _multiplier(seed: int) -> int:
    return seed % MAX_SEED + 1


@dataclass(frozen=True, repr=False)
class Take(Stage):
    """``size`` random samples; the same ``seed`` gives the same samples in any process.

    Without a seed, one is drawn when the stage is made, so one view object always
    shows the same samples (and its JSON, which holds the seed, too).
    """

    size: Any
    seed: Any = None

    def __post_init__(self) -> None:
        require_int(self.size, "size")
        if self.seed is None:
            set_frozen(self, "seed", random.randint(0, MAX_SEED - 1))
        require_int(self.seed, "seed")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        if not self.size:
            return [{"$match": {"_id": None}}]
        return _random_order(_multiplier(self.seed), self.size)


@dataclass(frozen=True, repr=False)
class Shuffle(Stage):
    """All samples in a random order fixed by ``seed``."""

    seed: Any = None

    def __post_init__(self) -> None:
        if self.seed is None:
            set_frozen(self, "seed", random.randint(0, MAX_SEED - 1))
        require_int(self.seed, "seed")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        return _random_order(_multiplier(self.seed))


@dataclass(frozen=True, repr=False)
class Limit(Stage):
    """At most ``limit`` samples. ``Limit(5).to_mongo(ctx) == [{"$limit": 5}]``"""

    limit: Any

    def __post_init__(self) -> None:
        require_int(self.limit, "limit")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        # $limit 0 is an error in MongoDB; matching nothing is the same result.
        return [{"$limit": self.limit}] if self.limit else [{"$match": {"_id": None}}]


@dataclass(frozen=True, repr=False)
class Skip(Stage):
    """Every sample after the first ``skip``. ``Skip(5).to_mongo(ctx) == [{"$skip": 5}]``"""

    skip: Any

    def __post_init__(self) -> None:
        require_int(self.skip, "skip")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        return [{"$skip": self.skip}] if self.skip else []
