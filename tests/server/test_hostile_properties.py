"""Property test over every POST route of the App: no JSON body answers 500, and a 4xx writes nothing.

The routes are read from the Starlette app itself (a new route is covered without
editing this file; one without a seed below is fuzzed from ``{}``). Each gets random
JSON bodies and mutations of a valid body (a value replaced by random JSON, a key
dropped or added), with huge integers, NaN, infinities and stage JSON among the
values. Before and after each request the dataset's documents (its samples and its
label history, and the catalog record) are read: a 4xx must leave them as they were.
Both backends run it; each route meets new random bodies on every run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from starlette.routing import Route
from starlette.testclient import TestClient

import labellens as ll
from labellens import db
from labellens.server import AppState, create_app
from labellens.stages.registry import STAGES

# Bodies per route and strategy: 15-25 s per backend on a quiet 2-core machine (20 routes x 2
# strategies). LABELLENS_FUZZ_EXAMPLES=400 runs a deeper search.
EXAMPLES_PER_ROUTE = int(os.environ.get("LABELLENS_FUZZ_EXAMPLES", "50"))
ID, ID2 = "{id}", "{id2}"  # replaced by the ids of samples 0 and 1 (ground truth "cat" and "dog")
VIEW = [{"_cls": "MatchTags", "kwargs": {"tags": ["test"]}}, {"_cls": "Limit", "kwargs": {"limit": 5}}]
FILTERS = {"tags": ["train"], "ranges": {"mistakenness": [0, 1]}, "labels": {"ground_truth": ["cat"]},
           "sort": {"field": "mistakenness", "reverse": True}}
LABEL_FIELD = {"label_field": "ground_truth"}
DECIDE, UNDO = "/api/datasets/{name}/review/decide", "/api/datasets/{name}/review/undo"
# Valid bodies, one per route (extra keys a route does not know are harmless: the review
# routes may add or require more, and a mutation may drop any of them). The undo's entry is
# the one the fixture's decision on sample 1 returned.
SEEDS: dict[str, dict[str, Any]] = {
    "/api/datasets/{name}/summary": {"view": VIEW},
    "/api/datasets/{name}/tags": {"view": VIEW},
    "/api/datasets/{name}/samples": {"view": VIEW, "filters": FILTERS, "offset": 0, "limit": 5},
    "/api/datasets/{name}/count": {"view": VIEW, "filters": FILTERS},
    "/api/datasets/{name}/histogram": {"view": VIEW, "field": "mistakenness", "bins": 5, "range": [0, 1]},
    "/api/datasets/{name}/tag": {"tag": "fuzz", "ids": [ID], "remove": False},
    "/api/datasets/{name}/indexes": {"field": "mistakenness"},
    "/api/datasets/{name}/review/queue": {"view": VIEW, **LABEL_FIELD, "order_by": "mistakenness"},
    "/api/datasets/{name}/review/progress": {"view": VIEW, **LABEL_FIELD, "order_by": "mistakenness"},
    "/api/datasets/{name}/review/next": {"client": "tab1", "count": 2, "exclude": [], **LABEL_FIELD},
    "/api/datasets/{name}/review/renew": {"client": "tab1", "ids": [ID]},
    "/api/datasets/{name}/review/release": {"client": "tab1", "ids": [ID]},
    DECIDE: {"client": "tab1", "sample_id": ID, "decision": "pick",
                                           "label": "dog", "seen_label": "cat", "decision_id": "fuzz-1",
                                           **LABEL_FIELD, "score": 0.5, "suggestion": "dog"},
    UNDO: {"client": "tab1", "sample_id": ID2, "entry_id": "(made by the fixture)"},
    "/api/datasets/{name}/review/bulk": {"ids": [ID], **LABEL_FIELD, "suggestion_field": "suggestion",
                                         "confirm": False},
    "/api/datasets/{name}/evaluation": {"view": VIEW, "filters": FILTERS, "gt_field": "ground_truth",
                                        "pred_field": "predictions"},
    "/api/datasets/{name}/embeddings": {"view": VIEW, "brain_key": "viz", "color_by": "ground_truth.label"},
    "/api/datasets/{name}/issues": {"view": VIEW, "key": "issues"},
    "/api/session/selected": {"ids": [ID]},
    "/api/session/ui": {"filters": FILTERS},
}
NAMES = ["view", "filters", "offset", "limit", "field", "bins", "range", "tag", "ids", "remove", "client",
         "count", "exclude", "sample_id", "decision", "label", "seen_label", "decision_id", "label_field",
         "score", "suggestion", "entry_id", "suggestion_field", "confirm", "gt_field", "pred_field",
         "brain_key", "color_by", "key", "order_by", "reviewer", "tags", "ranges", "labels", "sort",
         "reverse", "_cls", "kwargs"]
WORDS = ["ground_truth", "predictions", "mistakenness", "tags", "id", "filepath", "train", "cat", "dog",
         "ground_truth.label", "predictions.logits", "predictions.confidence", "$where", "$expr", "$gt",
         "$function", "suggestion", "accept", "keep", "pick", "unusable", ID, "0" * 24, "", " ", "\x00",
         "a" * 300, "système.ü", "<!--"]
INTEGERS = st.one_of(st.integers(-3, 30), st.integers(-(2**80), 2**80),
                     st.sampled_from([2**31, 2**53, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30]))
SCALARS = st.one_of(st.none(), st.booleans(), INTEGERS, st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=12), st.sampled_from(WORDS))
KEYS = st.one_of(st.sampled_from(NAMES + WORDS), st.text(max_size=8))


def _json(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    stage = st.fixed_dictionaries({"_cls": st.sampled_from(sorted(STAGES)),
                                   "kwargs": st.dictionaries(KEYS, children, max_size=3)})
    return st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4), stage)


JSON = st.recursive(SCALARS, _json, max_leaves=10)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place inside a body (dict keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def _mutation(draw: st.DrawFn, seed: dict[str, Any]) -> Any:
    body = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(1, 3))):
        places = _paths(body)
        how = draw(st.sampled_from(["replace", "drop", "add"] if places else ["add"]))
        if how == "add" or not isinstance(body, dict):
            if isinstance(body, dict):
                body[draw(KEYS)] = draw(JSON)
            continue
        place = draw(st.sampled_from(places))
        parent = body
        for step in place[:-1]:
            parent = parent[step]
        if how == "drop" and isinstance(parent, dict):
            del parent[place[-1]]
        else:
            parent[place[-1]] = draw(JSON)
    return body


def _filled(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with every ``{id}`` / ``{id2}`` made a sample's id (so mutated bodies reach deep)."""
    if isinstance(value, dict):
        return {_filled(k, ids): _filled(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, ids) for v in value]
    return ids.get(value, value) if isinstance(value, str) else value


def _snapshot(dataset: ll.Dataset) -> dict[str, list[Any]]:
    """The dataset's stored documents: samples, companion collections (history) and catalog record."""
    database = db.get_database()
    names = [n for n in database.list_collection_names() if dataset.collection_name in n]
    stored = {n: sorted((repr(sorted(d.items())) for d in database[n].find()), key=str) for n in names}
    stored["record"] = [repr(sorted(database["datasets"].find_one({"name": dataset.name}).items()))]
    return stored


class Fuzzed(NamedTuple):
    client: TestClient
    dataset: ll.Dataset
    paths: list[str]  # every POST route of the App
    seeds: dict[str, dict[str, Any]]  # a valid body per route, ids filled in
    ids: dict[str, str]  # placeholder -> sample id


@pytest.fixture
def fuzzed(dataset: ll.Dataset, tmp_path) -> Iterator[Fuzzed]:
    dataset.set_values("suggestion", ["dog", "cat", "ship"] * 4)
    first, second = dataset.values("id")[:2]
    ids = {ID: first, ID2: second}
    app = create_app(AppState(dataset.name), cache_dir=tmp_path / "thumbs")
    paths = sorted(route.path for route in app.routes
                   if isinstance(route, Route) and "POST" in (route.methods or ()))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        decision = {**SEEDS[DECIDE], "sample_id": ID2, "seen_label": "dog", "label": "ship",
                    "decision_id": "fuzz-0"}
        decided = client.post(f"/api/datasets/{dataset.name}/review/decide", json=_filled(decision, ids))
        assert decided.status_code == 200, decided.text
        seeds = {path: _filled(seed, ids) for path, seed in SEEDS.items()}
        seeds[UNDO]["entry_id"] = decided.json()["entry"]["id"]
        yield Fuzzed(client, dataset, paths, seeds, ids)


def _check(fuzzed: Fuzzed, path: str, body: Any) -> None:
    client, dataset = fuzzed.client, fuzzed.dataset
    url = path.replace("{name}", dataset.name).replace("{sample_id}", fuzzed.ids[ID])
    body = _filled(body, fuzzed.ids)
    raw = json.dumps(body, allow_nan=True)
    note(f"POST {path} {raw[:2000]}")
    before = _snapshot(dataset)
    answer = client.post(url, content=raw, headers={"content-type": "application/json"})
    note(f"-> {answer.status_code} {answer.text[:500]}")
    said = f"POST {path} {raw[:500]} -> {answer.status_code} {answer.text[:300]}"
    assert answer.status_code < 500, said
    if 400 <= answer.status_code < 500:
        assert _snapshot(dataset) == before, f"{said}: a refusal that wrote"


SETTINGS = settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def test_every_post_route_is_fuzzed(fuzzed):
    assert len(fuzzed.paths) >= 20
    assert not set(SEEDS) - set(fuzzed.paths), "a seed names a route the App no longer has"
    answers = {}
    for path in fuzzed.paths:  # the seeds are valid, so their mutations reach deep into each handler
        url = path.replace("{name}", fuzzed.dataset.name)
        answer = fuzzed.client.post(url, json=fuzzed.seeds.get(path, {}))
        answers[path] = (answer.status_code, answer.text[:200])
    assert {status for status, _ in answers.values()} == {200}, answers


def _fuzz(fuzzed: Fuzzed, path: str, bodies: st.SearchStrategy[Any]) -> None:
    @SETTINGS
    @given(body=bodies)
    def check(body: Any) -> None:
        _check(fuzzed, path, body)

    check()


def test_random_bodies_never_answer_500_or_write_on_4xx(fuzzed):
    for path in fuzzed.paths:
        _fuzz(fuzzed, path, st.one_of(JSON, st.dictionaries(KEYS, JSON, max_size=6)))


def test_mutated_valid_bodies_never_answer_500_or_write_on_4xx(fuzzed):
    for path in fuzzed.paths:
        _fuzz(fuzzed, path, _mutation(fuzzed.seeds.get(path, {})))
