"""Aggregations over a collection, each one aggregation run by the database.

Array fields (``tags``, the labels of a ``Classifications``) are unwound first, so
``count_values("tags")`` counts tags and ``distinct("pred.classifications.label")``
lists classes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from labellens.dataset.protocols import PipelineSource
from labellens.db import pipelines
from labellens.errors import ValidationError
from labellens.fields import CLASSIFICATIONS, FieldType
from labellens.stages.base import mongo_path


class Aggregations:
    """count, count_values, distinct, bounds, mean, sum, std, histogram_values of one collection.

    A part of every dataset and view: ``collection.count("x")`` is ``Aggregations(collection).count("x")``
    (the collection's methods say what each returns).
    """

    __slots__ = ("_source", "_timeout")

    def __init__(self, source: PipelineSource, timeout: float | None = None) -> None:
        self._source = source
        self._timeout = timeout  # seconds each aggregation may run (None: the context's default)

    def _run(self, pipeline: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        return self._source.dataset._run_pipeline(pipeline, timeout=self._timeout)

    def _prepare(self, path: str) -> tuple[list[dict[str, Any]], str, bool]:
        """The collection's pipeline, the stored path of ``path`` and whether its value is an
        array whose items count singly (a list field, the labels of a ``Classifications``)."""
        pipeline, schema = self._source._compiled([path])
        stored = mongo_path(path)
        parts = stored.split(".")
        top = schema.get(parts[0], "")
        unwind = (FieldType(top).is_list
                  or (top == CLASSIFICATIONS and parts[1:2] == ["classifications"]))
        return pipeline, stored, unwind

    def _group(self, path: str, accumulators: dict[str, Any]) -> dict[str, Any] | None:
        """One row of ``accumulators`` over the values of ``path`` (None: it has no values)."""
        prefix, stored, unwind = self._prepare(path)
        return next(self._run(pipelines.value_group(prefix, stored, accumulators, unwind=unwind)), None)

    def count(self, field: str | None = None) -> int:
        if field is None:
            return self._source._count_samples(timeout=self._timeout)
        result = self._group(field, {"n": {"$sum": 1}})
        return int(result["n"]) if result else 0

    def count_values(self, field: str) -> dict[Any, int]:
        prefix, stored, unwind = self._prepare(field)
        return pipelines.decode_count_values(self._run(pipelines.count_values(prefix, stored, unwind=unwind)))

    def distinct(self, field: str) -> list[Any]:
        prefix, stored, unwind = self._prepare(field)
        return pipelines.decode_ids(self._run(pipelines.distinct(prefix, stored, unwind=unwind)))

    def bounds(self, field: str) -> tuple[Any, Any]:
        prefix, stored, unwind = self._prepare(field)
        rows = self._run(pipelines.value_bounds(prefix, stored, unwind=unwind))
        return pipelines.decode_bounds(rows, ["_v"])["_v"]

    def mean(self, field: str) -> float | None:
        result = self._group(field, {"x": {"$avg": "$_v"}})
        return result["x"] if result else None

    def sum(self, field: str) -> float:
        result = self._group(field, {"x": {"$sum": "$_v"}})
        return result["x"] if result else 0

    def std(self, field: str, sample: bool = False) -> float | None:
        # From sums (one pass, and supported by every backend) rather than $stdDevPop.
        result = self._group(field, {"n": {"$sum": 1}, "s": {"$sum": "$_v"},
                                     "ss": {"$sum": {"$multiply": ["$_v", "$_v"]}}})
        if not result or result["n"] - int(sample) <= 0:
            return None
        n, mean = result["n"], result["s"] / result["n"]
        variance = max(result["ss"] / n - mean * mean, 0.0) * n / (n - int(sample))
        return math.sqrt(variance)

    def histogram_values(self, field: str, bins: int = 10,
                         range: tuple[float, float] | None = None  # noqa: A002 - numpy's name
                         ) -> tuple[list[int], list[float], int]:
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
            raise ValidationError(f"bins must be a positive int, got {bins!r}")
        low, high = range if range is not None else self.bounds(field)
        if low is None:
            return [0] * bins, [0.0] * (bins + 1), 0
        low, high = float(low), float(high)
        prefix, stored, unwind = self._prepare(field)
        rows = self._run(pipelines.histogram(prefix, stored, low=low, high=high, bins=bins, unwind=unwind))
        counts, other = pipelines.decode_histogram(rows, bins)
        return counts, pipelines.histogram_edges(low, high, bins), other
