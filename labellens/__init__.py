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

# FiftyOne's field type names (fo.StringField, ...), re-exported as such:
from labellens.fields import FIFTYONE_NAMES
from labellens.fields import ArrayField as ArrayField
from labellens.fields import BooleanField as BooleanField
from labellens.fields import DateField as DateField
from labellens.fields import DateTimeField as DateTimeField
from labellens.fields import DictField as DictField
from labellens.fields import EmbeddedDocumentField as EmbeddedDocumentField
from labellens.fields import FloatField as FloatField
from labellens.fields import IntField as IntField
from labellens.fields import ListField as ListField
from labellens.fields import ObjectIdField as ObjectIdField
from labellens.fields import StringField as StringField
from labellens.labels import Classification, Classifications, ImageMetadata, Label
from labellens.progress import ProgressBar
from labellens.settings import config

__version__ = "0.1.0"

__all__ = ["Bounds", "Classification", "Classifications", "Count", "CountValues", "Dataset", "Distinct", "F",
           "HistogramValues", "ImageMetadata", "Label", "Mean", "ProgressBar", "Quantiles", "Sample",
           "SampleView", "Session", "Std", "Sum", "Values", "View", "ViewField", "config", "dataset_exists",
           "delete_dataset", "launch_app", "list_datasets", "load_dataset", "review", *FIFTYONE_NAMES]


def __getattr__(name: str) -> Any:
    if name in ("Session", "launch_app"):
        return getattr(importlib.import_module("labellens.session"), name)
    if name == "review":
        return importlib.import_module("labellens.review_mode").review
    raise AttributeError(f"module 'labellens' has no attribute {name!r}")
