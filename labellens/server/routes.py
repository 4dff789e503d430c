"""JSON handlers for datasets, samples, tags and media.

Each handler validates its input, rebuilds the requested view through
:mod:`labellens.server.query` (stage registry + public view API) on the
dataset the server context holds, takes the view's pipeline and reads or writes
through the context's data access (``labellens.db.aio``), the one road to the
database: the sync API (the record, indexes) runs through it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bson import ObjectId
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from labellens.brain.default_score import default_score_field
from labellens.dataset import list_datasets
from labellens.errors import SampleNotFoundError, ValidationError
from labellens.server import media
from labellens.server.colors import class_order
from labellens.server.query import Prepared, number_range, page_bounds, prepare, to_json, with_probabilities
from labellens.server.state import context_of

MAX_PAGE = 500
# From this many samples the App says when a sort has no index and offers to create one
# (unindexed, MongoDB sorts the whole view for every page: about a second per million samples).
INDEX_HINT_SAMPLES = 50_000
HISTOGRAM_BINS = 20
MAX_HISTOGRAM_BINS = 200
MAX_TAG_LENGTH = 100
MAX_IDS = 100_000
T = TypeVar("T")


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (an empty body is ``{}``)."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ValidationError("the request body must be valid JSON") from None
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    return body


async def in_thread(request: Request, function: Callable[..., T], /, *args: Any) -> T:
    """``function(*args)`` (the sync API, a file) in a worker thread of the context's data access."""
    return await context_of(request).data.run(function, *args)


async def prepared(request: Request, body: Mapping[str, Any], *, filters: bool = True) -> Prepared:
    """The dataset named in the URL and the view ``body`` asks for, compiled in a worker thread."""
    return await in_thread(request, lambda: prepare(dataset_of(request), body, filters=filters))


def dataset_of(request: Request) -> Any:
    """The dataset named in the URL (sync; DatasetNotFoundError -> 404)."""
    return context_of(request).datasets.get(request.path_params["name"])


async def open_dataset(request: Request) -> Any:
    """The dataset named in the URL, read in a worker thread."""
    return await in_thread(request, dataset_of, request)


async def datasets(request: Request) -> Response:
    """``GET /api/datasets``: the names of all datasets."""
    return JSONResponse({"datasets": await in_thread(request, list_datasets)})


async def summary(request: Request) -> Response:
    """``GET /api/datasets/{name}`` or ``POST .../summary {view}``: counts, schema, tags, classes, ranges."""
    body = await json_body(request) if request.method == "POST" else {}
    job = await prepared(request, body, filters=False)
    data, grid = context_of(request).data, job.grid
    label_paths = [f"{name}.label" for name in grid.label_fields]
    facts, total, indexed = await asyncio.gather(
        data.summarize(job.collection, job.pipeline, value_paths=["tags", *label_paths],
                       unwind=[True] + [False] * len(label_paths), bound_paths=grid.numeric_fields),
        data.count(job.collection, []) if job.pipeline else asyncio.sleep(0, None),
        in_thread(request, job.dataset.indexed_fields),
    )
    count, bounds, tags = facts["count"], facts["bounds"], facts["values"]["tags"]
    # None counts samples without the label (as in count_values); the sidebar lists classes only.
    label_counts = [{k: v for k, v in facts["values"][path].items() if k is not None} for path in label_paths]
    default_classes = list(job.dataset.default_classes or [])
    return JSONResponse(to_json({
        "name": job.dataset.name,
        "count": count,
        "total": count if total is None else total,
        "schema": job.schema,
        "label_fields": list(grid.label_fields),
        "numeric_fields": list(grid.numeric_fields),
        "sort_fields": list(grid.sort_fields),
        "indexed_fields": indexed,
        "index_hint": (count if total is None else total) >= INDEX_HINT_SAMPLES,
        "default_score_field": default_score_field(grid.numeric_fields),
        "tags": dict(sorted(tags.items())),
        "default_classes": default_classes,
        "classes": class_order(default_classes, (c for counts in label_counts for c in counts)),
        "label_counts": {name: {str(k): v for k, v in counts.items()}
                         for name, counts in zip(grid.label_fields, label_counts)},
        "bounds": {name: list(b) for name, b in bounds.items()},
    }))


async def tags(request: Request) -> Response:
    """``POST /api/datasets/{name}/tags {view}``: samples per tag in the session's view (cheaper
    than summary; read from the index alone when ``tags`` is indexed and the view filters nothing)."""
    job = await prepared(request, await json_body(request), filters=False)
    counts = await context_of(request).data.sample_tags(job.collection, job.pipeline)
    return JSONResponse({"tags": dict(sorted(counts.items()))})


async def samples(request: Request) -> Response:
    """``POST /api/datasets/{name}/samples {view, filters, offset, limit}``: one page of grid tiles."""
    body = await json_body(request)
    offset, limit = page_bounds(body, MAX_PAGE)
    job = await prepared(request, body)
    docs = await context_of(request).data.page(job.collection, job.pipeline, offset=offset, limit=limit,
                                               fields=job.grid.projection)
    return JSONResponse({
        "samples": to_json(docs),
        "offset": offset,
        "next_offset": offset + len(docs) if len(docs) == limit else None,
    })


async def histogram(request: Request) -> Response:
    """``POST /api/datasets/{name}/histogram {view, field, bins?, range?}``: a numeric field's
    histogram over the session's view (the sidebar draws it above the field's range slider).

    ``range`` is ``[low, high]`` (the summary's bounds; computed when absent). Returns
    ``{"field", "counts", "edges", "other"}`` as :meth:`SampleCollection.histogram_values`.
    """
    body = await json_body(request)
    job = await prepared(request, body, filters=False)
    field, bins = body.get("field"), body.get("bins", HISTOGRAM_BINS)
    if field not in job.grid.numeric_fields:
        raise ValidationError(f"no histogram of {field!r}; numeric fields: {list(job.grid.numeric_fields)}")
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= MAX_HISTOGRAM_BINS:
        raise ValidationError(f"bins must be an int from 1 to {MAX_HISTOGRAM_BINS}, got {bins!r}")
    data = context_of(request).data
    if body.get("range") is not None:
        low, high = number_range(body["range"], field)
    else:
        low, high = (await data.bounds(job.collection, job.pipeline, [field]))[field]
        if low is None:
            return JSONResponse({"field": field, "counts": [0] * bins, "edges": [], "other": 0})
    counts, edges, other = await data.histogram(job.collection, job.pipeline, field,
                                                low=float(low), high=float(high), bins=bins)
    return JSONResponse({"field": field, "counts": counts, "edges": edges, "other": other})


async def count(request: Request) -> Response:
    """``POST /api/datasets/{name}/count {view, filters}``: how many samples the filtered view has."""
    job = await prepared(request, await json_body(request))
    return JSONResponse({"count": await context_of(request).data.count(job.collection, job.pipeline)})


async def sample(request: Request) -> Response:
    """``GET /api/datasets/{name}/samples/{id}``: one sample with every field, logits included.

    Each label with logits also carries their softmax as ``_probabilities`` (the modal's bars).
    """
    dataset = await open_dataset(request)
    sample_id = request.path_params["sample_id"]
    doc = await context_of(request).data.find_by_id(dataset.collection_name, sample_id)
    if doc is None:
        raise SampleNotFoundError(f"no sample {sample_id!r} in dataset {dataset.name!r}")
    return JSONResponse(with_probabilities(to_json(doc)))


async def tag(request: Request) -> Response:
    """``POST /api/datasets/{name}/tag {tag, remove, ids | view+filters}``: tag or untag, written at once.

    With ``ids`` only those samples change; without, every sample of the
    (filtered) view does.
    """
    body = await json_body(request)
    label = _tag_of(body)
    dataset = await open_dataset(request)
    data, collection = context_of(request).data, dataset.collection_name
    if "ids" in body:
        ids = [ObjectId(v) for v in sample_ids(body["ids"])]
    else:
        job = await prepared(request, body)
        ids = await data.ids(collection, job.pipeline)
    write = data.remove_tag if body.get("remove") else data.add_tag
    changed = await write(collection, ids, label)
    context_of(request).state.publish("tagged")
    return JSONResponse({"tag": label, "removed": bool(body.get("remove")), "samples": len(ids),
                         "changed": changed})


async def create_index(request: Request) -> Response:
    """``POST /api/datasets/{name}/indexes {field}``: index a sortable field, or ``tags`` (whose
    counts then come from the index), as the App offers on large datasets."""
    body = await json_body(request)
    job = await prepared(request, {}, filters=False)
    field = body.get("field") if isinstance(body, Mapping) else None
    if field not in (*job.grid.sort_fields, "tags"):
        raise ValidationError(f"cannot index {field!r}; indexable fields: {['tags', *job.grid.sort_fields]}")
    name, indexed = await in_thread(request, lambda: (job.dataset.create_index(field),
                                                      job.dataset.indexed_fields()))
    return JSONResponse({"index": name, "indexed_fields": indexed})


async def sample_media(request: Request) -> Response:
    """``GET /media/{name}/{sample_id}[?thumb=1]``: the image of a sample."""
    dataset = await open_dataset(request)
    sample_id = request.path_params["sample_id"]
    doc = await context_of(request).data.find_by_id(dataset.collection_name, sample_id)
    if doc is None or not isinstance(doc.get("filepath"), str):
        raise SampleNotFoundError(f"no sample {sample_id!r} with media in dataset {dataset.name!r}")
    return await _serve(request, doc["filepath"])


async def path_media(request: Request) -> Response:
    """``GET /media/{name}?filepath=...[&thumb=1]``: a file that is the filepath of a sample."""
    filepath = media.check_requested_path(request.query_params.get("filepath", ""))
    dataset = await open_dataset(request)
    doc = await context_of(request).data.find_by_filepath(dataset.collection_name, filepath)
    if doc is None:
        raise SampleNotFoundError(f"{filepath} is not the filepath of a sample of {dataset.name!r}")
    return await _serve(request, filepath)


async def _serve(request: Request, filepath: str) -> Response:
    path = await in_thread(request, media.resolve_media, filepath)
    if request.query_params.get("thumb") not in (None, "", "0"):
        path = await in_thread(request, media.thumbnail, path, context_of(request).cache_dir)
    return FileResponse(path, media_type=media.media_type(path),
                        headers={"Cache-Control": "private, max-age=300"})


def _tag_of(body: Mapping[str, Any]) -> str:
    label = body.get("tag")
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_TAG_LENGTH:
        raise ValidationError(f"tag must be a non-empty string of at most {MAX_TAG_LENGTH} characters")
    return label.strip()


def sample_ids(value: Any, *, valid: Callable[[str], Any] = ObjectId.is_valid) -> list[str]:
    """A request's list of at most ``MAX_IDS`` sample ids, each passing ``valid``, duplicates dropped."""
    if not isinstance(value, list) or len(value) > MAX_IDS:
        raise ValidationError(f"ids must be a list of at most {MAX_IDS} sample ids")
    bad = [v for v in value if not isinstance(v, str) or not valid(v)]
    if bad:
        raise ValidationError(f"ids must be sample ids (24 hex characters), got {bad[0]!r:.60}")
    return list(dict.fromkeys(value))


ROUTES = [
    Route("/api/datasets", datasets),
    Route("/api/datasets/{name}", summary),
    Route("/api/datasets/{name}/summary", summary, methods=["POST"]),
    Route("/api/datasets/{name}/tags", tags, methods=["POST"]),
    Route("/api/datasets/{name}/samples", samples, methods=["POST"]),
    Route("/api/datasets/{name}/count", count, methods=["POST"]),
    Route("/api/datasets/{name}/histogram", histogram, methods=["POST"]),
    Route("/api/datasets/{name}/samples/{sample_id}", sample),
    Route("/api/datasets/{name}/tag", tag, methods=["POST"]),
    Route("/api/datasets/{name}/indexes", create_index, methods=["POST"]),
    Route("/media/{name}/{sample_id}", sample_media),
    Route("/media/{name}", path_media),
]
