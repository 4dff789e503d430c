"""Aggregations over a collection, each one aggregation run by the database.

Array fields (``tags``, the labels of a ``Classifications``) are unwound first, so
``count_values("tags")`` counts tags and ``distinct("pred.classifications.label")``
lists classes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from labellens.errors import ValidationError
from labellens.stages.base import mongo_path

_range = range  # histogram_values takes a parameter named like numpy's ``range``


class AggregationsMixin:
    """count, count_values, distinct, bounds, mean, sum, std, histogram_values."""

    def _aggregate(self, suffix: Sequence[dict[str, Any]] = (), batch_size: int | None = None
                   ) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def _compiled(self, paths: Sequence[str] = ()) -> tuple[list[dict[str, Any]], dict[str, str]]:
        raise NotImplementedError

    def _run(self, pipeline: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        return self.dataset._run_pipeline(pipeline)  # type: ignore[attr-defined]

    def _prepare(self, path: str) -> tuple[list[dict[str, Any]], str]:
        """The collection's pipeline with unwinds for the arrays along ``path``, and the
        expression for its value."""
        pipeline, schema = self._compiled([path])
        parts = mongo_path(path).split(".")
        top = schema.get(parts[0], "")
        if top.startswith("ListField"):
            pipeline.append({"$unwind": f"${parts[0]}"})
        elif top == "EmbeddedDocumentField(Classifications)" and parts[1:2] == ["classifications"]:
            pipeline.append({"$unwind": f"${parts[0]}.{parts[1]}"})
        return pipeline, "$" + ".".join(parts)

    def _group(self, path: str, accumulators: Callable[[str], dict[str, Any]]) -> dict[str, Any] | None:
        prefix, value = self._prepare(path)
        match = {"$match": {value[1:]: {"$ne": None}}}
        docs = list(self._run([*prefix, match, {"$group": {"_id": None, **accumulators(value)}}]))
        return docs[0] if docs else None

    def count(self, field: str | None = None) -> int:
        """Number of samples, or of non-None values of ``field`` (array elements counted)."""
        if field is None:
            return self._count_samples()
        result = self._group(field, lambda v: {"n": {"$sum": 1}})
        return int(result["n"]) if result else 0

    def _count_samples(self) -> int:
        docs = list(self._aggregate([{"$count": "n"}]))
        return int(docs[0]["n"]) if docs else 0

    def count_values(self, field: str) -> dict[Any, int]:
        """Value -> number of occurrences (None counts samples lacking the field)."""
        prefix, value = self._prepare(field)
        pipeline = [*prefix, {"$group": {"_id": value, "count": {"$sum": 1}}}]
        return {d["_id"]: int(d["count"]) for d in self._run(pipeline)}

    def distinct(self, field: str) -> list[Any]:
        """Sorted distinct non-None values."""
        prefix, value = self._prepare(field)
        pipeline = [*prefix, {"$match": {value[1:]: {"$ne": None}}},
                    {"$group": {"_id": value}}, {"$sort": {"_id": 1}}]
        return [d["_id"] for d in self._run(pipeline)]

    def bounds(self, field: str) -> tuple[Any, Any]:
        """``(min, max)`` of the non-None values, ``(None, None)`` when there are none."""
        result = self._group(field, lambda v: {"min": {"$min": v}, "max": {"$max": v}})
        return (result["min"], result["max"]) if result else (None, None)

    def mean(self, field: str) -> float | None:
        result = self._group(field, lambda v: {"x": {"$avg": v}})
        return result["x"] if result else None

    def sum(self, field: str) -> float:
        result = self._group(field, lambda v: {"x": {"$sum": v}})
        return result["x"] if result else 0

    def std(self, field: str, sample: bool = False) -> float | None:
        """Population standard deviation (``sample=True``: sample standard deviation)."""
        # From sums (one pass, and supported by every backend) rather than $stdDevPop.
        result = self._group(field, lambda v: {"n": {"$sum": 1}, "s": {"$sum": v},
                                               "ss": {"$sum": {"$multiply": [v, v]}}})
        if not result or result["n"] - int(sample) <= 0:
            return None
        n, mean = result["n"], result["s"] / result["n"]
        variance = max(result["ss"] / n - mean * mean, 0.0) * n / (n - int(sample))
        return math.sqrt(variance)

    def histogram_values(self, field: str, bins: int = 10,
                         range: tuple[float, float] | None = None  # noqa: A002 - numpy's name
                         ) -> tuple[list[int], list[float], int]:
        """``(counts, edges, other)``: counts per bin, bin edges, and values outside the range."""
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
            raise ValidationError(f"bins must be a positive int, got {bins!r}")
        low, high = range if range is not None else self.bounds(field)
        if low is None:
            return [0] * bins, [0.0] * (bins + 1), 0
        low, high = float(low), float(high)
        width = (high - low) / bins if high > low else 1.0
        edges = [low + i * width for i in _range(bins + 1)]
        prefix, value = self._prepare(field)
        index = {"$floor": {"$divide": [{"$subtract": [value, low]}, width]}}
        in_range = {"$and": [{"$gte": [value, low]}, {"$lte": [value, high]}]}
        bucket = {"$cond": [in_range, {"$min": [index, bins - 1]}, -1]}
        pipeline = [*prefix, {"$match": {value[1:]: {"$ne": None}}},
                    {"$group": {"_id": bucket, "count": {"$sum": 1}}}]
        counts, other = [0] * bins, 0
        for doc in self._run(pipeline):
            if doc["_id"] is None or doc["_id"] < 0 or math.isnan(doc["_id"]):
                other += int(doc["count"])
            else:
                counts[int(doc["_id"])] += int(doc["count"])
        return counts, edges, other

