"""labellens: find and fix label mistakes in image datasets.

The core API: datasets, views, samples, labels, filter expressions and
``launch_app``. The ``brain``, ``inference`` and ``zoo`` modules are imported
explicitly, so ``import labellens`` never pulls in torch; ``Session`` and
``launch_app`` load the App server (starlette, uvicorn) on first use.
"""

import importlib
from typing import Any

from labellens.aggregations import (
    Bounds,
    Count,
    CountValues,
    Distinct,
    HistogramValues,
    Mean,
    Quantiles,
    Std,
    Sum,
    Values,
)
from labellens.dataset import (
    Dataset,
    Sample,
    SampleView,
    View,
    dataset_exists,
    delete_dataset,
    list_datasets,
    load_dataset,
)
from labellens.expr import F, ViewField
from labellens.labels import Classification, Classifications, ImageMetadata, Label
from labellens.progress import ProgressBar

__version__ = "0.1.0"

__all__ = ["Bounds", "Classification", "Classifications", "Count", "CountValues", "Dataset", "Distinct", "F",
           "HistogramValues", "ImageMetadata", "Label", "Mean", "ProgressBar", "Quantiles", "Sample",
           "SampleView", "Session", "Std", "Sum", "Values", "View", "ViewField", "dataset_exists",
           "delete_dataset", "launch_app", "list_datasets", "load_dataset", "review"]


def __getattr__(name: str) -> Any:
    if name in ("Session", "launch_app"):
        return getattr(importlib.import_module("labellens.session"), name)
    if name == "review":
        return importlib.import_module("labellens.review_mode").review
    raise AttributeError(f"module 'labellens' has no attribute {name!r}")
