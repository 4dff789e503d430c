"""Sharding a view for several workers: disjoint, complete, and safe from two processes."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from bson import ObjectId

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


def test_a_shard_is_a_range_of_the_stored_random_value():
    assert ll.stages.Shard(1, 4).to_mongo(None) == [{"$match": {"_rand": {"$gte": 0.25, "$lt": 0.5}}}]
    assert ll.stages.Shard(2, 3).to_mongo(None) == [{"$match": {"_rand": {"$gte": 2 / 3, "$lt": 1.0}}}]


def test_values_on_shard_boundaries_fall_in_exactly_one_shard(backend):
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(f"/img/{i}.png") for i in range(7))
    edges = [0.0, 1 / 3, 2 / 3, 0.25, 0.5, 0.75, 1 - 2**-53]
    ds._record.samples.update_by_id([(ObjectId(i), {"_rand": r}, []) for i, r in zip(ds.values("id"), edges)])
    for count in (3, 4):
        shards = [ds.shard(i, count).values("id") for i in range(count)]
        assert sorted(sum(shards, [])) == sorted(ds.values("id"))


def test_an_index_on_the_random_value_serves_the_shards(backend):
    if backend != "mongod":
        pytest.skip("query plans are a real mongod's")
    ds = ll.Dataset()
    ds.add_samples(ll.Sample(f"/img/{i}.png") for i in range(300))
    ds.create_index("_rand")
    plan = json.dumps(ds.shard(1, 3).explain(), default=str)
    assert "IXSCAN" in plan and "_rand" in plan, plan


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
