"""One local Ray (loopback, 2 worker CPUs) for the whole test session, and datasets on the real mongod."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

ray = pytest.importorskip("ray", reason="labellens.distributed needs the cluster extra (ray)")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """A Ray head on 127.0.0.1 with 2 CPUs, started once and shut down at the end (also on failure)."""
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture
def real_db(real_mongod: str, ray_cluster: None) -> str:
    """The session's mongod with a fresh database name (workers get the URI and name explicitly)."""
    return real_mongod
