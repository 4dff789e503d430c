"""How one sample's stored fields merge into another's (``merge_samples`` and ``Sample.merge``):
fields the target lacks are added, None never overwrites, list fields gain the new items and
label lists the labels of new ids, other fields are replaced when ``overwrite``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labellens.fields import FieldType
from labellens.label_types import list_path


def merged(doc: dict[str, Any], existing: dict[str, Any], names: Mapping[str, str], lists: set[str], *,
           merge_lists: bool, overwrite: bool) -> dict[str, Any]:
    """The ``$set`` of one matched sample (None values of the source never overwrite)."""
    changes: dict[str, Any] = {}
    for name, target in names.items():
        value, old = doc.get(name), existing.get(target)
        if value is None or value == old:
            continue
        if old is None:
            changes[target] = value
        elif merge_lists and target in lists and isinstance(old, list):
            changes[target] = old + [v for v in value if v not in old]
        elif merge_lists and (path := _label_list(old)) is not None:
            changes[target] = _merged_labels(old, value, path, overwrite=overwrite)
        elif overwrite:
            changes[target] = value
    return changes


def _label_list(stored: Any) -> str | None:
    """The list path of a stored label that holds a list of labels (``classifications``), else None."""
    if not isinstance(stored, dict) or "_cls" not in stored:
        return None
    return list_path(FieldType.embedded(stored["_cls"]))


def _merged_labels(old: dict[str, Any], new: dict[str, Any], path: str, *, overwrite: bool) -> dict[str, Any]:
    """Two stored label lists as one: labels of the same id updated (if ``overwrite``), others added."""
    incoming = {label["_id"]: label for label in new.get(path) or []}
    kept = [incoming.pop(label["_id"]) if overwrite and label["_id"] in incoming else label
            for label in old.get(path) or []]
    seen = {label["_id"] for label in kept}
    return {**old, path: kept + [label for i, label in incoming.items() if i not in seen]}
