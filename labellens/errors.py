"""Errors raised by labellens.

Every error derives from :class:`LabelLensError` and also from the builtin it
resembles, so ``except ValueError`` keeps working for callers that expect one.
Messages say what went wrong and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class LabelLensError(Exception):
    """Base class of every labellens error."""

    def __str__(self) -> str:
        # KeyError quotes its message; every labellens error prints it plainly.
        return str(self.args[0]) if self.args else ""


class NotFoundError(LabelLensError, KeyError):
    """Something named does not exist (the App answers 404 for these)."""


class DatabaseUnavailableError(LabelLensError, ConnectionError):
    """The MongoDB server cannot be reached (or no server can be started)."""


class MongodNotFoundError(LabelLensError, FileNotFoundError):
    """No ``mongod`` binary was found to start the embedded database."""


class DatasetExistsError(LabelLensError, ValueError):
    """A dataset with this name already exists."""


class DatasetNotFoundError(NotFoundError):
    """No dataset with this name exists (or it was deleted meanwhile)."""


class SampleNotFoundError(NotFoundError):
    """No sample with this id exists in the dataset or view."""


class SavedViewNotFoundError(NotFoundError):
    """No saved view with this name exists on the dataset."""


class RunNotFoundError(NotFoundError):
    """No run (brain, evaluation, annotation, ...) with this key exists on the dataset."""


class BrainRunNotFoundError(RunNotFoundError):
    """No brain run with this key exists on the dataset."""


class IndexNotFoundError(NotFoundError):
    """No index with this name exists on the dataset's samples."""


class HistoryEntryNotFoundError(NotFoundError):
    """No label-history entry with this id exists for the sample."""


class MediaNotFoundError(NotFoundError):
    """A sample's filepath does not lead to a readable image file."""


class FieldNotFoundError(NotFoundError):
    """A field path does not exist in the dataset's schema."""


class InvalidFieldNameError(LabelLensError, ValueError):
    """A field name that MongoDB cannot store or that shadows a built-in field."""


class SchemaError(LabelLensError, TypeError, ValueError):
    """A value does not match the declared type of its field (a ValueError too, as FiftyOne raises)."""


class ValidationError(LabelLensError, ValueError):
    """An argument or value is invalid."""


class StageError(LabelLensError, ValueError):
    """A view stage or filter expression is invalid."""


class MissingDependencyError(LabelLensError, ImportError):
    """An optional dependency is needed for this feature but is not installed."""


class DownloadError(LabelLensError, ConnectionError):
    """A file (zoo dataset archive, model weights) could not be downloaded or failed its checksum."""


class QueryTimeoutError(LabelLensError, TimeoutError):
    """The database stopped a query that ran past its time limit (the App answers 504)."""


class ConflictError(LabelLensError, RuntimeError):
    """A write found its data changed since it was read (another reviewer, tab or process), so it
    wrote nothing for the samples in ``sample_ids`` (the App answers 409).

    ``written``: what a bulk call wrote for its other samples (label-history entries).
    """

    def __init__(self, message: str, *, sample_ids: Sequence[str] = (),
                 written: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.sample_ids = list(sample_ids)
        self.written = list(written)


class DocumentTooLargeError(ValidationError):
    """A sample would exceed MongoDB's 16 MiB limit on one stored document (nothing was written).

    ``index``: the position of the document in the batch that held it; ``size``: its bytes.
    """

    def __init__(self, message: str, *, index: int = 0, size: int = 0) -> None:
        super().__init__(message)
        self.index = index
        self.size = size
