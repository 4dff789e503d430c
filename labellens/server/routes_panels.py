"""Handlers of the App's panels: evaluation, embeddings map and data issues, on the current view.

Each handler compiles the browser's view through :func:`labellens.server.query.prepare`
(the one query path) and reads it with the public collection API, all in one
worker thread of the context's data access: the evaluation panel's confusion matrix comes from
:func:`labellens.evaluation.summarize_classifications` on that view, the map's
points from a ``compute_visualization`` run, and the issue counts from the
flag queries of the latest ``find_issues`` report, each counted on the view.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from labellens.brain.find_issues import RUN_KIND as ISSUES_RUN
from labellens.brain.find_issues import load_issues_report
from labellens.brain.run import declared_outputs
from labellens.errors import ValidationError
from labellens.evaluation import summarize_classifications
from labellens.evaluation.classification import EVALUATION
from labellens.fields import BOOLEAN, NUMERIC
from labellens.server.query import Prepared, prepare, to_json
from labellens.server.routes import dataset_of, in_thread, json_body

MAX_POINTS = 200_000


async def evaluation(request: Request) -> Response:
    """``POST /api/datasets/{name}/evaluation {view, filters, gt_field?, pred_field?}``.

    The confusion matrix, per-class precision/recall/F1 and accuracy of the
    current view; defaults: the fields of the latest evaluation run, else the
    ground truth and the first other label field.
    """
    return await _respond(request, _evaluation)


def _evaluation(job: Prepared, body: dict[str, Any]) -> dict[str, Any]:
    labels = list(job.grid.label_fields)
    gt_field, pred_field = body.get("gt_field"), body.get("pred_field")
    runs = job.dataset.list_runs(EVALUATION)
    if (gt_field is None or pred_field is None) and runs:
        latest = max((job.dataset.get_run(EVALUATION, key) for key in runs), key=lambda r: r["timestamp"])
        gt_field = gt_field or latest["config"]["gt_field"]
        pred_field = pred_field or latest["config"]["pred_field"]
    gt_field = gt_field or (labels[0] if labels else None)
    pred_field = pred_field or next((f for f in labels if f != gt_field), None)
    if gt_field is None or pred_field is None:
        return {"available": False, "label_fields": labels,
                "reason": "the evaluation panel needs two label fields (ground truth and predictions)"}
    for value in (gt_field, pred_field):
        if value not in labels:
            raise ValidationError(f"{value!r} is not a label field; label fields: {labels}")
    results = summarize_classifications(job.view, pred_field, gt_field)
    report = results.report()
    per_class = {c: report[c] for c in results.classes if c in report}
    return {"available": True, "label_fields": labels, "gt_field": gt_field, "pred_field": pred_field,
            "classes": results.classes, "missing": results.missing, "matrix": results.matrix.tolist(),
            "per_class": per_class, "accuracy": results.accuracy, "count": int(results.matrix.sum()),
            "evaluations": runs}


async def embeddings(request: Request) -> Response:
    """``POST /api/datasets/{name}/embeddings {view, filters, brain_key?, color_by?}``.

    Every 2-D point of a ``compute_visualization`` run, its sample id, a colour
    value (a label, number or boolean field) and whether the sample is in the current view.
    """
    return await _respond(request, _embeddings)


def _embeddings(job: Prepared, body: dict[str, Any]) -> dict[str, Any]:
    dataset = job.dataset
    infos = {key: dataset.get_brain_info(key) for key in dataset.list_brain_runs()}
    runs = [key for key, info in infos.items() if info["config"].get("method") == "visualization"]
    if not runs:
        return {"available": False, "brain_keys": [],
                "reason": "no embeddings map yet: run labellens.brain.compute_visualization(dataset, ...)"}
    brain_key = _key_of(body, "brain_key") or runs[0]
    if brain_key not in runs:
        # No such brain run: BrainRunNotFoundError (404); a run of another method: 400.
        method = dataset.get_brain_info(brain_key)["config"].get("method")
        raise ValidationError(f"brain run {brain_key!r} is a {method!r} run, not a visualization; "
                              f"visualization runs: {runs}")
    schema = dataset.get_field_schema()
    colorable = [*(f"{f}.label" for f in job.grid.label_fields),
                 *(n for n, kind in schema.items() if kind in (*NUMERIC, BOOLEAN))]
    color_by = body.get("color_by") or (colorable[0] if colorable else None)
    if color_by is not None and color_by not in colorable:
        raise ValidationError(f"cannot colour by {color_by!r}; choose one of {colorable}")
    field = next(iter(declared_outputs(infos[brain_key])), brain_key)  # the [x, y] points the run wrote
    points = dataset.exists(field)
    if len(points) > MAX_POINTS:
        points = points.take(MAX_POINTS, seed=0)
    paths = [field] + ([color_by] if color_by else [])
    ids: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    colors: list[Any] = []
    for batch in points.iter_batches(paths):
        ids += batch["id"]
        xs += [p[0] for p in batch[field]]
        ys += [p[1] for p in batch[field]]
        colors += batch[color_by] if color_by else [None] * len(batch["id"])
    in_view = set(job.view.values("id")) if job.view.stages else None
    return {"available": True, "brain_keys": runs, "brain_key": brain_key, "color_fields": colorable,
            "color_by": color_by, "ids": ids, "x": xs, "y": ys, "colors": colors,
            "in_view": None if in_view is None else [int(i in in_view) for i in ids]}


async def issues(request: Request) -> Response:
    """``POST /api/datasets/{name}/issues {view, filters, key?}``: each issue type's count on the view.

    Rows come from the latest ``find_issues`` report, most widespread first; each
    has the ``query`` that matches its samples (the grid adds it as a Match stage).
    """
    return await _respond(request, _issues)


def _issues(job: Prepared, body: dict[str, Any]) -> dict[str, Any]:
    dataset = job.dataset
    runs = dataset.list_runs(ISSUES_RUN)
    if not runs:
        return {"available": False, "keys": [],
                "reason": "no issues report yet: run labellens brain issues NAME (or brain.find_issues)"}
    key = _key_of(body, "key") or max(runs, key=lambda k: dataset.get_run(ISSUES_RUN, k)["timestamp"])
    report = load_issues_report(dataset, key)  # RunNotFoundError (404) for an unknown key
    total = len(job.view)
    rows = []
    for table in report.tables:
        count = len(job.view.match(table.query)) if table.written(job.view) else 0
        rows.append({"issue": table.issue, "description": table.description, "count": count,
                     "fraction": count / total if total else 0.0, "report_count": table.count,
                     "query": table.query, "score_field": table.score_field,
                     "low_is_worse": table.low_is_worse})
    rows.sort(key=lambda r: (-r["fraction"], -r["report_count"]))
    return {"available": True, "keys": runs, "key": key, "view_count": total, "rows": rows,
            "skipped": report.skipped}


def _key_of(body: dict[str, Any], name: str) -> str | None:
    """The run key a request names (None when it names none)."""
    key = body.get(name)
    if key is not None and not isinstance(key, str):
        raise ValidationError(f"{name} must be a run key (a string), got {key!r:.60}")
    return key


async def _respond(request: Request, handler: Any) -> Response:
    """Run ``handler(view, body)`` in a worker thread (it reads with the sync API) and send its JSON."""
    body = await json_body(request)
    answer = await in_thread(request, lambda: handler(prepare(dataset_of(request), body), body))
    return JSONResponse(to_json(answer))


ROUTES = [
    Route("/api/datasets/{name}/evaluation", evaluation, methods=["POST"]),
    Route("/api/datasets/{name}/embeddings", embeddings, methods=["POST"]),
    Route("/api/datasets/{name}/issues", issues, methods=["POST"]),
]
