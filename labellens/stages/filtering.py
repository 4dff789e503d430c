"""Stages that keep a subset of samples: MatchTags, Match, Exists, Select, Exclude."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from labellens.errors import StageError
from labellens.expr import Expr, check_safe, compile_expr
from labellens.stages.base import (
    CompileContext,
    Stage,
    mongo_path,
    require_bool,
    require_field,
    require_object_ids,
    require_strings,
    set_frozen,
)


@dataclass(frozen=True, repr=False)
class MatchTags(Stage):
    """Samples with any (or ``all``) of ``tags``; ``bool=False`` inverts the match.

    ``MatchTags(["a"]).to_mongo(ctx) == [{"$match": {"tags": {"$in": ["a"]}}}]``
    """

    tags: Any
    bool: Any = True
    all: Any = False

    def __post_init__(self) -> None:
        set_frozen(self, "tags", require_strings(self.tags, "tags"))
        require_bool(self.bool, "bool")
        require_bool(self.all, "all")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        tags = list(self.tags)
        if self.bool:
            condition: dict[str, Any] = {"$all": tags} if self.all else {"$in": tags}
        else:
            condition = {"$not": {"$all": tags}} if self.all else {"$nin": tags}
        return [{"$match": {"tags": condition}}]


@dataclass(frozen=True, repr=False)
class Match(Stage):
    """Samples where ``filter`` holds: an expression (``F("x") > 1``) or a plain query dict.

    ``Match(F("x") > 1).to_mongo(ctx) == [{"$match": {"$expr": {"$gt": [{"$ifNull": ["$x", None]}, 1]}}}]``.
    Server-side JavaScript (``$where``, ``$function``, ``$accumulator``) is refused.
    """

    filter: Any

    def __post_init__(self) -> None:
        if isinstance(self.filter, Expr):
            set_frozen(self, "filter", {"$expr": compile_expr(self.filter)})
        elif isinstance(self.filter, dict):
            check_safe(self.filter, "Match filter")
        else:
            raise StageError(f"Match takes an expression such as F('x') > 1 or a query dict, "
                             f"got {self.filter!r}")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        return [{"$match": self.filter}]


@dataclass(frozen=True, repr=False)
class Exists(Stage):
    """Samples whose ``field`` is set and not None (``bool=False``: missing or None).

    ``Exists("pred").to_mongo(ctx) == [{"$match": {"pred": {"$ne": None}}}]``
    """

    field: Any
    bool: Any = True

    def __post_init__(self) -> None:
        require_field(self.field, "field")
        require_bool(self.bool, "bool")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        ctx.check_field(self.field)
        path = mongo_path(self.field)
        return [{"$match": {path: {"$ne": None} if self.bool else None}}]


@dataclass(frozen=True, repr=False)
class Select(Stage):
    """The samples with the given ids; ``ordered=True`` keeps the order of ``sample_ids``.

    ``Select([id]).to_mongo(ctx) == [{"$match": {"_id": {"$in": [ObjectId(id)]}}}]``
    """

    sample_ids: Any
    ordered: Any = False

    def __post_init__(self) -> None:
        set_frozen(self, "sample_ids", require_object_ids(self.sample_ids, "sample_ids"))
        require_bool(self.ordered, "ordered")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        ids = [ObjectId(i) for i in self.sample_ids]
        pipeline: list[dict[str, Any]] = [{"$match": {"_id": {"$in": ids}}}]
        if self.ordered:
            pipeline += [{"$addFields": {"_select_order": {"$indexOfArray": [ids, "$_id"]}}},
                         {"$sort": {"_select_order": 1}},
                         {"$project": {"_select_order": 0}}]
        return pipeline


@dataclass(frozen=True, repr=False)
class Exclude(Stage):
    """Every sample except those with the given ids.

    ``Exclude([id]).to_mongo(ctx) == [{"$match": {"_id": {"$nin": [ObjectId(id)]}}}]``
    """

    sample_ids: Any

    def __post_init__(self) -> None:
        set_frozen(self, "sample_ids", require_object_ids(self.sample_ids, "sample_ids"))

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        return [{"$match": {"_id": {"$nin": [ObjectId(i) for i in self.sample_ids]}}}]
