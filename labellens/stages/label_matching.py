"""Stages that filter a field's value or a sample's labels: FilterField, LimitLabels, MatchLabels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labellens.errors import StageError
from labellens.expr import Expr, check_safe, compile_expr
from labellens.label_types import list_path
from labellens.stages.base import (
    CompileContext,
    Stage,
    require_bool,
    require_field,
    require_int,
    set_frozen,
)
from labellens.stages.label_selection import check_label_refs, label_condition, named_label_fields
from labellens.stages.projection import label_list_key, replace_label_list


def _element_filter(value: Any, where: str) -> Any:
    """A filter on one value (``F("label")``, ``F()``) as an aggregation expression on ``$$this``."""
    if isinstance(value, dict):
        check_safe(value, where)
        return value
    if not isinstance(value, Expr):
        raise StageError(f"{where} takes an expression such as F('label') == 'cat', got {value!r}"[:300])
    return compile_expr(value, element=True)


def _on_value(path: str, condition: Any) -> Any:
    """``condition`` (on ``$$this``) evaluated on the value at ``path``."""
    return {"$let": {"vars": {"this": f"${path}"}, "in": condition}}


@dataclass(frozen=True, repr=False, eq=False)
class FilterField(Stage):
    """Show ``field`` only where ``filter`` holds on its value (None elsewhere).

    ``filter`` is relative to the value: ``F("label")`` of a label field, ``F()`` of a number.
    With ``only_matches`` (the default) samples where it does not hold are dropped.
    ``FilterField("x", F() > 1).to_mongo(ctx) == [{"$addFields": {"x": {"$cond": [<x > 1>, "$x", None]}}},
    {"$match": {"x": {"$ne": None}}}]``
    """

    field: str
    filter: Any
    only_matches: bool = True

    def __post_init__(self) -> None:
        require_field(self.field, "field")
        require_bool(self.only_matches, "only_matches")
        set_frozen(self, "filter", _element_filter(self.filter, "filter_field"))

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        ctx.check_field(self.field)
        kept = {"$cond": [_on_value(self.field, self.filter), f"${self.field}", None]}
        pipeline: list[dict[str, Any]] = [{"$addFields": {self.field: kept}}]
        if self.only_matches:
            pipeline.append({"$match": {self.field: {"$ne": None}}})
        return pipeline

    def partial_fields(self) -> tuple[str, ...]:
        return (self.field,)


@dataclass(frozen=True, repr=False)
class LimitLabels(Stage):
    """At most ``limit`` labels of the label-list field ``field`` (the first ones).

    ``LimitLabels("gt", 1)`` on a Classifications field sets ``gt.classifications`` to
    ``{"$slice": [<its labels>, 1]}``.
    """

    field: str
    limit: int

    def __post_init__(self) -> None:
        require_field(self.field, "field")
        require_int(self.limit, "limit")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        key = label_list_key(ctx, self.field, "limit_labels")
        kept = {"$slice": [{"$ifNull": [f"${self.field}.{key}", []]}, self.limit]}
        return [replace_label_list(self.field, key, kept)]

    def partial_fields(self) -> tuple[str, ...]:
        return (self.field,)


@dataclass(frozen=True, repr=False, eq=False)
class MatchLabels(Stage):
    """Samples with at least one label (in ``fields``, every label field by default) that has
    one of ``ids``, one of ``tags`` and satisfies ``filter`` (each when given); ``bool=False``
    keeps the other samples. The labels themselves are not changed.
    """

    ids: Any = None
    tags: Any = None
    filter: Any = None
    fields: Any = None
    bool: Any = True

    def __post_init__(self) -> None:
        check_label_refs(self)
        if self.filter is not None:
            set_frozen(self, "filter", _element_filter(self.filter, "match_labels filter"))
        require_bool(self.bool, "bool")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        extra = () if self.filter is None else (self.filter,)
        chosen = label_condition("$$this", self.ids, self.tags, *extra)
        found: list[Any] = []
        for name in named_label_fields(self.fields, ctx.schema):
            if (key := list_path(ctx.schema[name])) is not None:
                labels = {"$filter": {"input": {"$ifNull": [f"${name}.{key}", []]}, "as": "this",
                                      "cond": chosen}}
                found.append({"$gt": [{"$size": labels}, 0]})
            else:
                found.append({"$and": [{"$gt": [{"$ifNull": [f"${name}", None]}, None]},
                                       _on_value(name, chosen)]})
        matched: Any = {"$or": found} if found else False
        return [{"$match": {"$expr": matched if self.bool else {"$eq": [matched, False]}}}]
