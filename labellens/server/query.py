"""Turn what the browser sends into views, and stored documents into JSON.

The browser sends the session's view as stage JSON plus the sidebar's choices
(tags, ranges, classes, sort). Stages are rebuilt only through the stage
registry (``dataset.view_from_json``) and the sidebar's choices only through the
public view API (``match_tags``, ``match``, ``sort_by``) and expressions
(``F(x).between``, ``F(x.label).is_in``, which compile to plain, index-friendly
query filters), with field names checked against the schema first, so every
value from the browser meets the same validation as Python code and no
pipeline is written here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from bson import Binary, ObjectId

from labellens import codec
from labellens.dataset import load_dataset
from labellens.errors import DatasetNotFoundError, LabelLensError, ValidationError
from labellens.expr import F
from labellens.fields import NUMERIC, SORTABLE
from labellens.label_types import label_fields
from labellens.probability import softmax
from labellens.validation import string_list

GROUND_TRUTH_NAMES = ("ground_truth", "gt", "label", "labels")
MAX_ARRAY_ITEMS = 4096
MAX_OFFSET = 2**53 - 1  # the largest integer the browser's numbers hold exactly
# Where a label's JSON carries the softmax of its logits: to_json drops every stored key that
# starts with "_" (but _cls), so this name never hides a stored attribute.
PROBABILITIES = "_probabilities"
PROBABILITY_DECIMALS = 6


@dataclass(frozen=True)
class GridSchema:
    """Which fields the grid shows, read from a field schema."""

    label_fields: tuple[str, ...]
    numeric_fields: tuple[str, ...]
    sort_fields: tuple[str, ...]

    @classmethod
    def of(cls, schema: Mapping[str, str]) -> GridSchema:
        labels = label_fields(schema, "review")  # one class per label: chips, class filters, review
        labels.sort(key=lambda name: (name not in GROUND_TRUTH_NAMES, list(schema).index(name)))
        numbers = [name for name, kind in schema.items() if kind in NUMERIC]
        sortable = ["id", "filepath", *numbers,
                    *(n for n, kind in schema.items() if kind in SORTABLE and n not in numbers
                      and n != "filepath"),
                    *(f"{name}.label" for name in labels), *(f"{name}.confidence" for name in labels)]
        return cls(tuple(labels), tuple(numbers), tuple(sortable))

    @property
    def projection(self) -> list[str]:
        """The stored paths a grid tile needs (never logits)."""
        paths = ["_id", "filepath", "tags", "metadata.width", "metadata.height"]
        for name in self.label_fields:
            paths += [f"{name}.label", f"{name}.confidence"]
        return paths + list(self.numeric_fields)


class Datasets:
    """The datasets requests name, each loaded once per App and re-read on every use.

    A use re-reads the record (one read by id, as loading by name costs): only schema
    changes move its ``schema_version``, and runs, classes and info must not be stale
    either. A dataset deleted or renamed meanwhile is loaded by name again, which
    raises the 404 that names the datasets there are. Two threads may both load a
    name; the last one is kept.
    """

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        """Dataset ``name``, current (sync: run it in a worker thread)."""
        dataset = self._loaded.pop(name, None)
        if dataset is not None:
            try:
                dataset.reload()
            except DatasetNotFoundError:
                dataset = None
        if dataset is None or dataset.name != name:
            dataset = load_dataset(name)
        self._loaded[name] = dataset
        return dataset


@dataclass(frozen=True)
class Prepared:
    """A request's view, compiled: what the async handlers need, read once in a worker thread."""

    dataset: Any
    view: Any
    schema: dict[str, str]
    grid: GridSchema
    pipeline: list[dict[str, Any]]

    @property
    def collection(self) -> str:
        return str(self.dataset.collection_name)


def prepare(dataset: Any, body: Mapping[str, Any], *, filters: bool = True) -> Prepared:
    """Compile the view of ``dataset`` that ``body`` asks for (sync: it may read the record).

    With ``filters=False`` only the session's stages (``body["view"]``) apply.
    """
    view = build_view(dataset, body if filters else {"view": body.get("view")})
    schema = view.get_field_schema()
    return Prepared(dataset, view, schema, GridSchema.of(schema), view.pipeline())


def build_view(dataset: Any, body: Mapping[str, Any]) -> Any:
    """The view a request asks for: its stage JSON, then the sidebar's filters and sort.

    ``body`` may hold ``view`` (a list of stage JSON) and ``filters``:
    ``{"tags": [...], "ranges": {field: [lo, hi]}, "labels": {field: [classes]},
    "sort": {"field": name, "reverse": bool}}``.
    """
    stages = body.get("view") or []
    try:
        view = dataset.view_from_json(stages)
    except LabelLensError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ValidationError(f"invalid view: {exc}") from None
    filters = body.get("filters") or {}
    if not isinstance(filters, Mapping):
        raise ValidationError("filters must be an object")
    unknown = set(filters) - {"tags", "ranges", "labels", "sort"}
    if unknown:
        raise ValidationError(f"unknown filters {sorted(unknown)}; use tags, ranges, labels and sort")
    schema = view.get_field_schema()
    grid = GridSchema.of(schema)
    tags = _strings(filters.get("tags") or [], "filters.tags")
    if tags:
        view = view.match_tags(tags)
    for name, bounds in _mapping(filters.get("ranges"), "filters.ranges").items():
        if name not in grid.numeric_fields:
            raise ValidationError(
                f"cannot filter {name!r} by range; numeric fields: {list(grid.numeric_fields)}")
        low, high = number_range(bounds, name)
        view = view.match(F(name).between(low, high))
    for name, classes in _mapping(filters.get("labels"), "filters.labels").items():
        if name not in grid.label_fields:
            raise ValidationError(f"cannot filter {name!r} by class; label fields: {list(grid.label_fields)}")
        view = view.match(F(f"{name}.label").is_in(_strings(classes, f"filters.labels.{name}")))
    sort = filters.get("sort")
    if sort:
        if not isinstance(sort, Mapping) or not isinstance(sort.get("field"), str):
            raise ValidationError('sort must be {"field": name, "reverse": bool}')
        if sort["field"] not in grid.sort_fields:
            raise ValidationError(
                f"cannot sort by {sort['field']!r}; sortable fields: {list(grid.sort_fields)}")
        view = view.sort_by(sort["field"], reverse=bool(sort.get("reverse", False)))
    return view


def page_bounds(body: Mapping[str, Any], max_limit: int) -> tuple[int, int]:
    """The ``(offset, limit)`` of a page request, checked (an offset is at most :data:`MAX_OFFSET`)."""
    offset, limit = body.get("offset", 0), body.get("limit", 50)
    for name, value in (("offset", offset), ("limit", limit)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OFFSET:
            raise ValidationError(f"{name} must be an integer from 0 to {MAX_OFFSET}, got {value!r:.40}")
    if not 1 <= limit <= max_limit:
        raise ValidationError(f"limit must be between 1 and {max_limit}, got {limit}")
    return offset, limit


def to_json(value: Any) -> Any:
    """A stored document (or value) as JSON: ``_id`` -> ``id``, arrays as lists, no NaN."""
    if isinstance(value, Mapping):
        if value.get("_cls") == codec.NDARRAY:
            return _array_json(codec.decode_array(value))
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "_id":
                out["id"] = to_json(item)
            elif key == "_cls" or not key.startswith("_"):
                out[key] = to_json(item)
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, (bytes, Binary)):
        return _array_json(codec.decode_logits(value))  # raw binary is only ever a label's logits
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def with_probabilities(sample: Mapping[str, Any]) -> dict[str, Any]:
    """A sample's JSON (from :func:`to_json`) with the probabilities of each label's logits added.

    Each top-level label whose ``logits`` are a non-empty list of numbers gets
    ``_probabilities``: their softmax by :func:`labellens.probability.softmax`,
    rounded to 6 decimals (the modal draws them as bars; the App has no softmax of its own).
    """
    out = dict(sample)
    for name, value in sample.items():
        logits = value.get("logits") if isinstance(value, Mapping) else None
        if (isinstance(logits, list) and logits
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in logits)):
            probs = softmax(np.asarray(logits, dtype=np.float64))
            out[name] = {**value, PROBABILITIES: [round(float(p), PROBABILITY_DECIMALS) for p in probs]}
    return out


def _array_json(array: np.ndarray | None) -> Any:
    if array is None:
        return None
    if array.size > MAX_ARRAY_ITEMS:
        return f"<array of shape {list(array.shape)}>"
    return [to_json(v) for v in array.tolist()] if array.ndim else to_json(array.item())


def _strings(value: Any, name: str) -> list[str]:
    return string_list(value, name, single=False, empty=True)


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be an object")
    return value


def number_range(bounds: Any, name: str) -> tuple[float, float]:
    """``[low, high]`` from a request as two floats (ValidationError unless both are finite numbers)."""
    values = [_finite(b) for b in bounds] if isinstance(bounds, list) and len(bounds) == 2 else [None]
    if None in values:
        raise ValidationError(f"the range of {name!r} must be [low, high] with finite numbers")
    return values[0], values[1]  # type: ignore[return-value]


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or None (not a number, NaN, infinite or beyond a float's range)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return number if math.isfinite(number) else None
