"""Label types: pydantic v2 models embedded in sample documents.

A label is stored as an embedded document with a ``_cls`` discriminator and an
``_id``. ``Classification.logits`` is kept as a float32 numpy array in Python
and stored compactly as BSON binary (little-endian float32), not as an array of
doubles. Extra user attributes (``Classification(label="cat", reviewed=True)``)
are kept through a round trip.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from bson import Binary, ObjectId
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from labellens.errors import ValidationError

_LOGITS_DTYPE = np.dtype("<f4")


def _new_id() -> str:
    return str(ObjectId())


def encode_array(array: np.ndarray) -> bytes:
    """Pack a 1-D float array as little-endian float32 bytes (stored as BSON binary)."""
    return np.ascontiguousarray(array, dtype=_LOGITS_DTYPE).tobytes()


def decode_array(data: bytes | None) -> np.ndarray | None:
    """Unpack bytes written by :func:`encode_array` (a writable float32 copy)."""
    if data is None:
        return None
    return np.frombuffer(bytes(data), dtype=_LOGITS_DTYPE).copy()


class EmbeddedDocument(BaseModel):
    """An embedded document with a registered ``_cls`` name and extra attributes."""

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True,
                              validate_assignment=True)
    _registry: ClassVar[dict[str, type[EmbeddedDocument]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        EmbeddedDocument._registry[cls.__name__] = cls

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except PydanticValidationError as exc:
            raise ValidationError(f"invalid {type(self).__name__}: {_describe(exc)}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except PydanticValidationError as exc:
            raise ValidationError(f"invalid {type(self).__name__}.{name}: {_describe(exc)}") from None

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return _equal(self.to_mongo(), other.to_mongo())  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def field_values(self) -> dict[str, Any]:
        """Declared fields then extra attributes, in order, as Python values."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values.update(self.__pydantic_extra__ or {})
        return values

    def to_mongo(self) -> dict[str, Any]:
        """The BSON-ready dict stored in MongoDB."""
        doc: dict[str, Any] = {"_cls": type(self).__name__}
        # Declared fields live in __dict__, extra attributes in __pydantic_extra__ (hot path).
        for name, value in self.__dict__.items():
            doc[name] = value if type(value) in _PLAIN else _value_to_mongo(value)
        for name, value in (self.__pydantic_extra__ or {}).items():
            doc[name] = value if type(value) in _PLAIN else _value_to_mongo(value)
        return doc

    @classmethod
    def from_mongo(cls, doc: dict[str, Any]) -> EmbeddedDocument:
        """Rebuild the right subclass from a stored dict (dispatch on ``_cls``)."""
        target = EmbeddedDocument._registry.get(doc.get("_cls", cls.__name__), cls)
        return target._from_fields(doc)

    @classmethod
    def _from_fields(cls, doc: dict[str, Any]) -> EmbeddedDocument:
        data = {k: _value_from_mongo(v) for k, v in doc.items() if k != "_cls"}
        # Stored documents were validated when written: skip re-validation on read.
        return cls.model_construct(**data)

    def __repr__(self) -> str:
        return format_document(type(self).__name__, self.field_values())

    __str__ = __repr__


class ImageMetadata(EmbeddedDocument):
    """Image facts read from the file header: size in bytes, MIME type, width, height."""

    size_bytes: int | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None


class Label(EmbeddedDocument):
    """Base of all labels: an id (stored as ``_id``) and a list of tags."""

    id: str = Field(default_factory=_new_id)
    tags: list[str] = Field(default_factory=list)

    @field_validator("id", mode="before")
    @classmethod
    def _coerce_id(cls, value: Any) -> str:
        if isinstance(value, ObjectId):
            return str(value)
        if not isinstance(value, str) or not ObjectId.is_valid(value):
            raise ValueError(f"id must be a 24-character hex ObjectId string, got {value!r}")
        return value

    def to_mongo(self) -> dict[str, Any]:
        doc = super().to_mongo()
        doc["_id"] = ObjectId(doc.pop("id"))
        return doc

    @classmethod
    def _from_fields(cls, doc: dict[str, Any]) -> EmbeddedDocument:
        doc = dict(doc)
        if "_id" in doc:
            doc["id"] = str(doc.pop("_id"))
        return super()._from_fields(doc)


class Classification(Label):
    """A single class label, optionally with a confidence in [0, 1] and 1-D finite logits."""

    label: str
    confidence: float | None = None
    logits: np.ndarray | None = None

    @field_validator("label", mode="before")
    @classmethod
    def _check_label(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"label must be a string, got {type(value).__name__} {value!r}")
        return value

    @field_validator("confidence", mode="before")
    @classmethod
    def _check_confidence(cls, value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise ValueError(f"confidence must be a number in [0, 1], got {value!r}")
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {value}")
        return value

    @field_validator("logits", mode="before")
    @classmethod
    def _check_logits(cls, value: Any) -> np.ndarray | None:
        if value is None:
            return None
        if isinstance(value, (bytes, Binary)):
            return decode_array(value)
        try:
            array = np.asarray(value, dtype=_LOGITS_DTYPE)
        except (TypeError, ValueError):
            raise ValueError("logits must be a 1-D sequence of numbers") from None
        if array.ndim != 1:
            raise ValueError(f"logits must be 1-D, got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError("logits must be finite (no NaN or infinity)")
        return array


class Classifications(Label):
    """A list of classifications (multi-label)."""

    classifications: list[Classification] = Field(default_factory=list)

    def to_mongo(self) -> dict[str, Any]:
        doc = super().to_mongo()
        doc["classifications"] = [c.to_mongo() for c in self.classifications]
        return doc

    @classmethod
    def _from_fields(cls, doc: dict[str, Any]) -> EmbeddedDocument:
        doc = dict(doc)
        doc["classifications"] = [Classification.from_mongo(c) for c in doc.get("classifications", [])]
        return super()._from_fields(doc)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _value_to_mongo(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return encode_array(value)
    if isinstance(value, EmbeddedDocument):
        return value.to_mongo()
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, list):
        return [v if type(v) in _PLAIN else _value_to_mongo(v) for v in value]
    return value


def _value_from_mongo(value: Any) -> Any:
    if isinstance(value, dict) and "_cls" in value:
        return EmbeddedDocument.from_mongo(value)
    if isinstance(value, (bytes, Binary)):
        return decode_array(value)
    return value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _describe(exc: PydanticValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "value"
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def format_value(value: Any, indent: int) -> str:
    """repr() of a field value, nesting embedded documents with indentation."""
    if isinstance(value, EmbeddedDocument):
        return format_document(type(value).__name__, value.field_values(), indent)
    if isinstance(value, np.ndarray):
        pad = " " * (indent + 7)
        return np.array2string(value, separator=", ", prefix=pad).join(["array(", ", dtype=float32)"]) \
            if value.dtype == _LOGITS_DTYPE else repr(value)
    return repr(value)


def format_document(kind: str, fields: dict[str, Any], indent: int = 0) -> str:
    """The tutorial's ``<Kind: {\\n    'field': value,\\n}>`` form."""
    pad = " " * (indent + 4)
    lines = [f"<{kind}: {{"]
    for name, value in fields.items():
        lines.append(f"{pad}{name!r}: {format_value(value, indent + 4)},")
    lines.append(" " * indent + "}>")
    return "\n".join(lines)
