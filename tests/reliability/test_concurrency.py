"""Concurrent writers on a real mongod: no lost write, a race-free name, a clear error on deletion."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

import pytest
from concurrency_workers import PER_SAMPLE_SAVES, create_dataset, delete_dataset, write_fields
from mongo_procs import use_database

import labellens as ll
from labellens import db
from labellens.errors import DatasetNotFoundError

N = 10_000
WRITERS = 4
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def real_db(mongod_uri: str, monkeypatch: pytest.MonkeyPatch,
            database_name: str) -> Iterator[tuple[str, str]]:
    use_database(monkeypatch, mongod_uri, database_name)
    yield mongod_uri, database_name
    db.get_client().drop_database(database_name)
    db.close_clients()


def run_all(target, argument_lists: list[tuple], timeout: float = 120.0) -> None:
    processes = [SPAWN.Process(target=target, args=args) for args in argument_lists]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join(timeout)
            assert process.exitcode == 0, f"worker exited with {process.exitcode}"
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()


def test_four_writers_lose_no_write(real_db: tuple[str, str]) -> None:
    uri, database = real_db
    dataset = ll.Dataset("shared", persistent=True)
    dataset.add_samples(ll.Sample(filepath=f"/img/{i:05d}.png") for i in range(N))
    barrier = SPAWN.Barrier(WRITERS)
    run_all(write_fields, [(uri, database, "shared", k, barrier) for k in range(WRITERS)])
    ids = dataset.values("id")
    paths = dataset.values("filepath")
    for k in range(WRITERS):
        assert dataset.values(f"bulk{k}") == [i * (k + 1) for i in range(N)]
        assert dataset.values(f"save{k}") == [f"{k}:{p}" for p in paths]
        ones = dict(zip(ids, dataset.values(f"one{k}")))
        assert [ones[i] for i in ids[:PER_SAMPLE_SAVES]] == [k] * PER_SAMPLE_SAVES
        assert dataset.count(f"one{k}") == PER_SAMPLE_SAVES
    schema = dataset.get_field_schema()
    assert all(schema[f"bulk{k}"] == "IntField" and schema[f"save{k}"] == "StringField"
               for k in range(WRITERS))


def test_same_name_at_the_same_moment(real_db: tuple[str, str]) -> None:
    uri, database = real_db
    names = [f"race{i}" for i in range(5)]
    barrier, results = SPAWN.Barrier(2), SPAWN.Queue()
    run_all(create_dataset, [(uri, database, names, barrier, results)] * 2)
    outcomes = [results.get(timeout=10) for _ in range(2)]
    for first, second in zip(*outcomes):
        assert sorted([first, second]) == ["DatasetExistsError", "created"]
    assert ll.list_datasets("race*") == names


def test_dataset_deleted_while_iterating(real_db: tuple[str, str]) -> None:
    uri, database = real_db
    dataset = ll.Dataset("doomed", persistent=True)
    dataset.add_samples(ll.Sample(filepath=f"/img/{i:05d}.png") for i in range(5000))
    samples = dataset.iter_samples(batch_size=100)
    next(samples)
    run_all(delete_dataset, [(uri, database, "doomed")])
    with pytest.raises(DatasetNotFoundError, match="doomed"):
        for _ in samples:
            pass
    with pytest.raises(DatasetNotFoundError, match="doomed"):
        dataset.values("id")
