"""labellens: find and fix label mistakes in image datasets.

The core API: datasets, views, samples, labels, filter expressions and
``launch_app``. The ``brain``, ``inference`` and ``zoo`` modules are imported
explicitly, so ``import labellens`` never pulls in torch.
"""

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
from labellens.session import Session, launch_app

__version__ = "0.1.0"

__all__ = ["Classification", "Classifications", "Dataset", "F", "ImageMetadata", "Label", "ProgressBar",
           "Sample", "SampleView", "Session", "View", "ViewField", "dataset_exists", "delete_dataset",
           "launch_app", "list_datasets", "load_dataset"]
