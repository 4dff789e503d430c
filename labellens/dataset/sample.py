"""Samples: dict-backed dynamic documents.

A ``Sample`` is made by the user (``Sample(filepath, tags, **fields)``) or read
from a dataset. Any field can be set as an attribute or an item. ``save()``
compares each field's stored form with the form it had when read and writes
only what changed (``$set`` / ``$unset``), never a whole-document replace, so
two processes that change different fields of one sample both keep their change.

A dataset keeps one in-memory sample per id (:mod:`labellens.dataset.live`): reading
an id again returns the same object, and writes made around it refresh it.
Values are presented as FiftyOne presents them: numpy scalars become Python
numbers when set, ObjectId fields read as strings, ``DateField`` values as dates.
"""

from __future__ import annotations

import copy as copying
import datetime as dt
import json
import os
from collections import deque
from collections.abc import Callable, ItemsView, Iterable, Iterator
from itertools import repeat
from typing import Any, NamedTuple

from bson import ObjectId, json_util

from labellens import codec, fields
from labellens.dataset import live, merge_rules
from labellens.dataset.protocols import SampleOwner
from labellens.dataset.type_inference import check_field_name
from labellens.errors import FieldNotFoundError, SampleNotFoundError, ValidationError
from labellens.labels import Label, format_document

BUILTIN_FIELDS = ("filepath", "tags", "metadata")
_UNDECODED = object()
_NO_FIELDS: frozenset[str] = frozenset()
_CHECKED_NAMES: set[str] = set()  # field names already found valid (the constructor is a hot path)
_JSON_OPTIONS = json_util.RELAXED_JSON_OPTIONS.with_options(tz_aware=True)


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

    __slots__ = ("_fields", "_stored", "_source", "__weakref__")

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
            values[name] = codec.python_value(value)
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
        documents. Full samples (not SampleViews) are the dataset's in-memory samples: an
        id that has a live one gives it back, refreshed from the document.
        """
        new, set_stored, set_source = cls.__new__, _SET_STORED, _SET_SOURCE
        source = Source(dataset, partial)

        def read(docs: list[dict[str, Any]]) -> list[Sample]:
            count = len(docs)
            samples = list(map(new, repeat(cls, count)))
            deque(map(set_stored, samples, docs), maxlen=0)
            deque(map(set_source, samples, repeat(source, count)), maxlen=0)
            return samples

        if cls is not Sample or partial:
            return read
        return _LiveReader(read, live.of(dataset.collection_name))

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
        if "." in name:  # an attribute of an embedded label: "gt.label"
            holder, attribute = self._embedded(name)
            if attribute not in type(holder).model_fields and attribute not in (holder.model_extra or {}):
                raise FieldNotFoundError(f"sample has no field {name!r}")
            return getattr(holder, attribute)
        try:
            return self._value(name)
        except KeyError:
            raise FieldNotFoundError(f"sample has no field {name!r}; fields are: "
                                     f"{', '.join(self._fields)}") from None

    def __setitem__(self, name: str, value: Any) -> None:
        if "." in name and name.split(".", 1)[0] in self._fields:  # a label's attribute: s["gt.foo"] = 1
            holder, attribute = self._embedded(name)
            check_field_name(attribute)
            setattr(holder, attribute, codec.python_value(value))
            return
        if name not in BUILTIN_FIELDS:
            check_field_name(name)
        self._fields[name] = codec.python_value(value)

    def _embedded(self, path: str) -> tuple[Label, str]:
        """The label holding the last attribute of a dotted ``path``, and that attribute's name."""
        *parents, attribute = path.split(".")
        holder = self[parents[0]]
        for part in parents[1:]:
            holder = getattr(holder, part, None) if isinstance(holder, Label) else None
        if not isinstance(holder, Label):
            raise ValidationError(f"cannot reach {path!r}: {'.'.join(parents)!r} is not a label "
                                  f"(set the attribute of a label field, e.g. 'ground_truth.note')")
        return holder, attribute

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
            value = codec.decode(self._stored[name])  # type: ignore[index]
            if type(value) is ObjectId:
                value = str(value)
            elif type(value) is dt.datetime and self._field_type(name) == fields.DATE:
                value = codec.datetime_to_date(value)
            self._fields[name] = value
        return str(value) if type(value) is ObjectId else value  # one set before the sample was added

    def _field_type(self, name: str) -> str | None:
        dataset = self._source.dataset
        return None if dataset is None else dataset._stored_schema(fresh=False).get(name)

    def clear_field(self, name: str) -> None:
        """Remove a field's value from this sample (saved as ``$unset``)."""
        if name in BUILTIN_FIELDS:
            raise ValidationError(f"cannot clear the built-in field {name!r}")
        self._fields.pop(name, None)

    def to_mongo(self) -> dict[str, Any]:
        """The stored form of every field (without ``_id``)."""
        stored = self._stored
        if stored is not None:
            return {name: self._stored_form(name, value, stored) for name, value in self._fields.items()}
        encode = codec.encode  # a new sample: the insert's hot path
        return {name: value if type(value) in codec.SELF_STORED else encode(value)
                for name, value in self._fields.items()}

    def _stored_form(self, name: str, value: Any, stored: dict[str, Any]) -> Any:
        """A field's stored form: the stored one while unread; an id string on an ObjectId field
        as an ObjectId (they read as strings)."""
        if value is _UNDECODED:
            return stored[name]
        encoded = value if type(value) in codec.SELF_STORED else codec.encode(value)
        return self._object_id(name, encoded, stored.get(name)) if type(encoded) is str else encoded

    def _object_id(self, name: str, encoded: str, old: Any) -> Any:
        """``encoded`` as an ObjectId when field ``name`` holds ObjectIds and it is one, else as it is."""
        if len(encoded) == 24 and (type(old) is ObjectId or self._field_type(name) == fields.OBJECT_ID) \
                and ObjectId.is_valid(encoded):
            return ObjectId(encoded)
        return encoded

    def _diff(self) -> tuple[dict[str, Any], list[str]]:
        stored = self._stored or {}
        to_set = {}
        self_stored, encode = codec.SELF_STORED, codec.encode
        for name, value in self._fields.items():
            if value is _UNDECODED:
                continue  # never read, so unchanged
            encoded = value if type(value) in self_stored else encode(value)
            old = stored.get(name, _UNDECODED)  # the sentinel: not stored
            if old == encoded:
                continue
            if type(encoded) is str:
                encoded = self._object_id(name, encoded, old)
                if old == encoded:
                    continue
            if old is _UNDECODED or not _same(old, encoded):
                to_set[name] = encoded
        to_unset = [k for k in stored if k not in self._fields and not k.startswith("_")]
        return to_set, to_unset

    def changes(self) -> tuple[dict[str, Any], list[str]]:
        """``(fields to $set, fields to $unset)`` since the sample was read or saved."""
        to_set, to_unset = self._diff()
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
        dataset = self._source.dataset
        if dataset is None:
            raise ValidationError("this sample is not in a dataset")
        found = next(dataset._run_batches([{"$match": {"_id": self._id}}, {"$limit": 1}]), None)
        if not found:
            raise SampleNotFoundError(f"sample {self.id} is no longer in dataset {dataset.name!r}")
        self._replace(found[0], ())
        if type(self) is not Sample:  # a SampleView reloads to the whole sample
            object.__setattr__(self, "_source", Source(dataset))

    def _reread(self, doc: dict[str, Any]) -> Sample:
        """This live sample, refreshed from ``doc`` just read, keeping its unsaved changes."""
        self.refresh(doc)
        return self

    def refresh(self, doc: dict[str, Any]) -> None:
        """Take ``doc`` as the stored document (written around this object), keeping unsaved changes."""
        self._replace(doc, self._diff() if _has_fields(self) else ())

    def _replace(self, doc: dict[str, Any], unsaved: tuple[dict[str, Any], list[str]] | tuple[()]) -> None:
        """Take ``doc`` as the stored document; ``unsaved`` (from ``_diff``) are changes to keep."""
        kept = {name: self._fields[name] for name in unsaved[0]} if unsaved else {}
        removed = unsaved[1] if unsaved else []
        object.__setattr__(self, "_stored", doc)
        if _has_fields(self):
            object.__delattr__(self, "_fields")  # listed again from the new document on first use
        if kept or removed:
            values = self._fields
            values.update(kept)
            for name in removed:
                values.pop(name, None)

    def bind(self, dataset: SampleOwner, stored: dict[str, Any]) -> None:
        """Attach a new sample to the dataset it was just added to (``stored`` has its ``_id``)."""
        object.__setattr__(self, "_source", Source(dataset))
        object.__setattr__(self, "_stored", stored)

    def unbind(self) -> None:
        """Detach a sample whose stored document was deleted: it keeps its values, has no id."""
        for name in self._fields:
            self._value(name)
        object.__setattr__(self, "_stored", None)
        object.__setattr__(self, "_source", _UNBOUND)

    @property
    def in_dataset(self) -> bool:
        """Whether the sample is stored in a dataset."""
        return self._stored is not None

    # -- copies and serialized forms (FiftyOne's names) ---------------------------------

    def copy(self, fields: str | Iterable[str] | None = None,
             omit_fields: str | Iterable[str] | None = None) -> Sample:
        """A deep copy that is in no dataset (optionally only ``fields``, or without ``omit_fields``)."""
        chosen = _chosen(self, fields, omit_fields)
        stored = self._stored or {}
        values = {}
        for name in self._fields:
            if name in chosen:
                value = self._value(name)
                old = stored.get(name)
                values[name] = old if type(old) is ObjectId and value == str(old) else copying.deepcopy(value)
        return Sample(**values)

    def __deepcopy__(self, memo: dict[int, Any]) -> Sample:
        return self.copy()

    def merge(self, sample: Sample, fields: str | Iterable[str] | None = None,
              omit_fields: str | Iterable[str] | None = None, *, merge_lists: bool = True,
              overwrite: bool = True) -> None:
        """Merge the fields of ``sample`` (only ``fields``, or without ``omit_fields``) into this one,
        by the rules of ``Dataset.merge_samples``: None values of ``sample`` never overwrite, fields
        this sample lacks are added, list fields (``tags``) gain the new items and label lists the
        labels of new ids (``merge_lists``), other fields are replaced when ``overwrite``. Call
        ``save()`` to store the result when this sample is in a dataset."""
        if not isinstance(sample, Sample):
            raise ValidationError(f"merge takes a Sample, got {type(sample).__name__}")
        chosen = _chosen(sample, fields, omit_fields)
        incoming = {k: v for k, v in sample.to_mongo().items() if k in chosen}
        existing = self.to_mongo()
        lists = {name for name, value in existing.items() if isinstance(value, list)}
        changes = merge_rules.merged(incoming, existing, {n: n for n in incoming}, lists,
                                     merge_lists=merge_lists, overwrite=overwrite)
        for name, value in changes.items():
            self[name] = codec.decode(value)

    def to_mongo_dict(self, include_id: bool = False) -> dict[str, Any]:
        """The document as it is (or would be) stored: BSON-ready values, ``_id`` when ``include_id``."""
        doc = self.to_mongo()
        if include_id:
            doc = {"_id": self._id, **doc}
        return doc

    def to_dict(self, include_private: bool = False) -> dict[str, Any]:
        """A JSON-serializable dict of the fields (MongoDB extended JSON for ids, dates, arrays).

        The sample id and the stored ``_`` fields are left out unless ``include_private``.
        """
        doc = self.to_mongo()
        if include_private and self._stored is not None:
            doc = {**{k: v for k, v in self._stored.items() if k[:1] == "_"}, **doc}
        return json.loads(json_util.dumps(doc, json_options=_JSON_OPTIONS))

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, dates: Iterable[str] = ()) -> Sample:
        """A new sample (in no dataset) from :meth:`to_dict`'s output; ``_`` keys are ignored and
        the fields named in ``dates`` read as dates."""
        if not isinstance(d, dict) or "filepath" not in d:
            raise ValidationError("Sample.from_dict takes a dict from Sample.to_dict(), with a 'filepath'")
        stored = json_util.loads(json.dumps(d), json_options=_JSON_OPTIONS)
        values = {k: codec.decode(v) for k, v in stored.items() if k[:1] != "_"}
        for name in set(dates).intersection(values):
            if isinstance(values[name], dt.datetime):
                values[name] = codec.datetime_to_date(values[name])
        return cls(**values)

    def __repr__(self) -> str:
        kind = "SampleView" if self._source.partial or type(self) is SampleView else "Sample"
        shown = {"id": self.id, "media_type": self.media_type,
                 **{name: self._value(name) for name in self._fields}}
        return format_document(kind, shown)

    __str__ = __repr__


_SMALL_PAGE = 100


class _LiveReader:
    """A dataset's reader of full samples: each page's samples are the dataset's live ones, and
    those the caller keeps are registered once it asks for the next page (or drops the reader)."""

    __slots__ = ("_read", "_registry", "_page")

    def __init__(self, read: Callable[[list[dict[str, Any]]], list[Sample]],
                 registry: live.LiveSamples) -> None:
        self._read, self._registry, self._page = read, registry, None

    def __call__(self, docs: list[dict[str, Any]]) -> list[Sample]:
        if self._page is not None:
            self._keep()
        samples = self._registry.reuse(docs, self._read(docs))
        if len(samples) <= _SMALL_PAGE:  # first(), dataset[id], head(): registered at once
            self._registry.register(map(live.doc_key, docs), samples)
        else:
            self._page = samples
        return samples

    def _keep(self) -> None:
        page, self._page = self._page, None
        self._registry.keep(page)  # type: ignore[arg-type]

    def __del__(self) -> None:
        if self._page is not None:
            self._keep()


_SET_STORED = vars(Sample)["_stored"].__set__  # the slots' own setters, for Sample.reader
_SET_SOURCE = vars(Sample)["_source"].__set__
_FIELDS_SLOT = vars(Sample)["_fields"]


def _has_fields(sample: Sample) -> bool:
    """Whether the sample's field list is made (a read leaves it unmade until first used)."""
    try:
        _FIELDS_SLOT.__get__(sample)
    except AttributeError:
        return False
    return True


def _same(stored: Any, encoded: Any) -> bool:
    """Whether a stored label document and a label's encoding differ only by attributes that are
    None (another writer may leave those out)."""
    if type(stored) is dict and type(encoded) is dict and stored.keys() != encoded.keys():
        return ({k: v for k, v in stored.items() if v is not None}
                == {k: v for k, v in encoded.items() if v is not None})
    return False


def _chosen(sample: Sample, fields: str | Iterable[str] | None, omit: str | Iterable[str] | None
            ) -> set[str]:
    """The field names :meth:`Sample.copy` keeps (the built-in fields always)."""
    names = set(sample._fields)
    if fields is not None:
        wanted = {fields} if isinstance(fields, str) else set(fields)
        unknown = wanted - names
        if unknown:
            raise FieldNotFoundError(f"sample has no field {sorted(unknown)[0]!r}; "
                                     f"fields are: {', '.join(names)}")
        names = wanted | set(BUILTIN_FIELDS)
    if omit is not None:
        names -= ({omit} if isinstance(omit, str) else set(omit)) - set(BUILTIN_FIELDS)
    return names


class SampleView(Sample):
    """A sample read through a view: it shows (and saves) only the fields the view selects."""

    __slots__ = ()
