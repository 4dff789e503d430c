"""The tutorial's text summaries of datasets and views."""

from __future__ import annotations

from labellens.dataset.protocols import ReadableCollection
from labellens.dataset.type_inference import display_type


def summary(collection: ReadableCollection, persistent: bool | None = None) -> str:
    """``Name/Dataset``, media type, count, tags, fields and (for views: no ``persistent``) the numbered
    stages."""
    is_view = persistent is None
    lines = [f"{'Dataset:' if is_view else 'Name:':<16}{collection.name}",
             f"{'Media type:':<16}{collection.media_type}",
             f"{'Num samples:':<16}{len(collection)}"]
    if not is_view:
        lines.append(f"{'Persistent:':<16}{persistent}")
    lines.append(f"{'Tags:':<16}{collection.distinct('tags')}")
    lines.append("Sample fields:")
    schema = collection.get_field_schema()
    width = max(len(name) + 1 for name in schema)
    lines += [f"    {name + ':':<{width}} {display_type(kind)}" for name, kind in schema.items()]
    if is_view:
        lines.append("View stages:")
        lines += [f"    {i}. {stage!r}" for i, stage in enumerate(collection.stages, 1)]
    return "\n".join(lines)
