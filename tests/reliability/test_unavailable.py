"""An unreachable server: every entry point fails fast with one clear message.

With LABELLENS_DATABASE_URI at a closed port, the Python API, the CLI and the App
fail within 5 seconds with a message that names the URI and says how to start a
server. When the embedded mongod dies under a running process, the next call
says so clearly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mongo_procs import free_port, use_database
from starlette.testclient import TestClient

import labellens as ll
from labellens import db
from labellens.db import mongod
from labellens.errors import DatabaseUnavailableError
from labellens.server.app import create_app

LIMIT_S = 5.0
JOURNAL_S = 0.3  # mongod journals every 100 ms: writes older than that survive a crash
HOW_TO_START = "labellens db start"


@pytest.fixture
def closed_uri(monkeypatch: pytest.MonkeyPatch) -> str:
    uri = f"mongodb://127.0.0.1:{free_port()}/"
    use_database(monkeypatch, uri, "unreachable")
    yield uri
    db.close_clients()


def assert_clear(message: str, uri: str) -> None:
    assert uri in message
    assert HOW_TO_START in message and "LABELLENS_DATABASE_URI" in message
    assert "Traceback" not in message


@pytest.mark.parametrize("call", [
    lambda: ll.Dataset("new"),
    lambda: ll.load_dataset("any"),
    lambda: ll.list_datasets(),
    lambda: ll.dataset_exists("any"),
], ids=["Dataset", "load_dataset", "list_datasets", "dataset_exists"])
def test_python_api_fails_fast_and_clearly(closed_uri: str, call) -> None:
    start = time.monotonic()
    with pytest.raises(DatabaseUnavailableError) as info:
        call()
    assert time.monotonic() - start < LIMIT_S
    assert_clear(str(info.value), closed_uri)


def test_cli_fails_fast_with_one_message(closed_uri: str) -> None:
    command = [sys.executable, "-c", "from labellens.cli.main import main; main()", "datasets", "list"]
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "import labellens.cli.main"], check=True, timeout=30)
    startup = time.monotonic() - start
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, env=os.environ.copy())
    elapsed = time.monotonic() - start - startup
    assert result.returncode != 0
    assert elapsed < LIMIT_S, f"took {elapsed:.1f} s after a {startup:.1f} s Python start-up"
    assert_clear(result.stderr, closed_uri)
    assert result.stderr.count(closed_uri) == 1, result.stderr


def test_app_answers_503_fast_with_the_message(closed_uri: str) -> None:
    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        start = time.monotonic()
        response = client.get("/api/datasets")
        elapsed = time.monotonic() - start
    assert response.status_code == 503
    assert elapsed < LIMIT_S, f"took {elapsed:.1f} s"
    assert_clear(response.json()["error"], closed_uri)


def test_embedded_mongod_killed_under_a_running_process(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """An iteration in flight fails clearly; the next call restarts the server and warns."""
    monkeypatch.delenv("LABELLENS_DATABASE_URI", raising=False)
    monkeypatch.setenv("LABELLENS_DATABASE_DIR", str(tmp_path))
    monkeypatch.setenv("LABELLENS_DATABASE_NAME", "embedded")
    db.close_clients()
    try:
        dataset = ll.Dataset("kept", persistent=True)
        dataset.add_samples(ll.Sample(filepath=f"/img/{i}.png") for i in range(100))
        time.sleep(JOURNAL_S)
        info = mongod.running_server(tmp_path)
        assert info is not None
        # The dataset is bound to its server: operations do not probe the embedded mongod.
        probes: list[Path] = []
        ensure_server = mongod.ensure_server
        monkeypatch.setattr(mongod, "ensure_server", lambda path: probes.append(path) or ensure_server(path))
        for _ in range(3):
            assert dataset.first().filepath == "/img/0.png" and len(dataset) == 100
            assert len(dataset.sort_by("filepath").limit(5).values("id")) == 5
        assert probes == []
        samples = dataset.iter_samples(batch_size=10)
        next(samples)
        os.kill(info.pid, signal.SIGKILL)
        # A killed process takes a moment to be gone (on a loaded machine, long enough for its port to
        # still accept a connection): the scenario is a server that has died, so wait until it has.
        deadline = time.monotonic() + LIMIT_S
        while mongod.running_server(tmp_path) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        start = time.monotonic()
        with pytest.raises(DatabaseUnavailableError, match="mongod") as error:
            list(samples)
        assert time.monotonic() - start < LIMIT_S
        assert str(tmp_path) in str(error.value) or info.uri in str(error.value)
        assert HOW_TO_START in str(error.value)
        with pytest.warns(RuntimeWarning, match=f"pid {info.pid}.*stopped.*started it again"):
            assert len(dataset) == 100
        assert probes == [tmp_path]  # the lost server was resolved (and restarted) once
        assert len(dataset) == 100 and probes == [tmp_path]
    finally:
        db.close_clients()
        mongod.stop_server(tmp_path)
