"""Ready-made datasets and pretrained models by name.

``load_zoo_dataset`` needs no torch. ``load_zoo_model``, ``list_zoo_models`` and
``ZooModel`` live in :mod:`labellens.zoo.models`, which imports torch; they are
resolved on first use so that ``import labellens.zoo`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from labellens.zoo.datasets import list_zoo_datasets, load_zoo_dataset

_MODEL_NAMES = ("ZooModel", "list_zoo_models", "load_zoo_model")

__all__ = ["ZooModel", "list_zoo_datasets", "list_zoo_models", "load_zoo_dataset", "load_zoo_model"]


def __getattr__(name: str) -> Any:
    if name in _MODEL_NAMES:
        return getattr(importlib.import_module("labellens.zoo.models"), name)
    raise AttributeError(f"module 'labellens.zoo' has no attribute {name!r}")
