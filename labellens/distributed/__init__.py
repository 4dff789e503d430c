"""Inference and scoring over a Ray cluster (optional extra: ``pip install 'labellens[cluster]'``).

Each function takes the arguments of its single-machine twin plus the cluster
settings, splits the view into shards and runs the twin on every shard in a
Ray task, which writes its results in bulk to the shared MongoDB::

    import ray
    ray.init(address="auto")          # or nothing: a local Ray is started
    distributed.apply_model(dataset, model, "predictions", database_uri="mongodb://db-host:27017")

- ``database_uri`` must be reachable from every worker (default: the URI this
  process uses, which is enough on one machine);
- the model goes to each worker once (``ray.put``), not once per shard;
  ``num_gpus`` reserves GPUs per worker;
- only samples without results are done: a rerun resumes, and a worker that
  dies is restarted and its shard retried (``max_retries``) without redoing
  or losing finished samples;
- ``compute_out_of_sample_predictions`` fine-tunes a copy of the model per fold, one fold per
  task (``num_gpus=1`` gives each its GPU); a rerun resumes from the folds recorded as done;
- ``compute_label_issues`` fits one model across all samples, so it stays on
  one machine: after ``apply_model`` and ``compute_embeddings`` here, call
  ``brain.compute_label_issues`` on the driver (it reads logits, labels and
  embeddings in bulk; 1,000,000 x 64 fits, see bench/scale.py).
"""

from __future__ import annotations

from typing import Any

from labellens.brain import fine_tuned
from labellens.brain.fine_tuned import OutOfSampleSummary
from labellens.brain.out_of_sample import check_num_folds
from labellens.dataset.collection import SampleCollection
from labellens.dataset.type_inference import check_field_name
from labellens.distributed.operations import (
    ApplyModel,
    ComputeEmbeddings,
    ComputeMetadata,
    ComputeMistakenness,
    FineTuneFold,
)
from labellens.distributed.runner import DistributedSummary, run_indexed, run_sharded
from labellens.errors import ValidationError

__all__ = ["DistributedSummary", "apply_model", "compute_embeddings", "compute_metadata",
           "compute_mistakenness", "compute_out_of_sample_predictions"]

APPLY_OPTIONS = ("classes", "batch_size", "num_workers", "device", "store_logits", "transform", "tta",
                 "tta_fields")
EMBED_OPTIONS = ("batch_size", "num_workers", "device", "transform", "tta", "tta_fields")


def apply_model(samples: SampleCollection, model: Any, label_field: str, *, workers: int | None = None,
                num_shards: int | None = None, num_cpus: float = 1, num_gpus: float = 0, max_retries: int = 3,
                database_uri: str | None = None, address: str | None = None, progress: bool = True,
                **options: Any) -> DistributedSummary:
    """:func:`labellens.inference.apply_model` over a Ray cluster, on the samples without ``label_field``.

    ``workers`` shard tasks run at a time (default: as many as the cluster's
    CPUs / ``num_cpus`` and GPUs / ``num_gpus`` allow), over ``num_shards``
    shards (default 4 per worker). ``options`` are ``apply_model``'s (``classes``, ``batch_size``,
    ``num_workers`` (DataLoader processes per worker, default 0), ``device``,
    ``store_logits``, ``transform``, ``tta``, ``tta_fields``).
    """
    check_field_name(label_field)
    operation = ApplyModel(model, label_field, _options(options, APPLY_OPTIONS, "apply_model"))
    return run_sharded(samples, operation, workers=workers, num_shards=num_shards, num_cpus=num_cpus,
                       num_gpus=num_gpus, max_retries=max_retries, database_uri=database_uri, address=address,
                       progress=progress, desc=f"predicting {label_field}")


def compute_embeddings(samples: SampleCollection, model: Any, embeddings_field: str, *,
                       workers: int | None = None, num_shards: int | None = None, num_cpus: float = 1,
                       num_gpus: float = 0, max_retries: int = 3, database_uri: str | None = None,
                       address: str | None = None, progress: bool = True, **options: Any
                       ) -> DistributedSummary:
    """:func:`labellens.inference.compute_embeddings` over a Ray cluster, into ``embeddings_field``.

    The vectors are stored by the workers, never sent back: read them with
    ``samples.values(embeddings_field)``. Cluster settings as for :func:`apply_model`.
    """
    check_field_name(embeddings_field)
    settings = _options(options, EMBED_OPTIONS, "compute_embeddings")
    operation = ComputeEmbeddings(model, embeddings_field, settings)
    return run_sharded(samples, operation, workers=workers, num_shards=num_shards, num_cpus=num_cpus,
                       num_gpus=num_gpus, max_retries=max_retries, database_uri=database_uri, address=address,
                       progress=progress, desc="embedding")


def compute_metadata(samples: SampleCollection, *, workers: int | None = None, num_shards: int | None = None,
                     num_cpus: float = 1, max_retries: int = 3, database_uri: str | None = None,
                     address: str | None = None, progress: bool = True) -> DistributedSummary:
    """``samples.compute_metadata()`` over a Ray cluster (samples without ``metadata``)."""
    return run_sharded(samples, ComputeMetadata(), workers=workers, num_shards=num_shards, num_cpus=num_cpus,
                       num_gpus=0, max_retries=max_retries, database_uri=database_uri, address=address,
                       progress=progress, desc="metadata")


def compute_mistakenness(samples: SampleCollection, pred_field: str, label_field: str = "ground_truth", *,
                         mistakenness_field: str = "mistakenness", use_logits: bool = False,
                         workers: int | None = None, num_shards: int | None = None, num_cpus: float = 1,
                         max_retries: int = 3, database_uri: str | None = None, address: str | None = None,
                         progress: bool = True) -> DistributedSummary:
    """:func:`labellens.brain.compute_mistakenness` over a Ray cluster (samples without the score)."""
    check_field_name(mistakenness_field)
    operation = ComputeMistakenness(pred_field, label_field, mistakenness_field, bool(use_logits))
    return run_sharded(samples, operation, workers=workers, num_shards=num_shards, num_cpus=num_cpus,
                       num_gpus=0, max_retries=max_retries, database_uri=database_uri, address=address,
                       progress=progress, desc="mistakenness")


def compute_out_of_sample_predictions(samples: SampleCollection, model: Any,
                                      label_field: str = "ground_truth", *,
                                      pred_field: str = "oos_predictions", num_folds: int = 5,
                                      epochs: int = 3, extra_train: SampleCollection | None = None,
                                      embeddings_output: str | None = None, seed: int = 0,
                                      workers: int | None = None, num_cpus: float = 1, num_gpus: float = 0,
                                      max_retries: int = 3, database_uri: str | None = None,
                                      address: str | None = None, progress: bool = True,
                                      **fine_tune_options: Any) -> OutOfSampleSummary:
    """:func:`labellens.brain.compute_out_of_sample_predictions` with ``model=``, its folds spread
    over Ray tasks (``workers`` at a time): each fine-tunes a copy of the model without its fold
    and writes the fold's predictions; the driver records each finished fold, so a rerun resumes.

    ``fine_tune_options`` default ``num_workers`` to 0 (DataLoader processes per task); cluster
    settings as for :func:`apply_model`.
    """
    check_num_folds(num_folds)
    settings = fine_tuned.fine_tune_settings(epochs, seed, {"num_workers": 0, **fine_tune_options})
    run, plan = fine_tuned.plan_folds(samples, model, label_field, pred_field=pred_field,
                                      embeddings_field=embeddings_output, num_folds=num_folds,
                                      extra_train=extra_train, settings=settings)
    todo, unreadable = plan.todo, []

    def done(fold: int, missing: list[str]) -> None:
        unreadable.extend(missing)
        fine_tuned.record_fold(run, plan, fold)

    if todo:
        run_indexed(samples, FineTuneFold(model, plan), todo, on_done=done, workers=workers,
                    num_cpus=num_cpus, num_gpus=num_gpus, max_retries=max_retries, database_uri=database_uri,
                    address=address, progress=progress, desc=f"folds of {pred_field}")
    return fine_tuned.finish(run, plan, todo, unreadable)


def _options(options: dict[str, Any], allowed: tuple[str, ...], name: str) -> dict[str, Any]:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValidationError(f"{name} has no option {', '.join(map(repr, unknown))}; "
                              f"options: {', '.join(allowed)} (and the cluster settings)")
    return {"num_workers": 0, **options}
