"""Sessions: the App in a background thread, live updates to open tabs, selection, freeze, close."""

from __future__ import annotations

import json
import queue
import socket
import threading

import httpx
import pytest
from PIL import Image

from labellens import F
from labellens.errors import ValidationError
from labellens.session import Session, launch_app


@pytest.fixture
def session(dataset, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with launch_app(dataset, port=0, auto=False, cache_dir=tmp_path / "thumbs") as running:
        yield running


def listen(url: str) -> queue.Queue:
    """Events of the App's live-update stream, read in a thread."""
    events: queue.Queue = queue.Queue()

    def read() -> None:
        try:
            with httpx.stream("GET", url + "api/events", timeout=30) as response:
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        events.put(json.loads(line[5:]))
        except httpx.HTTPError:
            events.put(None)
        events.put(None)

    threading.Thread(target=read, daemon=True).start()
    return events


def test_launch_serves_the_dataset(session, dataset, capsys):
    assert session.url == f"http://127.0.0.1:{session.port}/"
    assert session.running
    assert session.dataset is dataset and session.view is None
    summary = httpx.get(session.url + "api/datasets/app-test").json()
    assert summary["count"] == len(dataset)
    assert "Welcome" not in httpx.get(session.url).text


def test_setting_the_view_updates_open_tabs(session, dataset):
    events = listen(session.url)
    first = events.get(timeout=10)
    assert first["type"] == "state" and first["view"] == [] and first["dataset"] == "app-test"
    view = dataset.match_tags("train").sort_by("mistakenness", reverse=True)
    session.view = view
    update = events.get(timeout=10)
    assert update["type"] == "state" and update["view"] == view.to_json()
    assert session.view == view
    assert httpx.get(session.url + "api/session").json()["view"] == view.to_json()
    session.view = None
    assert events.get(timeout=10)["view"] == []
    assert session.view is None and session.dataset is dataset
    session.refresh()
    assert events.get(timeout=10)["type"] == "refresh"


def test_selection_from_the_browser(session, dataset):
    ids = dataset.values("id")[2:5]
    response = httpx.post(session.url + "api/session/selected", json={"ids": ids})
    assert response.status_code == 200
    assert session.selected == ids
    assert sorted(session.selected_view.values("id")) == sorted(ids)


def test_close_ends_streams_and_frees_the_port(dataset, tmp_path):
    session = launch_app(dataset, port=0, auto=False, cache_dir=tmp_path)
    events = listen(session.url)
    assert events.get(timeout=10)["type"] == "state"
    session.close()
    assert events.get(timeout=10) is None
    assert not session.running
    session.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", session.port))


def test_relaunch_on_the_same_port_replaces_the_session(dataset, tmp_path):
    first = launch_app(dataset, port=0, auto=False, cache_dir=tmp_path)
    second = launch_app(dataset.match_tags("test"), port=first.port, auto=False, cache_dir=tmp_path)
    try:
        assert not first.running and second.running
        assert httpx.get(second.url + "api/session").json()["view"] == dataset.match_tags("test").to_json()
    finally:
        second.close()


def test_port_in_use_is_a_clear_error(dataset):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        with pytest.raises(ValidationError, match="another port"):
            launch_app(dataset, port=busy.getsockname()[1], auto=False)


def test_other_addresses_require_the_token(dataset, tmp_path):
    with Session(dataset, port=0, address="0.0.0.0", auto=False, cache_dir=tmp_path) as session:
        assert "?token=" in session.url
        base = f"http://127.0.0.1:{session.port}/"
        assert httpx.get(base + "api/datasets").status_code == 401
        token = session.url.split("token=")[1]
        assert httpx.get(base + "api/datasets", params={"token": token}).status_code == 200


def test_bad_values_are_refused(session):
    with pytest.raises(ValidationError):
        session.view = "everything"
    with pytest.raises(ValidationError):
        launch_app(None, port=-5, auto=False)


def test_freeze_writes_html_and_png_of_what_the_app_shows(session, dataset, tmp_path):
    session.view = dataset.match(F("mistakenness") > 0.4)
    httpx.post(session.url + "api/session/ui",
               json={"filters": {"sort": {"field": "mistakenness", "reverse": True}}})
    page = session.freeze(tmp_path / "shot.html")
    html = page.read_text()
    assert "app-test" in html and html.count("data:image/png;base64,") == 7
    assert "sorted by mistakenness desc" in html
    data = json.loads(html.split("const data = ", 1)[1].split(";\n", 1)[0])
    scores = [sample["mistakenness"] for sample in data["samples"]]
    assert len(scores) == 7 and scores == sorted(scores, reverse=True)
    assert round(scores[0], 3) == 0.917 and 0.5 in [round(s, 3) for s in scores]
    picture = session.freeze(tmp_path / "shot.png", limit=3)
    with Image.open(picture) as image:
        assert image.width > 300 and image.height > 100


def test_wait_returns_after_timeout_or_close(session):
    session.wait(timeout=0.1)
    assert session.running
    threading.Timer(0.2, session.close).start()
    session.wait(timeout=10)
    assert not session.running
