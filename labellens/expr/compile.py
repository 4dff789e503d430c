"""Compile expression trees to MongoDB aggregation expressions.

This is the only module that spells aggregation operators for expressions.
Compilation is pure: a tree in, a dict out. Fields compile to ``"$path"`` at
the top level and to ``"$$this.path"`` inside ``filter``/``map``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from labellens.errors import StageError
from labellens.expr.nodes import Call, Expr, Field, Literal

FORBIDDEN_OPERATORS = frozenset({"$where", "$function", "$accumulator", "$out", "$merge"})

_BINARY = {"eq": "$eq", "ne": "$ne", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte",
           "add": "$add", "subtract": "$subtract", "multiply": "$multiply", "divide": "$divide",
           "mod": "$mod"}


def compile_expr(node: Expr, element: bool = False) -> Any:
    """The aggregation expression for ``node``; ``element`` compiles fields as array elements."""
    if isinstance(node, Field):
        return _field(node.path, element)
    if isinstance(node, Literal):
        return _literal(node.value)
    if isinstance(node, Call):
        rule = _RULES.get(node.op)
        if rule is None:
            raise StageError(f"unknown expression operator {node.op!r}")
        return rule(node, element)
    raise StageError(f"not an expression: {node!r}")


def _field(path: str, element: bool) -> str:
    if element:
        return f"$$this.{path}" if path else "$$this"
    if not path:
        raise StageError("F() without a field name only means something inside filter() or map()")
    return f"${path}"


def _literal(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        return {"$literal": value}
    if isinstance(value, (list, tuple)):
        return [_literal(v) for v in value]
    if isinstance(value, dict):
        return {"$literal": value}
    if value is None or isinstance(value, (str, int, float, bool, dt.datetime)):
        return value
    raise StageError(f"cannot use {type(value).__name__} value {value!r} in an expression")


def _args(node: Call, element: bool) -> list[Any]:
    return [compile_expr(a, element) for a in node.args]


def _binary(node: Call, element: bool) -> dict:
    return {_BINARY[node.op]: _args(node, element)}


def _logical(node: Call, element: bool) -> dict:
    op = "$" + node.op
    parts = []
    for arg in _args(node, element):
        # Flatten (a & b) & c into one $and.
        parts.extend(arg[op] if isinstance(arg, dict) and list(arg) == [op] else [arg])
    return {op: parts}


def _not(node: Call, element: bool) -> dict:
    return {"$not": [compile_expr(node.args[0], element)]}


def _abs(node: Call, element: bool) -> dict:
    return {"$abs": compile_expr(node.args[0], element)}


def _in(node: Call, element: bool) -> dict:
    value, options = _args(node, element)
    return {"$in": [value, options]}


def _exists(node: Call, element: bool) -> dict:
    return {"$gt": [compile_expr(node.args[0], element), None]}


def _length(node: Call, element: bool) -> dict:
    return {"$size": {"$ifNull": [compile_expr(node.args[0], element), []]}}


def _contains_any(node: Call, element: bool) -> dict:
    array, values = _args(node, element)
    return {"$gt": [{"$size": {"$setIntersection": [{"$ifNull": [array, []]}, values]}}, 0]}


def _contains_all(node: Call, element: bool) -> dict:
    array, values = _args(node, element)
    return {"$setIsSubset": [values, {"$ifNull": [array, []]}]}


def _starts_with(node: Call, element: bool) -> dict:
    value, prefix = _args(node, element)
    return {"$eq": [{"$substrCP": [{"$ifNull": [value, ""]}, 0, len(node.args[1].value)]},  # type: ignore[attr-defined]
                    prefix]}


def _ends_with(node: Call, element: bool) -> dict:
    value, suffix = _args(node, element)
    size = len(node.args[1].value)  # type: ignore[attr-defined]
    text = {"$ifNull": [value, ""]}
    start = {"$max": [0, {"$subtract": [{"$strLenCP": text}, size]}]}
    return {"$eq": [{"$substrCP": [text, start, size]}, suffix]}


def _re_match(node: Call, element: bool) -> dict:
    value, pattern, options = _args(node, element)
    spec = {"input": {"$ifNull": [value, ""]}, "regex": pattern}
    if options:
        spec["options"] = options
    return {"$regexMatch": spec}


def _filter(node: Call, element: bool) -> dict:
    array = compile_expr(node.args[0], element)
    return {"$filter": {"input": {"$ifNull": [array, []]}, "as": "this",
                        "cond": compile_expr(node.args[1], True)}}


def _map(node: Call, element: bool) -> dict:
    array = compile_expr(node.args[0], element)
    return {"$map": {"input": {"$ifNull": [array, []]}, "as": "this",
                     "in": compile_expr(node.args[1], True)}}


_RULES: dict[str, Callable[[Call, bool], Any]] = {
    **dict.fromkeys(_BINARY, _binary),
    "and": _logical, "or": _logical, "not": _not, "abs": _abs, "in": _in, "exists": _exists,
    "length": _length, "contains_any": _contains_any, "contains_all": _contains_all,
    "starts_with": _starts_with, "ends_with": _ends_with, "re_match": _re_match,
    "filter": _filter, "map": _map,
}


def check_safe(value: Any, where: str = "query") -> None:
    """Refuse server-side JavaScript and output stages anywhere in a query or expression dict."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise StageError(f"{where} keys must be strings, got {key!r}")
            if key in FORBIDDEN_OPERATORS:
                raise StageError(f"{where} uses {key}, which labellens refuses "
                                 "(no server-side JavaScript or writes in views)")
            check_safe(item, where)
    elif isinstance(value, (list, tuple)):
        for item in value:
            check_safe(item, where)
