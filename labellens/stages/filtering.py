"""Stages that keep a subset of samples: MatchTags, Match, Exists, Select, Exclude, SelectBy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from labellens.errors import StageError
from labellens.expr import Call, Expr, check_safe, compile_expr, plain_query, raw_field_paths
from labellens.fields import FieldType
from labellens.label_types import list_path
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


@dataclass(frozen=True, repr=False, eq=False)
class Match(Stage):
    """Samples where ``filter`` holds: an expression (``F("x") > 1``) or a plain query dict.

    ``Match(F("x") > 1).to_mongo(ctx) == [{"$match": {"$expr": {"$gt": [{"$ifNull": ["$x", None]}, 1]}}}]``.
    ``between`` and ``is_in`` on a (non-list) field at the top level compile to the
    plain query form, which an index serves: ``Match(F("x").between(0, 1))`` ->
    ``[{"$match": {"x": {"$gte": 0, "$lte": 1}}}]``.
    Server-side JavaScript (``$where``, ``$function``, ``$accumulator``) is refused.
    The expression tree is kept and compiled with the schema, so unknown fields raise
    FieldNotFoundError when the view is made.
    """

    filter: Expr | dict[str, Any]

    def __post_init__(self) -> None:
        if isinstance(self.filter, dict):
            check_safe(self.filter, "Match filter")
        elif not isinstance(self.filter, Expr):
            raise StageError(f"Match takes an expression such as F('x') > 1 or a query dict, "
                             f"got {self.filter!r}")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        if isinstance(self.filter, dict):
            for path in raw_field_paths(self.filter):
                ctx.check_field(path)
            return [{"$match": self.filter}]
        parts = _and_parts(self.filter)
        plain = [_plain(part, ctx) for part in parts]
        if all(p is None for p in plain):
            return [{"$match": {"$expr": compile_expr(self.filter, ctx)}}]
        queries = [p if p is not None else {"$expr": compile_expr(part, ctx)}
                   for part, p in zip(parts, plain, strict=True)]
        return [{"$match": queries[0] if len(queries) == 1 else {"$and": queries}}]

    def kwargs(self) -> dict[str, Any]:
        if isinstance(self.filter, dict):
            return {"filter": self.filter}
        return {"filter": {"$expr": compile_expr(self.filter)}}


def _and_parts(node: Expr) -> list[Expr]:
    if isinstance(node, Call) and node.op == "and":
        return [p for arg in node.args for p in _and_parts(arg)]
    return [node]


def _plain(node: Expr, ctx: CompileContext) -> dict[str, Any] | None:
    """The plain query form of ``node`` when its field is not a list (array semantics differ)."""
    query = plain_query(node, mongo_path)
    if query is None:
        return None
    path = node.args[0].path  # type: ignore[attr-defined]
    ctx.check_field(path)
    ftype = ctx.schema.get(path.split(".", 1)[0], "")
    if FieldType(ftype).is_list or list_path(ftype):
        return None
    return query


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


_SELECT_BY_VALUES = (str, int, float, bool)
SWITCH_LIMIT = 1000  # up to this many values, a position is a $switch (mongomock lacks $indexOfArray)


def _position(values: list[Any], path: str) -> dict[str, Any]:
    """The position of ``path``'s value in ``values``: a ``$switch`` for short lists (every backend
    runs it), ``$indexOfArray`` for long ones (a smaller pipeline; MongoDB only)."""
    if len(values) > SWITCH_LIMIT:
        return {"$indexOfArray": [values, path]}
    branches = [{"case": {"$eq": [path, value]}, "then": i} for i, value in enumerate(values)]
    return {"$switch": {"branches": branches, "default": len(values)}} if branches else {"$literal": 0}


@dataclass(frozen=True, repr=False)
class SelectBy(Stage):
    """The samples whose ``field`` is one of ``values``; ``ordered=True`` orders them as ``values``.

    ``SelectBy("filepath", ["/a.jpg"]).to_mongo(ctx) == [{"$match": {"filepath": {"$in": ["/a.jpg"]}}}]``.
    ``field="id"`` takes sample ids (as :class:`Select`). Values are strings, numbers or booleans.
    """

    field: Any
    values: Any
    ordered: Any = False

    def __post_init__(self) -> None:
        require_field(self.field, "field")
        require_bool(self.ordered, "ordered")
        if self.field == "id":
            set_frozen(self, "values", require_object_ids(self.values, "values"))
            return
        items = [self.values] if isinstance(self.values, _SELECT_BY_VALUES) else self.values
        if not isinstance(items, (list, tuple)):
            raise StageError(f"values must be a value or a list of them, got {self.values!r:.200}")
        bad = next((v for v in items if not isinstance(v, _SELECT_BY_VALUES)), None)
        if bad is not None:
            raise StageError(f"values must be strings, numbers or booleans, got {bad!r:.100}")
        check_safe(list(items), "SelectBy values")
        set_frozen(self, "values", tuple(items))

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        ctx.check_field(self.field)
        path = mongo_path(self.field)
        values = [ObjectId(v) for v in self.values] if path == "_id" else list(self.values)
        pipeline: list[dict[str, Any]] = [{"$match": {path: {"$in": values}}}]
        if self.ordered:
            pipeline += [{"$addFields": {"_select_order": _position(values, f"${path}")}},
                         {"$sort": {"_select_order": 1, "_id": 1}},
                         {"$project": {"_select_order": 0}}]
        return pipeline
