"""Stages that change what each sample shows: SelectFields, ExcludeFields, FilterLabels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labellens.errors import StageError
from labellens.expr import Expr, check_safe, compile_expr
from labellens.label_types import label_types, list_path
from labellens.stages.base import (
    DEFAULT_FIELDS,
    CompileContext,
    Stage,
    mongo_path,
    require_bool,
    require_field,
    require_strings,
    set_frozen,
)


@dataclass(frozen=True, repr=False)
class SelectFields(Stage):
    """Only the given fields (plus filepath, tags, metadata and id).

    ``SelectFields("pred").to_mongo(ctx) == [{"$project": {"filepath": 1, ..., "pred": 1}}]``
    """

    field_names: Any

    def __post_init__(self) -> None:
        set_frozen(self, "field_names", require_strings(self.field_names, "field_names"))

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        for name in self.field_names:
            ctx.check_field(name)
        keep = dict.fromkeys([*DEFAULT_FIELDS, "_rand", *map(mongo_path, self.field_names)], 1)
        return [{"$project": keep}]

    def output_schema(self, schema: Mapping[str, str]) -> dict[str, str]:
        keep = {*DEFAULT_FIELDS, *(n.split(".", 1)[0] for n in self.field_names)}
        return {k: v for k, v in schema.items() if k in keep}

    def partial_fields(self) -> tuple[str, ...]:
        return _tops_of_subpaths(self.field_names)


@dataclass(frozen=True, repr=False)
class ExcludeFields(Stage):
    """Every field except the given ones (filepath, tags, metadata and id always stay).

    ``ExcludeFields("pred").to_mongo(ctx) == [{"$project": {"pred": 0}}]``
    """

    field_names: Any

    def __post_init__(self) -> None:
        names = require_strings(self.field_names, "field_names")
        protected = [n for n in names if n in (*DEFAULT_FIELDS, "id")]
        if protected:
            raise StageError(f"cannot exclude the default field {protected[0]!r}")
        set_frozen(self, "field_names", names)

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        for name in self.field_names:
            ctx.check_field(name)
        return [{"$project": dict.fromkeys(map(mongo_path, self.field_names), 0)}]

    def output_schema(self, schema: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in schema.items() if k not in self.field_names}

    def partial_fields(self) -> tuple[str, ...]:
        return _tops_of_subpaths(self.field_names)


@dataclass(frozen=True, repr=False, eq=False)
class FilterLabels(Stage):
    """Keep only the labels of a list-of-labels field (``Classifications``) where ``filter`` holds.

    ``filter`` is evaluated per label: ``F("label")`` is the label's class and
    ``F("confidence")`` its confidence. With ``only_matches`` (the default),
    samples left with no label are dropped. Samples of such a view must not save
    that field back, since it shows only part of the stored labels. Fields in
    ``filter`` are relative to the label, so only ``field`` is checked against the schema.
    """

    field: str
    filter: Expr | dict[str, Any]
    only_matches: bool = True

    def __post_init__(self) -> None:
        require_field(self.field, "field")
        require_bool(self.only_matches, "only_matches")
        if isinstance(self.filter, dict):
            check_safe(self.filter, "FilterLabels filter")
        elif not isinstance(self.filter, Expr):
            raise StageError(f"FilterLabels takes an expression such as F('label') == 'cat', "
                             f"got {self.filter!r}")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        key = label_list_key(ctx, self.field, "FilterLabels")
        path = f"{self.field}.{key}"
        kept = {"$filter": {"input": {"$ifNull": [f"${path}", []]}, "as": "this", "cond": self._condition()}}
        has_labels = {"$match": {f"{path}.0": {"$exists": True}}}
        update = replace_label_list(self.field, key, kept)
        return [has_labels, update, has_labels] if self.only_matches else [update]

    def _condition(self) -> Any:
        return compile_expr(self.filter, element=True) if isinstance(self.filter, Expr) else self.filter

    def kwargs(self) -> dict[str, Any]:
        return {"field": self.field, "filter": self._condition(), "only_matches": self.only_matches}

    def partial_fields(self) -> tuple[str, ...]:
        return (self.field,)


def replace_label_list(field: str, key: str, labels: Any) -> dict[str, Any]:
    """The ``$addFields`` that sets the label list ``field.key`` to the expression ``labels``.

    The label list's document is rebuilt key by key: an $addFields of the dotted path
    would also create the field on samples that lack it.
    """
    stored = f"${field}"
    entry = {"$cond": [{"$eq": ["$$entry.k", key]}, {"k": key, "v": labels}, "$$entry"]}
    rebuilt = {"$arrayToObject": {"$map": {"input": {"$objectToArray": stored}, "as": "entry", "in": entry}}}
    present = {"$gt": [{"$ifNull": [stored, None]}, None]}
    return {"$addFields": {field: {"$cond": [present, rebuilt, stored]}}}


def _tops_of_subpaths(paths: tuple[str, ...]) -> tuple[str, ...]:
    """Fields shown in part because only some of their subfields are selected or excluded."""
    return tuple(p.split(".", 1)[0] for p in paths if "." in p)


def label_list_key(ctx: CompileContext, field: str, stage: str) -> str:
    """The list path of ``field``'s labels (``classifications``); StageError naming the list types
    when the field holds no list of labels."""
    ctx.check_field(field)
    key = list_path(ctx.schema.get(field))
    if key is None:
        lists = ", ".join(t.name for t in label_types() if t.list_path)
        raise StageError(f"{stage} needs a field of labels in a list ({lists}); {field!r} is "
                         f"{ctx.schema.get(field)}")
    return key
