"""Label history: every label decision (review, import, undo, revert) as an audit entry.

Entries live in the dataset's companion collection ``history.<sample collection>``
(dropped with the dataset; kept when a field is deleted). An entry is a plain dict:
``id, sample_id, field, old_label, new_label, decision, reviewer, time, score,
suggestion, old_tags, new_tags`` where the tags are the review tags
(``reviewed``/``relabeled``/``unusable``) before and after the decision.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bson import ObjectId

from labellens.errors import SampleNotFoundError, ValidationError
from labellens.fields import CLASSIFICATION
from labellens.labels import Classification

DECISIONS = ("accept", "keep", "pick", "unusable", "undo", "import", "revert")
REVIEW_TAGS = ("reviewed", "relabeled", "unusable")
_KEEPS_LABEL = ("keep", "unusable")
_RESTORES = ("undo", "revert")


class HistoryStore(Protocol):
    def insert_many(self, docs: Sequence[dict[str, Any]]) -> None: ...
    def aggregate(self, pipeline: Sequence[dict[str, Any]], *, batch_size: int | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class LabelChange:
    """One decision on one sample's label.

    ``new_label`` None means "leave the label" for ``keep``/``unusable`` and "clear the
    field" for ``undo``/``revert``; other decisions need a label.
    """

    sample_id: str
    new_label: str | None
    decision: str
    reviewer: str | None = None
    score: float | None = None
    suggestion: str | None = None


def default_reviewer() -> str:
    """``LABELLENS_REVIEWER``, else the OS user."""
    name = os.environ.get("LABELLENS_REVIEWER")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _check(dataset: Any, schema: dict[str, str], field: str, changes: Sequence[LabelChange]) -> None:
    if not isinstance(field, str) or not field:
        raise ValidationError(f"field must be a non-empty field name, got {field!r}")
    if field in schema and schema[field] != CLASSIFICATION:
        raise ValidationError(f"field {field!r} is {schema[field]}; label changes need a "
                              "Classification field")
    seen: set[str] = set()
    classes = set(dataset.default_classes)
    for change in changes:
        if not isinstance(change, LabelChange):
            raise ValidationError(f"changes must be LabelChange objects, got {change!r}")
        if change.decision not in DECISIONS:
            raise ValidationError(f"unknown decision {change.decision!r}; decisions are: "
                                  f"{', '.join(DECISIONS)}")
        if change.sample_id in seen:
            raise ValidationError(f"sample {change.sample_id!r} appears twice; send one change per sample")
        seen.add(change.sample_id)
        if change.new_label is not None and (not isinstance(change.new_label, str) or not change.new_label):
            raise ValidationError(f"new_label must be a non-empty string or None, got {change.new_label!r}")
        if change.new_label is None and change.decision not in (*_KEEPS_LABEL, *_RESTORES):
            raise ValidationError(f"decision {change.decision!r} needs a new_label")
        if classes and change.new_label is not None and change.new_label not in classes:
            raise ValidationError(f"label {change.new_label!r} is not one of the dataset's default_classes; "
                                  "pick one of them or extend dataset.default_classes")


def _current(dataset: Any, schema: dict[str, str], field: str,
             ids: list[str]) -> dict[str, tuple[str | None, list[str]]]:
    """``{sample id: (label, review tags)}`` in one read; an unknown id raises before anything is written."""
    label_path = f"{field}.label" if field in schema else None
    paths = ["tags", *([label_path] if label_path else [])]
    current: dict[str, tuple[str | None, list[str]]] = {}
    for batch in dataset.select(ids).iter_batches(paths, batch_size=max(len(ids), 1)):
        labels = batch[label_path] if label_path else [None] * len(batch["id"])
        for sid, label, tags in zip(batch["id"], labels, batch["tags"]):
            current[sid] = (label, [t for t in REVIEW_TAGS if t in (tags or [])])
    missing = set(ids) - set(current)
    if missing:
        raise SampleNotFoundError(f"no samples with ids {sorted(missing)[:5]} in dataset {dataset.name!r}; "
                                  "pass ids of this dataset's samples")
    return current


def _target(change: LabelChange, old_label: str | None, old_tags: list[str],
            restore_tags: list[str] | None) -> tuple[str | None, list[str]]:
    if change.decision in _RESTORES:
        return change.new_label, list(restore_tags if restore_tags is not None else [])
    label = old_label if change.decision in _KEEPS_LABEL else change.new_label
    tags = {"reviewed", *old_tags}
    if label != old_label:
        tags.add("relabeled")
    if change.decision == "unusable":
        tags.add("unusable")
    return label, [t for t in REVIEW_TAGS if t in tags]


def apply(dataset: Any, store: HistoryStore, field: str, changes: Sequence[LabelChange], *,
          tag_samples: bool = True, restore_tags: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """Write the labels (and review tags unless ``tag_samples`` is False) of ``changes`` in bulk.

    Records and returns one history entry per change.
    """
    changes = list(changes)
    schema = dataset.get_field_schema()
    _check(dataset, schema, field, changes)
    if not changes:
        return []
    current = _current(dataset, schema, field, [c.sample_id for c in changes])
    time, reviewer = _now(), default_reviewer()
    entries: list[dict[str, Any]] = []
    relabel: list[tuple[str, str | None]] = []
    retag: dict[str, tuple[list[str], list[str]]] = {}
    for change in changes:
        old_label, old_tags = current[change.sample_id]
        label, tags = _target(change, old_label, old_tags, (restore_tags or {}).get(change.sample_id))
        tags = tags if tag_samples else old_tags
        if label != old_label:
            relabel.append((change.sample_id, label))
        if tags != old_tags:
            retag[change.sample_id] = (old_tags, tags)
        entries.append({"_id": ObjectId(), "sample_id": change.sample_id, "field": field,
                        "old_label": old_label, "new_label": label, "decision": change.decision,
                        "reviewer": change.reviewer or reviewer, "time": time,
                        "score": None if change.score is None else float(change.score),
                        "suggestion": change.suggestion, "old_tags": old_tags, "new_tags": tags})
    if relabel:
        dataset.set_values(field, [None if lb is None else Classification(label=lb) for _, lb in relabel],
                           ids=[sid for sid, _ in relabel])
    _write_tags(dataset, retag)
    store.insert_many(entries)
    return [_public(e) for e in entries]


def _write_tags(dataset: Any, retag: dict[str, tuple[list[str], list[str]]]) -> None:
    """Add and drop only the review tags that change (``{id: (old tags, new tags)}``), in bulk per tag."""
    for tag in REVIEW_TAGS:
        add = [sid for sid, (old, new) in retag.items() if tag in new and tag not in old]
        drop = [sid for sid, (old, new) in retag.items() if tag in old and tag not in new]
        if add:
            dataset.select(add).tag_samples(tag)
        if drop:
            dataset.select(drop).untag_samples(tag)


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    entry = {k: v for k, v in doc.items() if k != "_id"}
    entry["id"] = str(doc["_id"])
    time = entry["time"]
    if isinstance(time, dt.datetime) and time.tzinfo is None:
        entry["time"] = time.replace(tzinfo=dt.UTC)
    return entry


def entries(store: HistoryStore, *, sample_id: str | None = None, field: str | None = None,
            since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """History entries, newest first, optionally for one sample, one field, or since a time."""
    query: dict[str, Any] = {}
    if sample_id is not None:
        query["sample_id"] = str(sample_id)
    if field is not None:
        query["field"] = field
    if since is not None:
        if not isinstance(since, dt.datetime):
            raise ValidationError(f"since must be a datetime, got {since!r}")
        query["time"] = {"$gte": since if since.tzinfo else since.replace(tzinfo=dt.UTC)}
    pipeline = [{"$match": query}, {"$sort": {"time": -1, "_id": -1}}]
    return [_public(doc) for doc in store.aggregate(pipeline)]


def check_entries(selected: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries to revert, checked to be entries from ``label_history``."""
    keys = ("id", "sample_id", "field", "old_label", "time")
    selected = list(selected)
    for entry in selected:
        if not isinstance(entry, dict) or any(k not in entry for k in keys):
            raise ValidationError(f"entries must be dicts from dataset.label_history(), got {entry!r}")
    return selected


def revert(dataset: Any, store: HistoryStore, selected: Sequence[dict[str, Any]], *,
           decision: str = "revert") -> list[dict[str, Any]]:
    """Restore, per sample and field, the label and review tags before the oldest selected entry."""
    oldest: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in sorted(selected, key=lambda e: (e["time"], e["id"]), reverse=True):
        oldest[(entry["field"], entry["sample_id"])] = entry
    written: list[dict[str, Any]] = []
    for field in sorted({f for f, _ in oldest}):
        group = [e for (f, _), e in oldest.items() if f == field]
        changes = [LabelChange(sample_id=e["sample_id"], new_label=e["old_label"], decision=decision)
                   for e in group]
        written += apply(dataset, store, field, changes,
                         restore_tags={e["sample_id"]: list(e.get("old_tags") or []) for e in group})
    return written


__all__ = ["DECISIONS", "REVIEW_TAGS", "LabelChange", "apply", "check_entries", "default_reviewer", "entries",
           "revert"]
