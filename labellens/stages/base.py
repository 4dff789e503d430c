"""The stage base class and the compile context stages receive.

A stage is a frozen dataclass whose fields are its parameters. ``to_mongo(ctx)``
returns its aggregation-pipeline fragment given only the schema (never a
collection), so stages never depend on datasets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

from bson import ObjectId

from labellens.codec import INT64_MAX
from labellens.errors import FieldNotFoundError, StageError
from labellens.validation import string_list

ID_FIELD = "id"
DEFAULT_FIELDS = ("filepath", "tags", "metadata")


class CompileContext(NamedTuple):
    """What a stage may know when compiling: the field schema of its input, and (for stages that
    compile another view of the same dataset, such as Concat) the dataset's own schema and
    the name of its samples collection."""

    schema: Mapping[str, str]
    root: Mapping[str, str] | None = None
    collection: str = ""

    def check_field(self, path: str) -> None:
        """Raise FieldNotFoundError unless the top-level field of ``path`` is in the schema.

        Embedded paths of a field (``ground_truth.label``) are valid; internal fields
        (``_id``, ``_rand``) are too.
        """
        if not isinstance(path, str) or not path:
            raise StageError(f"a field path must be a non-empty string, got {path!r}")
        top = path.split(".", 1)[0]
        if top != ID_FIELD and not top.startswith("_") and top not in self.schema:
            raise FieldNotFoundError(
                f"no field {top!r} in this dataset; fields are: {', '.join(['id', *self.schema])}")


def mongo_path(path: str) -> str:
    """The stored path of a user path: ``id`` is stored as ``_id``, also inside labels."""
    parts = path.split(".")
    if ID_FIELD not in parts:  # the common case, on every compile
        return path
    return ".".join("_id" if part == ID_FIELD else part for part in parts)


class Stage:
    """Base of view stages: immutable, validated on construction, compiled with a context."""

    _defaults: ClassVar[dict[str, Any]] = {}

    def to_mongo(self, ctx: CompileContext) -> list[dict[str, Any]]:
        """The aggregation-pipeline fragment of this stage."""
        raise NotImplementedError

    def output_schema(self, schema: Mapping[str, str]) -> Mapping[str, str]:
        """The schema of the stage's output: ``schema`` itself when the stage keeps every field
        (most do). Schemas are shared: read them, never change them."""
        return schema

    def partial_fields(self) -> tuple[str, ...]:
        """Fields whose content this stage shows only in part (so they must not be saved back)."""
        return ()

    def partial_fields_in(self, schema: Mapping[str, str]) -> tuple[str, ...]:
        """:meth:`partial_fields` of the stage compiled on ``schema`` (for stages whose fields
        depend on it, e.g. every label field)."""
        return self.partial_fields()

    def __eq__(self, other: object) -> bool:
        # Compared by their JSON: expression trees overload ``==`` to build expressions.
        return type(other) is type(self) and other.kwargs() == self.kwargs()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.kwargs())))

    def kwargs(self) -> dict[str, Any]:
        """The stage's parameters as JSON-able values (the registry's ``kwargs``)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def __repr__(self) -> str:
        shown = []
        values = self.kwargs()
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = values[field.name]
            if field.default is not dataclasses.MISSING and value == field.default:
                continue
            shown.append(f"{field.name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def require_int(value: Any, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StageError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise StageError(f"{name} must be >= {minimum}, got {value}")
    if value > INT64_MAX:
        raise StageError(f"{name} must be at most {INT64_MAX} (MongoDB's integers have 64 bits), got {value}")
    return value


def require_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise StageError(f"{name} must be True or False, got {value!r}")
    return value


def require_field(value: Any, name: str) -> str:
    """A single field path."""
    if not isinstance(value, str) or not value:
        raise StageError(f"{name} must be a field name such as 'ground_truth', got {value!r}")
    return value


def require_strings(value: Any, name: str) -> tuple[str, ...]:
    """A string or a list of strings, as a tuple."""
    return tuple(string_list(value, name, error=StageError))


def require_object_ids(value: Any, name: str) -> tuple[str, ...]:
    """Sample ids (strings or ObjectIds, or objects with an ``id``) as a tuple of hex strings."""
    items = [value] if isinstance(value, (str, ObjectId)) else value
    try:
        ids = tuple(str(getattr(v, "id", v)) for v in items)
    except TypeError:
        raise StageError(f"{name} must be a sample id or a list of them, got {value!r}") from None
    bad = [i for i in ids if not ObjectId.is_valid(i)]
    if bad:
        raise StageError(f"{name} holds values that are not sample ids, e.g. {bad[0]!r}")
    return ids


def set_frozen(obj: object, name: str, value: Any) -> None:
    """Assign a normalised parameter in ``__post_init__`` of a frozen dataclass."""
    object.__setattr__(obj, name, value)
