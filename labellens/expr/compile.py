"""Compile expression trees to MongoDB aggregation expressions.

This is the only module that spells aggregation operators for expressions.
Compilation is pure: a tree in, a dict out. Fields compile to ``"$path"`` at
the top level and to ``"$$this.path"`` inside ``filter``/``map``/``apply``
(``F("$path")`` is the sample's field there too). Only
operators that both MongoDB and mongomock evaluate are emitted, so expressions run
on both backends, except the few in :data:`MONGOD_ONLY` (mongomock lacks their
operators); a field compared with ``==``, ``<``, ``is_in`` ... is wrapped in
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

# Expression methods whose operators mongomock (the test backend) lacks: they run on mongod only.
MONGOD_ONLY = frozenset({"is_string", "is_missing", "type", "round", "to_double", "to_bool", "reverse",
                         "strlen", "strip", "lstrip", "rstrip", "replace"})

_COMPARISONS = frozenset({"eq", "ne", "lt", "lte", "gt", "gte"})
_ELEMENT_OPS = frozenset({"filter", "map", "apply"})  # their second argument is relative to an element
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
        if node.path.startswith("$"):
            yield from [node.path[1:]] if node.path[1:] else []
        elif not element and node.path:
            yield node.path
    elif isinstance(node, Call):
        for index, arg in enumerate(node.args):
            yield from field_paths(arg, element=element or _relative(node, index))


def _relative(node: Call, index: int) -> bool:
    """Whether argument ``index`` of ``node`` is relative to an element (or, for switch's
    conditions, to the switched value) rather than to the sample."""
    if node.op == "switch":
        return index % 2 == 1 and index < len(node.args) - 1
    return node.op in _ELEMENT_OPS and index == 1


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
    # ``id`` is stored as ``_id`` (also inside labels); ``F("$x")`` is the sample's ``x`` even
    # inside filter() or map().
    root = path.startswith("$")
    path = path[1:] if root else path
    path = ".".join("_id" if part == "id" else part for part in path.split(".")) if path else ""
    if root and not path:
        raise StageError('F("$") names no field: use F("$field") for a field of the sample')
    if element and not root:
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


def _text(node: Call, element: bool) -> dict:
    """starts_with / ends_with / contains_str / matches_str of one string or any of several.

    Escaped regexes rather than $substrCP/$indexOfCP, which mongomock lacks; an exact match
    is an ``$in`` (of the lower-cased value when case-insensitive).
    """
    value = _compile(node.args[0], element)
    strings: tuple[str, ...] = node.args[1].value  # type: ignore[attr-defined]
    case_sensitive: bool = node.args[2].value  # type: ignore[attr-defined]
    if node.op == "matches_str":
        if case_sensitive:
            return {"$in": [_operand(value), [_literal(s) for s in strings]]}
        return {"$in": [{"$toLower": {"$ifNull": [value, ""]}}, [_literal(s.lower()) for s in strings]]}
    body = "|".join(re.escape(s) for s in strings)
    body = body if len(strings) == 1 else f"(?:{body})"
    pattern = {"starts_with": "^" + body, "ends_with": body + "$", "contains_str": body}[node.op]
    return _regex(value, pattern, "" if case_sensitive else "i")


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


def _unary(operator: str) -> Callable[[Call, bool], dict]:
    """The rule of a method compiling to ``{operator: value}``."""
    def rule(node: Call, element: bool) -> dict:
        return {operator: _compile(node.args[0], element)}
    return rule


def _operator(operator: str) -> Callable[[Call, bool], dict]:
    """The rule of a method compiling to ``{operator: [value, args...]}``."""
    def rule(node: Call, element: bool) -> dict:
        return {operator: _args(node, element)}
    return rule


def _if_else(node: Call, element: bool) -> dict:
    return {"$cond": _args(node, element)}


def _apply(node: Call, element: bool) -> dict:
    return {"$let": {"vars": {"this": _compile(node.args[0], element)}, "in": _compile(node.args[1], True)}}


def _switch(node: Call, element: bool) -> dict:
    """Each condition applied to the value (as ``apply``), so the branches' values keep the
    enclosing meaning of ``F()`` (an element inside filter/map)."""
    value, *pairs, default = node.args
    branches = [{"case": _apply(Call("apply", (value, condition)), element),
                 "then": _compile(result, element)} for condition, result in zip(pairs[::2], pairs[1::2])]
    return {"$switch": {"branches": branches, "default": _compile(default, element)}}


def _is_null(node: Call, element: bool) -> dict:
    return {"$eq": [_operand(_compile(node.args[0], element)), None]}


def _type_is(name: str) -> Callable[[Call, bool], dict]:
    def rule(node: Call, element: bool) -> dict:
        return {"$eq": [{"$type": _compile(node.args[0], element)}, name]}
    return rule


def _places(operator: str) -> Callable[[Call, bool], dict]:
    """round / trunc: the one-argument form for 0 places (mongomock's ``$trunc`` takes only that)."""
    def rule(node: Call, element: bool) -> dict:
        value, place = _args(node, element)
        return {operator: value if place == 0 and operator == "$trunc" else [value, place]}
    return rule


def _extreme(operator: str) -> Callable[[Call, bool], dict]:
    """max / min: of an array's items, or of the value and one other."""
    def rule(node: Call, element: bool) -> dict:
        args = _args(node, element)
        return {operator: args[0] if len(args) == 1 else args}
    return rule


def _item(node: Call, element: bool) -> dict:
    return {"$arrayElemAt": _args(node, element)}


def _slice(node: Call, element: bool) -> Any:
    array, start, stop = _args(node, element)
    array = {"$ifNull": [array, []]}
    if stop is None:
        return {"$slice": [array, start]} if start < 0 else {"$slice": [array, start, _INT32_MAX]}
    return {"$slice": [array, start, stop - start]} if stop > start else []


_INT32_MAX = 2**31 - 1  # "every item to the end" as $slice's count


def _concat_arrays(node: Call, element: bool) -> dict:
    return {"$concatArrays": [{"$ifNull": [a, []]} for a in _args(node, element)]}


def _unique(node: Call, element: bool) -> dict:
    return {"$setUnion": [{"$ifNull": [_compile(node.args[0], element), []]}, []]}


def _strip(operator: str) -> Callable[[Call, bool], dict]:
    def rule(node: Call, element: bool) -> dict:
        value, chars = _args(node, element)
        return {operator: {"input": value, **({} if chars is None else {"chars": chars})}}
    return rule


def _replace(node: Call, element: bool) -> dict:
    value, old, new = _args(node, element)
    return {"$replaceAll": {"input": value, "find": old, "replacement": new}}


_RULES: dict[str, Callable[[Call, bool], Any]] = {
    **dict.fromkeys(_BINARY, _binary),
    "and": _logical, "or": _logical, "not": _not, "abs": _abs, "in": _in, "between": _between,
    "exists": _exists, "is_null": _is_null, "if_else": _if_else, "apply": _apply, "switch": _switch,
    "is_number": _unary("$isNumber"), "is_array": _unary("$isArray"), "type": _unary("$type"),
    "is_string": _type_is("string"), "is_missing": _type_is("missing"),
    "floor": _unary("$floor"), "ceil": _unary("$ceil"), "sqrt": _unary("$sqrt"), "exp": _unary("$exp"),
    "ln": _unary("$ln"), "log10": _unary("$log10"), "log": _operator("$log"), "pow": _operator("$pow"),
    "round": _places("$round"), "trunc": _places("$trunc"),
    "to_string": _unary("$toString"), "to_int": _unary("$toInt"), "to_double": _unary("$toDouble"),
    "to_bool": _unary("$toBool"),
    "length": _length, "contains_any": _contains_any, "contains_all": _contains_all,
    "max": _extreme("$max"), "min": _extreme("$min"), "sum": _unary("$sum"), "mean": _unary("$avg"),
    "item": _item, "slice": _slice, "concat_arrays": _concat_arrays, "unique": _unique,
    "reverse": _unary("$reverseArray"),
    "starts_with": _text, "ends_with": _text, "contains_str": _text, "matches_str": _text,
    "re_match": _re_match, "lower": _unary("$toLower"), "upper": _unary("$toUpper"),
    "concat": _operator("$concat"), "split": _operator("$split"), "strlen": _unary("$strLenCP"),
    "strip": _strip("$trim"), "lstrip": _strip("$ltrim"), "rstrip": _strip("$rtrim"), "replace": _replace,
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
