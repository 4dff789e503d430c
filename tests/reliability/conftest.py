"""Fixtures for the reliability tests: real mongod processes that the tests may kill.

Each fixture stops every process it started in its finalizer, also when the test
fails (processes run in their own process groups, see ``mongo_procs.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from mongo_procs import Mongod, ReplicaSet

from labellens import db


@pytest.fixture(scope="module")
def replica_set(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicaSet]:
    """A 3-member replica set on loopback ports, shared by a module's tests."""
    rs = ReplicaSet(tmp_path_factory.mktemp("rs"))
    try:
        rs.start()
        yield rs
    finally:
        rs.stop()
        db.close_clients()


@pytest.fixture
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mongod]:
    """A standalone mongod of the test's own (so the test may kill it)."""
    server = Mongod(tmp_path_factory.mktemp("standalone"))
    try:
        yield server.start()
    finally:
        server.stop()
        db.close_clients()


@pytest.fixture
def database_name(request: pytest.FixtureRequest) -> str:
    return f"rel_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
