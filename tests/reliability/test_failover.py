"""Failover: the primary of a 3-member replica set is SIGKILLed in the middle of a bulk call.

Each test runs a bulk call (add_samples and set_values of 50,000 samples,
apply_model, compute_mistakenness), kills the primary part-way, and checks that
the call either completes (pymongo's retryable writes ride out the ~2 s
election) or raises a DatabaseUnavailableError that says how much it wrote; and
that at the end, after re-running the documented resume step, every sample is
there exactly once with the right values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pymongo
import pytest
from mongo_procs import KillWhen, ReplicaSet, use_database

import labellens as ll
from labellens import db
from labellens.errors import DatabaseUnavailableError

N = 50_000
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def make_samples(n: int = N) -> Iterator[ll.Sample]:
    """The same samples every time it is called (a re-run of an ingest script)."""
    for i in range(n):
        yield ll.Sample(filepath=f"/data/cifar/{i:06d}.png", tags=["train"],
                        ground_truth=ll.Classification(label=CLASSES[i % 10]))


def resume_add(dataset: ll.Dataset) -> None:
    """The documented resume step: add only the samples whose filepath is not stored yet."""
    stored = set(dataset.values("filepath"))
    dataset.add_samples(s for s in make_samples() if s.filepath not in stored)


def assert_complete(dataset: ll.Dataset) -> None:
    """Every sample exactly once: no duplicate, none lost."""
    paths = dataset.values("filepath")
    assert len(paths) == N
    assert len(set(paths)) == N


@pytest.fixture
def rs_dataset(replica_set: ReplicaSet, monkeypatch: pytest.MonkeyPatch,
               database_name: str) -> Iterator[tuple[ReplicaSet, ll.Dataset, list[KillWhen]]]:
    """A dataset on the replica set; killed members are restarted and the database dropped after."""
    use_database(monkeypatch, replica_set.uri, database_name)
    killers: list[KillWhen] = []
    yield replica_set, ll.Dataset("failover"), killers
    for killer in killers:
        killer.cancel()
        killer.restart_killed()
    db.close_clients()
    db.get_client().drop_database(database_name)
    db.close_clients()


def count_in(dataset: ll.Dataset, query: dict | None = None) -> Callable[[pymongo.MongoClient], int]:
    """What the killer thread polls: how many samples (matching ``query``) are stored."""
    name, collection = db.get_database().name, dataset.collection_name
    return lambda client: client[name][collection].count_documents(query or {})


def run_once(call: Callable[[], object]) -> tuple[DatabaseUnavailableError | None, float]:
    """Run the call the kill interrupts: its error (None when it completed) and when it ended."""
    try:
        call()
    except DatabaseUnavailableError as exc:
        return exc, time.monotonic()
    return None, time.monotonic()


def assert_killed_during(killer: KillWhen, call_end: float) -> None:
    """The kill landed while the call was running (not after it had finished)."""
    killer.join(timeout=30)
    assert killer.killed_at is not None, f"the primary was never killed (saw {killer.seen})"
    assert killer.killed_at < call_end, "the call finished before the primary was killed"


def test_add_samples_survives_primary_kill(rs_dataset) -> None:
    rs, dataset, killers = rs_dataset
    killer = KillWhen(rs, count_in(dataset), at=N // 3)
    killers.append(killer)
    killer.start()
    error, end = run_once(lambda: dataset.add_samples(make_samples()))
    assert_killed_during(killer, end)
    if error is not None:
        assert "add_samples" in str(error)
        rs.wait_for_primary()
        resume_add(dataset)
    assert_complete(dataset)


def test_add_samples_without_majority_fails_clearly_then_resumes(rs_dataset) -> None:
    rs, dataset, killers = rs_dataset
    killer = KillWhen(rs, count_in(dataset), at=N // 3, secondaries=1)
    killers.append(killer)
    killer.start()
    error, end = run_once(lambda: dataset.add_samples(make_samples()))
    assert_killed_during(killer, end)
    assert error is not None, "add_samples completed without a majority"
    message = str(error)
    assert "cannot reach MongoDB" in message and rs.uri in message
    assert "add_samples stopped after writing up to" in message and "dataset.values('filepath')" in message
    killer.restart_killed()
    resume_add(dataset)
    assert_complete(dataset)


def test_set_values_survives_primary_kill(rs_dataset) -> None:
    rs, dataset, killers = rs_dataset
    dataset.add_samples(make_samples())
    ids = dataset.values("id")
    labels = [CLASSES[(i * 7) % 10] for i in range(N)]
    predictions = [ll.Classification(label=label, confidence=0.5) for label in labels]
    killer = KillWhen(rs, count_in(dataset, {"predictions": {"$exists": True}}), at=N // 3)
    killers.append(killer)
    killer.start()
    error, end = run_once(lambda: dataset.set_values("predictions", predictions, ids=ids))
    assert_killed_during(killer, end)
    if error is not None:
        assert "set_values" in str(error) and "Re-running the same call is safe" in str(error)
        rs.wait_for_primary()
        dataset.set_values("predictions", predictions, ids=ids)
    stored = dict(zip(dataset.values("id"), dataset.values("predictions.label")))
    assert len(stored) == N
    assert [stored[i] for i in ids] == labels


IMAGES = 1500


@pytest.fixture(scope="module")
def grey_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """One tiny PNG per grey level (samples share them: sample i shows grey i % 256)."""
    from tiny_images import png_bytes

    folder = tmp_path_factory.mktemp("grey")
    files = []
    for grey in range(256):
        path = folder / f"{grey:03d}.png"
        path.write_bytes(png_bytes(grey))
        files.append(str(path))
    return files


def test_apply_model_resumes_after_primary_kill(rs_dataset, grey_files) -> None:
    pytest.importorskip("torch")
    inference = pytest.importorskip("labellens.inference")
    from tiny_images import CLASSES, MeanColour, expected_label

    rs, dataset, killers = rs_dataset
    ids = dataset.add_samples(ll.Sample(filepath=grey_files[i % 256]) for i in range(IMAGES))
    killer = KillWhen(rs, count_in(dataset, {"pred": {"$exists": True}}), at=IMAGES // 3)
    killers.append(killer)
    killer.start()
    run = dict(classes=CLASSES, batch_size=64, num_workers=0, progress=False)
    error, end = run_once(lambda: inference.apply_model(dataset, MeanColour(), "pred", **run))
    assert_killed_during(killer, end)
    if error is not None:
        assert "stopped part-way" in str(error)
        rs.wait_for_primary()
        summary = inference.apply_model(dataset, MeanColour(), "pred", skip_existing=True, **run)
        assert summary.skipped_existing + summary.processed == IMAGES
    labels = dict(zip(dataset.values("id"), dataset.values("pred.label")))
    assert len(labels) == IMAGES
    assert [labels[i] for i in ids] == [expected_label(i % 256) for i in range(IMAGES)]


SCORED = 30_000


def test_compute_mistakenness_reruns_after_primary_kill(rs_dataset) -> None:
    brain = pytest.importorskip("labellens.brain")
    rs, dataset, killers = rs_dataset
    confidence = [0.5 + (i % 50) / 100 for i in range(SCORED)]
    wrong = [i % 7 == 0 for i in range(SCORED)]
    dataset.add_samples(
        ll.Sample(filepath=f"/data/{i:06d}.png", ground_truth=ll.Classification(label="cat"),
                  predictions=ll.Classification(label="dog" if wrong[i] else "cat", confidence=confidence[i]))
        for i in range(SCORED))
    ids = dataset.values("id")
    killer = KillWhen(rs, count_in(dataset, {"mistakenness": {"$exists": True}}), at=SCORED // 3)
    killers.append(killer)
    killer.start()
    error, end = run_once(lambda: brain.compute_mistakenness(dataset, "predictions", progress=False))
    assert_killed_during(killer, end)
    if error is not None:
        assert "MongoDB" in str(error)
        rs.wait_for_primary()
        brain.compute_mistakenness(dataset, "predictions", progress=False)
    scores = dict(zip(dataset.values("id"), dataset.values("mistakenness")))
    expected = [((1 if w else -1) * c + 1) / 2 for w, c in zip(wrong, confidence)]
    assert [scores[i] for i in ids] == pytest.approx(expected)
    assert dataset.list_brain_runs() == ["mistakenness"]
