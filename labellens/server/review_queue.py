"""The App's review queue: which samples come next, what a reviewer sees of each, and the progress.

A queue is the request's view (session stages plus sidebar filters), without the
samples tagged ``reviewed`` unless asked, sorted by a score descending
(:func:`~labellens.brain.default_score.default_score_field`, the grid's default sort). Every view
is built through the public view API (:func:`labellens.server.query.build_view`,
``match_tags``, ``exclude``, ``sort_by``, ``limit``); functions here are sync and
run in a worker thread of the server context's data access.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labellens.brain.default_score import default_score_field
from labellens.errors import RunNotFoundError, ValidationError
from labellens.probability import softmax
from labellens.server.query import GridSchema, build_view, to_json

TOP_K = 5
PREDICTION_NAMES = ("predictions", "prediction", "pred", "preds")


@dataclass(frozen=True)
class Queue:
    """A review queue, resolved: the views, and which fields hold label, score, suggestion, prediction."""

    dataset: Any
    scope: Any
    view: Any
    label_field: str
    score_field: str | None
    suggestion_field: str | None
    pred_field: str | None

    @property
    def collection(self) -> str:
        return str(self.dataset.collection_name)

    @property
    def projection(self) -> list[str]:
        """The stored paths one review card needs (the prediction's logits for the top classes)."""
        paths = ["_id", "filepath", "tags", self.label_field]
        paths += [p for p in (self.pred_field, self.score_field, self.suggestion_field) if p]
        return paths

    def config(self) -> dict[str, Any]:
        """The queue's fields and classes, as JSON for the browser.

        The classes a reviewer picks from are the dataset's ``default_classes``,
        else every label the label and prediction fields hold, sorted.
        """
        classes = list(self.dataset.default_classes or [])
        if not classes:
            fields = [f for f in (self.label_field, self.pred_field) if f]
            classes = sorted({c for f in fields for c in self.dataset.distinct(f"{f}.label")})
        return {"label_field": self.label_field, "score_field": self.score_field,
                "suggestion_field": self.suggestion_field, "pred_field": self.pred_field,
                "classes": classes}


def open_queue(dataset: Any, body: Mapping[str, Any]) -> Queue:
    """The queue of a request (``view``, ``filters``, ``label_field``, ``order_by``, ``include_reviewed``)."""
    scope = build_view(dataset, body)
    schema = scope.get_field_schema()
    grid = GridSchema.of(schema)
    label_field = body.get("label_field") or (grid.label_fields[0] if grid.label_fields else None)
    if label_field not in grid.label_fields:
        raise ValidationError(f"label_field must be a Classification field of {dataset.name!r}: "
                              f"{list(grid.label_fields) or 'none; add labels first'}")
    score_field = body.get("order_by") or default_score_field(grid.numeric_fields)
    if score_field is not None and score_field not in grid.numeric_fields:
        raise ValidationError(f"order_by must be a numeric field: {list(grid.numeric_fields)}")
    config = _run_config(dataset, score_field)
    suggestion = config.get("suggestion_field") or (f"{score_field}_suggestion" if score_field else None)
    view = scope if body.get("include_reviewed") else scope.match_tags("reviewed", bool=False)
    if score_field is not None:
        view = view.sort_by(score_field, reverse=True)
    return Queue(dataset, scope, view, label_field, score_field,
                 suggestion if suggestion in schema else None,
                 _pred_field(schema, grid.label_fields, label_field, config.get("pred_field")))


def _run_config(dataset: Any, score_field: str | None) -> dict[str, Any]:
    if score_field is None:
        return {}
    try:
        return dict(dataset.get_brain_info(score_field)["config"])
    except RunNotFoundError:
        return {}


def _pred_field(schema: Mapping[str, str], labels: Sequence[str], label_field: str,
                from_run: str | Sequence[str] | None) -> str | None:
    """The run's (first) prediction field if it is a grid label field, else one named like a prediction."""
    first = from_run if isinstance(from_run, str) else (from_run[0] if from_run else None)
    if first in labels:
        return first
    others = [n for n in labels if n != label_field]
    return next((n for n in others if n in PREDICTION_NAMES), others[0] if others else None)


def candidates(queue: Queue, exclude: Sequence[str], limit: int) -> list[dict[str, Any]]:
    """The pipeline of the first ``limit`` queued samples not in ``exclude``."""
    view = queue.view.exclude(list(exclude)) if exclude else queue.view
    return list(view.limit(limit).pipeline())


def top_classes(logits: np.ndarray, classes: Sequence[str], k: int = TOP_K) -> list[dict[str, Any]]:
    """The ``k`` most probable classes of one (K,) logit row: ``[{"label", "p"}]``, most probable first.

    Classes are named by ``classes`` when it has K names, else by index.
    """
    probs = softmax(np.asarray(logits, dtype=np.float64).reshape(-1))
    names = list(classes) if len(classes) == probs.size else [str(i) for i in range(probs.size)]
    order = np.argsort(-probs, kind="stable")[:k]
    return [{"label": names[i], "p": float(probs[i])} for i in order]


def card(queue: Queue, doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the reviewer sees of one sample (JSON): labels, prediction, suggestion, score, top classes."""
    sample = to_json(doc)
    label = sample.get(queue.label_field) or {}
    pred = (sample.get(queue.pred_field) if queue.pred_field else None) or {}
    logits = pred.get("logits")
    numeric = isinstance(logits, list) and bool(logits) and all(isinstance(v, (int, float)) for v in logits)
    classes = queue.dataset.default_classes or []
    top = top_classes(np.asarray(logits, dtype=np.float64), classes) if numeric else []
    confidence = pred.get("confidence")
    if confidence is None and top and top[0]["label"] == pred.get("label"):
        confidence = top[0]["p"]
    return {"id": sample["id"], "filepath": sample.get("filepath"), "tags": sample.get("tags") or [],
            "label": label.get("label"), "prediction": pred.get("label"), "confidence": confidence,
            "suggestion": sample.get(queue.suggestion_field) if queue.suggestion_field else None,
            "score": sample.get(queue.score_field) if queue.score_field else None, "top": top}


def progress(queue: Queue) -> dict[str, Any]:
    """Review progress over the queue's scope (the view before leaving reviewed samples out).

    ``reviewed``, ``in_queue`` (not yet reviewed), decisions by kind (``kept``,
    ``changed``, ``unusable``), ``changed_share`` (of reviewed) and
    ``wrong_left``: the expected wrong labels among the samples left, the sum of
    their scores when the score is a probability in [0, 1], else None.
    """
    scope = queue.scope
    tags = scope.count_values("tags")
    reviewed, changed, unusable = (int(tags.get(t, 0)) for t in ("reviewed", "relabeled", "unusable"))
    kept = scope.match_tags("reviewed").match_tags(["relabeled", "unusable"], bool=False).count()
    left = scope.match_tags("reviewed", bool=False)
    wrong_left = None
    if queue.score_field is not None:
        low, high = left.bounds(queue.score_field)
        if low is None or (low >= 0 and high <= 1):
            wrong_left = float(left.sum(queue.score_field))
    return {"reviewed": reviewed, "in_queue": left.count(), "kept": kept, "changed": changed,
            "unusable": unusable, "changed_share": changed / reviewed if reviewed else None,
            "wrong_left": wrong_left}


__all__ = ["Queue", "candidates", "card", "open_queue", "progress", "top_classes"]
