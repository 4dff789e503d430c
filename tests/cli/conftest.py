"""Fixtures for the CLI's end-to-end runs."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from labellens import db


@pytest.fixture
def real_mongod(request: pytest.FixtureRequest, mongod_uri: str,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point labellens at the session's real mongod only, with a fresh database.

    For end-to-end runs that write every sample several times: mongomock scans the
    whole collection for each id of a bulk write, so a 1,797-sample demo takes a
    minute there and seconds on mongod. The API these runs use is tested on both
    backends elsewhere.
    """
    name = f"test_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    monkeypatch.setenv("LABELLENS_DATABASE_URI", mongod_uri)
    monkeypatch.setenv("LABELLENS_DATABASE_NAME", name)
    db.close_clients()
    yield mongod_uri
    db.get_client().drop_database(name)
    db.close_clients()
