"""The model zoo: pretrained classifiers by name, with their transform and class names.

``cifar10-resnet20/32/44/56`` are the CIFAR-10 ResNets of He et al. with the
published weights of akamaster/pytorch_resnet_cifar10 (BSD-2-Clause);
``torchvision-<arch>`` wraps a torchvision ImageNet classifier (e.g.
``torchvision-resnet18``) with its default weights. Weights live in
``LABELLENS_MODEL_DIR`` (default ``~/.labellens/models``): a file found there is
used offline, otherwise it is downloaded with a progress bar and its SHA-256 is
checked before it is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from labellens.errors import DownloadError, MissingDependencyError, ValidationError
from labellens.zoo.datasets import CIFAR10_CLASSES
from labellens.zoo.download import cache_dir, check_digest, download

try:
    import torch
    import torchvision
    from torch import nn
    from torchvision import transforms as tvt
except ImportError as exc:
    raise MissingDependencyError(
        f"the model zoo needs torch and torchvision ({exc}); pip install 'labellens[torch]'") from exc

from labellens.zoo.cifar_resnet import CifarResNet, load_checkpoint  # noqa: E402  (needs torch)

MODEL_DIR_ENV = "LABELLENS_MODEL_DIR"
DEFAULT_MODEL_DIR = "~/.labellens/models"
CIFAR_URL = "https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/pretrained_models/"
CIFAR_MEAN = (0.485, 0.456, 0.406)
CIFAR_STD = (0.229, 0.224, 0.225)
TORCHVISION_PREFIX = "torchvision-"

# name -> (depth, weights file, sha256), from shared/models/README.md.
CIFAR_MODELS: dict[str, tuple[int, str, str]] = {
    "cifar10-resnet20": (20, "resnet20-12fca82f.th",
                         "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8"),
    "cifar10-resnet32": (32, "resnet32-d509ac18.th",
                         "d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850"),
    "cifar10-resnet44": (44, "resnet44-014dd654.th",
                         "014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4"),
    "cifar10-resnet56": (56, "resnet56-4bfd9763.th",
                         "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367"),
}


class ZooModel(nn.Module):
    """A classifier with what it needs to run on image files.

    Calling it maps a batch of transformed images to (B, K) logits; ``embed``
    gives the (B, D) input of its last linear layer, ``embedding_layer`` (64-d
    pooled features for the CIFAR ResNets).

    Parameters
    ----------
    name : str
        The zoo name, e.g. ``"cifar10-resnet56"``.
    net : torch.nn.Module
        The network, in eval mode.
    transform : callable
        PIL image -> (3, H, W) float tensor, as the network was trained with.
    classes : sequence of str
        Class names in logit order.
    """

    def __init__(self, name: str, net: nn.Module, transform: Callable[[Any], torch.Tensor],
                 classes: Sequence[str]) -> None:
        super().__init__()
        self.name = name
        self.net = net.to(memory_format=torch.channels_last)
        self.transform = transform
        self.classes = list(classes)
        linears = [path for path, m in net.named_modules() if isinstance(m, nn.Linear)]
        self.embedding_layer = linears[-1] if linears else None
        self.eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(_channels_last(images))

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) transformed images -> (B, D) features that feed the last linear layer."""
        if self.embedding_layer is None:
            raise ValidationError(f"model {self.name!r} has no linear layer whose input could serve "
                                  "as an embedding")
        captured: list[torch.Tensor] = []
        handle = self.net.get_submodule(self.embedding_layer).register_forward_hook(
            lambda _module, inputs, _output: captured.append(inputs[0]))
        try:
            self.net(_channels_last(images))
        finally:
            handle.remove()
        return captured[-1].flatten(1)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, classes={len(self.classes)}"


def _channels_last(images: torch.Tensor) -> torch.Tensor:
    """NHWC memory layout: convolutions run about 1.4x faster on CPU (measured on the CIFAR ResNets)."""
    return images.contiguous(memory_format=torch.channels_last) if images.dim() == 4 else images


def list_zoo_models() -> list[str]:
    """Names accepted by :func:`load_zoo_model`: the CIFAR-10 ResNets, then torchvision classifiers."""
    archs = torchvision.models.list_models(module=torchvision.models)
    return [*CIFAR_MODELS, *(TORCHVISION_PREFIX + a for a in sorted(archs))]


def load_zoo_model(name: str, *, model_dir: str | Path | None = None, download: bool = True,
                   progress: bool = True) -> ZooModel:
    """Load a pretrained zoo model, from the cache or by downloading its weights once.

    Parameters
    ----------
    name : str
        One of :func:`list_zoo_models`, e.g. ``"cifar10-resnet56"`` or ``"torchvision-resnet18"``.
    model_dir : path, optional
        The weights cache; default ``$LABELLENS_MODEL_DIR`` or ``~/.labellens/models``.
    download : bool
        Fetch missing weights from the web; with False a missing file is an error.
    progress : bool
        Show a progress bar while downloading.

    Raises
    ------
    ValidationError
        Unknown name (the message lists the zoo).
    DownloadError
        Weights not cached and not downloadable, or a cached file failed its checksum.
    """
    folder = Path(model_dir).expanduser() if model_dir else cache_dir(MODEL_DIR_ENV, DEFAULT_MODEL_DIR)
    if name in CIFAR_MODELS:
        depth, filename, sha256 = CIFAR_MODELS[name]
        path = _weights_file(folder / filename, CIFAR_URL + filename, sha256, download, progress)
        check_digest(path, sha256, "sha256")
        net = load_checkpoint(CifarResNet(depth), path)
        return ZooModel(name, net, cifar_transform(), CIFAR10_CLASSES)
    if name.startswith(TORCHVISION_PREFIX):
        return _load_torchvision(name, folder, download, progress)
    raise ValidationError(f"no zoo model {name!r}; choose one of {', '.join(CIFAR_MODELS)} or "
                          f"'{TORCHVISION_PREFIX}<arch>' (see labellens.zoo.list_zoo_models())")


def cifar_transform() -> Callable[[Any], torch.Tensor]:
    """PIL image -> 32x32 RGB tensor in [0, 1], normalised as the CIFAR ResNets expect."""
    return tvt.Compose([tvt.Resize((32, 32)), tvt.ToTensor(), tvt.Normalize(CIFAR_MEAN, CIFAR_STD)])


def _load_torchvision(name: str, folder: Path, allow_download: bool, progress: bool) -> ZooModel:
    arch = name.removeprefix(TORCHVISION_PREFIX)
    if arch not in torchvision.models.list_models(module=torchvision.models):
        raise ValidationError(f"torchvision has no classification model {arch!r}; see "
                              "labellens.zoo.list_zoo_models()")
    weights = torchvision.models.get_model_weights(arch).DEFAULT
    filename = weights.url.rsplit("/", 1)[-1]
    match = re.search(r"-([a-f0-9]{8,})\.", filename)
    path = _weights_file(folder / filename, weights.url, match.group(1) if match else None,
                         allow_download, progress)
    net = torchvision.models.get_model(arch, weights=None)
    try:
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except (RuntimeError, OSError, ValueError) as exc:
        raise DownloadError(f"{path} does not hold {arch} weights ({exc}); delete it and load the "
                            "model again to re-download it") from None
    return ZooModel(name, net, weights.transforms(), weights.meta["categories"])


def _weights_file(path: Path, url: str, digest: str | None, allow_download: bool,
                  progress: bool) -> Path:
    """The cached weights file, downloading (and checking) it first if it is missing."""
    if path.exists():
        return path
    if not allow_download:
        raise DownloadError(f"no weights at {path}; download {url} and put it there, or call "
                            "load_zoo_model(..., download=True)")
    try:
        return download(url, path, expected=digest, algorithm="sha256", progress=progress)
    except DownloadError as exc:
        raise DownloadError(f"{exc}. Without network access, download {url} elsewhere and put it at "
                            f"{path}") from None
