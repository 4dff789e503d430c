"""Filter expressions (``F``) and their compilation to MongoDB aggregation syntax."""

from labellens.expr.compile import (
    FieldChecker,
    check_safe,
    compile_expr,
    field_paths,
    plain_query,
    raw_field_paths,
)
from labellens.expr.nodes import Call, Expr, F, Field, Literal, ViewField, as_expr

__all__ = ["Call", "Expr", "F", "FieldChecker", "Field", "Literal", "ViewField", "as_expr", "check_safe",
           "compile_expr", "field_paths", "plain_query", "raw_field_paths"]
