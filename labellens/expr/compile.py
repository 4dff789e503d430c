"""Compile expression trees to MongoDB aggregation expressions.

This is the only module that spells aggregation operators for expressions.
Compilation is pure: a tree in, a dict out. Fields compile to ``"$path"`` at
the top level and to ``"$$this.path"`` inside ``filter``/``map``. Only operators
that both MongoDB and mongomock evaluate are emitted, so every expression runs
on both backends; a field compared with ``==``, ``<``, ``is_in`` ... is wrapped in
``$ifNull`` so that a missing field compares as None everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from bson import ObjectId

from labellens.codec import INT64_MAX, INT64_MIN
from labellens.errors import StageError
from labellens.expr.nodes import Call, Expr, Field, Literal

FORBIDDEN_OPERATORS = frozenset({"$where", "$function", "$accumulator", "$out", "$merge"})

_COMPARISONS = frozenset({"eq", "ne", "lt", "lte", "gt", "gte"})
_BINARY = {"eq": "$eq", "ne": "$ne", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte",
           "add": "$add", "subtract": "$subtract", "multiply": "$multiply", "divide": "$divide",
           "mod": "$mod"}


class FieldChecker(Protocol):
    """What compilation needs of a schema: raise FieldNotFoundError for an unknown path."""

    def check_field(self, path: str) -> None: ...


def compile_expr(node: Expr, ctx: FieldChecker | None = None, *, element: bool = False) -> Any:
    """The aggregation expression for ``node``; fields are checked against ``ctx`` when given.

    ``element`` compiles fields as array elements (paths relative to a label, unchecked).
    """
    if ctx is not None:
        for path in field_paths(node, element=element):
            ctx.check_field(path)
    return _compile(node, element)


def field_paths(node: Expr, *, element: bool = False) -> Iterator[str]:
    """The sample-level field paths ``node`` reads (not those relative to an array element)."""
    if isinstance(node, Field):
        if not element and node.path:
            yield node.path
    elif isinstance(node, Call):
        for index, arg in enumerate(node.args):
            inner = element or (node.op in ("filter", "map") and index == 1)
            yield from field_paths(arg, element=inner)


def raw_field_paths(query: Any, *, expression: bool = False) -> Iterator[str]:
    """The sample-level field paths a query dict (or, with ``expression``, an aggregation
    expression) names: query keys, and ``"$path"`` strings under ``$expr``.

    Internal fields (``_id``, ``_rand``) and ``$$`` variables are left out.
    """
    if expression:
        if isinstance(query, str) and query.startswith("$") and not query.startswith("$$"):
            yield query[1:]
        elif isinstance(query, dict):
            for key, item in query.items():
                if key != "$literal":
                    yield from raw_field_paths(item, expression=True)
        elif isinstance(query, (list, tuple)):
            for item in query:
                yield from raw_field_paths(item, expression=True)
        return
    if not isinstance(query, dict):
        return
    for key, item in query.items():
        if key == "$expr":
            yield from raw_field_paths(item, expression=True)
        elif key in ("$and", "$or", "$nor") and isinstance(item, (list, tuple)):
            for part in item:
                yield from raw_field_paths(part)
        elif not key.startswith("$"):
            yield key


def plain_query(node: Expr, path_of: Callable[[str], str]) -> dict[str, Any] | None:
    """The index-friendly query form of ``between``/``is_in`` on a field, else None.

    ``F("x").between(0, 1)`` -> ``{"x": {"$gte": 0, "$lte": 1}}``;
    ``F("x").is_in([1, 2])`` -> ``{"x": {"$in": [1, 2]}}``.
    """
    if not isinstance(node, Call) or node.op not in ("between", "in") or not node.args:
        return None
    target, *rest = node.args
    if not isinstance(target, Field) or not target.path or not all(isinstance(a, Literal) for a in rest):
        return None
    values = [a.value for a in rest]  # type: ignore[attr-defined]
    if node.op == "between":
        return {path_of(target.path): {"$gte": values[0], "$lte": values[1]}}
    return {path_of(target.path): {"$in": list(values[0])}}


def _compile(node: Expr, element: bool = False) -> Any:
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
    # ``id`` is stored as ``_id`` (also inside labels).
    path = ".".join("_id" if part == "id" else part for part in path.split(".")) if path else ""
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
    if isinstance(value, int):
        return _check_int64(value, "an expression")
    if value is None or isinstance(value, (str, float, dt.datetime, ObjectId)):
        return value
    raise StageError(f"cannot use {type(value).__name__} value {value!r} in an expression")


def _check_int64(value: int, where: str) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise StageError(f"{where} holds the integer {str(value)[:40]}, beyond MongoDB's 64 bits; "
                         "use a float or a smaller number")
    return value


def _args(node: Call, element: bool) -> list[Any]:
    return [_compile(a, element) for a in node.args]


def _binary(node: Call, element: bool) -> dict:
    args = _args(node, element)
    if node.op in _COMPARISONS:
        args = [_operand(a) for a in args]
    return {_BINARY[node.op]: args}


def _operand(value: Any) -> Any:
    """A field compared as a value: a missing field compares as None on both backends.

    (MongoDB alone ranks missing below None; mongomock fails on missing fields.)
    """
    if isinstance(value, str) and value.startswith("$"):
        return {"$ifNull": [value, None]}
    return value


def _logical(node: Call, element: bool) -> dict:
    op = "$" + node.op
    parts = []
    for arg in _args(node, element):
        # Flatten (a & b) & c into one $and.
        parts.extend(arg[op] if isinstance(arg, dict) and list(arg) == [op] else [arg])
    return {op: parts}


def _not(node: Call, element: bool) -> dict:
    # The one-argument form without the list: mongomock reads {"$not": [x]} as "not a list".
    return {"$not": _compile(node.args[0], element)}


def _abs(node: Call, element: bool) -> dict:
    return {"$abs": _compile(node.args[0], element)}


def _in(node: Call, element: bool) -> dict:
    value, options = _args(node, element)
    return {"$in": [_operand(value), options]}


def _between(node: Call, element: bool) -> dict:
    value, low, high = _args(node, element)
    return {"$and": [{"$gte": [_operand(value), low]}, {"$lte": [_operand(value), high]}]}


def _exists(node: Call, element: bool) -> dict:
    return {"$gt": [_operand(_compile(node.args[0], element)), None]}


def _length(node: Call, element: bool) -> dict:
    return {"$size": {"$ifNull": [_compile(node.args[0], element), []]}}


def _contains_any(node: Call, element: bool) -> dict:
    array, values = _args(node, element)
    return {"$gt": [{"$size": _members(array, values)}, 0]}


def _contains_all(node: Call, element: bool) -> dict:
    array, values = _args(node, element)
    wanted = [v for i, v in enumerate(values) if v not in values[:i]]
    present = {"$in": ["$$item", {"$ifNull": [array, []]}]}
    found = {"$filter": {"input": wanted, "as": "item", "cond": present}}
    return {"$eq": [{"$size": found}, len(wanted)]}


def _members(array: Any, values: list[Any]) -> dict:
    # $filter + $in rather than $setIntersection/$setIsSubset, which mongomock lacks.
    return {"$filter": {"input": {"$ifNull": [array, []]}, "as": "item", "cond": {"$in": ["$$item", values]}}}


def _starts_with(node: Call, element: bool) -> dict:
    # An escaped regex rather than $substrCP, which mongomock lacks.
    prefix = node.args[1].value  # type: ignore[attr-defined]
    return _regex(_compile(node.args[0], element), "^" + re.escape(prefix))


def _ends_with(node: Call, element: bool) -> dict:
    suffix = node.args[1].value  # type: ignore[attr-defined]
    return _regex(_compile(node.args[0], element), re.escape(suffix) + "$")


def _regex(value: Any, pattern: str, options: str = "") -> dict:
    spec = {"input": {"$ifNull": [value, ""]}, "regex": pattern}
    if options:
        spec["options"] = options
    return {"$regexMatch": spec}


def _re_match(node: Call, element: bool) -> dict:
    value, pattern, options = _args(node, element)
    return _regex(value, pattern, options)


def _filter(node: Call, element: bool) -> dict:
    array = _compile(node.args[0], element)
    return {"$filter": {"input": {"$ifNull": [array, []]}, "as": "this",
                        "cond": _compile(node.args[1], True)}}


def _map(node: Call, element: bool) -> dict:
    array = _compile(node.args[0], element)
    return {"$map": {"input": {"$ifNull": [array, []]}, "as": "this",
                     "in": _compile(node.args[1], True)}}


_RULES: dict[str, Callable[[Call, bool], Any]] = {
    **dict.fromkeys(_BINARY, _binary),
    "and": _logical, "or": _logical, "not": _not, "abs": _abs, "in": _in, "between": _between,
    "exists": _exists,
    "length": _length, "contains_any": _contains_any, "contains_all": _contains_all,
    "starts_with": _starts_with, "ends_with": _ends_with, "re_match": _re_match,
    "filter": _filter, "map": _map,
}


def check_safe(value: Any, where: str = "query") -> None:
    """Refuse server-side JavaScript and output stages anywhere in a query or expression dict,
    and integers MongoDB cannot store (beyond 64 bits)."""
    if isinstance(value, int):
        _check_int64(value, where)
    elif isinstance(value, dict):
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
