"""Aggregations over a collection, run by the database: one alone, or many in one pass.

Array fields (``tags``, the labels of a ``Classifications``) are unwound first, so
``count_values("tags")`` counts tags and ``distinct("pred.classifications.label")``
lists classes. Each aggregation also takes an expression evaluated per sample
(``dataset.sum(2 * (F("x") + 1))``), whose array results are unwound in the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from labellens.aggregations import (
    Aggregation,
    Bounds,
    Count,
    CountValues,
    Distinct,
    FieldOrExpr,
    HistogramValues,
    Mean,
    Quantiles,
    Std,
    Sum,
    Values,
)
from labellens.dataset.protocols import PipelineSource
from labellens.db import pipelines
from labellens.errors import ValidationError
from labellens.expr import Expr, F, Field, check_safe, compile_expr, field_paths, raw_field_paths
from labellens.fields import FieldType
from labellens.label_types import list_path
from labellens.stages.base import mongo_path


class Aggregations:
    """values, count, count_values, distinct, bounds, mean, sum, std, quantiles, histogram_values
    and aggregate of one collection.

    A part of every dataset and view: ``collection.count("x")`` is ``Aggregations(collection).count("x")``
    (the collection's methods say what each returns).
    """

    __slots__ = ("_source", "_timeout")

    def __init__(self, source: PipelineSource, timeout: float | None = None) -> None:
        self._source = source
        self._timeout = timeout  # seconds each aggregation may run (None: the context's default)

    def _run(self, pipeline: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        return self._source.dataset._run_pipeline(pipeline, timeout=self._timeout)

    def run(self, aggregation: Aggregation) -> Any:
        """The result of one aggregation, in one pass of its own."""
        if isinstance(aggregation, Count) and aggregation.field_or_expr is None:
            return self._source._count_samples(timeout=self._timeout)
        if isinstance(aggregation, Values):
            return self._values(aggregation)
        if isinstance(aggregation, HistogramValues) and aggregation.range is None:
            bounds = self.run(Bounds(aggregation.field_or_expr, expr=aggregation.expr, safe=True))  # type: ignore[arg-type]
            aggregation = aggregation.with_bounds(bounds)
            if bounds[0] is None:  # no values: nothing to count
                return aggregation.parse([])
        pipeline, schema = self._source._compiled(_paths(aggregation.field_or_expr))
        value, unwind = _value(aggregation, schema)
        rows = list(self._run([*pipeline, *aggregation.steps(value, unwind=unwind)]))
        return aggregation.typed(aggregation.parse(rows), _field_type(aggregation, schema))

    def aggregate(self, aggregations: Aggregation | Iterable[Aggregation]) -> Any:
        """The results of ``aggregations`` (one result for one aggregation), all but ``Values``
        computed in one pass (a ``$facet``); histograms without a range read their bounds first."""
        if isinstance(aggregations, Aggregation):
            return self.run(aggregations)
        one = isinstance(aggregations, (str, bytes, Mapping)) or not isinstance(aggregations, Iterable)
        items = [aggregations] if one else list(aggregations)
        for item in items:
            if not isinstance(item, Aggregation):
                raise ValidationError("aggregate() takes aggregation objects (ll.Count(), ll.Bounds('x')), "
                                      f"got {item!r}")
        unranged = [i for i, a in enumerate(items) if isinstance(a, HistogramValues) and a.range is None]
        if unranged:
            bounds = self._facets([Bounds(items[i].field_or_expr, expr=items[i].expr, safe=True)  # type: ignore[arg-type]
                                   for i in unranged])
            for i, found in zip(unranged, bounds):
                items[i] = items[i].with_bounds(found)  # type: ignore[attr-defined]
        together = [i for i, a in enumerate(items) if not isinstance(a, Values)]
        results: list[Any] = [None] * len(items)
        for i, result in zip(together, self._facets([items[i] for i in together])):
            results[i] = result
        for i, item in enumerate(items):
            if isinstance(item, Values):
                results[i] = self._values(item)
        return results

    def _facets(self, aggregations: Sequence[Aggregation]) -> list[Any]:
        """The results of ``aggregations`` from one ``$facet`` over the collection's pipeline."""
        if not aggregations:
            return []
        paths = [p for a in aggregations if a.field_or_expr is not None for p in _paths(a.field_or_expr)]
        pipeline, schema = self._source._compiled(paths)
        facets = {}
        for i, aggregation in enumerate(aggregations):
            counted = aggregation.field_or_expr is not None
            value, unwind = _value(aggregation, schema) if counted else (None, False)
            facets[f"a{i}"] = aggregation.steps(value, unwind=unwind)
        row = next(self._run([*pipeline, {"$facet": facets}]), {})
        return [a.typed(a.parse(row.get(f"a{i}", [])), _field_type(a, schema))
                for i, a in enumerate(aggregations)]

    def _values(self, aggregation: Values) -> list[Any]:
        """One value per sample (a path through ``collection.values``, which decodes stored values)."""
        path = _as_path(aggregation.field_or_expr)  # type: ignore[arg-type]
        if path is not None and aggregation.expr is None:
            return self._source.values(path, timeout=self._timeout)  # type: ignore[attr-defined]
        pipeline, schema = self._source._compiled(_paths(aggregation.field_or_expr))  # type: ignore[arg-type]
        value, _ = _value(aggregation, schema, per_sample=True)
        return [row.get("_v") for row in self._run([*pipeline, *pipelines.value_of(value)])]

    def values(self, field: FieldOrExpr) -> list[Any]:
        return self.run(Values(field))

    def count(self, field: FieldOrExpr | None = None) -> int:
        return self.run(Count(field))

    def count_values(self, field: FieldOrExpr) -> dict[Any, int]:
        return self.run(CountValues(field))

    def distinct(self, field: FieldOrExpr) -> list[Any]:
        return self.run(Distinct(field))

    def bounds(self, field: FieldOrExpr, *, safe: bool = False) -> tuple[Any, Any]:
        return self.run(Bounds(field, safe=safe))

    def mean(self, field: FieldOrExpr) -> float | None:
        return self.run(Mean(field))

    def sum(self, field: FieldOrExpr) -> float:
        return self.run(Sum(field))

    def std(self, field: FieldOrExpr, sample: bool = False) -> float | None:
        return self.run(Std(field, sample=sample))

    def quantiles(self, field: FieldOrExpr, quantiles: float | Iterable[float]) -> Any:
        return self.run(Quantiles(field, quantiles))

    def histogram_values(self, field: FieldOrExpr, bins: int = 10,
                         range: tuple[float, float] | None = None  # noqa: A002 - numpy's name
                         ) -> tuple[list[int], list[float], int]:
        return self.run(HistogramValues(field, bins, range))


class CollectionAggregations:
    """A collection's aggregation methods, each one aggregation run by the database (a field
    name or an expression each); ``SampleCollection`` inherits them.

    ``expr=`` applies an expression to each value of a named field (``bounds("x", expr=F() * 2)``,
    ``F()`` being the value); ``safe=True`` leaves out nan and +-inf values of numeric aggregations.
    """

    __slots__ = ()

    def count(self, field: FieldOrExpr | None = None, *, expr: Expr | None = None, safe: bool = False,
              timeout: float | None = None) -> int:
        """Number of samples, or of non-None values of ``field`` (array elements counted)."""
        if field is None and expr is None:
            return Aggregations(self, timeout).run(Count())
        return Aggregations(self, timeout).run(Count(**_safe(field, expr, safe)))  # type: ignore[arg-type]

    def count_values(self, field: FieldOrExpr, *, expr: Expr | None = None,
                     timeout: float | None = None) -> dict[Any, int]:
        """Value -> number of occurrences (None counts samples lacking the field)."""
        return Aggregations(self, timeout).run(CountValues(field, expr=expr))

    def distinct(self, field: FieldOrExpr, *, expr: Expr | None = None, safe: bool = False,
                 timeout: float | None = None) -> list[Any]:
        """Sorted distinct non-None values."""
        return Aggregations(self, timeout).run(Distinct(**_safe(field, expr, safe)))

    def bounds(self, field: FieldOrExpr, *, expr: Expr | None = None, safe: bool = False,
               timeout: float | None = None) -> tuple[Any, Any]:
        """``(min, max)`` of the non-None values, ``(None, None)`` when there are none."""
        return Aggregations(self, timeout).run(Bounds(**_safe(field, expr, safe)))

    def mean(self, field: FieldOrExpr, *, expr: Expr | None = None, safe: bool = False,
             timeout: float | None = None) -> float | None:
        """Mean of the non-None values (None when there are none)."""
        return Aggregations(self, timeout).run(Mean(**_safe(field, expr, safe)))

    def sum(self, field: FieldOrExpr, *, expr: Expr | None = None, safe: bool = False,
            timeout: float | None = None) -> float:
        """Sum of the non-None values."""
        return Aggregations(self, timeout).run(Sum(**_safe(field, expr, safe)))

    def std(self, field: FieldOrExpr, sample: bool = False, *, expr: Expr | None = None, safe: bool = False,
            timeout: float | None = None) -> float | None:
        """Population standard deviation (``sample=True``: sample standard deviation)."""
        return Aggregations(self, timeout).run(Std(sample=sample, **_safe(field, expr, safe)))

    def histogram_values(self, field: FieldOrExpr, bins: int = 10,
                         range: tuple[float, float] | None = None,  # noqa: A002 - numpy's name
                         *, expr: Expr | None = None, safe: bool = False,
                         timeout: float | None = None) -> tuple[list[int], list[float], int]:
        """``(counts, edges, other)``: counts per bin, bin edges, and values outside the range."""
        return Aggregations(self, timeout).run(
            HistogramValues(bins=bins, range=range, **_safe(field, expr, safe)))

    def quantiles(self, field_or_expr: FieldOrExpr, quantiles: float | Iterable[float], *,
                  expr: Expr | None = None, safe: bool = False, timeout: float | None = None) -> Any:
        """Nearest-rank quantile(s) of the numeric values: for each ``q`` in ``[0, 1]`` the value of
        rank ``ceil(q * n)`` in ascending order; a number gives one value, a list a list (None
        where there are no values)."""
        return Aggregations(self, timeout).run(
            Quantiles(quantiles=quantiles, **_safe(field_or_expr, expr, safe)))  # type: ignore[arg-type]

    def aggregate(self, aggregations: Aggregation | Iterable[Aggregation], *,
                  timeout: float | None = None) -> Any:
        """Run aggregation objects (``ll.Count()``, ``ll.Bounds("x")`` ...): a list gives a list of
        results, computed together in one database pass; one aggregation gives its result."""
        return Aggregations(self, timeout).aggregate(aggregations)  # type: ignore[arg-type]


def _safe(field: FieldOrExpr, expr: Expr | None, safe: bool) -> dict[str, Any]:
    """An aggregation's ``field_or_expr`` and ``expr`` keywords; with ``safe`` the value (after
    ``expr``) becomes None unless it is a finite number, so nan and +-inf count as missing."""
    if not safe:
        return {"field_or_expr": field, "expr": expr}
    inf = float("inf")
    if isinstance(field, str):
        value: Expr = F() if expr is None else expr
        return {"field_or_expr": field, "expr": ((value > -inf) & (value < inf)).if_else(value, None)}
    if not isinstance(field, Expr):
        raise ValidationError("safe=True takes a field name or an F expression")
    return {"field_or_expr": ((field > -inf) & (field < inf)).if_else(field, None), "expr": None}


def _as_path(field_or_expr: FieldOrExpr) -> str | None:
    """The field path that ``field_or_expr`` names (``"x"`` or ``F("x")``), else None."""
    if isinstance(field_or_expr, str):
        return field_or_expr
    if isinstance(field_or_expr, Field) and field_or_expr.path:
        return field_or_expr.path
    return None


def _field_type(aggregation: Aggregation, schema: Mapping[str, str]) -> str | None:
    """The declared type of the field ``aggregation`` reads as it is (None for an expression)."""
    path = _as_path(aggregation.field_or_expr) if aggregation.field_or_expr is not None else None
    return None if path is None or aggregation.expr is not None else schema.get(mongo_path(path))


def _paths(field_or_expr: FieldOrExpr) -> list[str]:
    """The sample fields ``field_or_expr`` reads (checked against the schema when compiled)."""
    path = _as_path(field_or_expr)
    if path is not None:
        return [path]
    if isinstance(field_or_expr, Expr):
        return list(field_paths(field_or_expr))
    if isinstance(field_or_expr, dict):
        check_safe(field_or_expr, "aggregation expression")
        return list(raw_field_paths(field_or_expr, expression=True))
    raise ValidationError(f"aggregations take a field name or an expression, got {field_or_expr!r}")


def _value(aggregation: Aggregation, schema: Mapping[str, str], *, per_sample: bool = False
           ) -> tuple[pipelines.Value, bool]:
    """What ``aggregation`` reads, and whether its array items count singly (a list field, the
    labels of a ``Classifications``; always for an expression, whose non-array results stay).

    Its ``expr`` applies to each item of such an array (``per_sample``: to each sample's value).
    """
    field_or_expr: Any = aggregation.field_or_expr
    path = _as_path(field_or_expr)
    if path is None:
        expression = compile_expr(field_or_expr) if isinstance(field_or_expr, Expr) else field_or_expr
        return pipelines.Computed(expression), True
    stored = mongo_path(path)
    parts = stored.split(".")
    top = schema.get(parts[0], "")
    unwind = FieldType(top).is_list or (parts[1:2] == [list_path(top)])
    if aggregation.expr is None:
        return stored, unwind
    field = F(path)
    applied = field.map(aggregation.expr) if unwind and not per_sample else field.apply(aggregation.expr)
    return pipelines.Computed(compile_expr(applied)), True
