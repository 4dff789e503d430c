"""Datasets, views and samples backed by MongoDB."""

from labellens.dataset.collection import SampleCollection
from labellens.dataset.dataset import Dataset, dataset_exists, delete_dataset, list_datasets, load_dataset
from labellens.dataset.history import LabelChange
from labellens.dataset.sample import Sample, SampleView
from labellens.dataset.view import View

__all__ = ["Dataset", "LabelChange", "Sample", "SampleCollection", "SampleView", "View", "dataset_exists",
           "delete_dataset", "list_datasets", "load_dataset"]
