"""``apply_model``: run a classifier over a dataset or view and store its predictions.

Each sample gets ``Classification(label, confidence=max softmax, logits)``;
predictions are written with one bulk ``set_values`` per batch, never a save per
sample, in a writer thread that overlaps with the model's next batch. Unreadable
images are skipped: they get no prediction, and the summary (and one warning)
names them. With ``skip_existing`` an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from labellens.background import BackgroundWriter
from labellens.dataset.collection import SampleCollection
from labellens.dataset.type_inference import check_field_name
from labellens.errors import DatabaseUnavailableError, ValidationError
from labellens.inference.convert import to_classifications
from labellens.inference.loop import (
    LoopStats,
    check_inputs,
    check_loop_args,
    iter_outputs,
    model_transform,
    read_paths,
    resolve_device,
)
from labellens.inference.torch_dataset import ImageFailure, Transform
from labellens.inference.tta import TTASpec, resolve_tta, split_views, tta_field_names, with_views
from labellens.reporting import warn_skipped


@dataclass
class InferenceSummary:
    """What ``apply_model`` did and where the time went (seconds)."""

    label_field: str
    processed: int
    skipped_existing: int
    unreadable: list[ImageFailure] = field(default_factory=list)
    total_s: float = 0.0
    decode_s: float = 0.0
    model_s: float = 0.0
    write_s: float = 0.0

    @property
    def num_unreadable(self) -> int:
        return len(self.unreadable)

    @property
    def images_per_s(self) -> float:
        return self.processed / self.total_s if self.total_s > 0 else 0.0


def apply_model(samples: SampleCollection, model: nn.Module, label_field: str, *,
                classes: Sequence[str] | None = None, batch_size: int = 64, num_workers: int | None = None,
                device: str | torch.device | None = None, store_logits: bool = True,
                skip_existing: bool = False, progress: bool = True,
                transform: Transform | None = None, tta: TTASpec = None,
                tta_fields: bool = False) -> InferenceSummary:
    """Predict a class for every sample of ``samples`` and store it in ``label_field``.

    Parameters
    ----------
    samples : Dataset or View
    model : torch.nn.Module
        Maps (B, 3, H, W) images to (B, K) logits; a zoo model brings its transform and classes.
    label_field : str
        Field that receives the ``Classification`` of each sample.
    classes : sequence of str, optional
        K class names in logit order; default the model's ``classes``, else the
        dataset's ``default_classes``.
    batch_size, num_workers : int
        DataLoader settings; ``num_workers`` defaults to one per spare core (at most 4).
    device : str or torch.device, optional
        Default the first GPU if there is one, else the CPU. The model is moved
        there and put in eval mode.
    store_logits : bool
        Store the (K,) logits with each prediction (needed by ``compute_mistakenness``).
    skip_existing : bool
        Leave samples that already have ``label_field`` alone (resume a stopped run).
    progress : bool
        Show a progress bar.
    transform : callable, optional
        PIL image -> tensor; default the model's ``transform``, else a [0, 1] float tensor.
    tta : "flip", callable or list of them, optional
        Test-time augmentation: the model also sees each image mirrored (``"flip"``)
        or through each callable PIL image -> PIL image, in the same pass.
    tta_fields : bool
        With ``tta``: store each view's prediction in its own field (``label_field``
        for the original image, ``<label_field>_<name>`` per augmentation, e.g.
        ``predictions_flip``) instead of one prediction from the averaged logits.

    Returns
    -------
    InferenceSummary
        Counts (processed, skipped_existing, unreadable) and timings.
    """
    start = time.perf_counter()
    check_inputs(samples, model)
    check_field_name(label_field)
    augmentations = resolve_tta(tta)
    fields = tta_field_names(label_field, augmentations, tta_fields)
    workers = check_loop_args(batch_size, num_workers)
    names = _classes(samples, model, classes)
    view = samples
    if skip_existing and label_field in samples.get_field_schema():
        view = samples.exists(label_field, False)
    ids, paths = read_paths(view)
    skipped = len(samples) - len(ids) if view is not samples else 0
    target = resolve_device(device)
    model = model.to(target).eval()
    stats = LoopStats()
    fn, view_transform = with_views(model, model_transform(model, transform), augmentations)
    outputs = iter_outputs(paths, ids, fn, transform=view_transform,
                           batch_size=batch_size, num_workers=workers, device=target, stats=stats,
                           progress=progress, desc=f"predicting {label_field}")
    written = 0

    def write(batch_ids: list[str], logits: np.ndarray) -> None:
        nonlocal written
        for name, view_logits in zip(fields, split_views(logits, augmentations, tta_fields)):
            labels = to_classifications(view_logits, names, store_logits=store_logits)
            samples.set_values(name, labels, ids=batch_ids)
        written += len(batch_ids)

    # One batch's labels are built and written in a thread while the model runs on the next;
    # write_s counts only the time the loop waits for a write to finish.
    try:
        with BackgroundWriter(depth=1) as writer:
            for batch_ids, logits in outputs:
                waited = time.perf_counter()
                writer.submit(write, batch_ids, logits)  # blocks while the previous batch is written
                stats.write_s += time.perf_counter() - waited
            waited = time.perf_counter()
        stats.write_s += time.perf_counter() - waited  # leaving the block waits for the last write
    except DatabaseUnavailableError as exc:
        raise DatabaseUnavailableError(
            f"apply_model stopped part-way: predictions for {written} of {len(ids)} samples were "
            f"written to {label_field!r}. Re-run it with skip_existing=True to predict the rest. "
            f"({exc})") from None
    _warn_unreadable(stats.failures, label_field)
    return InferenceSummary(label_field, stats.processed, skipped, stats.failures,
                            time.perf_counter() - start, stats.decode_s, stats.model_s, stats.write_s)


def _classes(samples: SampleCollection, model: nn.Module, classes: Sequence[str] | None) -> list[str]:
    names = classes if classes is not None else getattr(model, "classes", None) or samples.default_classes
    names = list(names or [])
    if not names or not all(isinstance(c, str) for c in names):
        raise ValidationError("apply_model needs class names: pass classes=[...] (one per model output) "
                              "or set dataset.default_classes")
    return names


def _warn_unreadable(failures: list[ImageFailure], field_name: str) -> None:
    warn_skipped([f.path for f in failures], f"images could not be read and got no {field_name!r}",
                 stacklevel=3)
