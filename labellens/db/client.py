"""The one owner of database connections.

Everything else asks this module for a database or a collection; nothing else
creates a client. The URI comes from :mod:`labellens.db.config`: a configured
URI, ``mongomock://`` for the in-memory backend, or the embedded ``mongod``
(started on first use). Connection problems surface within a few seconds as a
:class:`~labellens.errors.DatabaseUnavailableError` that names the URI.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any

import pymongo
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

from labellens.db import config, mongod
from labellens.errors import DatabaseUnavailableError

TIMEOUT_MS = 3000

_lock = threading.RLock()
_clients: dict[str, Any] = {}
_embedded: dict[Path, mongod.ServerInfo] = {}
_bindings: dict[tuple[Any, ...], Binding] = {}
_generation = 0  # bumped when clients close or a server is lost: bindings then resolve again


class Binding:
    """One database, resolved once: its URI and client are looked up on first use and reused.

    Nothing is probed per operation. When the clients are closed or an operation
    finds the server gone (see :func:`unavailable`), the next use resolves again,
    which restarts a lost embedded server (with a warning).
    """

    def __init__(self, uri: str | None = None, name: str | None = None) -> None:
        self._configured = uri
        self.name = name or config.database_name()
        self.uri = uri or ""
        self._database: Database | None = None
        self._generation = -1

    @property
    def database(self) -> Database:
        if self._generation != _generation or self._database is None:
            with _lock:
                generation = _generation
                self.uri = self._configured or resolve_uri()
                self._database = get_client(self.uri)[self.name]
                self._generation = generation
        return self._database

    @property
    def is_mock(self) -> bool:
        return config.is_mock(self._configured or config.database_uri())


def binding() -> Binding:
    """The binding for the configured database (one per URI and name, shared by every dataset)."""
    uri = config.database_uri()
    key = (uri, None if uri else config.database_dir(), config.database_name())
    with _lock:
        bound = _bindings.get(key)
        if bound is None:
            bound = _bindings[key] = Binding(uri, config.database_name())
        return bound


def resolve_uri() -> str:
    """The URI in force: the configured one, else the embedded server's (started if needed).

    If the embedded server this process was using has died, it is started again
    and a warning says so: writes it acknowledged just before dying may be lost.
    """
    uri = config.database_uri()
    if uri:
        return uri
    dbpath = config.database_dir()
    info = mongod.ensure_server(dbpath)
    previous = _embedded.get(dbpath)
    if previous is not None and previous.pid != info.pid:
        warnings.warn(
            f"the embedded mongod this process was using (pid {previous.pid}, port {previous.port}) "
            f"stopped; labellens started it again (pid {info.pid}, port {info.port}). Writes it "
            f"acknowledged in its last ~100 ms may be lost: check your data. See {dbpath}/mongod.log",
            RuntimeWarning, stacklevel=2)
    _embedded[dbpath] = info
    return info.uri


def get_client(uri: str | None = None) -> Any:
    """A cached sync client for ``uri`` (default: the configured one), checked to be reachable."""
    uri = uri or resolve_uri()
    with _lock:
        client = _clients.get(uri)
        if client is None:
            client = _connect(uri)
            _clients[uri] = client
        return client


def get_database(uri: str | None = None, name: str | None = None) -> Database:
    """The labellens database on the configured server."""
    return get_client(uri)[name or config.database_name()]


def get_async_client(uri: str | None = None) -> pymongo.AsyncMongoClient:
    """A new pymongo async client (bind it to one event loop; the caller closes it)."""
    uri = uri or resolve_uri()
    if config.is_mock(uri):
        raise DatabaseUnavailableError("the mongomock:// backend has no async client")
    return pymongo.AsyncMongoClient(uri, serverSelectionTimeoutMS=TIMEOUT_MS,
                                    connectTimeoutMS=TIMEOUT_MS, tz_aware=True)


def current_uri() -> str:
    """The URI the process uses, for messages: no password (does not start a server)."""
    uri = config.database_uri()
    if uri:
        return config.redact(uri)
    info = mongod.running_server()
    return info.display_uri if info else f"the embedded mongod in {config.database_dir()}"


def close_clients() -> None:
    """Close every cached client (the next call reconnects, e.g. after the settings change)."""
    global _generation
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
        _generation += 1


def _lost() -> None:
    """A server was found unreachable: every binding resolves again on its next use."""
    global _generation
    with _lock:
        _generation += 1


def unavailable(uri: str, exc: BaseException) -> DatabaseUnavailableError:
    """The error to raise when the server at ``uri`` cannot be reached (bindings resolve again)."""
    _lost()
    uri = config.redact(uri)
    where = uri if config.database_uri() else f"{uri} (the embedded mongod in {config.database_dir()})"
    return DatabaseUnavailableError(
        f"cannot reach MongoDB at {where} ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). "
        "Start the embedded server with `labellens db start` (or unset LABELLENS_DATABASE_URI "
        "to let labellens start it), or point LABELLENS_DATABASE_URI at a running server"
    )


def _connect(uri: str) -> Any:
    if config.is_mock(uri):
        return _mock_client()
    try:
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=TIMEOUT_MS,
                                     connectTimeoutMS=TIMEOUT_MS, tz_aware=True)
        client.admin.command("ping")
    except OperationFailure as exc:
        if exc.code != mongod.AUTH_FAILED:
            raise unavailable(uri, exc) from None
        fix = (f"check the credential file {config.database_dir() / mongod.CREDENTIALS_FILE}"
               if not config.database_uri() else "check the user and password in LABELLENS_DATABASE_URI")
        raise DatabaseUnavailableError(
            f"MongoDB at {config.redact(uri)} refused the credentials (authentication failed); {fix}"
        ) from None
    except PyMongoError as exc:
        raise unavailable(uri, exc) from None
    return client


def _mock_client() -> Any:
    # The in-memory backend is for tests and demos (the `mock` extra): import it only when it is
    # asked for, so `import labellens` stays fast and works without it.
    try:
        import mongomock
    except ImportError as exc:
        raise DatabaseUnavailableError(
            f"LABELLENS_DATABASE_URI={config.MOCK_URI} selects the in-memory test backend, which needs "
            f"mongomock ({exc}): pip install 'labellens[mock]', or unset LABELLENS_DATABASE_URI to use "
            "the embedded mongod") from None
    return mongomock.MongoClient(tz_aware=True)
