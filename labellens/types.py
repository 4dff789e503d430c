"""Dataset types: markers naming the on-disk layout that ``Dataset.from_dir`` reads.

Pass the class itself (as in ``dataset_type=labellens.types.ImageDirectory``) or
an instance; both are accepted.
"""

from __future__ import annotations


class DatasetType:
    """Base of the on-disk dataset layouts."""


class ImageClassificationDirectoryTree(DatasetType):
    """``<root>/<class>/<image>``: one folder per class, named after the class.

    Class names are the folder names in sorted order; they become the dataset's
    ``default_classes`` and each image gets a ``Classification`` with its folder's name.
    """


class ImageDirectory(DatasetType):
    """A folder of unlabelled images (searched recursively)."""
