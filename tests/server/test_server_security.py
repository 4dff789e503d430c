"""The App refuses what it must: raw pipelines and server-side JavaScript, path traversal, symlink
escapes, requests without the token, foreign hosts, form posts; and errors are JSON, never tracebacks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import labellens as ll
from labellens.db.aio import AsyncData
from labellens.db.client import Binding
from labellens.server import AppState, create_app

JS = {"body": "function() { return true; }", "args": [], "lang": "js"}


def samples(client, body):
    return client.post("/api/datasets/app-test/samples", json=body)


@pytest.mark.parametrize("view", [
    [{"_cls": "Match", "kwargs": {"filter": {"$where": "sleep(1000) || true"}}}],
    [{"_cls": "Match", "kwargs": {"filter": {"$and": [{"tags": "a"}, {"$where": "1"}]}}}],
    [{"_cls": "Match", "kwargs": {"filter": {"$expr": {"$function": JS}}}}],
    [{"_cls": "SortBy", "kwargs": {"field_or_expr": {"$function": JS}}}],
    [{"_cls": "Match", "kwargs": {"filter": {"$expr": {"$accumulator": {}}}}}],
    [{"$match": {"tags": "a"}}],
    [{"_cls": "Pipeline", "kwargs": {"stages": [{"$out": "x"}]}}],
    [{"_cls": "labellens.stages.filtering.Match", "kwargs": {"filter": {}}}],
    [{"_cls": "Limit", "kwargs": {"limit": -1}}],
    [{"_cls": "SortBy", "kwargs": {"field_or_expr": "no_such_field"}}],
    [{"_cls": "Match", "kwargs": {"filter": {"$lookup": {"from": "datasets"}}}}],
    "not a list",
])
def test_unsafe_or_invalid_views_are_refused(client, view):
    response = samples(client, {"view": view})
    assert response.status_code == 400, response.text
    assert response.json()["error"]


@pytest.mark.parametrize("body", [
    {"filters": {"sort": {"field": "$where"}}},
    {"filters": {"ranges": {"filepath": [0, 1]}}},
    {"filters": {"ranges": {"mistakenness": [0, "1"]}}},
    {"filters": {"labels": {"ground_truth": "cat"}}},
    {"filters": {"raw": {"$where": "1"}}},
    {"filters": {"tags": [{"$ne": None}]}},
    {"limit": 100_000},
    {"offset": -1},
])
def test_invalid_filters_and_paging_are_400(client, body):
    response = samples(client, body)
    assert response.status_code == 400, response.text
    assert "Traceback" not in response.text


def test_bad_json_and_bad_tags_are_400(client, dataset):
    bad = client.post("/api/datasets/app-test/samples", content=b"{not json",
                      headers={"content-type": "application/json"})
    assert bad.status_code == 400
    for body in ({"tag": "", "ids": []}, {"tag": 3, "ids": []}, {"tag": "x" * 500, "ids": []},
                 {"tag": "ok", "ids": ["nope"]}, {"tag": "ok", "ids": "all"}):
        assert client.post("/api/datasets/app-test/tag", json=body).status_code == 400, body
    assert dataset.count_values("tags") == {"test": 6, "train": 6}


def test_media_only_for_sample_filepaths(client, dataset, tmp_path):
    sample = dataset.first()
    ok = client.get("/media/app-test", params={"filepath": sample.filepath})
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"
    other = tmp_path / "images" / "not-a-sample.png"
    other.write_bytes(Path(sample.filepath).read_bytes())
    for path in (str(other), "/etc/passwd", "relative/000.png",
                 sample.filepath.replace("/images/", "/images/../images/"), sample.filepath + "\x00.png"):
        response = client.get("/media/app-test", params={"filepath": path})
        assert response.status_code in (400, 404), path
        assert response.headers["content-type"] == "application/json"


def test_media_by_id_rejects_traversal(client, dataset):
    for url in ("/media/app-test/..%2F..%2Fetc%2Fpasswd", "/media/app-test/../../etc/passwd",
                "/media/app-test/" + "f" * 24, "/media/..%2Fapp-test/" + dataset.first().id):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"root:" not in response.content


def test_symlink_escapes_are_refused(client, dataset, tmp_path):
    secret_dir = tmp_path / "outside"
    secret_dir.mkdir()
    (secret_dir / "secret.txt").write_text("top secret")
    (secret_dir / "secret.png").write_text("top secret")
    images = tmp_path / "images"
    os.symlink(secret_dir, images / "linked")
    os.symlink(secret_dir / "secret.txt", images / "evil.png")
    evil = ll.Sample(filepath=str(images / "evil.png"))
    dataset.add_sample(evil)
    # a file reached through a symlinked folder is not the filepath of a sample
    response = client.get("/media/app-test", params={"filepath": str(images / "linked" / "secret.png")})
    assert response.status_code == 404
    # a sample whose image is a symlink to a file that is not an image is not served
    for response in (client.get(f"/media/app-test/{evil.id}"),
                     client.get("/media/app-test", params={"filepath": evil.filepath})):
        assert response.status_code == 404
        assert b"top secret" not in response.content


def test_token_is_required_on_every_request(dataset, tmp_path):
    app = create_app(AppState(dataset.name), token="s3cret-token", cache_dir=tmp_path)
    with TestClient(app, base_url="http://10.1.2.3:5151") as client:
        urls = ("/", "/api/datasets", "/static/js/main.js", "/api/events",
                f"/media/app-test/{dataset.first().id}")
        for url in urls:
            assert client.get(url).status_code == 401, url
        assert client.get("/api/datasets?token=wrong").status_code == 401
        assert client.get("/api/datasets", headers={"X-LabelLens-Token": "wrong"}).status_code == 401
        assert client.get("/api/datasets", headers={"X-LabelLens-Token": "s3cret-token"}).status_code == 200
        client.cookies.clear()
        first = client.get("/?token=s3cret-token")
        assert first.status_code == 200
        assert "HttpOnly" in first.headers["set-cookie"]
        # the page's own requests then carry the token in the cookie
        assert client.get("/static/js/main.js").status_code == 200
        assert client.post("/api/datasets/app-test/count", json={}).json() == {"count": len(dataset)}


def test_without_token_only_loopback_hosts(client):
    assert client.get("/api/datasets").status_code == 200
    assert client.get("/api/datasets", headers={"host": "localhost:5151"}).status_code == 200
    response = client.get("/api/datasets", headers={"host": "evil.example:5151"})
    assert response.status_code == 403


def test_writes_must_be_json(client, dataset):
    form = client.post("/api/datasets/app-test/tag", content=b"tag=x",
                       headers={"content-type": "application/x-www-form-urlencoded"})
    plain = client.post("/api/datasets/app-test/tag", content=b'{"tag": "x", "ids": []}',
                        headers={"content-type": "text/plain"})
    assert form.status_code == plain.status_code == 415
    assert dataset.count_values("tags") == {"test": 6, "train": 6}


def test_security_headers(client):
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["server-timing"].startswith("app;dur=")


class _Broken(AsyncData):
    async def _aggregate(self, collection, pipeline):
        raise RuntimeError("secret internals")


def test_unexpected_errors_are_json_without_traceback(dataset, tmp_path):
    app = create_app(AppState(dataset.name), cache_dir=tmp_path, data=_Broken(Binding("mongomock://", "x")))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        response = client.post("/api/datasets/app-test/count", json={})
    assert response.status_code == 500
    assert response.json()["error"].startswith("internal error")
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_unknown_routes_and_methods_are_json(client):
    missing = client.get("/api/nothing")
    assert missing.status_code == 404 and missing.json()["error"]
    wrong = client.delete("/api/datasets")
    assert wrong.status_code in (405, 415)
