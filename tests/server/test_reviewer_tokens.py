"""Named reviewer tokens: each reviewer's own URL, the name the history records, refused tokens and names."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from starlette.testclient import TestClient

import labellens as ll
from labellens.errors import ValidationError
from labellens.server import AppState, create_app
from labellens.session import launch_app

REVIEWERS = {"tok-alice-0123456789": "alice", "tok-bob-0123456789": "bob"}


@pytest.fixture
def reviewed(dataset: ll.Dataset, tmp_path):
    """A test client of an App on loopback with the session token "op" and two named reviewers."""
    app = create_app(AppState(dataset.name), token="op", reviewers=REVIEWERS, cache_dir=tmp_path / "thumbs")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def whoami(client: TestClient, token: str | None = None) -> dict:
    headers = {"X-LabelLens-Token": token} if token else {}
    response = client.get("/api/whoami", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def decide(client: TestClient, sample_id: str, token: str, **extra) -> dict:
    body = {"client": "tab-1", "sample_id": sample_id, "decision": "pick", "label": "ship",
            "seen_label": "cat", "decision_id": f"d-{token[:8]}", "score": None, "suggestion": None, **extra}
    return client.post("/api/datasets/app-test/review/decide", json=body,
                       headers={"X-LabelLens-Token": token})


def test_every_request_needs_a_token_even_on_loopback(reviewed):
    for url in ("/", "/api/datasets", "/api/whoami", "/static/js/main.js"):
        assert reviewed.get(url).status_code == 401, url
    assert reviewed.get("/api/datasets?token=tok-carol").status_code == 401
    assert reviewed.get("/api/datasets", headers={"X-LabelLens-Token": "tok-alice"}).status_code == 401
    response = reviewed.post("/api/datasets/app-test/count", json={})
    assert response.status_code == 401
    assert "?token=" in response.json()["error"]


def test_each_token_works_and_names_its_reviewer(reviewed, dataset):
    assert whoami(reviewed, "tok-alice-0123456789") == {"reviewer": "alice"}
    assert whoami(reviewed, "tok-bob-0123456789") == {"reviewer": "bob"}
    assert whoami(reviewed, "op") == {"reviewer": None}
    for token in (*REVIEWERS, "op"):
        count = reviewed.post("/api/datasets/app-test/count", json={}, headers={"X-LabelLens-Token": token})
        assert count.json() == {"count": len(dataset)}


def test_without_reviewers_nobody_is_named(client):
    assert whoami(client) == {"reviewer": None}


def test_a_cookie_per_token_and_two_reviewers_in_one_browser(reviewed):
    first = reviewed.get("/?token=tok-alice-0123456789")
    assert first.status_code == 200 and "HttpOnly" in first.headers["set-cookie"]
    # the page's own requests carry alice's cookie: she is named without sending her token
    assert reviewed.get("/static/js/main.js").status_code == 200
    assert whoami(reviewed) == {"reviewer": "alice"}
    assert reviewed.post("/api/session/selected", json={"ids": []}).status_code == 200
    # bob opens his URL in the same browser: a second cookie, alice's stays
    assert reviewed.get("/?token=tok-bob-0123456789").status_code == 200
    assert len(reviewed.cookies) == 2
    assert reviewed.get("/static/js/main.js").status_code == 200
    # cookies alone no longer say who it is: no name, and no write without the page's own token
    assert whoami(reviewed) == {"reviewer": None}
    refused = reviewed.post("/api/session/selected", json={"ids": []})
    assert refused.status_code == 401 and "several reviewers" in refused.json()["error"]
    # the token sent with the request decides, whatever the cookies hold
    assert whoami(reviewed, "tok-bob-0123456789") == {"reviewer": "bob"}
    ok = reviewed.post("/api/session/selected", json={"ids": []}, headers={"X-LabelLens-Token": "op"})
    assert ok.status_code == 200


def test_a_wrong_token_is_refused_even_with_a_good_cookie(reviewed):
    reviewed.get("/?token=tok-alice-0123456789")
    assert reviewed.get("/api/whoami?token=tok-mallory").status_code == 401


def test_the_history_records_the_tokens_reviewer_not_the_body(reviewed, dataset):
    sample = dataset.match({"ground_truth.label": "cat"}).first()
    response = decide(reviewed, sample.id, "tok-alice-0123456789", reviewer="mallory")
    assert response.status_code == 200, response.text
    assert response.json()["entry"]["reviewer"] == "alice"
    (entry,) = dataset.label_history(sample_id=sample.id)
    assert (entry["reviewer"], entry["new_label"]) == ("alice", "ship")


@pytest.mark.parametrize("reviewers", [
    {"t1": ""}, {"t1": "x" * 65}, {"t1": "al\nice"}, {"t1": "bell\x07"}, {"t1": "a", "t2": "a"},
    {"": "alice"}, {"op": "alice"}, {"t1": 3}, ["alice"],
])
def test_create_app_refuses_bad_reviewers(dataset, reviewers):
    with pytest.raises(ValidationError):
        create_app(AppState(dataset.name), token="op", reviewers=reviewers)


def read(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_session_gives_each_reviewer_a_url(dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    with launch_app(dataset, port=0, auto=False, reviewers=["alice", "Bob Smith"],
                    cache_dir=tmp_path / "thumbs") as session:
        urls = session.reviewer_urls
        assert list(urls) == ["alice", "Bob Smith"]
        every = [session.url, *urls.values()]
        assert len(set(every)) == 3 and all("?token=" in url for url in every)
        printed = capsys.readouterr().out
        for name, url in urls.items():
            assert f"  {name}: {url}" in printed
        base = session.url.split("?")[0]
        assert read(base + "api/whoami")[0] == 401
        for name, url in urls.items():
            assert read(url.replace("/?", "/api/whoami?")) == (200, {"reviewer": name})
        assert read(session.url.replace("/?", "/api/whoami?")) == (200, {"reviewer": None})


@pytest.mark.parametrize("reviewers", [[], ["alice", "alice"], ["x" * 65], ["tab\there"], "alice"])
def test_a_session_refuses_bad_reviewer_names(reviewers):
    with pytest.raises(ValidationError, match="reviewer"):
        launch_app(None, port=0, auto=False, reviewers=reviewers)


def test_loopback_without_reviewers_needs_no_token(dataset, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with launch_app(dataset, port=0, auto=False, cache_dir=tmp_path / "thumbs") as session:
        assert "token" not in session.url and session.reviewer_urls == {}
        assert read(session.url + "api/whoami") == (200, {"reviewer": None})



def test_an_undo_and_a_bulk_accept_are_recorded_under_the_tokens_reviewer(reviewed, dataset):
    bob = {"X-LabelLens-Token": "tok-bob-0123456789"}
    cats = dataset.match({"ground_truth.label": "cat"})
    sample = cats.first()
    entry = decide(reviewed, sample.id, "tok-alice-0123456789").json()["entry"]
    undo = reviewed.post("/api/datasets/app-test/review/undo", headers=bob, json={
        "client": "tab-1", "sample_id": sample.id, "entry_id": entry["id"], "reviewer": "mallory"})
    assert undo.status_code == 200, undo.text
    assert [(e["decision"], e["reviewer"]) for e in dataset.label_history(sample_id=sample.id)] == \
        [("undo", "bob"), ("pick", "alice")]
    dataset.set_values("label_issue_suggestion", ["dog"] * len(dataset))
    bulk = reviewed.post("/api/datasets/app-test/review/bulk", headers=bob,
                         json={"ids": cats.values("id"), "confirm": True, "reviewer": "mallory"})
    assert bulk.status_code == 200, bulk.text
    assert {e["reviewer"] for e in dataset.label_history() if e["decision"] == "accept"} == {"bob"}
