"""Worker processes for the concurrency tests (importable by spawned children)."""

from __future__ import annotations

import os
from typing import Any

import labellens as ll
from labellens.errors import LabelLensError

PER_SAMPLE_SAVES = 100


def connect(uri: str, database: str) -> None:
    os.environ["LABELLENS_DATABASE_URI"] = uri
    os.environ["LABELLENS_DATABASE_NAME"] = database


def write_fields(uri: str, database: str, name: str, k: int, barrier: Any) -> None:
    """Process ``k`` writes its own fields on every sample: set_values, autosave and sample.save()."""
    connect(uri, database)
    dataset = ll.load_dataset(name)
    ids = dataset.values("id")
    barrier.wait()
    dataset.set_values(f"bulk{k}", [i * (k + 1) for i in range(len(ids))], ids=ids)
    for sample in dataset.iter_samples(autosave=True, batch_size=1000):
        sample[f"save{k}"] = f"{k}:{sample.filepath}"
    for sample_id in ids[:PER_SAMPLE_SAVES]:
        sample = dataset[sample_id]
        sample[f"one{k}"] = k
        sample.save()


def create_dataset(uri: str, database: str, names: list[str], barrier: Any, results: Any) -> None:
    """Create each dataset at the same moment as the other worker; put what happened to each."""
    connect(uri, database)
    ll.list_datasets()  # connect and open the catalog before the race starts
    outcomes = []
    for name in names:
        barrier.wait()
        try:
            ll.Dataset(name, persistent=True)
            outcomes.append("created")
        except LabelLensError as exc:
            outcomes.append(type(exc).__name__)
    results.put(outcomes)


def delete_dataset(uri: str, database: str, name: str) -> None:
    connect(uri, database)
    ll.delete_dataset(name)
