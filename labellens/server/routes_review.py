"""JSON handlers of review mode: the queue, leases, decisions, undo, bulk accept and label history.

Every browser tab sends its own ``client`` id (leases are per tab, so two tabs
of one OS user never get the same sample). The history's reviewer is the name the
request's reviewer token carries (:mod:`labellens.server.identity`; a body's
``reviewer`` is then ignored), else the body's ``reviewer`` (1-64 printable
characters), else ``LABELLENS_REVIEWER`` or the OS user. A tab claims the next few
queued samples (``/review/next``), renews their leases while it holds them, and
each decision is written at once through ``dataset.apply_label_changes`` (labels,
``reviewed``/``relabeled`` tags and a history entry), which also frees the sample's
lease.

A decision carries the label the tab showed (``seen_label``) and a tab-made
``decision_id``: it is written only if the sample's label is still the one shown
(else 409 naming who changed it and when), a repeat of the id answers the first
entry, and a sample another tab holds answers 409. Undo applies only while the
label is still the one the decision wrote. ``label_field`` must be a declared
top-level Classification field (else 400 naming those).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from labellens.dataset import LabelChange
from labellens.dataset.history import CLIENT_MADE_ID, check_decision_id, check_field
from labellens.errors import ConflictError, HistoryEntryNotFoundError, ValidationError
from labellens.fields import STRING
from labellens.server import identity, review_queue
from labellens.server.query import to_json
from labellens.server.review_queue import Queue
from labellens.server.routes import MAX_IDS, dataset_of, in_thread, json_body, sample_ids
from labellens.server.state import context_of

REVIEW_DECISIONS = ("accept", "keep", "pick", "unusable")
MAX_PREFETCH = 20
SAMPLE_ID = re.compile(r"[0-9a-f]{24}")


def _queue(request: Request, body: Mapping[str, Any]) -> Queue:
    return review_queue.open_queue(dataset_of(request), body)


async def queue(request: Request) -> Response:
    """``POST /api/datasets/{name}/review/queue {view, filters, label_field, order_by}``: fields, progress."""
    body = await json_body(request)

    def answer() -> dict[str, Any]:
        job = _queue(request, body)
        return {**job.config(), "progress": review_queue.progress(job)}
    return JSONResponse(to_json(await in_thread(request, answer)))


async def progress(request: Request) -> Response:
    """``POST .../review/progress {view, filters, label_field, order_by}``: the header's counts."""
    body = await json_body(request)
    stats = await in_thread(request, lambda: review_queue.progress(_queue(request, body)))
    return JSONResponse(to_json(stats))


async def next_samples(request: Request) -> Response:
    """``POST .../review/next {client, count, exclude, view, ...}``: lease and return the next queued samples.

    ``exclude`` lists samples the tab holds or skipped; samples other tabs hold
    are left out too. Returns up to ``count`` cards, in queue order.
    """
    body = await json_body(request)
    client = _client_of(body)
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_PREFETCH:
        raise ValidationError(f"count must be an integer between 1 and {MAX_PREFETCH}, got {count!r}")
    exclude = _ids_of(body.get("exclude") or [])
    leases = context_of(request).leases
    held = leases.held_by_others(client)
    job, pipeline = await in_thread(request, lambda: _candidates(request, body, [*exclude, *held],
                                                                    count + len(held)))
    docs = await context_of(request).data.page(job.collection, pipeline, offset=0, limit=count + len(held),
                                               fields=job.projection)
    by_id = {str(doc["_id"]): doc for doc in docs}
    claimed: list[str] = []
    order = list(by_id)
    while len(claimed) < count and order:
        got = leases.claim(client, order)
        if got is None:
            break
        claimed.append(got)
        order = order[order.index(got) + 1:]
    return JSONResponse({"samples": [review_queue.card(job, by_id[sid]) for sid in claimed]})


def _candidates(request: Request, body: Mapping[str, Any], exclude: list[str],
                limit: int) -> tuple[Queue, list[dict[str, Any]]]:
    job = _queue(request, body)
    return job, review_queue.candidates(job, exclude, limit)


async def renew(request: Request) -> Response:
    """``POST .../review/renew {client, ids}``: extend the tab's leases; ``held``: those still its own."""
    body = await json_body(request)
    client = _client_of(body)
    leases = context_of(request).leases
    ids = _ids_of(body.get("ids") or [])
    return JSONResponse({"held": [sid for sid in ids if leases.renew(client, sid)]})


async def release(request: Request) -> Response:
    """``POST .../review/release {client, ids}``: give samples back to the queue (leaving review mode)."""
    body = await json_body(request)
    client = _client_of(body)
    leases = context_of(request).leases
    ids = _ids_of(body.get("ids") or [])
    for sid in ids:
        leases.release(client, sid)
    return JSONResponse({"released": len(ids)})


async def decide(request: Request) -> Response:
    """``POST .../review/decide {client, sample_id, decision, label, seen_label, decision_id, score, ...}``.

    ``decision`` is accept / pick (with ``label``), keep or unusable. Written at
    once, if the label is still ``seen_label``; returns the history entry.
    """
    body = await json_body(request)
    client = _client_of(body)
    decision_id = check_decision_id(body.get("decision_id"))
    if "seen_label" not in body or not (body["seen_label"] is None or isinstance(body["seen_label"], str)):
        raise ValidationError("seen_label must be the label the tab showed (a string, or null when the "
                              "sample had none)")
    decision = body.get("decision")
    if decision not in REVIEW_DECISIONS:
        raise ValidationError(f"decision must be one of {', '.join(REVIEW_DECISIONS)}, got {decision!r}")
    label = body.get("label") if decision in ("accept", "pick") else None
    if decision in ("accept", "pick") and (not isinstance(label, str) or not label):
        raise ValidationError(f"decision {decision!r} needs the chosen label as 'label'")
    sample_id = _sample_id_of(body)
    score = body.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise ValidationError(f"score must be a number or null, got {score!r}")
    suggestion = body.get("suggestion")
    if suggestion is not None and not isinstance(suggestion, str):
        raise ValidationError(f"suggestion must be a string or null, got {suggestion!r}")
    change = LabelChange(sample_id, label, decision, reviewer=_reviewer_of(request, body), score=score,
                         suggestion=suggestion, seen_label=body["seen_label"], decision_id=decision_id)
    dataset, field = await in_thread(request, lambda: _dataset_field(request, body))
    _check_lease(request, client, sample_id)
    (entry,) = await in_thread(request, lambda: dataset.apply_label_changes(field, [change]))
    context_of(request).leases.release(client, sample_id)
    return JSONResponse({"entry": _entry_json(entry)})


async def undo(request: Request) -> Response:
    """``POST .../review/undo {client, sample_id, entry_id, label_field?}``: restore what the entry changed.

    Only while the label is still the one the entry wrote (else 409 naming the later
    entry). Recorded as an ``undo`` entry; the tab holds the sample's lease again.
    """
    body = await json_body(request)
    client = _client_of(body)
    sample_id = _sample_id_of(body)
    reviewer = _reviewer_of(request, body)
    dataset, entry = await in_thread(request, lambda: _undone_entry(request, body, sample_id))
    _check_lease(request, client, sample_id)
    (restored,) = await in_thread(request, lambda: dataset.revert_labels([entry], decision="undo",
                                                                          reviewer=reviewer))
    context_of(request).leases.claim(client, [sample_id])
    return JSONResponse({"entry": _entry_json(restored)})


def _undone_entry(request: Request, body: Mapping[str, Any], sample_id: str) -> tuple[Any, dict[str, Any]]:
    """The dataset and the history entry ``body["entry_id"]`` of the sample, of the body's label field."""
    dataset, entry_id = dataset_of(request), body.get("entry_id")
    entry = next((e for e in dataset.label_history(sample_id=sample_id) if e["id"] == entry_id), None)
    if entry is None:
        raise HistoryEntryNotFoundError(f"no history entry {entry_id!r} for sample {sample_id!r}; "
                                        "undo takes the entry a decision returned")
    field = _field_of(dataset, {"label_field": entry["field"], **body})
    if field != entry["field"]:
        raise ValidationError(f"history entry {entry_id!r} is of field {entry['field']!r}, not {field!r}")
    return dataset, entry


async def bulk_accept(request: Request) -> Response:
    """``POST .../review/bulk {ids, label_field, suggestion_field, confirm}``: accept many suggestions.

    Without ``confirm`` nothing is written: the answer says how many samples have
    a suggestion (``samples``) and how many labels would change (``changes``).
    """
    body = await json_body(request)
    ids = _ids_of(body.get("ids") or [])
    if not ids:
        raise ValidationError("select samples first: ids is empty")
    suggestion_field = body.get("suggestion_field") or "label_issue_suggestion"
    if not isinstance(suggestion_field, str):
        raise ValidationError(f"suggestion_field must be a field name, got {suggestion_field!r:.60}")
    reviewer = _reviewer_of(request, body)

    def planned() -> tuple[Any, str, list[tuple[str, Any, str]]]:
        dataset, field = _dataset_field(request, body)
        return dataset, field, _bulk_plan(dataset, ids, field, suggestion_field)
    dataset, field, plan = await in_thread(request, planned)
    written = 0
    if body.get("confirm") is True and plan:
        # Each write is conditional on the label this plan read: a sample changed since answers 409.
        changes = [LabelChange(sid, new, "accept", reviewer=reviewer, suggestion=new, seen_label=old)
                   for sid, old, new in plan]
        try:
            written = len(await in_thread(request, lambda: dataset.apply_label_changes(field, changes)))
        except ConflictError as exc:
            if exc.written:
                context_of(request).state.publish("tagged")
            raise ConflictError(f"{exc}; the other {len(exc.written)} samples were written",
                                sample_ids=exc.sample_ids, written=exc.written) from None
        context_of(request).state.publish("tagged")
    return JSONResponse({"selected": len(ids), "samples": len(plan),
                         "changes": sum(old != new for _, old, new in plan), "written": written})


def _bulk_plan(dataset: Any, ids: list[str], field: str, suggestion_field: str) -> list[tuple[str, Any, str]]:
    """``(id, current label, suggestion)`` of the selected samples that have a suggestion."""
    schema = dataset.get_field_schema()
    if schema.get(suggestion_field) != STRING:
        raise ValidationError(f"no suggestion field {suggestion_field!r}; run compute_label_issues first "
                              "or pass suggestion_field")
    view = dataset.select(ids)
    batch = next(iter(view.iter_batches(["id", f"{field}.label", suggestion_field], batch_size=MAX_IDS)),
                 {"id": []})
    return [(sid, old, new) for sid, old, new in zip(batch["id"], batch.get(f"{field}.label", []),
                                                     batch.get(suggestion_field, []))
            if isinstance(new, str) and new]


async def history(request: Request) -> Response:
    """``GET /api/datasets/{name}/samples/{sample_id}/history``: the sample's label history, newest first."""
    sample_id = request.path_params["sample_id"]
    entries = await in_thread(request, lambda: dataset_of(request).label_history(sample_id=sample_id))
    return JSONResponse({"entries": [_entry_json(entry) for entry in entries]})


def _ids_of(value: Any) -> list[str]:
    # Lower-case hex only: these ids are compared as strings with the stored ones.
    return sample_ids(value, valid=SAMPLE_ID.fullmatch)


def _client_of(body: Mapping[str, Any]) -> str:
    client = body.get("client")
    if not isinstance(client, str) or not CLIENT_MADE_ID.fullmatch(client):
        raise ValidationError("client must be the tab's id: 1-64 letters, digits, '_' or '-'")
    return client


def _sample_id_of(body: Mapping[str, Any]) -> str:
    return _ids_of([body.get("sample_id")])[0]


def _dataset_field(request: Request, body: Mapping[str, Any]) -> tuple[Any, str]:
    dataset = dataset_of(request)
    return dataset, _field_of(dataset, body)


def _field_of(dataset: Any, body: Mapping[str, Any]) -> str:
    """The body's ``label_field``: a declared top-level Classification field (else a 400 naming those)."""
    return check_field(dataset.get_field_schema(), body.get("label_field", "ground_truth"))


def _reviewer_of(request: Request, body: Mapping[str, Any]) -> str | None:
    """The reviewer token's name; without one the body's ``reviewer``; None: the default."""
    named = identity.reviewer_of(request)
    if named is not None:
        return named
    reviewer = body.get("reviewer")
    return None if reviewer is None else identity.check_reviewer_name(reviewer)


def _check_lease(request: Request, client: str, sample_id: str) -> None:
    if sample_id in context_of(request).leases.held_by_others(client):
        raise ConflictError(f"sample {sample_id!r} is held by another review tab; nothing was written: "
                            "take the next sample (its lease ends when that tab decides or closes)",
                            sample_ids=[sample_id])


def _entry_json(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A history entry as JSON (with the label document before it as stored)."""
    old = entry.get("old_doc")
    return to_json({**entry, "old_doc": old.to_mongo()} if old is not None else entry)


ROUTES = [
    Route("/api/datasets/{name}/review/queue", queue, methods=["POST"]),
    Route("/api/datasets/{name}/review/progress", progress, methods=["POST"]),
    Route("/api/datasets/{name}/review/next", next_samples, methods=["POST"]),
    Route("/api/datasets/{name}/review/renew", renew, methods=["POST"]),
    Route("/api/datasets/{name}/review/release", release, methods=["POST"]),
    Route("/api/datasets/{name}/review/decide", decide, methods=["POST"]),
    Route("/api/datasets/{name}/review/undo", undo, methods=["POST"]),
    Route("/api/datasets/{name}/review/bulk", bulk_accept, methods=["POST"]),
    Route("/api/datasets/{name}/samples/{sample_id}/history", history),
]
