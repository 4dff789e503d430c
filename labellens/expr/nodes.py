"""Filter expressions: immutable trees built with ``F("field")`` and Python operators.

Building an expression needs no dataset; :func:`labellens.expr.compile.compile_expr`
turns a tree into MongoDB aggregation syntax. Nodes know nothing about Mongo::

    (F("mistakenness") > 0.5) & (F("ground_truth.label") != F("predictions.label"))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labellens.errors import StageError

Scalar = str | int | float | bool | None | dt.datetime


class Expr:
    """Base of expression nodes; operators build new nodes and never mutate."""

    __slots__ = ()

    def _call(self, op: str, *args: Any) -> Call:
        return Call(op, (self, *(as_expr(a) for a in args)))

    def __eq__(self, other: object) -> Call:  # type: ignore[override]
        return self._call("eq", other)

    def __ne__(self, other: object) -> Call:  # type: ignore[override]
        return self._call("ne", other)

    def __lt__(self, other: Any) -> Call:
        return self._call("lt", other)

    def __le__(self, other: Any) -> Call:
        return self._call("lte", other)

    def __gt__(self, other: Any) -> Call:
        return self._call("gt", other)

    def __ge__(self, other: Any) -> Call:
        return self._call("gte", other)

    def __add__(self, other: Any) -> Call:
        return self._call("add", other)

    def __radd__(self, other: Any) -> Call:
        return as_expr(other)._call("add", self)

    def __sub__(self, other: Any) -> Call:
        return self._call("subtract", other)

    def __rsub__(self, other: Any) -> Call:
        return as_expr(other)._call("subtract", self)

    def __mul__(self, other: Any) -> Call:
        return self._call("multiply", other)

    def __rmul__(self, other: Any) -> Call:
        return as_expr(other)._call("multiply", self)

    def __truediv__(self, other: Any) -> Call:
        return self._call("divide", other)

    def __rtruediv__(self, other: Any) -> Call:
        return as_expr(other)._call("divide", self)

    def __mod__(self, other: Any) -> Call:
        return self._call("mod", other)

    def __neg__(self) -> Call:
        return Literal(-1)._call("multiply", self)

    def __abs__(self) -> Call:
        return self._call("abs")

    def __and__(self, other: Any) -> Call:
        return self._call("and", other)

    def __rand__(self, other: Any) -> Call:
        return as_expr(other)._call("and", self)

    def __or__(self, other: Any) -> Call:
        return self._call("or", other)

    def __ror__(self, other: Any) -> Call:
        return as_expr(other)._call("or", self)

    def __invert__(self) -> Call:
        return self._call("not")

    def __bool__(self) -> bool:
        raise StageError("expressions have no truth value: combine them with &, | and ~, "
                         "not 'and', 'or' and 'not'")

    __hash__ = object.__hash__

    def is_in(self, values: Sequence[Any]) -> Call:
        """True where the value is one of ``values``."""
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise StageError(f"is_in() takes a list of values, got {values!r}")
        return self._call("in", list(values))

    def between(self, low: Any, high: Any) -> Call:
        """True where ``low <= value <= high`` (both ends included)."""
        return self._call("between", low, high)

    def exists(self, bool: bool = True) -> Call:  # noqa: A002 - mirrors the stage's parameter name
        """True where the field is present and not None (or the reverse with ``bool=False``)."""
        node = self._call("exists")
        return node if bool else node._call("not")

    def length(self) -> Call:
        """Number of elements of an array (0 when missing)."""
        return self._call("length")

    def contains(self, values: Any, all: bool = False) -> Call:  # noqa: A002
        """True where the array holds any (or ``all``) of ``values``."""
        items = list(values) if isinstance(values, (list, tuple)) else [values]
        return self._call("contains_all" if all else "contains_any", items)

    def starts_with(self, prefix: str) -> Call:
        return self._call("starts_with", _require_str(prefix, "starts_with"))

    def ends_with(self, suffix: str) -> Call:
        return self._call("ends_with", _require_str(suffix, "ends_with"))

    def re_match(self, pattern: str, options: str | None = None) -> Call:
        """True where the string matches the regular expression ``pattern``."""
        _require_str(pattern, "re_match")
        return Call("re_match", (self, Literal(pattern), Literal(options or "")))

    def filter(self, condition: Expr) -> Call:
        """Keep array elements where ``condition`` holds; ``F()`` / ``F("x")`` refer to the element."""
        return Call("filter", (self, _require_expr(condition, "filter")))

    def map(self, expression: Expr) -> Call:
        """Apply ``expression`` to each array element; ``F()`` / ``F("x")`` refer to the element."""
        return Call("map", (self, _require_expr(expression, "map")))


@dataclass(frozen=True, eq=False, slots=True)
class Field(Expr):
    """A field path (``"ground_truth.label"``); the empty path is the current array element."""

    path: str

    def __getattr__(self, name: str) -> Field:
        if name.startswith("_"):
            raise AttributeError(name)
        return Field(f"{self.path}.{name}" if self.path else name)

    def __repr__(self) -> str:
        return f"F({self.path!r})" if self.path else "F()"


@dataclass(frozen=True, eq=False, slots=True)
class Literal(Expr):
    """A constant value."""

    value: Any

    def __repr__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True, eq=False, slots=True)
class Call(Expr):
    """An operation applied to argument nodes."""

    op: str
    args: tuple[Expr, ...]

    def __repr__(self) -> str:
        return f"{self.op}({', '.join(map(repr, self.args))})"


def F(path: str = "") -> Field:  # noqa: N802 - the conventional short name
    """A field of the sample (or of the current array element inside ``filter``/``map``)."""
    if not isinstance(path, str):
        raise StageError(f"F() takes a field path string, got {path!r}")
    return Field(path)


ViewField = F


def as_expr(value: Any) -> Expr:
    """The one coercion entry point: expressions pass through, anything else is a literal."""
    return value if isinstance(value, Expr) else Literal(value)


def same(a: Expr, b: Expr) -> bool:
    """Structural equality of two trees (``==`` builds an expression instead)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Field):
        return a.path == b.path  # type: ignore[attr-defined]
    if isinstance(a, Literal):
        return bool(a.value == b.value) and type(a.value) is type(b.value)  # type: ignore[attr-defined]
    return (a.op == b.op and len(a.args) == len(b.args)  # type: ignore[attr-defined]
            and all(map(same, a.args, b.args)))  # type: ignore[attr-defined]


def _require_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise StageError(f"{where}() takes a string, got {value!r}")
    return value


def _require_expr(value: Any, where: str) -> Expr:
    if not isinstance(value, Expr):
        raise StageError(f"{where}() takes an expression such as F('label') == 'cat', got {value!r}")
    return value
