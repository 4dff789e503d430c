"""Label history: every label decision (review, import, undo, revert) as an audit entry.

Entries live in the dataset's companion collection ``history.<sample collection>``
(dropped with the dataset; kept when a field is deleted). An entry is a plain dict:
``id, sample_id, field, old_label, new_label, old_doc, decision, decision_id, reviewer,
time, score, suggestion, old_tags, new_tags``: ``old_doc`` is the whole label document
before the decision (a Classification, None when the sample had none; entries written
before it existed lack it), the tags are the review tags (``reviewed``/``relabeled``/
``unusable``) before and after.

A decision changes the label's ``label`` and clears its ``confidence`` (which no longer
holds); logits and every other attribute stay. An undo or revert puts ``old_doc`` back
exactly, and only where the label is still the one the entry wrote (``force=True``
overrides). The field must be a declared top-level ``Classification`` field.

Write order (no transactions: the mongod may be standalone), for each call:

1. changes whose ``decision_id`` is already in the history are answered with that first
   entry and not written again;
2. one read of the samples' label documents and tags; an unknown id, or a label that is
   not the one the change expects (``seen_label``; for undo/revert the entry's new label),
   fails the whole call before anything is written;
3. one bulk conditional write: each sample's update matches its ``_id`` and the label read
   in 2 (restores: and its tags), so a sample another writer changed since is left alone.
   This write is the commit point: mongod applies each document's update atomically, so of
   two decisions that saw the same label exactly one matches;
4. one insert of the entries of the samples written in 3; the unique index on
   ``decision_id`` turns a concurrent retry's insert into "already recorded" (the first
   entry answers it);
5. changes that matched nothing in 3 raise ConflictError, naming the entry that changed the
   sample (who and when; its writer is given a moment to record it). The call's other
   changes stay written: they are in the error's ``written``.

A crash between 3 and 4 can leave a label without its entry, never an entry for a label
that was not written.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import re
import time as clock
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import EllipsisType
from typing import Any, Protocol

from bson import ObjectId

from labellens.errors import ConflictError, HistoryEntryNotFoundError, SampleNotFoundError, ValidationError
from labellens.label_types import label_fields
from labellens.labels import Classification

DECISIONS = ("accept", "keep", "pick", "unusable", "undo", "import", "revert")
REVIEW_TAGS = ("reviewed", "relabeled", "unusable")
_KEEPS_LABEL = ("keep", "unusable")
_RESTORES = ("undo", "revert")
DECISION_ID_KEY = "decision_id"
CLIENT_MADE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a decision id, and a review tab's client id
_WAIT_FOR_WINNER = 1.0  # seconds a conflict waits for the winning decision's entry (step 5)


class SampleWrites(Protocol):
    def aggregate(self, pipeline: Sequence[dict[str, Any]], *, batch_size: int | None = None) -> Any: ...
    def update_where(self, requests: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> list[bool]: ...


class HistoryStore(Protocol):
    def insert_new(self, docs: Sequence[dict[str, Any]]) -> list[int]: ...
    def aggregate(self, pipeline: Sequence[dict[str, Any]], *, batch_size: int | None = None) -> Any: ...
    def ensure_index(self, key: str, *, unique: bool = False, sparse: bool = False) -> None: ...


@dataclass(frozen=True, slots=True)
class LabelChange:
    """One decision on one sample's label.

    ``new_label`` None means "leave the label" for ``keep``/``unusable`` and "clear the
    field" for ``undo``/``revert``; other decisions need a label. ``seen_label`` is the
    label the decider saw (None: no label); a sample whose label differs is not written
    (ConflictError). Left out (``...``), the label read just before the write is expected.
    A ``decision_id`` (1-64 letters, digits, ``_``, ``-``) makes the change idempotent: a
    repeat answers the first entry and writes nothing.
    """

    sample_id: str
    new_label: str | None
    decision: str
    reviewer: str | None = None
    score: float | None = None
    suggestion: str | None = None
    seen_label: str | None | EllipsisType = ...
    decision_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Restore:
    """What an undo/revert puts back on one sample: the label document and review tags."""

    doc: dict[str, Any] | None  # None: clear the field
    legacy_label: str | None | EllipsisType  # an entry without old_doc: put this label back instead
    tags: list[str]


_Stored = tuple[dict[str, Any] | None, list[str] | None]  # a sample's label document and tags, as stored


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


def review_fields(schema: Mapping[str, str]) -> list[str]:
    """The fields label decisions may change: the declared top-level Classification fields."""
    return [name for name in label_fields(schema, "review") if "." not in name]


def check_field(schema: Mapping[str, str], field: Any) -> str:
    """``field`` if it is a declared top-level Classification field, else a ValidationError naming those."""
    allowed = review_fields(schema)
    if not isinstance(field, str) or field not in allowed:
        where = f"is {schema[field]}" if isinstance(field, str) and field in schema else "is not one"
        raise ValidationError(f"label field {field!r} {where}: label decisions change a declared top-level "
                              f"Classification field ({', '.join(allowed) or 'the dataset has none'}); "
                              "declare a new one with dataset.add_sample_field(name, 'Classification') first")
    return field


def _check(dataset: Any, changes: Sequence[LabelChange]) -> None:
    seen: set[str] = set()
    decision_ids: set[str] = set()
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
        expected = change.seen_label
        if expected is not ... and expected is not None and not isinstance(expected, str):
            raise ValidationError(f"seen_label must be the label string seen, None or left out, got "
                                  f"{change.seen_label!r}")
        if change.decision_id is not None:
            check_decision_id(change.decision_id)
            if change.decision_id in decision_ids:
                raise ValidationError(f"decision_id {change.decision_id!r} appears twice; give each change "
                                      "its own")
            decision_ids.add(change.decision_id)


def check_decision_id(value: Any) -> str:
    """``value`` if it is a decision id: 1-64 letters, digits, ``_`` or ``-``."""
    if not isinstance(value, str) or not CLIENT_MADE_ID.fullmatch(value):
        raise ValidationError(f"decision_id must be 1-64 letters, digits, '_' or '-', got {value!r}")
    return value


def _read(samples: SampleWrites, field: str, ids: Sequence[str]) -> dict[str, _Stored | None]:
    """``{sample id: (stored label document, stored tags)}`` in one read (None: no such sample)."""
    oids = [ObjectId(i) for i in ids if ObjectId.is_valid(i)]
    pipeline = [{"$match": {"_id": {"$in": oids}}}, {"$project": {field: 1, "tags": 1}}]
    found = {str(doc["_id"]): (doc[field] if isinstance(doc.get(field), dict) else None, doc.get("tags"))
             for doc in samples.aggregate(pipeline, batch_size=max(len(oids), 1))}
    return {i: found.get(i) for i in ids}


def _current(samples: SampleWrites, field: str, ids: list[str], dataset_name: str) -> dict[str, _Stored]:
    """:func:`_read`, where an unknown id raises (before anything is written)."""
    current = _read(samples, field, ids)
    missing = sorted(i for i, state in current.items() if state is None)
    if missing:
        raise SampleNotFoundError(f"no samples with ids {missing[:5]} in dataset {dataset_name!r}; "
                                  "pass ids of this dataset's samples")
    return {i: state for i, state in current.items() if state is not None}


def _label_of(doc: Mapping[str, Any] | None) -> str | None:
    return None if doc is None else doc.get("label")


def _review_tags(tags: Sequence[str] | None) -> list[str]:
    return [t for t in REVIEW_TAGS if t in (tags or [])]


def _condition(field: str, doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """The filter part that matches the label read: no label document, or one with that label."""
    if doc is None:
        return {field: None}
    return {field: {"$type": "object"}, f"{field}.label": doc.get("label")}


def _decision(change: LabelChange, field: str, doc: dict[str, Any] | None, stored_tags: list[str] | None,
              tag_samples: bool) -> tuple[str | None, list[str], dict[str, Any]]:
    """The label, review tags and update of a decision (not a restore)."""
    old_label, old_tags = _label_of(doc), _review_tags(stored_tags)
    label = old_label if change.decision in _KEEPS_LABEL else change.new_label
    tags = {"reviewed", *old_tags}
    if label != old_label:
        tags.add("relabeled")
    if change.decision == "unusable":
        tags.add("unusable")
    new_tags = [t for t in REVIEW_TAGS if t in tags] if tag_samples else old_tags
    # An empty $each keeps the update valid when nothing changes: it is then a pure check.
    update: dict[str, Any] = {"$addToSet": {"tags": {"$each": [t for t in new_tags if t not in old_tags]}}}
    if label != old_label:
        if doc is None:
            update["$set"] = {field: Classification(label=label).to_mongo()}
        else:
            update["$set"] = {f"{field}.label": label}
            update["$unset"] = {f"{field}.confidence": ""}
    return label, new_tags, update


def _restoring(restore: _Restore, field: str, doc: dict[str, Any] | None, stored_tags: list[str] | None
               ) -> tuple[dict[str, Any] | None, list[str], dict[str, Any], dict[str, Any]]:
    """The label document, review tags, update and extra condition of an undo/revert."""
    target = restore.doc
    if restore.legacy_label is not ...:  # an entry from before old_doc: put its old label back
        label = restore.legacy_label
        target = None if label is None else (
            {**doc, "label": label} if doc is not None else Classification(label=label).to_mongo())
    kept = [t for t in stored_tags or [] if t not in REVIEW_TAGS]
    update: dict[str, Any] = {"$set": {"tags": kept + restore.tags}}
    if target is None:
        update["$unset"] = {field: ""}
    else:
        update["$set"][field] = target
    # The tags are set whole: the write also matches the tags read, so none added meanwhile is lost.
    return target, restore.tags, update, {"tags": stored_tags}


def apply(dataset: Any, samples: SampleWrites, store: HistoryStore, field: str,
          changes: Sequence[LabelChange], *, tag_samples: bool = True) -> list[dict[str, Any]]:
    """Write the labels (and review tags unless ``tag_samples`` is False) of ``changes``.

    Records and returns one history entry per change (see the module docstring for the
    order of the writes and what a conflict leaves written).
    """
    return _apply(dataset, samples, store, field, list(changes), tag_samples=tag_samples, restores={})


def _apply(dataset: Any, samples: SampleWrites, store: HistoryStore, field: str, changes: list[LabelChange],
           *, tag_samples: bool, restores: Mapping[str, _Restore]) -> list[dict[str, Any]]:
    check_field(dataset.get_field_schema(), field)
    _check(dataset, changes)
    if not changes:
        return []
    store.ensure_index(DECISION_ID_KEY, unique=True, sparse=True)
    results = _by_decision_id(store, [c.decision_id for c in changes if c.decision_id])
    _check_repeats(changes, results, field)
    todo = [c for c in changes if c.sample_id not in results]
    current = _current(samples, field, [c.sample_id for c in todo], dataset.name)
    stale = [c for c in todo
             if c.seen_label is not ... and c.seen_label != _label_of(current[c.sample_id][0])]
    if stale:
        retried, conflicts, message = _explain(store, field, stale, dict(current), restores)
        if conflicts:
            raise ConflictError(message, sample_ids=conflicts)
        results.update(retried)
        todo = [c for c in todo if c.sample_id not in retried]
    time, reviewer = _now(), default_reviewer()
    entries: list[dict[str, Any]] = []
    requests: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for change in todo:
        doc, stored_tags = current[change.sample_id]
        condition = {"_id": ObjectId(change.sample_id), **_condition(field, doc)}
        if change.sample_id in restores:
            target, tags, update, extra = _restoring(restores[change.sample_id], field, doc, stored_tags)
            label = _label_of(target)
            condition.update(extra)
        else:
            label, tags, update = _decision(change, field, doc, stored_tags, tag_samples)
        requests.append((condition, update))
        entry = {"_id": ObjectId(), "sample_id": change.sample_id, "field": field,
                 "old_label": _label_of(doc), "new_label": label, "old_doc": doc, "decision": change.decision,
                 "reviewer": change.reviewer or reviewer, "time": time,
                 "score": None if change.score is None else float(change.score),
                 "suggestion": change.suggestion, "old_tags": _review_tags(stored_tags), "new_tags": tags}
        if change.decision_id:
            entry[DECISION_ID_KEY] = change.decision_id
        entries.append(entry)
    matched = samples.update_where(requests) if requests else []
    written = [e for e, ok in zip(entries, matched) if ok]
    # A refused insert: a concurrent attempt of the same decision recorded it first; it answers.
    refused = [written[i][DECISION_ID_KEY] for i in store.insert_new(written)]
    results.update({e["sample_id"]: _public(e) for e in written if e.get(DECISION_ID_KEY) not in refused})
    results.update(_by_decision_id(store, refused))
    lost = [c for c, ok in zip(todo, matched) if not ok]
    if lost:
        now = _read(samples, field, [c.sample_id for c in lost])
        retried, conflicts, message = _explain(store, field, lost, now, restores)
        results.update(retried)
        if conflicts:
            raise ConflictError(message, sample_ids=conflicts,
                                written=[results[c.sample_id] for c in changes if c.sample_id in results])
    return [results[c.sample_id] for c in changes]


def _by_decision_id(store: HistoryStore, decision_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``{sample id: entry}`` of the stored entries with these decision ids."""
    wanted = sorted(set(decision_ids))
    if not wanted:
        return {}
    found = store.aggregate([{"$match": {DECISION_ID_KEY: {"$in": wanted}}}])
    return {e["sample_id"]: e for e in map(_public, found)}


def _check_repeats(changes: Sequence[LabelChange], known: Mapping[str, dict[str, Any]], field: str) -> None:
    by_id = {e[DECISION_ID_KEY]: e for e in known.values()}
    for change in changes:
        first = by_id.get(change.decision_id or "")
        if first is not None and (first["sample_id"], first["field"]) != (change.sample_id, field):
            raise ValidationError(f"decision_id {change.decision_id!r} was used for sample "
                                  f"{first['sample_id']!r} ({first['field']!r}); give each decision "
                                  "its own id")


def _latest(store: HistoryStore, field: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The newest entry of each sample for ``field``."""
    newest: dict[str, dict[str, Any]] = {}
    pipeline = [{"$match": {"sample_id": {"$in": list(ids)}, "field": field}},
                {"$sort": {"time": -1, "_id": -1}}]
    for doc in store.aggregate(pipeline):
        newest.setdefault(doc["sample_id"], doc)
    return {sid: _public(doc) for sid, doc in newest.items()}


def _explain(store: HistoryStore, field: str, lost: Sequence[LabelChange], now: Mapping[str, _Stored | None],
             restores: Mapping[str, _Restore]) -> tuple[dict[str, dict[str, Any]], list[str], str]:
    """For changes whose sample was not as expected: ``(retried, conflicts, message)``.

    ``retried`` are repeats of a decision already recorded (its first entry answers them);
    ``conflicts`` the other sample ids, which ``message`` explains: the label now and the
    entry (who, when) that made it so. The winner of a race records its entry just after
    its write, so this waits a moment for it.
    """
    deadline = clock.monotonic() + _WAIT_FOR_WINNER
    while True:
        repeated = _by_decision_id(store, [c.decision_id for c in lost if c.decision_id])
        retried = {sid: e for sid, e in repeated.items()
                   if any(c.sample_id == sid and c.decision_id == e[DECISION_ID_KEY] for c in lost)}
        latest = _latest(store, field, [c.sample_id for c in lost])
        pending = [c for c in lost
                   if c.sample_id not in retried and _reason(c, now, latest, restores) is None]
        if not pending or clock.monotonic() >= deadline:
            break
        clock.sleep(0.02)
    conflicts = [c for c in lost if c.sample_id not in retried]
    parts = [f"the {field!r} label of sample {c.sample_id!r} " + (_reason(c, now, latest, restores) or
             f"is now {_label_of(_doc(now, c.sample_id))!r}: it was changed outside the label history "
             "(e.g. set_values)") for c in conflicts[:5]]
    more = f"; and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
    message = "; ".join(parts) + more + "; nothing was written for them: reload the samples and decide again"
    return retried, [c.sample_id for c in conflicts], message


def _doc(now: Mapping[str, _Stored | None], sample_id: str) -> dict[str, Any] | None:
    state = now.get(sample_id)
    return None if state is None else state[0]


def _reason(change: LabelChange, now: Mapping[str, _Stored | None], latest: Mapping[str, dict[str, Any]],
            restores: Mapping[str, _Restore]) -> str | None:
    """Why ``change`` was not written, when the history explains it (else None)."""
    if now.get(change.sample_id) is None:
        return "cannot change: the sample was deleted meanwhile"
    label = _label_of(_doc(now, change.sample_id))
    if change.sample_id in restores and label == change.seen_label:
        return f"is still {label!r}, but the sample's tags changed meanwhile"
    entry = latest.get(change.sample_id)
    if entry is None or entry["new_label"] != label:
        return None
    return (f"is now {label!r}: {entry['reviewer']} changed it at {_iso(entry['time'])} "
            f"(decision {entry['decision']!r}, entry {entry['id']})")


def _iso(time: dt.datetime) -> str:
    return time.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    entry = {k: v for k, v in doc.items() if k != "_id"}
    entry["id"] = str(doc["_id"])
    time = entry["time"]
    if isinstance(time, dt.datetime) and time.tzinfo is None:
        entry["time"] = time.replace(tzinfo=dt.UTC)
    if isinstance(entry.get("old_doc"), dict):
        entry["old_doc"] = Classification.from_mongo(entry["old_doc"])
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


def _stored(store: HistoryStore, selected: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored entries of ``selected`` (the history's own copy: its ``old_doc`` is what goes back)."""
    ids = {str(e["id"]) for e in selected}
    oids = [ObjectId(i) for i in ids if ObjectId.is_valid(i)]
    found = {str(d["_id"]): d for d in store.aggregate([{"$match": {"_id": {"$in": oids}}}])}
    missing = sorted(ids - set(found))
    if missing:
        raise HistoryEntryNotFoundError(f"no history entries {missing[:5]}; revert takes entries from "
                                        "dataset.label_history()")
    return [{**_public(d), "old_doc": d.get("old_doc", ...)} for d in found.values()]


def revert(dataset: Any, samples: SampleWrites, store: HistoryStore, selected: Sequence[dict[str, Any]], *,
           decision: str = "revert", force: bool = False, reviewer: str | None = None
           ) -> list[dict[str, Any]]:
    """Restore, per sample and field, the label document and review tags before the oldest selected entry.

    Only where no later entry changed the sample since the newest selected one (else
    ConflictError naming it), unless ``force``.
    """
    if not isinstance(force, bool):
        raise ValidationError(f"force must be True or False, got {force!r}")
    stored = _stored(store, selected)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry in sorted(stored, key=lambda e: (e["time"], e["id"])):
        groups.setdefault((entry["field"], entry["sample_id"]), []).append(entry)
    schema = dataset.get_field_schema()
    for field in {f for f, _ in groups}:
        check_field(schema, field)
    if not force:
        _check_latest(store, groups)
    written: list[dict[str, Any]] = []
    for field in sorted({f for f, _ in groups}):
        group = {sid: chain for (f, sid), chain in groups.items() if f == field}
        changes = [LabelChange(sample_id=sid, new_label=e[0]["old_label"], decision=decision,
                               reviewer=reviewer, seen_label=... if force else e[-1]["new_label"])
                   for sid, e in group.items()]
        restores = {sid: _Restore(doc=e[0]["old_doc"] if e[0]["old_doc"] is not ... else None,
                                  legacy_label=e[0]["old_label"] if e[0]["old_doc"] is ... else ...,
                                  tags=_review_tags(e[0].get("old_tags")))
                    for sid, e in group.items()}
        written += _apply(dataset, samples, store, field, changes, tag_samples=True, restores=restores)
    return written


def _check_latest(store: HistoryStore, groups: Mapping[tuple[str, str], list[dict[str, Any]]]) -> None:
    """ConflictError naming each later entry that changed a sample after its newest selected entry."""
    later: list[str] = []
    for field in sorted({f for f, _ in groups}):
        ids = [sid for f, sid in groups if f == field]
        for sid, newest in _latest(store, field, ids).items():
            mine = groups[(field, sid)][-1]
            if newest["id"] != mine["id"]:
                later.append(f"sample {sid!r} was changed again by {newest['reviewer']} at "
                             f"{_iso(newest['time'])} (entry {newest['id']}, {newest['decision']} -> "
                             f"{newest['new_label']!r})")
    if later:
        more = f"; and {len(later) - 5} more" if len(later) > 5 else ""
        raise ConflictError("; ".join(later[:5]) + more + "; nothing was reverted: undo that entry first, or "
                            "pass force=True to overwrite it")


__all__ = ["CLIENT_MADE_ID", "DECISIONS", "REVIEW_TAGS", "LabelChange", "apply", "check_decision_id",
           "check_entries", "check_field", "default_reviewer", "entries", "review_fields", "revert"]
