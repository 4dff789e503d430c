"""Pipeline suffixes and the decoding of their results, shared by the sync API and the App.

Pure functions: each takes a view's compiled pipeline and returns it extended by
one final step (a page, a count, value counts, bounds, a histogram, a summary),
and a ``decode_*`` partner turns the rows the database returns into Python
values. :class:`~labellens.dataset.aggregations.Aggregations` runs them
with the sync driver and :class:`~labellens.db.aio.AsyncData` with the async
one, so both give the same answers.

Value paths are read through a ``$project`` to ``_v``; ``unwind=True`` counts the
items of an array value singly (``tags``, the labels of a ``Classifications``). In
place of a path, a :class:`Computed` value is an aggregation expression evaluated per
document (``dataset.sum(2 * F("x"))``).
In :func:`count_values` a document lacking the value counts under ``None``; an
empty or missing array contributes nothing.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from bson import ObjectId

Pipeline = list[dict[str, Any]]
Rows = Iterable[Mapping[str, Any]]


class Computed(NamedTuple):
    """A value computed per document by an aggregation expression, in place of a stored path."""

    expression: Any


Value = str | Computed  # a stored path ("ground_truth.label") or a computed value


def value_of(path: Value, *, unwind: bool = False, unique: bool = False) -> Pipeline:
    """Steps that leave one ``{"_v": value}`` per document (per array item when ``unwind``;
    per distinct item of each document's array when also ``unique``).

    ``unwind`` keeps a computed value that is not an array as one item (None too), so an
    expression counts as a path does: its empty arrays contribute nothing, its None counts."""
    if isinstance(path, Computed):
        steps = [{"$project": {"_id": 0, "_v": path.expression}}]
        if unwind:
            # [value] as a $map over one item: mongomock evaluates no field inside an array literal.
            alone = {"$map": {"input": [0], "as": "one", "in": {"$ifNull": ["$_v", None]}}}
            steps += [{"$project": {"_v": {"$cond": [{"$isArray": "$_v"}, "$_v", alone]}}},
                      {"$unwind": "$_v"}]
        return steps
    value: Any = {"$setUnion": ["$" + path, []]} if unique else "$" + path
    steps: Pipeline = [{"$project": {"_id": 0, "_v": value}}]
    if unwind:
        steps.append({"$unwind": "$_v"})
    return steps


def keeps_every_document(pipeline: Sequence[dict[str, Any]]) -> bool:
    """True when ``pipeline`` only orders documents (``$sort``): counts over it are the collection's."""
    return all(list(stage) == ["$sort"] for stage in pipeline)


_FIND_ARGS = {"$match": (0, "filter"), "$sort": (1, "sort"), "$skip": (2, "skip"), "$limit": (3, "limit"),
              "$project": (4, "projection")}  # stage -> (its place in a find, the find argument)


def as_find(pipeline: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The ``find`` arguments equal to ``pipeline``, or None when it needs an aggregation.

    A pipeline of at most one each of ``$match``, ``$sort``, ``$skip``, ``$limit`` and an
    inclusion/exclusion ``$project``, in that order, is a query: ``find`` runs it without the
    aggregation framework's fixed cost (a tenth of a millisecond on an indexed top 100).
    """
    args: dict[str, Any] = {}
    place = -1
    for stage in pipeline:
        if len(stage) != 1:
            return None
        for name, value in stage.items():
            slot = _FIND_ARGS.get(name)
            if slot is None or slot[0] <= place:
                return None
            place, arg = slot
            if arg == "sort":
                if not all(v in (1, -1) for v in value.values()):
                    return None
                value = list(value.items())
            elif arg == "projection":
                if not all(v in (0, 1) for v in value.values()):
                    return None
            elif arg != "filter" and (type(value) is not int or value <= 0):
                return None
            args[arg] = value
    return args


def sample_tags(pipeline: Sequence[dict[str, Any]], path: str = "tags") -> Pipeline:
    """One row ``{"_id": tag, "n": samples}`` per tag: a sample counts once per tag it carries."""
    return [*pipeline, *value_of(path, unwind=True, unique=True),
            {"$group": {"_id": "$_v", "n": {"$sum": 1}}}]


def carrying(value: Any, path: str = "tags", *, ids: tuple[Any, Any] = (None, None)) -> Pipeline:
    """The count of the collection's samples whose ``path`` array holds ``value`` and whose ``_id``
    is in ``[ids[0], ids[1])`` (None: unbounded): one range of a ``(path, _id)`` index."""
    bounds = {op: bound for op, bound in zip(("$gte", "$lt"), ids) if bound is not None}
    return count([{"$match": {path: value, **({"_id": bounds} if bounds else {})}}])


def first_id(*, last: bool = False) -> Pipeline:
    """The smallest (``last``: largest) ``_id`` of the collection, read from its index."""
    return [{"$sort": {"_id": -1 if last else 1}}, {"$limit": 1}, {"$project": {"_id": 1}}]


def middle_id(low: ObjectId, high: ObjectId) -> ObjectId:
    """The id halfway between two ids as 96-bit numbers: ids grow with insertion time, so this
    splits an id range into halves of about equal size."""
    a, b = int.from_bytes(low.binary, "big"), int.from_bytes(high.binary, "big")
    return ObjectId(((a + b) // 2).to_bytes(12, "big"))


def page(pipeline: Sequence[dict[str, Any]], *, offset: int, limit: int,
         fields: Sequence[str] | None = None) -> Pipeline:
    """``offset`` documents skipped, at most ``limit`` kept, restricted to ``fields`` (plus ``_id``)."""
    steps = list(pipeline)
    if offset:
        steps.append({"$skip": int(offset)})
    steps.append({"$limit": int(limit)})
    if fields is not None:
        steps.append({"$project": {path: 1 for path in fields}})
    return steps


def ids(pipeline: Sequence[dict[str, Any]]) -> Pipeline:
    """Only the ``_id`` of each document, in view order."""
    return [*pipeline, {"$project": {"_id": 1}}]


def decode_ids(rows: Rows) -> list[Any]:
    return [row["_id"] for row in rows]


def count(pipeline: Sequence[dict[str, Any]]) -> Pipeline:
    """The number of documents, as one row ``{"n": n}`` (no row when there are none)."""
    return [*pipeline, {"$count": "n"}]


def decode_count(rows: Rows) -> int:
    for row in rows:
        return int(row["n"])
    return 0


def count_values(pipeline: Sequence[dict[str, Any]], path: Value, *, unwind: bool = False) -> Pipeline:
    """One row ``{"_id": value, "n": count}`` per value of ``path`` (None: documents lacking it)."""
    return [*pipeline, *value_of(path, unwind=unwind), {"$group": {"_id": "$_v", "n": {"$sum": 1}}}]


def decode_count_values(rows: Rows) -> dict[Any, int]:
    return {row["_id"]: int(row["n"]) for row in rows}


def bounds(pipeline: Sequence[dict[str, Any]], paths: Sequence[str]) -> Pipeline:
    """One row with ``min{i}``/``max{i}`` of each path (None values ignored, arrays not unwound)."""
    group: dict[str, Any] = {"_id": None}
    for i, path in enumerate(paths):
        group[f"min{i}"] = {"$min": "$" + path}
        group[f"max{i}"] = {"$max": "$" + path}
    return [*pipeline, {"$group": group}]


def value_bounds(pipeline: Sequence[dict[str, Any]], path: Value, *, unwind: bool = False,
                 finite: bool = False) -> Pipeline:
    """:func:`bounds` of one path whose array items count singly when ``unwind`` (decode with
    ``decode_bounds(rows, ["_v"])``); ``finite``: leaving out nan and ±inf."""
    steps = value_of(path, unwind=unwind)
    if finite:
        steps.append({"$match": {"$expr": {"$cond": [{"$isNumber": "$_v"}, _finite("$_v"), True]}}})
    return bounds([*pipeline, *steps], ["_v"])


def _finite(value: Any) -> dict[str, Any]:
    """True where the number ``value`` is neither nan nor ±inf (nan compares below every number)."""
    return {"$and": [{"$gt": [value, -math.inf]}, {"$lt": [value, math.inf]}]}


def value_group(pipeline: Sequence[dict[str, Any]], path: Value, accumulators: Mapping[str, Any], *,
                unwind: bool = False) -> Pipeline:
    """One row of ``accumulators`` (``{name: {"$sum": "$_v"}}``...) over the non-None values of
    ``path``; no row when there are none."""
    return [*pipeline, *value_of(path, unwind=unwind), {"$match": {"_v": {"$ne": None}}},
            {"$group": {"_id": None, **accumulators}}]


def distinct(pipeline: Sequence[dict[str, Any]], path: Value, *, unwind: bool = False) -> Pipeline:
    """One row ``{"_id": value}`` per distinct non-None value of ``path``, sorted (decode with
    :func:`decode_ids`: the values are the rows' ``_id``)."""
    return [*pipeline, *value_of(path, unwind=unwind), {"$match": {"_v": {"$ne": None}}},
            {"$group": {"_id": "$_v"}}, {"$sort": {"_id": 1}}]


def quantiles(pipeline: Sequence[dict[str, Any]], path: Value, points: Sequence[float], *,
              unwind: bool = False) -> Pipeline:
    """One row ``{"q0": value, "q1": ...}`` (one key per point) of the numeric values of ``path``,
    no row when there are none: the nearest-rank quantile, the value of rank ``ceil(q * n)`` in
    ascending order (the smallest for ``q = 0``). The sorted values are gathered in one group (one array)."""
    def at(point: float) -> dict[str, Any]:
        rank = {"$ceil": {"$multiply": [point, {"$size": "$v"}]}}
        return {"$arrayElemAt": ["$v", {"$max": [{"$subtract": [rank, 1]}, 0]}]}
    return [*pipeline, *value_of(path, unwind=unwind), {"$match": {"$expr": {"$isNumber": "$_v"}}},
            {"$sort": {"_v": 1}}, {"$group": {"_id": None, "v": {"$push": "$_v"}}},
            {"$project": {"_id": 0, **{f"q{i}": at(point) for i, point in enumerate(points)}}}]


def decode_quantiles(rows: Rows, count: int) -> list[Any]:
    """The values of :func:`quantiles` for its ``count`` points (None each when there are no values)."""
    row: Mapping[str, Any] = next(iter(rows), {})
    return [row.get(f"q{i}") for i in range(count)]


def columns(paths: Sequence[str], *, with_ids: bool) -> tuple[Pipeline, list[str]]:
    """The step that flattens each stored path into a top-level key, and those keys in order.

    ``"$a.b"`` maps over arrays as well, so a path into a list of labels gives a list per document.
    """
    keys = [f"_c{i}" for i in range(len(paths))]
    projection: dict[str, Any] = {key: f"${path}" for key, path in zip(keys, paths)}
    if not with_ids:
        projection["_id"] = 0
    return [{"$project": projection or {"_id": 1}}], keys


def decode_bounds(rows: Rows, paths: Sequence[str]) -> dict[str, tuple[Any, Any]]:
    """``{path: (min, max)}``; ``(None, None)`` for a path without values."""
    row: Mapping[str, Any] = next(iter(rows), {})
    return {path: (row.get(f"min{i}"), row.get(f"max{i}")) for i, path in enumerate(paths)}


def histogram_edges(low: float, high: float, bins: int) -> list[float]:
    """``bins + 1`` equal-width edges from ``low`` to ``high`` (width 1 when ``high <= low``)."""
    width = _width(low, high, bins)
    return [low + i * width for i in range(bins + 1)]


def _width(low: float, high: float, bins: int) -> float:
    return (high - low) / bins if high > low else 1.0


def histogram(pipeline: Sequence[dict[str, Any]], path: Value, *, low: float, high: float, bins: int,
              unwind: bool = False) -> Pipeline:
    """One row ``{"_id": bin, "n": count}`` per bin of ``path``'s values; bin -1: the others (outside
    the range, nan, None and missing), as FiftyOne counts them."""
    width = _width(low, high, bins)
    in_range = {"$and": [{"$isNumber": "$_v"}, {"$gte": ["$_v", low]}, {"$lte": ["$_v", high]}]}
    # The index of an in-range value only: mongomock evaluates both branches of a $cond.
    inside = {"$cond": [in_range, "$_v", low]}
    index = {"$floor": {"$divide": [{"$subtract": [inside, low]}, width]}}
    bucket = {"$cond": [in_range, {"$min": [index, bins - 1]}, -1]}
    return [*pipeline, *value_of(path, unwind=unwind), {"$group": {"_id": bucket, "n": {"$sum": 1}}}]


def bin_ranges(low: float, high: float, bins: int) -> list[dict[str, float]]:
    """Per bin of :func:`histogram`, the query range that holds exactly its values.

    A bin's values are those whose ``floor((v - low) / width)`` (capped at the last
    bin) is its number. That is monotonic in ``v``, so each bin starts at the
    smallest double reaching it, found by bisection over the doubles in order: an
    index range count per bin then equals the pipeline's ``$floor`` even at the edges.
    """
    width = _width(low, high, bins)

    def reaches(key: int, i: int) -> bool:
        return math.floor((_double(key) - low) / width) >= i

    starts = [low]
    for i in range(1, bins):
        below, above = _order(starts[-1]), _order(low + (i + 1) * width)
        while above - below > 1:
            middle = (below + above) // 2
            below, above = (below, middle) if reaches(middle, i) else (middle, above)
        starts.append(_double(above))
    ranges = [{"$gte": start, "$lt": end, "$lte": high} for start, end in zip(starts, starts[1:])]
    return [*ranges, {"$gte": starts[-1], "$lte": high}]


def _order(value: float) -> int:
    """An integer that orders doubles as their values do (-0.0 and 0.0 alike)."""
    bits = struct.unpack("<q", struct.pack("<d", value))[0]
    return bits if bits >= 0 else -(bits & 0x7FFF_FFFF_FFFF_FFFF)


def _double(order: int) -> float:
    bits = order if order >= 0 else (-order) | -0x8000_0000_0000_0000
    return float(struct.unpack("<d", struct.pack("<q", bits))[0])


def indexed_histogram(path: str, *, low: float, high: float, bins: int) -> list[Pipeline]:
    """:func:`histogram` as count pipelines over a ``(path, _id)`` index, which read no document:
    one per bin (:func:`bin_ranges`), then one of every sample (decode the counts of their rows
    with :func:`decode_indexed_histogram`). Only for a view that keeps every sample."""
    return [*(count([{"$match": {path: bounds}}]) for bounds in bin_ranges(low, high, bins)), count([])]


def decode_indexed_histogram(counts: Sequence[int]) -> tuple[list[int], int]:
    """``(counts per bin, count of the others)`` from the counts of :func:`indexed_histogram`."""
    *per_bin, every = counts
    return per_bin, every - sum(per_bin)


def decode_histogram(rows: Rows, bins: int) -> tuple[list[int], int]:
    """``(counts per bin, count outside the range)``."""
    counts, other = [0] * bins, 0
    for row in rows:
        index = row["_id"]
        if index is None or index < 0 or math.isnan(index):
            other += int(row["n"])
        else:
            counts[int(index)] += int(row["n"])
    return counts, other


def summarize(pipeline: Sequence[dict[str, Any]], *, value_paths: Sequence[str] = (),
              unwind: Sequence[bool] = (), bound_paths: Sequence[str] = ()) -> Pipeline:
    """Count, value counts and bounds in one pass (a ``$facet``); an ``unwind[i]`` path counts
    as in :func:`sample_tags` (each sample once per distinct item of its array)."""
    flags = list(unwind) or [False] * len(value_paths)
    project: dict[str, Any] = {"_id": 1}
    project.update({f"v{i}": {"$setUnion": ["$" + path, []]} if flag else "$" + path
                    for i, (path, flag) in enumerate(zip(value_paths, flags))})
    project.update({f"b{i}": "$" + path for i, path in enumerate(bound_paths)})
    facets: dict[str, Any] = {"count": [{"$count": "n"}]}
    for i, flag in enumerate(flags):
        facets[f"v{i}"] = [*([{"$unwind": f"$v{i}"}] if flag else []),
                           {"$group": {"_id": f"$v{i}", "n": {"$sum": 1}}}]
    facets["bounds"] = bounds([], [f"b{i}" for i in range(len(bound_paths))])
    return [*pipeline, {"$project": project}, {"$facet": facets}]


def decode_summary(rows: Rows, *, value_paths: Sequence[str] = (),
                   bound_paths: Sequence[str] = ()) -> dict[str, Any]:
    """``{"count": n, "values": {path: {value: n}}, "bounds": {path: (min, max)}}``."""
    result: Mapping[str, Any] = next(iter(rows), {})
    return {
        "count": decode_count(result.get("count") or []),
        "values": {path: decode_count_values(result.get(f"v{i}", [])) for i, path in enumerate(value_paths)},
        "bounds": dict(zip(bound_paths, decode_bounds(result.get("bounds") or [],
                                                      [f"b{i}" for i in range(len(bound_paths))]).values())),
    }


__all__ = [
    "Computed", "Value", "as_find",
    "bin_ranges", "bounds", "carrying", "count", "count_values", "decode_bounds", "decode_count",
    "decode_count_values",
    "decode_histogram", "decode_ids", "decode_quantiles", "decode_summary", "first_id", "histogram",
    "histogram_edges", "ids",
    "keeps_every_document", "middle_id", "page", "quantiles", "sample_tags", "summarize", "value_bounds",
    "value_of",
]
