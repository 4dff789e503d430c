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

    # ``math.floor``, ``math.ceil``, ``math.trunc`` and ``round`` of an expression build expressions.
    def __floor__(self) -> Call:
        return self.floor()

    def __ceil__(self) -> Call:
        return self.ceil()

    def __trunc__(self) -> Call:
        return self.trunc()

    def __round__(self, ndigits: int | None = None) -> Call:
        return self.round(0 if ndigits is None else ndigits)

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

    def __iter__(self) -> Any:
        # Without this, ``__getitem__`` would make ``list(F("x"))`` and ``"a" in F("x")`` loop forever.
        raise StageError("expressions are not iterable: use is_in(), contains() or filter()")

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

    def starts_with(self, str_or_strs: str | Sequence[str], case_sensitive: bool = True) -> Call:
        """True where the string starts with ``str_or_strs`` (any of them, for a list)."""
        return self._text("starts_with", str_or_strs, case_sensitive)

    def ends_with(self, str_or_strs: str | Sequence[str], case_sensitive: bool = True) -> Call:
        """True where the string ends with ``str_or_strs`` (any of them, for a list)."""
        return self._text("ends_with", str_or_strs, case_sensitive)

    def contains_str(self, str_or_strs: str | Sequence[str], case_sensitive: bool = True) -> Call:
        """True where the string contains ``str_or_strs`` (any of them, for a list)."""
        return self._text("contains_str", str_or_strs, case_sensitive)

    def matches_str(self, str_or_strs: str | Sequence[str], case_sensitive: bool = True) -> Call:
        """True where the string equals ``str_or_strs`` (any of them, for a list)."""
        return self._text("matches_str", str_or_strs, case_sensitive)

    def _text(self, op: str, str_or_strs: Any, case_sensitive: bool) -> Call:
        strings = [str_or_strs] if isinstance(str_or_strs, str) else str_or_strs
        if not isinstance(strings, (list, tuple)) or not strings:
            raise StageError(f"{op}() takes a string or a non-empty list of strings, got {str_or_strs!r}")
        for item in strings:
            _require_str(item, op)
        return Call(op, (self, Literal(tuple(strings)), Literal(bool(case_sensitive))))

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

    def apply(self, expression: Expr) -> Call:
        """``expression`` evaluated on this value: ``F()`` in it is this value (``F("x")`` a field of it)."""
        return Call("apply", (self, _require_expr(expression, "apply")))

    def if_else(self, true_expr: Any, false_expr: Any) -> Call:
        """``true_expr`` where this condition holds, else ``false_expr``."""
        return self._call("if_else", true_expr, false_expr)

    def switch(self, mapping: dict[Expr, Any], default: Any = None) -> Call:
        """The value of the first condition of ``mapping`` that holds for this value (``F()`` in a
        condition is this value), else ``default`` (None)."""
        if not isinstance(mapping, dict) or not mapping:
            raise StageError(f"switch() takes a non-empty {{condition: value}} dict, got {mapping!r}")
        branches = [part for condition, value in mapping.items()
                    for part in (_require_expr(condition, "switch"), as_expr(value))]
        return Call("switch", (self, *branches, as_expr(default)))

    def cases(self, mapping: dict[Any, Any], default: Any = None) -> Call:
        """The value of ``mapping`` whose key equals this value, else ``default`` (None)."""
        if not isinstance(mapping, dict) or not mapping:
            raise StageError(f"cases() takes a non-empty {{key: value}} dict, got {mapping!r}")
        return self.switch({Field("") == key: value for key, value in mapping.items()}, default)

    def let_in(self, expression: Any) -> Expr:
        """``expression`` itself (FiftyOne evaluates this value once for it; here it is evaluated
        where it appears, with the same result)."""
        return as_expr(expression)

    def is_null(self) -> Call:
        """True where the value is None or missing (labellens compares a missing field as None)."""
        return self._call("is_null")

    def is_number(self) -> Call:
        return self._call("is_number")

    def is_array(self) -> Call:
        return self._call("is_array")

    def is_string(self) -> Call:
        """True where the value is a string (mongod only: mongomock lacks ``$type``)."""
        return self._call("is_string")

    def is_missing(self) -> Call:
        """True where the field is absent, not even None (mongod only: mongomock lacks ``$type``)."""
        return self._call("is_missing")

    def type(self) -> Call:
        """The BSON type name (``"double"``, ``"string"``, ``"missing"`` ...; mongod only)."""
        return self._call("type")

    # -- numbers ------------------------------------------------------------------------

    def abs(self) -> Call:
        return self._call("abs")

    def floor(self) -> Call:
        return self._call("floor")

    def ceil(self) -> Call:
        return self._call("ceil")

    def round(self, place: int = 0) -> Call:
        """Rounded to ``place`` decimals, halves to even (mongod only: mongomock lacks ``$round``)."""
        return self._call("round", _require_int(place, "round"))

    def trunc(self, place: int = 0) -> Call:
        """Truncated to ``place`` decimals (a ``place`` other than 0 needs mongod)."""
        return self._call("trunc", _require_int(place, "trunc"))

    def sqrt(self) -> Call:
        return self._call("sqrt")

    def exp(self) -> Call:
        return self._call("exp")

    def ln(self) -> Call:
        return self._call("ln")

    def log10(self) -> Call:
        return self._call("log10")

    def log(self, base: Any) -> Call:
        return self._call("log", base)

    def pow(self, power: Any) -> Call:
        return self._call("pow", power)

    def to_string(self) -> Call:
        return self._call("to_string")

    def to_int(self) -> Call:
        return self._call("to_int")

    def to_double(self) -> Call:
        """As a float (mongod only: mongomock lacks ``$toDouble``)."""
        return self._call("to_double")

    def to_bool(self) -> Call:
        """As a bool (mongod only: mongomock lacks ``$toBool``)."""
        return self._call("to_bool")

    # -- arrays -------------------------------------------------------------------------

    def max(self, value: Any = None) -> Call:
        """The largest item of this array, or with ``value`` the larger of this and ``value``."""
        return self._call("max") if value is None else self._call("max", value)

    def min(self, value: Any = None) -> Call:
        """The smallest item of this array, or with ``value`` the smaller of this and ``value``."""
        return self._call("min") if value is None else self._call("min", value)

    def sum(self) -> Call:
        """The sum of the numbers of this array."""
        return self._call("sum")

    def mean(self) -> Call:
        """The mean of the numbers of this array (None when it has none)."""
        return self._call("mean")

    def __getitem__(self, index: int | slice | Expr) -> Call:
        """An item (``F("x")[0]``, ``[-1]``, ``F("x")[F("i")]``) or a slice (``[1:3]``, ``[2:]``,
        ``[-2:]``) of an array."""
        if isinstance(index, slice):
            return self._call("slice", *_slice_bounds(index))
        return self._call("item", index if isinstance(index, Expr) else _require_int(index, "[]"))

    def append(self, value: Any) -> Call:
        return self._call("concat_arrays", [value])

    def prepend(self, value: Any) -> Call:
        return as_expr([value])._call("concat_arrays", self)

    def extend(self, *arrays: Any) -> Call:
        return self._call("concat_arrays", *arrays)

    def unique(self) -> Call:
        """The distinct items of this array (in no particular order)."""
        return self._call("unique")

    def reverse(self) -> Call:
        """This array backwards (mongod only: mongomock lacks ``$reverseArray``)."""
        return self._call("reverse")

    # -- strings ------------------------------------------------------------------------

    def lower(self) -> Call:
        return self._call("lower")

    def upper(self) -> Call:
        return self._call("upper")

    def concat(self, *strings: Any) -> Call:
        return self._call("concat", *strings)

    def split(self, delimiter: str) -> Call:
        """The parts of the string between ``delimiter`` s."""
        return self._call("split", _require_str(delimiter, "split"))

    def strlen(self) -> Call:
        """The number of characters (mongod only: mongomock lacks ``$strLenCP``)."""
        return self._call("strlen")

    def strip(self, chars: str | None = None) -> Call:
        """Without leading and trailing whitespace (or ``chars``); mongod only (mongomock lacks ``$trim``)."""
        return self._strip("strip", chars)

    def lstrip(self, chars: str | None = None) -> Call:
        return self._strip("lstrip", chars)

    def rstrip(self, chars: str | None = None) -> Call:
        return self._strip("rstrip", chars)

    def _strip(self, op: str, chars: str | None) -> Call:
        return self._call(op, None if chars is None else _require_str(chars, op))

    def replace(self, old: str, new: str) -> Call:
        """Every ``old`` replaced by ``new`` (mongod only: mongomock lacks ``$replaceAll``)."""
        return self._call("replace", _require_str(old, "replace"), _require_str(new, "replace"))


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
    """A field of the sample (or of the current array element inside ``filter``/``map``, where
    ``F("$path")`` is still the sample's field)."""
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


def _require_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StageError(f"{where} takes an int, got {value!r}")
    return value


def _slice_bounds(index: slice) -> tuple[int, int | None]:
    """``(start, stop)`` of a slice the database can take: steps, and a negative stop, are refused."""
    start = 0 if index.start is None else _require_int(index.start, "[:]")
    stop = None if index.stop is None else _require_int(index.stop, "[:]")
    if index.step not in (None, 1) or (stop is not None and (stop < 0 or start < 0)):
        raise StageError(f"array slices take [a:b] with 0 <= a, b, or [a:] (got {index}); "
                         "use filter() for other selections")
    return start, stop


def _require_expr(value: Any, where: str) -> Expr:
    if not isinstance(value, Expr):
        raise StageError(f"{where}() takes an expression such as F('label') == 'cat', got {value!r}")
    return value
