"""Stages that compute what a sample shows: SetField."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labellens.errors import FieldNotFoundError, StageError
from labellens.expr import Expr, check_safe, compile_expr, raw_field_paths
from labellens.stages.base import DEFAULT_FIELDS, CompileContext, Stage, require_field

_LITERALS = (str, int, float, bool, type(None))


@dataclass(frozen=True, repr=False, eq=False)
class SetField(Stage):
    """Each sample shows ``field`` as the value of ``expr`` (the stored samples do not change).

    ``expr`` is an expression over the sample (``F("score") * 2``), a raw MongoDB
    aggregation expression (a dict) or a plain value. ``field`` is an existing top-level
    field other than filepath/tags/metadata; declare a new one first with
    ``dataset.add_sample_field``. The field is shown computed, so samples of the view
    cannot save it back. ``SetField("score", F("score") * 2).to_mongo(ctx) ==
    [{"$addFields": {"score": {"$multiply": [{"$ifNull": ["$score", None]}, 2]}}}]``
    """

    field: Any
    expr: Any

    def __post_init__(self) -> None:
        require_field(self.field, "field")
        if "." in self.field or self.field in (*DEFAULT_FIELDS, "id") or self.field.startswith("_"):
            raise StageError(f"set_field sets a top-level field other than filepath, tags, metadata and id, "
                             f"got {self.field!r}; to change a label's attribute, set the whole label field")
        if isinstance(self.expr, dict):
            check_safe(self.expr, "SetField expression")
        elif not isinstance(self.expr, (Expr, *_LITERALS)):
            raise StageError(f"SetField takes an expression such as F('x') * 2, an expression dict or "
                             f"a plain value, got {self.expr!r:.200}")
        else:
            check_safe(self.expr, "SetField value")

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        if self.field not in ctx.schema:
            raise FieldNotFoundError(f"set_field needs an existing field; {self.field!r} is not one "
                                     f"(declare it with dataset.add_sample_field); fields are: "
                                     f"{', '.join(ctx.schema)}")
        if isinstance(self.expr, Expr):
            value = compile_expr(self.expr, ctx)
        elif isinstance(self.expr, dict):
            for path in raw_field_paths(self.expr, expression=True):
                ctx.check_field(path)
            value = self.expr
        else:
            value = {"$literal": self.expr}
        return [{"$addFields": {self.field: value}}]

    def kwargs(self) -> dict[str, Any]:
        value = self.expr
        return {"field": self.field,
                "expr": compile_expr(value) if isinstance(value, Expr) else
                value if isinstance(value, dict) else {"$literal": value}}

    def partial_fields(self) -> tuple[str, ...]:
        return (self.field,)
