"""Samples: dict-backed dynamic documents.

A ``Sample`` is made by the user (``Sample(filepath, tags, **fields)``) or read
from a dataset. Any field can be set as an attribute or an item. ``save()``
compares each field's stored form with the form it had when read and writes
only what changed (``$set`` / ``$unset``), never a whole-document replace, so
two processes that change different fields of one sample both keep their change.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, ItemsView, Iterator
from itertools import repeat
from typing import Any, NamedTuple

from labellens import codec
from labellens.dataset.protocols import SampleOwner
from labellens.dataset.type_inference import check_field_name
from labellens.errors import FieldNotFoundError, ValidationError
from labellens.labels import format_document

BUILTIN_FIELDS = ("filepath", "tags", "metadata")
_UNDECODED = object()
_NO_FIELDS: frozenset[str] = frozenset()
_CHECKED_NAMES: set[str] = set()  # field names already found valid (the constructor is a hot path)


class Source(NamedTuple):
    """Where a sample comes from: its dataset, and the fields the view it was read through
    filters (saving those would drop what the view hides). One per read, shared by its samples."""

    dataset: SampleOwner | None
    partial: frozenset[str] = _NO_FIELDS


_UNBOUND = Source(None)


class Sample:
    """One image and its fields.

    Three slots: ``_fields`` (name -> Python value), ``_stored`` (the stored document the
    values were read from or last saved as, with its ``_id``; None until added) and
    ``_source``. A read sets only the last two: reading pages of samples is every view's hot path.
    """

    __slots__ = ("_fields", "_stored", "_source")

    def __init__(self, filepath: str | os.PathLike[str], tags: list[str] | None = None,
                 metadata: Any = None, **fields: Any) -> None:
        if not isinstance(filepath, (str, os.PathLike)) or not str(filepath):
            raise ValidationError(f"filepath must be a path string, got {filepath!r}")
        if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
            raise ValidationError(f"tags must be a list of strings, got {tags!r}")
        values: dict[str, Any] = {
            "filepath": os.path.abspath(os.path.expanduser(os.fspath(filepath))),
            "tags": list(tags) if tags else [],
            "metadata": metadata,
        }
        for name, value in fields.items():
            if name not in _CHECKED_NAMES:
                check_field_name(name)
                if len(_CHECKED_NAMES) < 4096:
                    _CHECKED_NAMES.add(name)
            values[name] = value
        # Slots set directly: this constructor is in the loop of every bulk ingest.
        init = object.__setattr__
        init(self, "_fields", values)
        init(self, "_stored", None)
        init(self, "_source", _UNBOUND)

    @classmethod
    def reader(cls, dataset: SampleOwner, partial: frozenset[str] = frozenset()
               ) -> Callable[[list[dict[str, Any]]], list[Sample]]:
        """Stored documents -> samples bound to ``dataset``: one function for a whole read.

        Each document itself is the sample's stored snapshot ("_" keys are internal, as
        after an insert); ``_fields`` stays unset until first used (see ``__getattr__``)
        and values are decoded on first access. A batch is built by C-level calls only,
        with no Python frame per sample, so a page of samples costs little more than its
        documents.
        """
        new, set_stored, set_source = cls.__new__, _SET_STORED, _SET_SOURCE
        source = Source(dataset, partial)

        def read(docs: list[dict[str, Any]]) -> list[Sample]:
            count = len(docs)
            samples = list(map(new, repeat(cls, count)))
            deque(map(set_stored, samples, docs), maxlen=0)
            deque(map(set_source, samples, repeat(source, count)), maxlen=0)
            return samples

        return read

    @property
    def id(self) -> str | None:
        """The sample's id (None until it is added to a dataset)."""
        stored = self._stored
        return str(stored["_id"]) if stored is not None else None

    @property
    def _id(self) -> Any:
        """The stored ``ObjectId`` (None until the sample is added to a dataset)."""
        stored = self._stored
        return stored["_id"] if stored is not None else None

    @property
    def media_type(self) -> str:
        return "image"

    @property
    def dataset(self) -> SampleOwner | None:
        return self._source.dataset

    def field_names(self) -> tuple[str, ...]:
        return tuple(self._fields)

    def __getattr__(self, name: str) -> Any:
        if name == "_fields":  # a sample read from a dataset lists its fields on first use
            return self._list_fields()
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._value(name)
        except KeyError:
            raise AttributeError(f"sample has no field {name!r}; fields are: "
                                 f"{', '.join(self._fields)}") from None

    def _list_fields(self) -> dict[str, Any]:
        """The field names of the stored document, each marked for decoding on first access."""
        values = {k: _UNDECODED for k in self._stored if k[:1] != "_"}  # type: ignore[union-attr]
        values.setdefault("tags", [])
        values.setdefault("metadata", None)
        object.__setattr__(self, "_fields", values)
        return values

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        elif name in ("id", "media_type", "dataset"):
            raise ValidationError(f"{name!r} is a read-only sample attribute")
        else:
            self[name] = value

    def __getitem__(self, name: str) -> Any:
        if name == "id":
            return self.id
        try:
            return self._value(name)
        except KeyError:
            raise FieldNotFoundError(f"sample has no field {name!r}; fields are: "
                                     f"{', '.join(self._fields)}") from None

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in BUILTIN_FIELDS:
            check_field_name(name)
        self._fields[name] = value

    def __delitem__(self, name: str) -> None:
        self.clear_field(name)

    def __contains__(self, name: str) -> bool:
        return name in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def items(self) -> ItemsView[str, Any]:
        """``(name, Python value)`` of every field, decoding those not read yet."""
        if self._stored is not None:
            for name in self._fields:
                self._value(name)
        return self._fields.items()

    def get(self, name: str, default: Any = None) -> Any:
        return self._value(name) if name in self._fields else default

    def _value(self, name: str) -> Any:
        """The Python value of field ``name`` (KeyError if absent), decoding it once."""
        value = self._fields[name]
        if value is _UNDECODED:
            value = self._fields[name] = codec.decode(self._stored[name])  # type: ignore[index]
        return value

    def clear_field(self, name: str) -> None:
        """Remove a field's value from this sample (saved as ``$unset``)."""
        if name in BUILTIN_FIELDS:
            raise ValidationError(f"cannot clear the built-in field {name!r}")
        self._fields.pop(name, None)

    def to_mongo(self) -> dict[str, Any]:
        """The stored form of every field (without ``_id``)."""
        stored = self._stored
        encode = codec.encode
        return {name: value if type(value) in codec.SELF_STORED else  # the common case, inlined
                stored[name] if value is _UNDECODED else encode(value)  # type: ignore[index]
                for name, value in self._fields.items()}

    def changes(self) -> tuple[dict[str, Any], list[str]]:
        """``(fields to $set, fields to $unset)`` since the sample was read or saved."""
        stored = self._stored or {}
        to_set = {}
        for name, value in self._fields.items():
            if value is _UNDECODED:
                continue  # never read, so unchanged
            encoded = codec.encode(value)
            if name not in stored or stored[name] != encoded:
                to_set[name] = encoded
        to_unset = [k for k in stored if k not in self._fields and not k.startswith("_")]
        touched = self._source.partial.intersection([*to_set, *to_unset])
        if touched:
            raise ValidationError(
                f"field {sorted(touched)[0]!r} is filtered in this view, so saving it would drop the "
                "labels the view hides; edit it through the dataset (dataset[sample.id]) instead")
        return to_set, to_unset

    def mark_saved(self, to_set: dict[str, Any], to_unset: list[str]) -> None:
        """Record that the given changes are now stored."""
        stored = self._stored if self._stored is not None else {}
        stored.update(to_set)
        for name in to_unset:
            stored.pop(name, None)
        self._stored = stored

    def save(self) -> None:
        """Write the fields that changed since the sample was read (or last saved)."""
        if self._source.dataset is None:
            raise ValidationError("this sample is not in a dataset; add it with dataset.add_sample()")
        self._source.dataset.save_samples([self])

    def reload(self) -> None:
        """Read the sample again from the database, dropping unsaved changes."""
        if self._source.dataset is None:
            raise ValidationError("this sample is not in a dataset")
        fresh = self._source.dataset[self.id]  # type: ignore[index]
        self._fields, self._stored = fresh._fields, fresh._stored

    def bind(self, dataset: SampleOwner, stored: dict[str, Any]) -> None:
        """Attach a new sample to the dataset it was just added to (``stored`` has its ``_id``)."""
        object.__setattr__(self, "_source", Source(dataset))
        object.__setattr__(self, "_stored", stored)

    def __repr__(self) -> str:
        kind = "SampleView" if self._source.partial or type(self) is SampleView else "Sample"
        shown = {"id": self.id, "media_type": self.media_type,
                 **{name: self._value(name) for name in self._fields}}
        return format_document(kind, shown)

    __str__ = __repr__


_SET_STORED = vars(Sample)["_stored"].__set__  # the slots' own setters, for Sample.reader
_SET_SOURCE = vars(Sample)["_source"].__set__


class SampleView(Sample):
    """A sample read through a view: it shows (and saves) only the fields the view selects."""

    __slots__ = ()
