"""Requests that try to cost the App too much: huge bodies, endless queries, out-of-range numbers.

Issue 27, points 6-8: a body over the limit is refused (413) before it is read, or as
soon as a body without a length passes the limit; every query has a time limit, which
the database enforces (504 in the App, QueryTimeoutError in Python, nothing left
running); and numbers MongoDB cannot hold are a 400, never a 500.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from labellens import db
from labellens.db import timeouts
from labellens.db.aio import MockData
from labellens.errors import QueryTimeoutError, StageError, ValidationError
from labellens.server import AppState, create_app
from labellens.server.limits import MAX_BODY_BYTES
from labellens.session import launch_app

# The view: every sample sums 0..3,000,000 (a quarter of a second each on a real mongod,
# 3-5 s for the 12 samples). The range's end is read from the sample (3,000,000 x its one tag) so
# that the server cannot fold the range into one 24 MB constant, which mongod 6 refuses at once.
SLOW_VIEW = [{"_cls": "Match", "kwargs": {"filter": {"$expr": {"$gt": [
    {"$reduce": {"input": {"$range": [0, {"$multiply": [3_000_000, {"$size": "$tags"}]}]},
                 "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}}, 0]}}}}]
TINY_TIMEOUT = 0.05
QUICK = 2.5  # seconds: a stopped query answers well before the whole view could run


def _asgi_post(app, path: str, chunks: Iterator[bytes], headers: list[tuple[bytes, bytes]] = ()
               ) -> tuple[int, dict, int]:
    """POST ``chunks`` to ``app`` as a streamed body; ``(status, JSON answer, chunks read)``."""
    consumed = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal consumed
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        consumed += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), *headers],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}

    async def run() -> None:
        await app(scope, receive, send)
        await app.state.labellens.data.close()

    asyncio.run(run())
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body), consumed


def _huge_tag_body(chunks: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A tag request whose ids list goes on for ``chunks`` chunks (never ends: no closing bracket)."""
    yield b'{"tag": "x", "ids": ['
    filler = b'"%s", ' % (b"0" * 24) * (size // 28)
    for _ in range(chunks):
        yield filler


# -- 6. bodies over the limit --------------------------------------------------------------


def test_a_body_without_length_is_cut_off_at_the_limit(dataset, tmp_path):
    app = create_app(AppState(dataset.name), cache_dir=tmp_path)
    status, answer, consumed = _asgi_post(app, f"/api/datasets/{dataset.name}/tag", _huge_tag_body(1000))
    assert status == 413
    assert "LABELLENS_MAX_BODY_BYTES" in answer["error"]
    # 1 MiB is 16 chunks of 64 KiB: reading stopped right after it, not after 64 MB.
    assert consumed <= MAX_BODY_BYTES // (64 * 1024) + 2
    assert dataset.count_values("tags").get("x") is None


def test_a_body_whose_length_is_too_large_is_never_read(dataset, tmp_path):
    app = create_app(AppState(dataset.name), cache_dir=tmp_path, max_body_bytes=1000)
    status, answer, consumed = _asgi_post(app, f"/api/datasets/{dataset.name}/tag", _huge_tag_body(10),
                                          headers=[(b"content-length", b"400000000")])
    assert (status, consumed) == (413, 0)
    assert "1000 bytes" in answer["error"]


def test_a_served_app_answers_413_before_the_body_arrives(dataset, tmp_path):
    with launch_app(dataset, port=0, auto=False, cache_dir=tmp_path) as session:
        with socket.create_connection(("127.0.0.1", session.port), timeout=10) as conn:
            conn.sendall(f"POST /api/datasets/{dataset.name}/tag HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Content-Type: application/json\r\nContent-Length: 400000000\r\n\r\n"
                         '{"tag": "x", "ids": ['.encode())
            started = time.monotonic()
            answer = conn.recv(4096)  # the 400 MB never follow: only an early answer arrives
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert time.monotonic() - started < 5


def test_requests_under_the_limit_work(dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("LABELLENS_MAX_BODY_BYTES", "3000")
    ids = dataset.values("id")
    app = create_app(AppState(dataset.name), cache_dir=tmp_path)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        tagged = client.post(f"/api/datasets/{dataset.name}/tag", json={"tag": "ok", "ids": ids})
        assert tagged.status_code == 200, tagged.text
        assert tagged.json()["changed"] == len(ids)
        refused = client.post(f"/api/datasets/{dataset.name}/tag", json={"tag": "big", "ids": ids * 20})
        assert refused.status_code == 413
        assert "3000 bytes" in refused.json()["error"]
        page = client.post(f"/api/datasets/{dataset.name}/samples", json={"limit": 5})
        assert page.status_code == 200 and len(page.json()["samples"]) == 5
    assert dataset.count_values("tags").get("big") is None


@pytest.mark.parametrize(("options", "env"), [
    ({"max_body_bytes": 0}, {}), ({"max_body_bytes": "1"}, {}), ({"max_body_bytes": True}, {}),
    ({}, {"LABELLENS_MAX_BODY_BYTES": "lots"}), ({}, {"LABELLENS_MAX_BODY_BYTES": "-5"}),
    ({"query_timeout": 0}, {}), ({"query_timeout": float("nan")}, {}), ({"query_timeout": "5"}, {}),
    ({}, {"LABELLENS_QUERY_TIMEOUT": "soon"}), ({}, {"LABELLENS_QUERY_TIMEOUT": "-1"}),
])
def test_bad_limits_are_refused_when_the_app_is_made(options, env, monkeypatch):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match="max_body_bytes|query_timeout|LABELLENS_"):
        create_app(**options)


# -- 7. query time limits --------------------------------------------------------------------


class _Recording(MockData):
    """The mongomock backend, noting the time limit each aggregation runs under."""

    def __init__(self, binding) -> None:
        super().__init__(binding)
        self.seen: list[dict] = []

    async def _aggregate(self, collection, pipeline):
        self.seen.append(timeouts.options(timeouts.resolve(None)))
        return await super()._aggregate(collection, pipeline)


@pytest.mark.parametrize(("options", "env", "expected"), [
    ({}, {}, 30_000), ({"query_timeout": 2.5}, {}, 2_500), ({}, {"LABELLENS_QUERY_TIMEOUT": "7"}, 7_000),
])
def test_every_app_query_gets_a_time_limit(backend, dataset, tmp_path, monkeypatch, options, env, expected):
    if backend != "mongomock":
        pytest.skip("records what the App asks of the mongomock backend")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    data = _Recording(db.binding())
    app = create_app(AppState(dataset.name), cache_dir=tmp_path, data=data, **options)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.post(f"/api/datasets/{dataset.name}/samples", json={}).status_code == 200
        assert client.get(f"/api/datasets/{dataset.name}").status_code == 200
    assert data.seen and all(seen == {"maxTimeMS": expected} for seen in data.seen)
    assert timeouts.resolve(None) is None  # nothing leaks out of the request


def test_python_reads_take_a_timeout(dataset):
    # mongomock has no time limits: the option is checked, then ignored (a real mongod enforces it).
    assert dataset.count(timeout=5) == len(dataset.values("id", timeout=5)) == 12
    assert dataset.match_tags("train").count(timeout=5) == 6
    assert dataset.first(timeout=5).id == dataset.values("id")[0]
    assert sum(dataset.count_values("ground_truth.label", timeout=5).values()) == 12
    assert len(list(dataset.iter_samples(timeout=5))) == 12
    assert sum(len(b["id"]) for b in dataset.iter_batches(["mistakenness"], timeout=5)) == 12
    assert dataset.bounds("mistakenness", timeout=5)[0] == 0.0
    for bad in (0, -1, float("inf"), "5", True, 10**9):
        with pytest.raises(ValidationError, match="timeout must be a number of seconds"):
            dataset.count(timeout=bad)
        with pytest.raises(ValidationError, match="timeout must be a number of seconds"):
            dataset.values("id", timeout=bad)


@pytest.fixture
def slow_view(backend, dataset):
    if backend == "mongomock":
        pytest.skip("mongomock has no time limits (maxTimeMS is a no-op there)")
    return dataset.view_from_json(SLOW_VIEW)


def _running_on(collection: str) -> list[dict]:
    """The operations the real mongod is running on ``collection`` now."""
    namespace = f"{db.binding().name}.{collection}"
    return db.get_client().admin.command({"currentOp": True, "ns": namespace})["inprog"]


def test_without_a_timeout_the_slow_view_keeps_running(slow_view, dataset):
    # What the other tests rule out: the probe sees the unbounded query at work (then ends it).
    worker = threading.Thread(target=lambda: pytest.raises(StageError, slow_view.count), daemon=True)
    worker.start()
    deadline = time.monotonic() + QUICK
    while not (running := _running_on(dataset.collection_name)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert running, "the unbounded query was never seen running"
    for op in running:
        db.get_client().admin.command({"killOp": 1, "op": op["opid"]})
    worker.join(10)
    assert not worker.is_alive()


def test_a_slow_view_is_stopped_in_python(slow_view, dataset):
    reads = [lambda t: slow_view.count(timeout=t), lambda t: slow_view.values("id", timeout=t),
             lambda t: list(slow_view.iter_samples(timeout=t)), lambda t: slow_view.first(timeout=t),
             lambda t: next(slow_view.iter_batches(["mistakenness"], timeout=t)),
             lambda t: slow_view.count_values("ground_truth.label", timeout=t),
             lambda t: slow_view.bounds("mistakenness", timeout=t),
             lambda t: slow_view.distinct("tags", timeout=t),
             lambda t: slow_view.mean("mistakenness", timeout=t)]
    for read in reads:
        started = time.monotonic()
        with pytest.raises(QueryTimeoutError, match=r"longer than 0.05 s .* pass a larger timeout="):
            read(TINY_TIMEOUT)
        assert time.monotonic() - started < QUICK
    assert _running_on(dataset.collection_name) == []


@pytest.mark.parametrize("route", ["samples", "count", "summary", "evaluation"])
def test_a_slow_view_answers_504_in_the_app(slow_view, dataset, tmp_path, route):
    # samples/count/summary read through the async driver, the evaluation panel with the sync API.
    app = create_app(AppState(dataset.name), cache_dir=tmp_path, query_timeout=TINY_TIMEOUT)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        started = time.monotonic()
        answer = client.post(f"/api/datasets/{dataset.name}/{route}", json={"view": SLOW_VIEW})
        elapsed = time.monotonic() - started
    assert answer.status_code == 504, answer.text
    assert "took longer than 0.05 s" in answer.json()["error"]
    assert "LABELLENS_QUERY_TIMEOUT" in answer.json()["error"]
    assert elapsed < QUICK
    assert _running_on(dataset.collection_name) == []


# -- 8. numbers MongoDB cannot hold --------------------------------------------------------------


@pytest.mark.parametrize(("route", "body", "message"), [
    ("samples", {"offset": 2**70}, "offset must be an integer from 0"),
    ("samples", {"offset": 2**63}, "offset must be an integer from 0"),
    ("samples", {"limit": 2**64}, "limit must be an integer from 0"),
    ("samples", {"offset": 1.5}, "offset must be an integer"),
    ("samples", {"filters": {"ranges": {"mistakenness": [0, 10**400]}}}, "finite numbers"),
    ("histogram", {"field": "mistakenness", "range": [-(10**309), 1]}, "finite numbers"),
    ("samples", {"view": [{"_cls": "Limit", "kwargs": {"limit": 2**70}}]}, "64 bits"),
    ("samples", {"view": [{"_cls": "Skip", "kwargs": {"skip": 2**64}}]}, "64 bits"),
    ("count", {"view": [{"_cls": "Take", "kwargs": {"size": 5, "seed": 2**70}}]}, "64 bits"),
    ("count", {"view": [{"_cls": "Match", "kwargs": {"filter": {"mistakenness": {"$gt": 2**70}}}}]},
     "64 bits"),
    ("count", {"view": [{"_cls": "Match",
                         "kwargs": {"filter": {"$expr": {"$lt": ["$mistakenness", -(2**64)]}}}}]}, "64 bits"),
])
def test_numbers_beyond_64_bits_are_a_400(client, dataset, route, body, message):
    answer = client.post(f"/api/datasets/{dataset.name}/{route}", json=body)
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]
