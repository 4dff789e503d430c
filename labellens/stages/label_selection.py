"""Stages that keep or drop individual labels: SelectLabels, ExcludeLabels.

A label is chosen by its id and/or its tags, in the label fields named (every label
field of the schema by default). A ``Classification`` field that loses its label
shows None; a ``Classifications`` field keeps the labels that remain. The fields
they touch are shown in part, so their samples must not save them back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from labellens.errors import StageError
from labellens.label_types import label_fields, list_path
from labellens.stages.base import CompileContext, Stage, require_bool, require_strings, set_frozen
from labellens.stages.projection import FilterLabels


@dataclass(frozen=True, repr=False)
class _LabelStage(Stage):
    """The parameters and compilation shared by SelectLabels and ExcludeLabels."""

    ids: Any = None
    tags: Any = None
    fields: Any = None
    omit_empty: Any = True

    _keep_matches = True  # SelectLabels keeps the chosen labels, ExcludeLabels drops them

    def __post_init__(self) -> None:
        check_label_refs(self)
        require_bool(self.omit_empty, "omit_empty")

    def label_fields(self, schema: Mapping[str, str]) -> list[str]:
        """The label fields this stage looks at (StageError for a named field that holds no labels)."""
        return named_label_fields(self.fields, schema)

    def _chosen(self, label: str) -> Any:
        """True for a label (the document at ``label``, e.g. ``$$this``) that the ids and tags choose."""
        chosen = label_condition(label, self.ids, self.tags)
        return chosen if self._keep_matches else {"$eq": [chosen, False]}  # mongomock misreads {"$not": [..]}

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        pipeline: list[dict[str, Any]] = []
        present: list[dict[str, Any]] = []
        for name in self.label_fields(ctx.schema):
            if (labels := list_path(ctx.schema[name])) is not None:
                pipeline += FilterLabels(name, self._chosen("$$this"), only_matches=False).to_mongo(ctx)
                present.append({f"{name}.{labels}.0": {"$exists": True}})
            else:
                kept = {"$cond": [self._chosen(f"${name}"), f"${name}", None]}
                pipeline.append({"$addFields": {name: kept}})
                present.append({name: {"$ne": None}})
        if self.omit_empty:
            pipeline.append({"$match": present[0] if len(present) == 1 else {"$or": present}}
                            if present else {"_id": None})
        return pipeline

    def partial_fields_in(self, schema: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(self.label_fields(schema))


@dataclass(frozen=True, repr=False)
class SelectLabels(_LabelStage):
    """Only the labels with the given ``ids`` and/or ``tags`` (both: labels with both), in ``fields``.

    Label fields not in ``fields`` are left out of the view. With ``omit_empty`` (the
    default), samples left with no label are dropped.
    ``SelectLabels(tags="ok", fields="gt")`` on a Classification field ``gt``:
    ``[{"$addFields": {"gt": {"$cond": [<gt tagged ok>, "$gt", None]}}}, {"$match": {"gt": {"$ne": None}}}]``
    """

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        dropped = self._other_label_fields(ctx.schema)
        return [*super().to_mongo(ctx), *([{"$project": dict.fromkeys(dropped, 0)}] if dropped else [])]

    def output_schema(self, schema: Mapping[str, str]) -> Mapping[str, str]:
        dropped = self._other_label_fields(schema)
        return {k: v for k, v in schema.items() if k not in dropped} if dropped else schema

    def _other_label_fields(self, schema: Mapping[str, str]) -> list[str]:
        if self.fields is None:
            return []
        return [n for n in label_fields(schema) if n not in self.fields]


@dataclass(frozen=True, repr=False)
class ExcludeLabels(_LabelStage):
    """Every label except those with the given ``ids`` and/or ``tags``, in ``fields``.

    With ``omit_empty`` (the default), samples left with no label in those fields are dropped.
    """

    _keep_matches = False


def named_label_fields(fields: Sequence[str] | None, schema: Mapping[str, str]) -> list[str]:
    """``fields`` (every label field of ``schema`` when None); StageError for one that holds no labels."""
    if fields is None:
        return label_fields(schema)
    for name in fields:
        CompileContext(schema).check_field(name)
        if name not in label_fields({name: schema[name]}):
            raise StageError(f"{name!r} holds {schema[name]}, not labels; name label fields: "
                             f"{label_fields(schema)}")
    return list(fields)


def label_condition(label: str, ids: Sequence[str] | None, tags: Sequence[str] | None,
                    *extra: Any) -> Any:
    """True for a label (the document at ``label``) with one of ``ids`` and one of ``tags``
    (each when given) for which every ``extra`` condition holds."""
    conditions: list[Any] = []
    if ids is not None:
        conditions.append({"$in": [f"{label}._id", [ObjectId(i) for i in ids]]})
    if tags is not None:
        tagged = {"$filter": {"input": {"$ifNull": [f"{label}.tags", []]}, "as": "item",
                              "cond": {"$in": ["$$item", list(tags)]}}}
        conditions.append({"$gt": [{"$size": tagged}, 0]})
    conditions += extra
    return {"$and": conditions} if len(conditions) > 1 else conditions[0] if conditions else True


def label_refs(labels: Sequence[Mapping[str, Any]] | None, ids: Any, fields: Any) -> tuple[Any, Any]:
    """``ids`` and ``fields`` with those of ``labels`` (dicts with ``label_id`` and ``field``) added."""
    if labels is None:
        return ids, fields
    if not all(isinstance(item, Mapping) and "label_id" in item and "field" in item for item in labels):
        raise StageError("labels must be dicts with 'label_id' and 'field' keys")
    label_ids = [str(item["label_id"]) for item in labels]
    label_fields = list(dict.fromkeys(str(item["field"]) for item in labels))
    ids = label_ids + ([ids] if isinstance(ids, str) else list(ids or []))
    fields = label_fields if fields is None else list(dict.fromkeys(
        [*([fields] if isinstance(fields, str) else fields), *label_fields]))
    return ids, fields


def check_label_refs(stage: Any) -> None:
    """Make a label stage's ``ids``, ``tags`` and ``fields`` tuples of strings (StageError for an
    id that is not a label id)."""
    for name in ("ids", "tags", "fields"):
        value = getattr(stage, name)
        if value is not None:
            set_frozen(stage, name, require_strings(value, name))
    bad = next((i for i in stage.ids or () if not ObjectId.is_valid(i)), None)
    if bad is not None:
        raise StageError(f"ids holds values that are not label ids, e.g. {bad!r:.60}")
