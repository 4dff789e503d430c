"""Sharding a view for several workers: disjoint, complete, and safe from two processes."""

import os
import subprocess
import sys
import textwrap

import pytest

import labellens as ll
import labellens.stages
from labellens import db
from labellens.errors import StageError


def test_shards_are_disjoint_and_cover_the_view(backend):
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(f"/img/{i}.png", tags=["a" if i % 2 else "b"]) for i in range(600))
    view = ds.match_tags("a")
    shards = [set(view.shard(i, 3).values("id")) for i in range(3)]
    assert set.union(*shards) == set(view.values("id"))
    assert sum(len(s) for s in shards) == len(view)
    assert all(len(s) > 50 for s in shards)


@pytest.mark.parametrize("index, count", [(2, 2), (-1, 2), (0, 0), ("0", 2)])
def test_bad_shards_are_refused(index, count):
    with pytest.raises(StageError):
        ll.stages.Shard(index, count)


WORKER = textwrap.dedent("""
    import sys
    import labellens as ll
    index = int(sys.argv[1])
    shard = ll.load_dataset("sharded").shard(index, 2)
    shard.set_values("worker", [index] * len(shard))
""")


def test_two_worker_processes_each_write_their_shard(monkeypatch, mongod_uri):
    monkeypatch.setenv("LABELLENS_DATABASE_URI", mongod_uri)
    monkeypatch.setenv("LABELLENS_DATABASE_NAME", "sharding")
    db.close_clients()
    ds = ll.Dataset("sharded", persistent=True, overwrite=True)
    ds.add_samples(ll.Sample(f"/img/{i}.png") for i in range(2000))
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(i)], env=os.environ) for i in range(2)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    counts = ds.count_values("worker")
    assert None not in counts and sum(counts.values()) == 2000 and set(counts) == {0, 1}
    ds.delete()
    db.close_clients()
