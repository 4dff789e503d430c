"""The CIFAR-10 ResNets of He et al. (2016), section 4.2, as a torch module.

Written from the description in the paper (and ``shared/models/README.md``):
a 3x3 stem with 16 filters, three stages of ``n`` basic blocks with 16, 32 and
64 filters (depth = 6n + 2), parameter-free "option A" shortcuts, global average
pooling and a 64 -> 10 linear layer. Parameter names match the published
``.th`` checkpoints once their ``module.`` prefix is stripped.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as nnf
from torch import nn

from labellens.errors import ValidationError

DEPTHS = (20, 32, 44, 56, 110)


class BasicBlock(nn.Module):
    """conv3x3 -> BN -> ReLU -> conv3x3 -> BN, plus the option-A shortcut, then ReLU."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = stride != 1 or in_planes != planes
        self.pad = (planes - in_planes) // 2

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """Identity, or every second pixel with the new channels zero-padded on both sides."""
        if not self.downsample:
            return x
        return nnf.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = nnf.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return nnf.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-``depth`` for 3x32x32 inputs; ``features`` gives the 64-d pooled vector.

    Parameters
    ----------
    depth : int
        6n + 2 layers: 20, 32, 44, 56 or 110.
    num_classes : int
        Width of the final linear layer.
    """

    def __init__(self, depth: int, num_classes: int = 10) -> None:
        super().__init__()
        if depth not in DEPTHS:
            raise ValidationError(f"CIFAR ResNet depth must be one of {DEPTHS}, got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = _stage(16, 16, n, stride=1)
        self.layer2 = _stage(16, 32, n, stride=2)
        self.layer3 = _stage(32, 64, n, stride=2)
        self.linear = nn.Linear(64, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 32, 32) normalised images -> (B, 64) globally average-pooled features."""
        out = nnf.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return out.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 32, 32) normalised images -> (B, num_classes) logits."""
        return self.linear(self.features(x))


def _stage(in_planes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [BasicBlock(in_planes, planes, stride)]
    layers += [BasicBlock(planes, planes, 1) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def load_checkpoint(module: CifarResNet, path: Path) -> CifarResNet:
    """Load a published ``.th`` checkpoint (``{"state_dict": {"module.<name>": tensor}}``)."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValidationError(f"{path} is not a CIFAR ResNet checkpoint (no state_dict); "
                              "delete it and load the model again to re-download it")
    state = {key.removeprefix("module."): value for key, value in state.items()}
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise ValidationError(f"{path} does not fit {type(module).__name__}: {exc}") from None
    return module.eval()
