"""The one value codec: Python values <-> their stored (BSON-ready) form.

Used for every value everywhere: top-level fields, label attributes (declared
and extra), nested dicts and lists.

- numpy arrays are stored tagged, ``{"_cls": "ndarray", "dtype", "shape", "data": <bytes>}``,
  so they come back with their dtype and shape;
- labels and other embedded documents are stored through their ``to_mongo``
  (a dict with a ``_cls`` name registered by :func:`register`);
- numpy scalars become plain numbers (:func:`python_value` also in memory); tuples become lists;
- a ``datetime.date`` is stored as midnight UTC of that day (a ``DateField`` reads it back as a date);
  datetimes are read back in ``labellens.config.timezone``.

Raw binary is reserved for one compact form: a label's ``logits``, little-endian
float32 bytes (:func:`encode_logits`). Only the label's own field (and
``values("<field>.logits")``) decodes it as logits; :func:`decode` never guesses.
Python ``bytes`` are refused, so raw binary never means anything else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import bson
import numpy as np
from bson import Binary, Int64, ObjectId

from labellens.errors import SchemaError
from labellens.settings import config

NDARRAY = "ndarray"
LOGITS_DTYPE = np.dtype("<f4")
INT64_MIN, INT64_MAX = -2**63, 2**63 - 1

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
"""MongoDB's limit on one stored document: the size of its BSON encoding."""

PLAIN = frozenset({str, int, float, bool, type(None)})
"""Types whose stored form is the value itself (ints must still fit in 64 bits)."""
SELF_STORED = PLAIN - {int}
"""Types stored as they are with nothing to check: encoding's shortcut on hot paths."""

_documents: dict[str, Any] = {}
_document_types: set[type] = set()  # the registered classes themselves: one set lookup on the hot path


# Classes whose declared fields are validated and whose stored forms cannot fail: an
# instance without extra attributes may be encoded late, batch by batch, during a write.
LATE_TYPES: set[type] = set()


def register(cls: Any) -> None:
    """Register an embedded-document class: stored dicts with ``_cls == cls.__name__`` decode to it.

    A class that sets ``_encoding_cannot_fail = True`` itself (not inherited) joins :data:`LATE_TYPES`.
    """
    previous = _documents.get(cls.__name__)
    _document_types.discard(previous)
    LATE_TYPES.discard(previous)
    _documents[cls.__name__] = cls
    _document_types.add(cls)
    if cls.__dict__.get("_encoding_cannot_fail"):
        LATE_TYPES.add(cls)


def document_class(name: str) -> Any:
    """The embedded-document class registered as ``name``, or None."""
    return _documents.get(name)


def encode_logits(array: np.ndarray) -> bytes:
    """(K,) logits -> little-endian float32 bytes (the compact stored form)."""
    return np.ascontiguousarray(array, dtype=LOGITS_DTYPE).tobytes()


def decode_logits(data: bytes | None) -> np.ndarray | None:
    """Bytes written by :func:`encode_logits` -> a writable (K,) float32 array."""
    if data is None:
        return None
    return np.frombuffer(bytes(data), dtype=LOGITS_DTYPE).copy()


def encode_array(array: np.ndarray) -> dict[str, Any]:
    """Any numeric numpy array -> its tagged stored form (dtype and shape kept)."""
    if array.dtype.hasobject:
        raise SchemaError("cannot store a numpy array of Python objects; convert it to a numeric "
                          "array or a list")
    # tobytes() is C order whatever the layout; 0-d arrays keep their shape ().
    return {"_cls": NDARRAY, "dtype": array.dtype.str, "shape": list(array.shape), "data": array.tobytes()}


def decode_array(doc: dict[str, Any]) -> np.ndarray:
    """The tagged form written by :func:`encode_array` -> a writable array of that dtype and shape."""
    return np.frombuffer(bytes(doc["data"]), dtype=np.dtype(doc["dtype"])).reshape(doc["shape"]).copy()


def encode(value: Any) -> Any:
    """The stored form of a Python value (SchemaError for what cannot be stored losslessly)."""
    kind = type(value)
    if kind in PLAIN:
        if kind is int and not INT64_MIN <= value <= INT64_MAX:
            raise SchemaError(f"{value} does not fit in 64 bits; store it as a float or a string")
        return value
    if kind in _document_types:
        return value.to_mongo()
    if kind is list or kind is tuple:
        return [v if type(v) is str else encode(v) for v in value]
    if kind is dict:
        for key in value:
            if not isinstance(key, str) or "\x00" in key or key == "_cls":
                raise SchemaError(f"dict keys must be strings without NUL bytes and not '_cls' "
                                  f"(it marks stored labels and arrays), got {key!r}")
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return encode_array(value)
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return encode(value.item())
    if isinstance(value, (dt.datetime, ObjectId)):
        return value
    if isinstance(value, dt.date):
        return date_to_datetime(value)
    if isinstance(value, (bytes, bytearray, Binary)):
        raise SchemaError("cannot store raw bytes; store them as a numpy array "
                          "(np.frombuffer(data, np.uint8)) or a string")
    raise SchemaError(f"cannot store a value of type {kind.__name__}: {value!r:.80}")


def python_value(value: Any) -> Any:
    """A value set on a sample as its stored form presents it: numpy scalars as the Python numbers
    (or bools, strs) they hold, also as items of lists and dicts, which change in place (a
    ``datetime64`` stays as it is)."""
    kind = type(value)
    if kind in PLAIN:
        return value
    if isinstance(value, np.generic):
        return value if isinstance(value, np.datetime64) else value.item()
    if kind is list:
        for i, item in enumerate(value):
            if type(item) not in PLAIN:
                value[i] = python_value(item)
    elif kind is dict:
        for key, item in value.items():
            if type(item) not in PLAIN:
                value[key] = python_value(item)
    return value


def stored_size(stored: Any) -> int:
    """The exact BSON size of a stored value (:func:`encode`'s output) as one field of a document."""
    return len(bson.encode({"": stored}))


_SMALL = frozenset({int, float, bool, type(None), Int64, ObjectId, dt.datetime, dt.date})


def stored_size_bound(value: Any) -> int:
    """An upper bound of :func:`stored_size`, cheap for strings, numbers and labels.

    ``value`` is a stored value or a label left for late encoding (:data:`LATE_TYPES`,
    which bound their own size); containers are encoded to measure them.
    """
    kind = type(value)
    if kind is str:
        return 4 * len(value) + 16  # UTF-8 takes at most 4 bytes a character
    if kind in LATE_TYPES:
        return value.stored_size_bound() + 16
    if kind in _SMALL:
        return 24
    if kind is bytes or kind is Binary:
        return len(value) + 24
    return stored_size(value)


def decode(value: Any) -> Any:
    """The Python value of a stored value (the inverse of :func:`encode`)."""
    if isinstance(value, dict):
        cls = value.get("_cls")
        if cls == NDARRAY:
            return decode_array(value)
        if cls is not None and cls in _documents:
            return _documents[cls].from_mongo(value)
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    if type(value) is Int64:  # how the driver reads integers beyond 32 bits
        return int(value)
    if type(value) is dt.datetime:
        zone = config.tzinfo()
        return value.astimezone(zone) if zone is not None else value
    return value


def date_to_datetime(value: dt.date) -> dt.datetime:
    """The stored form of a date: midnight UTC of that day."""
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)


def datetime_to_date(value: dt.datetime) -> dt.date:
    """A stored date (midnight UTC, shown in any timezone) -> that day."""
    return (value.astimezone(dt.UTC) if value.tzinfo is not None else value).date()


def decode_path(value: Any, path: str) -> Any:
    """The Python value of ``path``'s stored value as ``values(path)`` projects it.

    A path ending in ``.logits`` names a label's compact logits (one per sample,
    or a list of them under ``Classifications``); every other path uses :func:`decode`.
    """
    if path.endswith(".logits"):
        return _logits(value)
    return decode(value)


def _logits(value: Any) -> Any:
    if isinstance(value, (bytes, Binary)):
        return decode_logits(value)
    if isinstance(value, list):
        return [_logits(v) for v in value]
    return decode(value)


def encode_checked(values: Sequence[Any]) -> list[Any]:
    """Each value's stored form (SchemaError for one that cannot be stored), except labels whose
    encoding cannot fail (:data:`LATE_TYPES`, no extra attributes): they stay
    as they are, for :func:`encode_late` to encode batch by batch while earlier batches are written."""
    late = LATE_TYPES
    return [v if type(v) in late and not v.__pydantic_extra__ else encode(v) for v in values]


def encode_late(values: Sequence[Any]) -> list[Any]:
    """The stored forms of a slice of :func:`encode_checked`'s output."""
    late = LATE_TYPES
    return [v.to_mongo() if type(v) in late else v for v in values]
