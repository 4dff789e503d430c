"""The embedded mongod asks for a password: only its owner's processes get in, and no message shows it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest
from click.testing import CliRunner
from pymongo.errors import OperationFailure

import labellens as ll
from labellens import db
from labellens.cli.main import cli
from labellens.db import mongod
from labellens.errors import DatabaseUnavailableError

UNAUTHORIZED = 13


@pytest.fixture
def dbdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An embedded server's data folder of the test's own, stopped (with any server left there) at the end."""
    folder = tmp_path / "mongo"
    monkeypatch.delenv("LABELLENS_DATABASE_URI", raising=False)
    monkeypatch.setenv("LABELLENS_DATABASE_DIR", str(folder))
    monkeypatch.setenv("LABELLENS_DATABASE_NAME", "auth")
    db.close_clients()
    yield folder
    db.close_clients()
    mongod.stop_server(folder)


def plain_client(port: int) -> pymongo.MongoClient:
    """A client without credentials, as any other local user could open one."""
    return pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/", directConnection=True,
                               serverSelectionTimeoutMS=5000)


def assert_refused(port: int) -> None:
    with plain_client(port) as client, pytest.raises(OperationFailure) as refused:
        client.auth.samples.find_one()
    assert refused.value.code == UNAUTHORIZED


def start_without_auth(dbpath: Path) -> subprocess.Popen:
    """A mongod on ``dbpath`` as labellens started it before authentication (no --auth)."""
    dbpath.mkdir(parents=True, exist_ok=True)
    port = mongod.free_port()
    process = subprocess.Popen([mongod.find_mongod(), "--dbpath", str(dbpath), "--bind_ip", "127.0.0.1",
                                "--port", str(port), "--logpath", str(dbpath / "mongod.log"), "--logappend"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while not mongod.port_open(port):
        assert process.poll() is None and time.monotonic() < deadline, "mongod did not start"
        time.sleep(0.05)
    process.port = port  # type: ignore[attr-defined]
    return process


def old_folder_with_data(dbpath: Path, *, keep_running: bool) -> subprocess.Popen:
    """A data folder from before authentication: one dataset, no users, no credential file."""
    process = start_without_auth(dbpath)
    os.environ["LABELLENS_DATABASE_URI"] = f"mongodb://127.0.0.1:{process.port}/"  # type: ignore[attr-defined]
    try:
        db.close_clients()
        sample = ll.Sample("/a.png", label=ll.Classification(label="cat"))
        ll.Dataset("old", persistent=True).add_samples([sample])
    finally:
        del os.environ["LABELLENS_DATABASE_URI"]
        db.close_clients()
    if keep_running:
        state = {"pid": process.pid, "port": process.port, "dbpath": str(dbpath)}  # type: ignore[attr-defined]
        (dbpath / mongod.STATE_FILE).write_text(json.dumps(state))
    else:
        process.terminate()
        process.wait(timeout=30)
    return process


def test_a_connection_without_the_credentials_is_refused(dbdir: Path) -> None:
    ds = ll.Dataset("private", persistent=True)
    ds.add_samples([ll.Sample("/a.png", label=ll.Classification(label="cat"))])
    info = mongod.running_server(dbdir)
    assert info is not None and info.auth
    assert_refused(info.port)
    with plain_client(info.port) as client, pytest.raises(OperationFailure):
        client.auth.samples.insert_one({"filepath": "/forged.png"})
    assert ll.load_dataset("private").values("label.label") == ["cat"]
    # The credential file and its folder are the owner's alone.
    assert stat.S_IMODE(dbdir.stat().st_mode) == 0o700
    assert stat.S_IMODE((dbdir / mongod.CREDENTIALS_FILE).stat().st_mode) == 0o600


def test_another_process_of_the_user_connects_with_the_stored_credential(dbdir: Path) -> None:
    ll.Dataset("shared", persistent=True).add_samples([ll.Sample("/a.png")])
    code = "import labellens as ll; print(ll.load_dataset('shared').values('filepath'))"
    result = subprocess.run([sys.executable, "-c", code], env=os.environ, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['/a.png']"


def test_the_password_shows_in_no_message_or_status(dbdir: Path) -> None:
    info = mongod.ensure_server(dbdir)
    assert info.credentials is not None
    password = info.credentials.password
    assert len(password) >= 32 and password in info.uri
    assert password not in repr(info) and password not in info.display_uri
    status = CliRunner().invoke(cli, ["db", "status"])
    assert status.exit_code == 0, status.output
    assert "auth:      on" in status.output and password not in status.output
    assert "mongodb://labellens:***@127.0.0.1:" in status.output
    started = CliRunner().invoke(cli, ["db", "start"])
    assert "auth on" in started.output and password not in started.output
    # An error that names the server's URI shows it without the password.
    mongod.stop_server(dbdir)
    error = db.client.unavailable(info.uri, ConnectionError("gone"))
    assert password not in str(error) and f"labellens:***@127.0.0.1:{info.port}" in str(error)


def test_a_wrong_password_is_a_clear_error_without_the_password(monkeypatch: pytest.MonkeyPatch,
                                                                 dbdir: Path) -> None:
    info = mongod.ensure_server(dbdir)
    monkeypatch.setenv("LABELLENS_DATABASE_URI", f"mongodb://labellens:not-the-password@127.0.0.1:{info.port}/")
    db.close_clients()
    with pytest.raises(DatabaseUnavailableError, match="refused the credentials") as error:
        ll.list_datasets()
    assert "not-the-password" not in str(error.value) and "labellens:***@" in str(error.value)


@pytest.mark.parametrize("keep_running", [False, True], ids=["stopped", "running"])
def test_a_data_folder_from_before_gets_a_credential_on_its_next_start(dbdir: Path,
                                                                       keep_running: bool) -> None:
    old = old_folder_with_data(dbdir, keep_running=keep_running)
    assert not (dbdir / mongod.CREDENTIALS_FILE).exists()
    if keep_running:
        status = CliRunner().invoke(cli, ["db", "status"]).output
        assert "auth:      OFF" in status and "labellens db start" in status
    try:
        assert ll.load_dataset("old").values("label.label") == ["cat"]
        info = mongod.running_server(dbdir)
        assert info is not None and info.auth and info.pid != old.pid
        assert (dbdir / mongod.CREDENTIALS_FILE).exists()
        assert_refused(info.port)
        # The next start reuses the stored credential.
        db.close_clients()
        assert mongod.stop_server(dbdir)
        with pytest.warns(RuntimeWarning, match="started it again"):
            assert ll.load_dataset("old").values("label.label") == ["cat"]
    finally:
        old.kill()
        old.wait(timeout=30)


def test_a_lost_credential_file_is_a_clear_error_and_leaves_no_server(dbdir: Path) -> None:
    mongod.ensure_server(dbdir)
    assert mongod.stop_server(dbdir)
    (dbdir / mongod.CREDENTIALS_FILE).unlink()
    with pytest.raises(DatabaseUnavailableError, match="already has database users") as error:
        mongod.ensure_server(dbdir)
    assert str(dbdir / mongod.CREDENTIALS_FILE) in str(error.value)
    assert mongod.running_server(dbdir) is None
    assert not (dbdir / mongod.CREDENTIALS_FILE).exists()
