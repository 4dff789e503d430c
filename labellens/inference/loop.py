"""The model loop shared by ``apply_model`` and ``compute_embeddings``.

A DataLoader decodes and transforms images (in worker processes when
``num_workers > 0``); the model runs under ``torch.inference_mode()`` on the
chosen device; each batch's outputs come back as a float32 numpy array with
their sample ids. Time spent waiting for images and inside the model is
recorded, and so are the images that could not be read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from labellens.dataset.collection import SampleCollection
from labellens.errors import ValidationError
from labellens.inference.torch_dataset import ImageFailure, TorchImageDataset, Transform, collate_images
from labellens.progress import ProgressBar

ModelFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class LoopStats:
    """Where the time went and what was skipped, filled in while the loop runs."""

    decode_s: float = 0.0
    model_s: float = 0.0
    write_s: float = 0.0
    processed: int = 0
    failures: list[ImageFailure] = field(default_factory=list)


def default_num_workers() -> int:
    """Decoding workers: one per spare core, at most 4 (0 on a single core)."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device``, or the first GPU when one is available, else the CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def check_inputs(samples: Any, model: Any) -> None:
    """Refuse anything but a dataset or view, and a torch module, before any work starts."""
    if not isinstance(samples, SampleCollection):
        raise ValidationError(f"samples must be a labellens Dataset or view, got {type(samples).__name__}")
    if not isinstance(model, nn.Module):
        raise ValidationError(f"model must be a torch.nn.Module or a zoo model, got {type(model).__name__}")


def check_loop_args(batch_size: Any, num_workers: Any) -> int:
    """Validate the loader arguments; returns the number of workers to use."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValidationError(f"batch_size must be a positive integer, got {batch_size!r}")
    if num_workers is None:
        return default_num_workers()
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ValidationError(f"num_workers must be a non-negative integer, got {num_workers!r}")
    return num_workers


def read_paths(samples: SampleCollection) -> tuple[list[str], list[str]]:
    """``(ids, filepaths)`` of a dataset or view, in its order (one projection query)."""
    ids: list[str] = []
    paths: list[str] = []
    for batch in samples.iter_batches(["filepath"]):
        ids += batch["id"]
        paths += batch["filepath"]
    return ids, paths


def model_transform(model: Any, transform: Transform | None) -> Transform | None:
    """``transform``, else the model's own ``transform`` attribute (zoo models have one)."""
    return transform if transform is not None else getattr(model, "transform", None)


def iter_outputs(paths: Sequence[str], ids: Sequence[str], fn: ModelFn, *, transform: Transform | None,
                 batch_size: int, num_workers: int, device: torch.device, stats: LoopStats,
                 progress: bool, desc: str) -> Iterator[tuple[list[str], np.ndarray]]:
    """Yield ``(ids, outputs)`` per batch of readable images; outputs are (B, ...) float32."""
    dataset = TorchImageDataset(paths, ids, transform)
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers,
                        collate_fn=collate_images, pin_memory=device.type == "cuda")
    batches = iter(loader)
    with ProgressBar(len(paths), desc=desc, unit="img", enabled=progress) as bar:
        while True:
            start = time.perf_counter()
            batch = next(batches, None)
            stats.decode_s += time.perf_counter() - start
            if batch is None:
                break
            stats.failures += batch.failures
            if batch.images is not None:
                start = time.perf_counter()
                with torch.inference_mode():
                    outputs = fn(batch.images.to(device, non_blocking=True))
                    array = outputs.float().cpu().numpy()
                stats.model_s += time.perf_counter() - start
                stats.processed += len(batch.ids)
                yield batch.ids, array
            bar.update(len(batch.ids) + len(batch.failures))
