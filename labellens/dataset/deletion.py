"""Deleting a dataset: every object of it in this process raises afterwards, not only the one used.

This process's :class:`~labellens.dataset.dataset.Dataset` objects are tracked per catalog
record (weakly: tracking keeps none alive); deleting the record makes each of them hold a
:class:`Deleted` instead of its record, schema and writer.
"""

from __future__ import annotations

import weakref
from typing import Any, Protocol

from labellens.dataset import catalog
from labellens.errors import DatasetNotFoundError


class Forgettable(Protocol):
    def _forget(self) -> None: ...


_OPEN: dict[Any, weakref.WeakValueDictionary[int, Forgettable]] = {}
"""record id -> this process's Dataset objects of it (by id(): datasets are unhashable)"""


class Deleted:
    """What a deleted dataset holds instead of its record, schema and writer: every use raises."""

    def __init__(self, name: str, record_id: Any) -> None:
        self.name, self.id = name, record_id

    def exists(self) -> bool:
        return False

    def __getattr__(self, attribute: str) -> Any:
        raise DatasetNotFoundError(f"dataset {self.name!r} was deleted; load or create another dataset")


def track(record_id: Any, dataset: Forgettable) -> None:
    """Note ``dataset`` as an object of the record ``record_id``."""
    _OPEN.setdefault(record_id, weakref.WeakValueDictionary())[id(dataset)] = dataset


def delete(store: Any, name: str) -> None:
    """Delete dataset ``name`` and make this process's objects of it raise on every use."""
    record_id = catalog.find_record(store, name)["_id"]
    catalog.delete(store, name)
    for dataset in list(_OPEN.pop(record_id, {}).values()):
        dataset._forget()
