"""Running an operation over a view's shards as Ray tasks that write to the shared MongoDB.

The driver counts what is to do, puts the operation (and so the model) into
Ray's object store once, keeps ``workers`` shard tasks running and advances one
progress bar as shards finish. A worker process unpickles the operation on its
first shard and keeps it for the next ones, connects to the database URI it was
given, loads the dataset, and runs the operation on ``view.shard(i, n)``: the
results go straight from the worker to MongoDB. A shard whose worker process
dies is retried by Ray (``max_retries``); as the operation only does samples
without results, nothing is lost or done twice. :func:`run_indexed` runs tasks
that each get the whole view and an index (one fold of fine-tuning each) the same way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labellens import db
from labellens.dataset.collection import SampleCollection
from labellens.dataset.view import View
from labellens.db import config
from labellens.distributed.operations import pending
from labellens.errors import MissingDependencyError, ValidationError
from labellens.progress import ProgressBar
from labellens.stages.ordering import RAND_FIELD

try:
    import ray
except ImportError as exc:
    raise MissingDependencyError(
        f"labellens.distributed needs ray ({exc}); pip install 'labellens[cluster]'") from exc

SHARDS_PER_WORKER = 4


@dataclass(frozen=True)
class Target:
    """Where a worker finds the samples: database URI and name, dataset, view stages."""

    uri: str
    database: str
    dataset: str
    stages: list[dict[str, Any]]


@dataclass(frozen=True)
class DistributedSummary:
    """What a distributed run did: samples done now, samples that already had results, shards, workers."""

    field: str
    processed: int
    skipped_existing: int
    num_shards: int
    num_workers: int
    total_s: float


_operations: dict[str, Any] = {}  # per worker process: the operation (and model) of the current run


def run_shard(target: Target, shipped: list[Any], index: int, count: int) -> int:
    """In a worker: do shard ``index`` of ``count`` of the target view; returns how many samples it did.

    ``shipped`` holds the operation's object ref (in a list, so Ray does not resolve it per
    task): a worker process fetches and unpickles it on its first shard and reuses it after.
    """
    return _operation(shipped)(_view(target).shard(index, count))


def run_indexed_task(target: Target, shipped: list[Any], index: int) -> Any:
    """In a worker: ``operation(view, index)`` on the whole target view (e.g. one fold of it)."""
    return _operation(shipped)(_view(target), index)


def _operation(shipped: list[Any]) -> Any:
    key = shipped[0].hex()
    if key not in _operations:
        _operations.clear()
        _operations[key] = ray.get(shipped[0])
    return _operations[key]


def _view(target: Target) -> SampleCollection:
    """The target view, read from the target's database (the worker connects to it if need be)."""
    from labellens.dataset import load_dataset

    if (os.environ.get("LABELLENS_DATABASE_URI"), os.environ.get("LABELLENS_DATABASE_NAME")) != \
            (target.uri, target.database):
        os.environ["LABELLENS_DATABASE_URI"] = target.uri
        os.environ["LABELLENS_DATABASE_NAME"] = target.database
        db.close_clients()
    dataset = load_dataset(target.dataset)  # fresh schema: sees fields other workers added
    return dataset.view_from_json(target.stages)


def run_indexed(samples: SampleCollection, operation: Any, indices: list[int], *,
                on_done: Callable[[int, Any], None], workers: int | None, num_cpus: float, num_gpus: float,
                max_retries: int, database_uri: str | None, address: str | None, progress: bool,
                desc: str) -> int:
    """Run ``operation(view, i)`` for each of ``indices`` as Ray tasks, ``workers`` at a time, calling
    ``on_done(i, result)`` on the driver as each finishes; returns the number of workers used."""
    _check_counts(workers=workers, max_retries=max_retries)
    _check_resources(num_cpus, num_gpus)
    target = _target(samples, database_uri)
    workers = _start(workers, num_cpus, num_gpus, address)
    task = ray.remote(run_indexed_task).options(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=max_retries)
    shipped = [ray.put(operation)]
    with ProgressBar(len(indices), desc=desc, unit="task", enabled=progress) as bar:
        def done(index: int, result: Any) -> None:
            on_done(index, result)
            bar.update(1)

        _run_tasks(task, {i: (target, shipped, i) for i in indices}, workers=workers, on_done=done,
                   max_retries=max_retries)
    return workers


def run_sharded(samples: SampleCollection, operation: Any, *, workers: int | None, num_shards: int | None,
                num_cpus: float, num_gpus: float, max_retries: int, database_uri: str | None,
                address: str | None, progress: bool, desc: str) -> DistributedSummary:
    """Run ``operation`` over the shards of ``samples`` as Ray tasks (see the module docstring)."""
    start = time.perf_counter()
    _check_counts(workers=workers, num_shards=num_shards, max_retries=max_retries)
    _check_resources(num_cpus, num_gpus)
    target = _target(samples, database_uri)
    total = len(samples)
    todo = len(pending(samples, operation.output))
    workers = _start(workers, num_cpus, num_gpus, address)
    num_shards = num_shards or SHARDS_PER_WORKER * workers
    processed = 0
    if todo:
        samples.dataset.create_index(RAND_FIELD)  # each shard reads its _rand range from it
        task = ray.remote(run_shard).options(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=max_retries)
        shipped = [ray.put(operation)]  # one copy in the object store; each worker process unpickles it once
        with ProgressBar(todo, desc=desc, unit="samples", enabled=progress) as bar:
            def done(_index: int, count: int) -> None:
                nonlocal processed
                processed += count
                bar.update(count)

            _run_tasks(task, {i: (target, shipped, i, num_shards) for i in range(num_shards)},
                       workers=workers, on_done=done, max_retries=max_retries)
    return DistributedSummary(operation.output, processed, total - todo, num_shards, workers,
                              time.perf_counter() - start)


def _run_tasks(task: Any, calls: dict[int, tuple[Any, ...]], *, workers: int,
               on_done: Callable[[int, Any], None], max_retries: int) -> None:
    """``task.remote(*calls[i])`` for each ``i``, at most ``workers`` at a time; ``on_done(i, result)``
    on the driver as each finishes."""
    queue = list(calls)
    running: dict[Any, int] = {}
    while queue or running:
        while queue and len(running) < workers:
            index = queue.pop(0)
            running[task.remote(*calls[index])] = index
        [finished], _ = ray.wait(list(running), num_returns=1)
        index = running.pop(finished)
        on_done(index, _result(finished, index, len(calls), max_retries))


def _check_resources(num_cpus: float, num_gpus: float) -> None:
    if num_cpus < 0 or num_gpus < 0:
        raise ValidationError(f"num_cpus and num_gpus must be >= 0, got {num_cpus} and {num_gpus}")


def _start(workers: int | None, num_cpus: float, num_gpus: float, address: str | None) -> int:
    """Start (or join) Ray if need be; ``workers``, else as many as the cluster's resources fit."""
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False)
    return workers or _default_workers(num_cpus, num_gpus)


def _result(ref: Any, index: int, num_tasks: int, max_retries: int) -> Any:
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        raise exc.as_instanceof_cause() from None
    except ray.exceptions.RayError as exc:  # the worker or its node died, more than max_retries times
        raise RuntimeError(
            f"task {index} of {num_tasks} failed after {max_retries} retries ({exc}). What the finished "
            f"tasks wrote is saved: run the same call again and only what is missing is done") from None


def _target(samples: SampleCollection, database_uri: str | None) -> Target:
    uri = database_uri or db.resolve_uri()
    if config.is_mock(uri):
        raise ValidationError("labellens.distributed needs a real MongoDB that the workers can reach; "
                              "the mongomock:// backend lives in one process. Set LABELLENS_DATABASE_URI "
                              "or pass database_uri=")
    stages = samples.to_json() if isinstance(samples, View) else []
    return Target(uri, config.database_name(), samples.dataset.name, stages)


def _default_workers(num_cpus: float, num_gpus: float) -> int:
    resources = ray.cluster_resources()
    fits = [int(resources.get("CPU", 1) // num_cpus)] if num_cpus else []
    if num_gpus:
        fits.append(int(resources.get("GPU", 0) // num_gpus))
    count = min(fits) if fits else 1
    if count < 1:
        raise ValidationError(f"the Ray cluster has {resources.get('CPU', 0)} CPUs and "
                              f"{resources.get('GPU', 0)} GPUs: not enough for one worker with "
                              f"num_cpus={num_cpus}, num_gpus={num_gpus}")
    return count


def _check_counts(**counts: int | None) -> None:
    for name, value in counts.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0
                                  or (value == 0 and name != "max_retries")):
            raise ValidationError(f"{name} must be a positive integer, got {value!r}")
