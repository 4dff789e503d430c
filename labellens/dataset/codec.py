"""Convert field values between Python and their stored (BSON-ready) form.

Labels and other embedded documents are stored through their ``to_mongo``;
numpy arrays as ``{"_cls": "ndarray", "dtype", "shape", "data": <bytes>}``;
numpy scalars as plain numbers. Decoding reverses this.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Iterator
from typing import Any

import numpy as np
from bson import ObjectId

from labellens.errors import SchemaError
from labellens.labels import EmbeddedDocument, decode_array

NDARRAY = "ndarray"


_PLAIN = frozenset({str, int, float, bool, type(None)})


INT64_MIN, INT64_MAX = -2**63, 2**63 - 1


def encode(value: Any) -> Any:
    """The stored form of a Python field value (SchemaError for what BSON cannot store)."""
    if type(value) in _PLAIN:
        if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
            raise SchemaError(f"{value} does not fit in 64 bits; store it as a float or a string")
        return value
    if isinstance(value, EmbeddedDocument):
        return value.to_mongo()
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise SchemaError("cannot store a numpy array of Python objects; convert it to a numeric "
                              "array or a list")
        array = np.ascontiguousarray(value)
        return {"_cls": NDARRAY, "dtype": array.dtype.str, "shape": list(array.shape),
                "data": array.tobytes()}
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return encode(value.item())
    if isinstance(value, (list, tuple)):
        return [v if type(v) is str else encode(v) for v in value]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str) or "\x00" in key:
                raise SchemaError(f"dict keys must be strings without NUL bytes, got {key!r}")
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (dt.datetime, ObjectId)):
        return value
    raise SchemaError(f"cannot store a value of type {type(value).__name__}: {value!r:.80}")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch is encoded.

    Encoding allocates many small objects, which triggers full collections that
    walk every live sample (half the cost of a bulk write); the objects are
    freed by reference counting anyway. The collector's previous state is restored.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def decode(value: Any) -> Any:
    """The Python value of a stored field value."""
    if isinstance(value, dict):
        cls = value.get("_cls")
        if cls == NDARRAY:
            return np.frombuffer(bytes(value["data"]), dtype=np.dtype(value["dtype"])).reshape(
                value["shape"]).copy()
        if cls is not None:
            return EmbeddedDocument.from_mongo(value)
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, bytes):
        # Label logits are the only raw binary values labellens stores.
        return decode_array(value)
    return value
