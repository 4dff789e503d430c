"""labellens: find and fix label mistakes in image datasets.

The core API: datasets, views, samples, labels, filter expressions and
``launch_app``. The ``brain``, ``inference`` and ``zoo`` modules are imported
explicitly, so ``import labellens`` never pulls in torch; ``Session`` and
``launch_app`` load the App server (starlette, uvicorn) on first use.
"""

import importlib
from typing import Any

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
from labellens.fields import (
    ArrayField,
    BooleanField,
    DateField,
    DateTimeField,
    DictField,
    EmbeddedDocumentField,
    FloatField,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)
from labellens.labels import Classification, Classifications, ImageMetadata, Label
from labellens.progress import ProgressBar
from labellens.settings import config

__version__ = "0.1.0"

__all__ = ["ArrayField", "BooleanField", "Classification", "Classifications", "Dataset", "DateField",
           "DateTimeField", "DictField", "EmbeddedDocumentField", "F", "FloatField", "ImageMetadata",
           "IntField", "Label", "ListField", "ObjectIdField", "ProgressBar", "Sample", "SampleView",
           "Session",
           "StringField", "View", "ViewField", "config", "dataset_exists", "delete_dataset", "launch_app",
           "list_datasets", "load_dataset", "review"]


def __getattr__(name: str) -> Any:
    if name in ("Session", "launch_app"):
        return getattr(importlib.import_module("labellens.session"), name)
    if name == "review":
        return importlib.import_module("labellens.review_mode").review
    raise AttributeError(f"module 'labellens' has no attribute {name!r}")
