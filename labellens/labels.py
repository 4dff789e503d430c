"""Label types: pydantic v2 models embedded in sample documents.

A label is stored as an embedded document with a ``_cls`` discriminator and an
``_id``. ``Classification.logits`` is kept as a float32 numpy array in Python
and stored compactly as BSON binary (little-endian float32), not as an array of
doubles. Every other attribute, extra user attributes included
(``Classification(label="cat", heatmap=np.zeros((2, 3), np.int64))``), goes
through the one value codec (:mod:`labellens.codec`) and round-trips exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from bson import Binary, ObjectId
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from labellens import codec
from labellens.codec import LOGITS_DTYPE as _LOGITS_DTYPE
from labellens.codec import decode_logits, encode_logits
from labellens.errors import ValidationError
from labellens.ids import new_hex_id


class EmbeddedDocument(BaseModel):
    """An embedded document with a registered ``_cls`` name and extra attributes."""

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True,
                              validate_assignment=True)
    # Declared fields stored in a compact form instead of the codec's (decoded in _from_fields).
    _compact: ClassVar[dict[str, Callable[[Any], Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        codec.register(cls)

    def __init__(self, **data: Any) -> None:
        try:  # BaseModel.__init__'s one step, called directly: this is in every ingest loop
            self.__pydantic_validator__.validate_python(data, self_instance=self)
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

    @classmethod
    def attribute_encoder(cls, name: str) -> Callable[[Any], Any]:
        """A function: value -> its stored form as attribute ``name``, validated as assigning it would be.

        For writes of one attribute of stored documents (``set_values("ground_truth.confidence")``):
        a declared field goes through its validator (ValidationError naming it) and compact form,
        an extra attribute through the codec.
        """
        probe = cls.model_construct()  # one per encoder: constructing is a hundred times an assignment
        compact = cls._compact.get(name, codec.encode)

        def encode(value: Any) -> Any:
            setattr(probe, name, value)
            checked = getattr(probe, name)
            return checked if type(checked) in _SELF_STORED else compact(checked)

        return encode

    def stored_size_bound(self) -> int:
        """An upper bound of the stored form's BSON size in bytes (exact here; labels bound it cheaply)."""
        return codec.stored_size(self.to_mongo())

    def field_values(self) -> dict[str, Any]:
        """Declared fields then extra attributes, in order, as Python values."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values.update(self.__pydantic_extra__ or {})
        return values

    def to_mongo(self) -> dict[str, Any]:
        """The BSON-ready dict stored in MongoDB."""
        doc: dict[str, Any] = {"_cls": type(self).__name__}
        # Declared fields live in __dict__, extra attributes in __pydantic_extra__ (hot path).
        compact = type(self)._compact
        encode = codec.encode
        for name, value in self.__dict__.items():
            doc[name] = value if type(value) in _SELF_STORED else compact.get(name, encode)(value)
        extra = self.__pydantic_extra__
        if extra:
            for name, value in extra.items():
                doc[name] = value if type(value) in _SELF_STORED else encode(value)
        return doc

    @classmethod
    def from_mongo(cls, doc: dict[str, Any]) -> EmbeddedDocument:
        """Rebuild the right subclass from a stored dict (dispatch on ``_cls``)."""
        target = codec.document_class(doc.get("_cls", cls.__name__)) or cls
        return target._from_fields(doc)

    @classmethod
    def _from_fields(cls, doc: dict[str, Any]) -> EmbeddedDocument:
        data = {k: v if type(v) in _PLAIN else codec.decode(v) for k, v in doc.items() if k != "_cls"}
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

    id: str = Field(default_factory=new_hex_id)
    tags: list[str] = Field(default_factory=list)
    # Validated as list[str]: a copy is its stored form.
    _compact: ClassVar[dict[str, Callable[[Any], Any]]] = {"tags": list}

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
    """A single class label (None: not labelled yet, as FiftyOne allows), optionally with a
    confidence in [0, 1] and 1-D finite logits."""

    label: str | None = None
    confidence: float | None = None
    logits: np.ndarray | None = None
    _compact: ClassVar[dict[str, Callable[[Any], Any]]] = {**Label._compact, "logits": encode_logits}
    # Every declared field is validated, and its stored form (a str, a float, a list copy,
    # float32 bytes) cannot fail: bulk writes may encode it batch by batch (codec.LATE_TYPES).
    _encoding_cannot_fail: ClassVar[bool] = True

    @field_validator("label", mode="before")
    @classmethod
    def _check_label(cls, value: Any) -> str | None:
        if value is not None and not isinstance(value, str):
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
            return decode_logits(value)
        try:
            array = np.asarray(value, dtype=_LOGITS_DTYPE)
        except (TypeError, ValueError):
            raise ValueError("logits must be a 1-D sequence of numbers") from None
        if array.ndim != 1:
            raise ValueError(f"logits must be 1-D, got shape {array.shape}")
        if not array.size:
            raise ValueError("logits must have one value per class, got none; leave logits unset instead")
        # The float64 sum of squares is finite exactly when every logit is (float32 squares
        # cannot overflow it; a NaN or infinity makes it NaN or infinite): twice as fast
        # as np.isfinite(array).all() on short rows, and this runs in every ingest loop.
        wide = array.astype(np.float64)
        if not math.isfinite(wide.dot(wide)):
            raise ValueError("logits must be finite (no NaN or infinity)")
        return array

    def stored_size_bound(self) -> int:
        """An upper bound of the stored form's BSON size, from the lengths of its values (no encoding:
        bulk writes check every label against MongoDB's document limit with it)."""
        if self.__pydantic_extra__:
            return super().stored_size_bound()
        fields = self.__dict__  # one lookup, not one per attribute: this runs for every label of a bulk write
        tags, logits = fields["tags"], fields["logits"]
        # UTF-8 takes at most 4 bytes a character; 160 bytes cover the keys, the ids and the numbers.
        return (160 + 4 * len(fields["label"] or "") + (0 if logits is None else logits.nbytes)
                + (4 * sum(map(len, tags)) + 16 * len(tags) if tags else 0))

    @classmethod
    def _from_fields(cls, doc: dict[str, Any]) -> EmbeddedDocument:
        logits = doc.get("logits")
        if isinstance(logits, (bytes, Binary)):
            doc = {**doc, "logits": decode_logits(logits)}
        return super()._from_fields(doc)


class Classifications(Label):
    """A list of classifications (multi-label)."""

    classifications: list[Classification] = Field(default_factory=list)


_PLAIN = codec.PLAIN
_SELF_STORED = codec.SELF_STORED


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
