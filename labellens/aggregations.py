"""Aggregation objects: what to compute over a collection, run by ``collection.aggregate``.

A list of them runs in one database pass (one ``$facet``) and gives a list of results;
one alone gives its result::

    n, (low, high), mean = dataset.aggregate([ll.Count(), ll.Bounds("score"), ll.Mean(2 * F("score"))])

Each aggregates a field path or an expression evaluated per sample (an ``F`` expression
or a MongoDB expression dict); ``expr=`` applies an expression to each value of a field
(``ll.Sum("scores", expr=F() * 2)``, ``F()`` being the value). Array values count item
by item: a list field, the labels of a ``Classifications`` and an expression's array
result. ``Values`` (one value per sample) is read in a pass of its own, as
``collection.values`` streams it; a ``HistogramValues`` without ``range`` reads the
bounds first.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from labellens import codec, fields
from labellens.db import pipelines
from labellens.db.pipelines import Pipeline, Value
from labellens.errors import ValidationError
from labellens.expr import Expr
from labellens.fields import FieldType

FieldOrExpr = str | Expr | dict[str, Any]
Rows = Sequence[dict[str, Any]]


class Aggregation:
    """Base of aggregation objects: the steps that follow the collection's pipeline, and how
    their rows become the result."""

    __slots__ = ("expr", "field_or_expr")

    def __init__(self, field_or_expr: FieldOrExpr, *, expr: Expr | None = None) -> None:
        named = isinstance(field_or_expr, str) and bool(field_or_expr)
        if not (named or isinstance(field_or_expr, (Expr, dict))):
            raise ValidationError(f"{type(self).__name__} takes a field name or an expression "
                                  f"(F('x') * 2), got {field_or_expr!r}")
        if expr is not None and not (named and isinstance(expr, Expr)):
            raise ValidationError(f"{type(self).__name__}(field, expr=...) takes a field name and an "
                                  "expression of its value (F() * 2)")
        self.field_or_expr: FieldOrExpr | None = field_or_expr
        self.expr = expr  # applied to each value of the field (F() is the value)

    def __repr__(self) -> str:
        extra = "" if self.expr is None else f", expr={self.expr!r}"
        return f"{type(self).__name__}({self.field_or_expr!r}{extra})"

    def steps(self, value: Value | None, *, unwind: bool) -> Pipeline:
        """The steps after the collection's pipeline; ``value`` is the resolved field or expression."""
        raise NotImplementedError

    def parse(self, rows: Rows) -> Any:
        """The result from the rows the steps return."""
        raise NotImplementedError

    def typed(self, result: Any, field_type: str | None) -> Any:
        """``result`` in the Python type of a field of ``field_type`` (a ``DateField``'s values as
        dates, as ``values()`` gives them); ``field_type`` is None for an expression."""
        return result


class Count(Aggregation):
    """The number of samples, or of the non-None values of a field or expression."""

    __slots__ = ()

    def __init__(self, field_or_expr: FieldOrExpr | None = None, *, expr: Expr | None = None) -> None:
        if field_or_expr is None and expr is None:
            self.field_or_expr, self.expr = None, None
        else:
            super().__init__(field_or_expr, expr=expr)  # type: ignore[arg-type]

    def steps(self, value: Value | None, *, unwind: bool) -> Pipeline:
        if value is None:
            return pipelines.count([])
        return pipelines.value_group([], value, {"n": {"$sum": 1}}, unwind=unwind)

    def parse(self, rows: Rows) -> int:
        return pipelines.decode_count(rows)


class CountValues(Aggregation):
    """Value -> number of occurrences (None counts samples without a value)."""

    __slots__ = ()

    def steps(self, value: Value | None, *, unwind: bool) -> Pipeline:
        return pipelines.count_values([], _required(value), unwind=unwind)

    def parse(self, rows: Rows) -> dict[Any, int]:
        return pipelines.decode_count_values(rows)

    def typed(self, result: dict[Any, int], field_type: str | None) -> dict[Any, int]:
        return {_typed(v, field_type): n for v, n in result.items()}


class Distinct(Aggregation):
    """The sorted distinct non-None values."""

    __slots__ = ()

    def steps(self, value: Value | None, *, unwind: bool) -> Pipeline:
        return pipelines.distinct([], _required(value), unwind=unwind)

    def parse(self, rows: Rows) -> list[Any]:
        return pipelines.decode_ids(rows)

    def typed(self, result: list[Any], field_type: str | None) -> list[Any]:
        return [_typed(v, field_type) for v in result]


class Bounds(Aggregation):
    """``(min, max)`` of the non-None values; ``(None, None)`` when there are none.

    ``safe=True`` ignores nan and ±inf (the bounds of the finite numbers)."""

    __slots__ = ("safe",)

    def __init__(self, field_or_expr: FieldOrExpr, *, expr: Expr | None = None, safe: bool = False) -> None:
        super().__init__(field_or_expr, expr=expr)
        self.safe = safe

    def steps(self, value: Value | None, *, unwind: bool) -> Pipeline:
        return pipelines.value_bounds([], _required(value), unwind=unwind, finite=self.safe)

    def parse(self, rows: Rows) -> tuple[Any, Any]:
        return pipelines.decode_bounds(rows, ["_v"])["_v"]

    def typed(self, result: tuple[Any, Any], field_type: str | None) -> tuple[Any, Any]:
        return _typed(result[0], field_type), _typed(result[1], field_type)


class Sum(Aggregation):
    """The sum of the non-None values (0 when there are none)."""

    __slots__ = ()

    def steps(self, value: Value | None, *, unwind: bool) -> Pipeline:
        return pipelines.value_group([], _required(value), {"x": {"$sum": "$_v"}}, unwind=unwind)

    def parse(self, rows: Rows) -> float:
        return rows[0]["x"] if rows else 0


class Mean(Aggregation):
    """The mean of the non-None values; None when there are none (FiftyOne returns 0)."""

    __slots__ = ()

    def steps(self, value: Value | None, *, unwind: bool) -> Pipeline:
        return pipelines.value_group([], _required(value), {"x": {"$avg": "$_v"}}, unwind=unwind)

    def parse(self, rows: Rows) -> float | None:
        return rows[0]["x"] if rows else None


class Std(Aggregation):
    """The population standard deviation (``sample=True``: the sample one) of the non-None
    values; None when there are none (FiftyOne returns 0)."""

    __slots__ = ("sample",)

    def __init__(self, field_or_expr: FieldOrExpr, *, sample: bool = False, expr: Expr | None = None) -> None:
        super().__init__(field_or_expr, expr=expr)
        self.sample = bool(sample)

    def steps(self, value: Value | None, *, unwind: bool) -> Pipeline:
        # From sums (one pass, and supported by every backend) rather than $stdDevPop.
        return pipelines.value_group([], _required(value), {
            "n": {"$sum": 1}, "s": {"$sum": "$_v"}, "ss": {"$sum": {"$multiply": ["$_v", "$_v"]}}},
            unwind=unwind)

    def parse(self, rows: Rows) -> float | None:
        ddof = int(self.sample)
        if not rows or rows[0]["n"] - ddof <= 0:
            return None
        n, total, squares = rows[0]["n"], rows[0]["s"], rows[0]["ss"]
        mean = total / n
        return math.sqrt(max(squares / n - mean * mean, 0.0) * n / (n - ddof))


class Quantiles(Aggregation):
    """The nearest-rank quantile(s) of the numeric values: for ``q`` the value of rank
    ``ceil(q * n)`` in ascending order (the smallest for 0). A number gives one value, a
    list a list; None (or Nones) when there are no values."""

    __slots__ = ("quantiles",)

    def __init__(self, field_or_expr: FieldOrExpr, quantiles: float | Iterable[float], *,
                 expr: Expr | None = None) -> None:
        super().__init__(field_or_expr, expr=expr)
        many = isinstance(quantiles, Iterable) and not isinstance(quantiles, (str, bytes, dict))
        points = list(quantiles) if many else [quantiles]  # type: ignore[call-overload]
        if not points or not all(_is_number(q) and 0 <= q <= 1 for q in points):
            raise ValidationError(f"quantiles must be numbers in [0, 1], got {quantiles!r}")
        self.quantiles = [float(q) for q in points] if many else float(quantiles)  # type: ignore[arg-type]

    def steps(self, value: Value | None, *, unwind: bool) -> Pipeline:
        return pipelines.quantiles([], _required(value), self._points(), unwind=unwind)

    def parse(self, rows: Rows) -> Any:
        found = pipelines.decode_quantiles(rows, len(self._points()))
        return found if isinstance(self.quantiles, list) else found[0]

    def _points(self) -> list[float]:
        return self.quantiles if isinstance(self.quantiles, list) else [float(self.quantiles)]


class HistogramValues(Aggregation):
    """``(counts, edges, other)``: counts of ``bins`` equal bins over ``range`` (default: the
    bounds of the finite values), the ``bins + 1`` edges, and the number of other values
    (outside the range, nan, None and missing ones), as FiftyOne counts them."""

    __slots__ = ("bins", "range")

    def __init__(self, field_or_expr: FieldOrExpr, bins: int = 10,
                 range: tuple[float, float] | None = None,  # noqa: A002 - numpy's name
                 *, expr: Expr | None = None) -> None:
        super().__init__(field_or_expr, expr=expr)
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
            raise ValidationError(f"bins must be a positive int, got {bins!r}")
        self.bins, self.range = bins, range

    def with_bounds(self, bounds: tuple[Any, Any]) -> HistogramValues:
        """This histogram over ``bounds`` (from a ``Bounds`` of the same values) where it has no range."""
        if self.range is not None:
            return self
        return HistogramValues(self.field_or_expr, self.bins, bounds, expr=self.expr)  # type: ignore[arg-type]

    def steps(self, value: Value | None, *, unwind: bool) -> Pipeline:
        low, high = self._limits()
        if low is None:
            return [{"$match": {"$expr": False}}]  # no values, so nothing to count
        return pipelines.histogram([], _required(value), low=low, high=high, bins=self.bins, unwind=unwind)

    def parse(self, rows: Rows) -> tuple[list[int], list[float], int]:
        low, high = self._limits()
        if low is None:
            return [0] * self.bins, [0.0] * (self.bins + 1), 0
        counts, other = pipelines.decode_histogram(rows, self.bins)
        return counts, pipelines.histogram_edges(low, high, self.bins), other

    def _limits(self) -> tuple[Any, Any]:
        if self.range is None:
            raise ValidationError("HistogramValues needs its range (collection.aggregate finds the bounds)")
        low, high = self.range
        return (None, None) if low is None else (float(low), float(high))


class Values(Aggregation):
    """One value per sample in collection order (lists stay lists), read in a pass of its own."""

    __slots__ = ()


def _required(value: Value | None) -> Value:
    if value is None:
        raise ValidationError("this aggregation needs a field or an expression")
    return value


def _typed(value: Any, field_type: str | None) -> Any:
    """A stored value as a field of ``field_type`` reads it (a ``DateField``'s midnight as a date)."""
    if isinstance(value, dt.datetime) and field_type in (fields.DATE, str(FieldType.list_of(fields.DATE))):
        return codec.datetime_to_date(value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


__all__ = ["Aggregation", "Bounds", "Count", "CountValues", "Distinct", "HistogramValues", "Mean",
           "Quantiles", "Std", "Sum", "Values"]
