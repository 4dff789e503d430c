"""Filter expressions (``F``) and their compilation to MongoDB aggregation syntax."""

from labellens.expr.compile import check_safe, compile_expr
from labellens.expr.nodes import Call, Expr, F, Field, Literal, ViewField, as_expr

__all__ = ["Call", "Expr", "F", "Field", "Literal", "ViewField", "as_expr", "check_safe", "compile_expr"]
