"""Datasets and views as JSON-serializable dicts, and back (FiftyOne's ``to_dict`` / ``from_dict``).

The dict holds the dataset's settings, its field types and one :meth:`Sample.to_dict`
per sample (MongoDB extended JSON for ids, dates and arrays), so ``json.dumps`` writes
it and :func:`fill` rebuilds an equal dataset from it: same fields with the same types,
classes, info and values (new sample ids).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from labellens import fields
from labellens.dataset import catalog
from labellens.dataset.protocols import ReadableCollection
from labellens.dataset.sample import Sample
from labellens.dataset.type_inference import DEFAULT_SCHEMA
from labellens.errors import ValidationError

FORMAT = "labellens.dataset/1"


def to_dict(collection: ReadableCollection, info: Mapping[str, Any], *,
            include_private: bool) -> dict[str, Any]:
    """The dict of ``collection``'s samples (in view order) with its dataset's settings."""
    schema = collection.get_field_schema()
    return {
        "format": FORMAT,
        "name": collection.name,
        "media_type": "image",
        "default_classes": list(collection.default_classes),
        "info": dict(info),
        "sample_fields": {name: str(kind) for name, kind in schema.items() if name not in DEFAULT_SCHEMA},
        "samples": [s.to_dict(include_private=include_private) for s in collection.iter_samples()],
    }


def samples_of(d: Mapping[str, Any]) -> tuple[dict[str, str], Iterator[Sample]]:
    """The field types declared in ``d`` (from :func:`to_dict`) and its samples, checked as read."""
    if not isinstance(d, Mapping) or not isinstance(d.get("samples"), list):
        raise ValidationError("Dataset.from_dict takes a dict made by to_dict(), with a 'samples' list")
    declared = d.get("sample_fields") or {}
    if not isinstance(declared, Mapping) or not all(isinstance(v, str) for v in declared.values()):
        raise ValidationError("'sample_fields' must map field names to field types such as 'FloatField'")
    dates = [name for name, kind in declared.items() if kind == fields.DATE]
    return dict(declared), (Sample.from_dict(s, dates=dates) for s in d["samples"])


def from_dict(make: Callable[..., Any], d: dict[str, Any], name: str | None, *, persistent: bool,
              overwrite: bool) -> Any:
    """The dataset ``make(name, ...)`` creates, filled from ``d`` (``Dataset.from_dict``); deleted
    again if filling it fails."""
    declared, samples = samples_of(d)
    if name is None and isinstance(d.get("name"), str) and not catalog.store().exists({"name": d["name"]}):
        name = d["name"]
    dataset = make(name, persistent=persistent, overwrite=overwrite)
    try:
        for field, kind in declared.items():
            dataset.add_sample_field(field, kind)
        dataset.default_classes = d.get("default_classes") or []
        dataset.info = dict(d.get("info") or {})
        dataset.save()
        dataset.add_samples(samples)
    except BaseException:
        dataset.delete()
        raise
    return dataset
