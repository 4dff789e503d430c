"""Shared fixtures: one real mongod per test session, and a ``backend`` fixture
that runs each test on mongomock and on that mongod.

Set ``LABELLENS_TEST_BACKENDS=mongomock`` to run only the in-memory backend.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from labellens import db
from labellens.db import mongod

SHARED = Path(__file__).resolve().parents[2] / "shared"
BACKENDS = os.environ.get("LABELLENS_TEST_BACKENDS", "mongomock,mongod").split(",")


@pytest.fixture(scope="session")
def mongod_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real mongod for the whole test session, in a temporary folder."""
    dbpath = tmp_path_factory.mktemp("mongod")
    info = mongod.ensure_server(dbpath)
    yield info.uri + "?directConnection=true"
    mongod.stop_server(dbpath)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point labellens at mongomock or the session's mongod, with a fresh database name."""
    if request.param == "mongomock":
        uri = "mongomock://"
    else:
        uri = request.getfixturevalue("mongod_uri")
    name = f"test_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    monkeypatch.setenv("LABELLENS_DATABASE_URI", uri)
    monkeypatch.setenv("LABELLENS_DATABASE_NAME", name)
    db.close_clients()
    yield request.param
    db.get_client().drop_database(name)
    db.close_clients()


@pytest.fixture(scope="session")
def cifar10_test_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared CIFAR-10 test JPEGs unpacked once: ``<dir>/<class>/<index>.jpg``."""
    archive = SHARED / "data" / "cifar10-jpg-test.tar.gz"
    if not archive.exists():
        pytest.skip(f"{archive} is missing")
    target = tmp_path_factory.mktemp("cifar10")
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target / "cifar10-jpg" / "test"


@pytest.fixture(scope="session")
def shared_models_dir() -> Path:
    """The folder of pretrained CIFAR-10 ResNet weights, usable as a model cache."""
    return SHARED / "models"


@pytest.fixture
def model_cache(shared_models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``LABELLENS_MODEL_DIR`` pointing at a temporary folder linking the shared weight files."""
    cache = tmp_path / "models"
    cache.mkdir()
    for weights in shared_models_dir.glob("*.th"):
        (cache / weights.name).symlink_to(weights)
    monkeypatch.setenv("LABELLENS_MODEL_DIR", str(cache))
    return cache


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
