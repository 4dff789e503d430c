"""Fine-tuning a classifier on labelled image files, and its logits and embeddings in one pass.

:func:`fine_tune` trains a *copy* of the model (the one passed in never changes): every layer,
SGD with momentum and a cosine-decayed learning rate, cross-entropy on the given class indices,
images mirrored at random (``augment``). Images decode in DataLoader workers, the model runs on
the GPU when there is one, and a progress bar runs per epoch. :func:`predict_with_embeddings`
then gives each readable image's (K,) logits and (D,) embedding (the input of the last linear
layer) from the same forward pass. ``labellens.brain.compute_out_of_sample_predictions(...,
model=...)`` runs them fold by fold.
"""

from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader
from torchvision.transforms import functional as tvf

from labellens.errors import ValidationError
from labellens.inference.loop import (
    LoopStats,
    check_loop_args,
    iter_outputs,
    model_transform,
    resolve_device,
)
from labellens.inference.torch_dataset import ImageFailure, TorchImageDataset, Transform, collate_images
from labellens.progress import ProgressBar


@dataclass(frozen=True)
class FineTuneSettings:
    """How a model is fine-tuned and run: epochs, SGD learning rate and weight decay, loader
    settings, mirrored training images (``augment``), the device (default the GPU if there is
    one), the transform (default the model's own) and the seed of the shuffling."""

    epochs: int = 3
    lr: float = 0.01
    weight_decay: float = 5e-4
    batch_size: int = 64
    num_workers: int | None = None
    augment: bool = True
    device: str | None = None
    transform: Transform | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValidationError(f"epochs must be a positive integer, got {self.epochs!r}")
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0 or (name == "lr" and value == 0):
                raise ValidationError(f"{name} must be a {'positive' if name == 'lr' else 'non-negative'} "
                                      f"number, got {value!r}")
        check_loop_args(self.batch_size, self.num_workers)


class Mirrored:
    """A transform that first mirrors the PIL image left-right with probability 1/2 (picklable)."""

    def __init__(self, transform: Transform) -> None:
        self.transform = transform

    def __call__(self, image: Image.Image) -> torch.Tensor:
        if torch.rand(()) < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return self.transform(image)


def fine_tune(model: nn.Module, paths: Sequence[str], labels: Sequence[int], settings: FineTuneSettings, *,
              progress: bool = True, desc: str = "fine-tuning") -> tuple[nn.Module, list[ImageFailure]]:
    """A copy of ``model`` trained on the images ``paths`` with class indices ``labels``, in eval mode.

    Returns the trained copy and the images that could not be read (left out of training).
    """
    if len(paths) != len(labels):
        raise ValidationError(f"got {len(paths)} image paths but {len(labels)} labels; pass one per image")
    device = resolve_device(settings.device)
    base = model_transform(model, settings.transform)
    transform = Mirrored(base or tvf.to_tensor) if settings.augment else base
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        trained = copy.deepcopy(model).to(device).train()
        workers = check_loop_args(settings.batch_size, settings.num_workers)
        loader = DataLoader(TorchImageDataset(paths, [int(x) for x in labels], transform),
                            batch_size=settings.batch_size, shuffle=True, collate_fn=collate_images,
                            num_workers=workers, persistent_workers=workers > 0,  # not restarted per epoch
                            drop_last=len(paths) > settings.batch_size,  # no batch of 1 for BatchNorm
                            generator=torch.Generator().manual_seed(settings.seed),
                            pin_memory=device.type == "cuda")
        optimizer = torch.optim.SGD([p for p in trained.parameters() if p.requires_grad], lr=settings.lr,
                                    momentum=0.9, weight_decay=settings.weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer,
                                                              max(1, settings.epochs * len(loader)))
        failures: dict[str, ImageFailure] = {}
        for epoch in range(settings.epochs):
            with ProgressBar(len(paths), desc=f"{desc}, epoch {epoch + 1}/{settings.epochs}", unit="img",
                             enabled=progress) as bar:
                for batch in loader:
                    failures.update((f.path, f) for f in batch.failures)
                    if batch.images is not None:
                        _step(trained, optimizer, batch.images.to(device, non_blocking=True),
                              torch.tensor(batch.ids, device=device))
                        schedule.step()
                    bar.update(len(batch.ids) + len(batch.failures))
    return trained.eval(), list(failures.values())


def _step(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor,
          labels: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    F.cross_entropy(model(images), labels).backward()
    optimizer.step()


def predict_with_embeddings(model: nn.Module, paths: Sequence[str], ids: Sequence[Any],
                            settings: FineTuneSettings, *, progress: bool = True, desc: str = "predicting"
                            ) -> tuple[list[Any], np.ndarray, np.ndarray, list[ImageFailure]]:
    """``(ids, logits (N, K), embeddings (N, D), failures)`` of the readable images, in one forward pass.

    The embedding is the input of the model's last ``nn.Linear`` layer (the zoo's 64-d pooled
    features for the CIFAR ResNets); a model without one gets its logits as embedding.
    """
    device = resolve_device(settings.device)
    model = model.to(device).eval()
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    captured: list[torch.Tensor] = []
    width = [0]
    hook = linears[-1].register_forward_hook(lambda _m, inputs, _o: captured.append(inputs[0])) \
        if linears else None

    def forward(images: torch.Tensor) -> torch.Tensor:
        captured.clear()
        logits = model(images)
        width[0] = logits.shape[1]
        return torch.cat([logits, captured[-1].flatten(1) if captured else logits], dim=1)

    stats = LoopStats()
    out_ids: list[Any] = []
    rows: list[np.ndarray] = []
    try:
        for batch_ids, outputs in iter_outputs(
                paths, ids, forward, transform=model_transform(model, settings.transform),
                batch_size=settings.batch_size, num_workers=check_loop_args(settings.batch_size,
                                                                            settings.num_workers),
                device=device, stats=stats, progress=progress, desc=desc):
            out_ids += batch_ids
            rows.append(outputs)
    finally:
        if hook is not None:
            hook.remove()
    joined = np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)
    return out_ids, joined[:, :width[0]], joined[:, width[0]:], stats.failures


def check_num_outputs(model: nn.Module, paths: Sequence[str], num_classes: int,
                      settings: FineTuneSettings) -> None:
    """Run the model once on the first readable image of ``paths`` (a few); raise unless it gives
    ``num_classes`` logits (before anything is trained or written)."""
    transform = model_transform(model, settings.transform) or tvf.to_tensor
    images = TorchImageDataset(paths, transform=transform)
    item = next((x for x in map(images.load, range(len(paths))) if not isinstance(x, ImageFailure)), None)
    if item is None:
        raise ValidationError(f"none of {len(paths)} images can be read; check the samples' filepaths")
    training = model.training
    try:
        with torch.inference_mode():
            device = next(model.parameters(), item[0]).device
            shape = tuple(model.eval()(item[0][None].to(device)).shape)
    finally:
        model.train(training)
    if shape != (1, num_classes):
        raise ValidationError(f"the model gives outputs of shape {shape} for one image, but there are "
                              f"{num_classes} classes; give a model with one logit per class (in the "
                              "order of its classes attribute, else dataset.default_classes)")


def model_digest(model: nn.Module) -> str:
    """A digest of the model's class and weights: a resumed run must start from the same model."""
    digest = hashlib.sha256(type(model).__qualname__.encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
