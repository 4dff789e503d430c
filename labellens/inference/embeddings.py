"""``compute_embeddings``: one feature vector per sample, from a model's penultimate layer."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from labellens.dataset.collection import SampleCollection
from labellens.dataset.type_inference import check_field_name
from labellens.inference.loop import (
    LoopStats,
    check_inputs,
    check_loop_args,
    iter_outputs,
    model_transform,
    read_paths,
    resolve_device,
)
from labellens.inference.torch_dataset import Transform
from labellens.inference.tta import TTASpec, resolve_tta, split_views, tta_field_names, with_views
from labellens.reporting import warn_skipped


def compute_embeddings(samples: SampleCollection, model: nn.Module, embeddings_field: str | None = None, *,
                       batch_size: int = 64, num_workers: int | None = None,
                       device: str | torch.device | None = None, progress: bool = True,
                       transform: Transform | None = None, tta: TTASpec = None,
                       tta_fields: bool = False) -> np.ndarray:
    """Embed every sample's image; optionally store each vector in ``embeddings_field``.

    Parameters
    ----------
    samples : Dataset or View
    model : torch.nn.Module
        A zoo model (its ``embed``: 64-d pooled features for the CIFAR ResNets) or
        any module, whose flattened output is then the embedding.
    embeddings_field : str, optional
        Field that receives each (D,) float32 vector (stored as compact binary).
    batch_size, num_workers, device, progress, transform
        As for :func:`~labellens.inference.apply.apply_model`.
    tta : "flip", callable or list of them, optional
        Test-time augmentation, as for ``apply_model``: the embedding is the mean
        over the original image and its augmented views.
    tta_fields : bool
        With ``tta`` and ``embeddings_field``: store each view's vector in its own
        field (``embeddings_field`` for the original, ``<embeddings_field>_<name>``
        per augmentation) instead of their mean.

    Returns
    -------
    numpy.ndarray
        (N, D) float32 in the order of ``samples`` (with ``tta``, the mean over the
        views); rows of unreadable images are NaN (and those samples get no
        ``embeddings_field``).
    """
    check_inputs(samples, model)
    if embeddings_field is not None:
        check_field_name(embeddings_field)
    augmentations = resolve_tta(tta)
    fields = tta_field_names(embeddings_field, augmentations, tta_fields) if embeddings_field else []
    workers = check_loop_args(batch_size, num_workers)
    ids, paths = read_paths(samples)
    target = resolve_device(device)
    model = model.to(target).eval()
    embed = getattr(model, "embed", None) or (lambda images: model(images).flatten(1))
    stats = LoopStats()
    rows: dict[str, np.ndarray] = {}
    fn, view_transform = with_views(embed, model_transform(model, transform), augmentations)
    outputs = iter_outputs(paths, ids, fn, transform=view_transform,
                           batch_size=batch_size, num_workers=workers, device=target, stats=stats,
                           progress=progress, desc="embedding")
    for batch_ids, vectors in outputs:
        views = vectors.reshape(len(batch_ids), -1) if not augmentations else \
            vectors.reshape(len(batch_ids), vectors.shape[1], -1)
        rows.update(zip(batch_ids, split_views(views, augmentations, separate=False)[0]))
        start = time.perf_counter()
        for name, flat in zip(fields, split_views(views, augmentations, tta_fields)):
            samples.set_values(name, list(flat), ids=batch_ids)
        stats.write_s += time.perf_counter() - start
    warn_skipped([f.path for f in stats.failures], "images could not be read and have NaN embeddings")
    dim = next(iter(rows.values())).shape[0] if rows else 0
    result = np.full((len(ids), dim), np.nan, dtype=np.float32)
    for i, sample_id in enumerate(ids):
        if sample_id in rows:
            result[i] = rows[sample_id]
    return result
