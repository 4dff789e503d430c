"""Tiny PNG files and a tiny deterministic torch classifier for the inference tests."""

from __future__ import annotations

import io
import os

import torch
from PIL import Image

CLASSES = ["dark", "light"]


class MeanColour(torch.nn.Module):
    """(B, 3, H, W) images in [0, 1] -> (B, 2) logits: "light" when the mean brightness is over 0.5."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        mean = images.mean(dim=(1, 2, 3))
        return torch.stack([1 - mean, mean], dim=1)


def expected_label(grey: int) -> str:
    return CLASSES[int(grey / 255 > 0.5)]


def png_bytes(grey: int, size: int = 8) -> bytes:
    """A uniform grey PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (grey, grey, grey)).save(buffer, format="PNG")
    return buffer.getvalue()


def noise_png(size: int = 64) -> bytes:
    """A PNG of random pixels (it does not compress, so cutting it leaves a valid header only)."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (size, size), os.urandom(size * size * 3)).save(buffer, format="PNG")
    return buffer.getvalue()
