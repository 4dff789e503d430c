"""Label types: one registered description of each kind of label, looked up wherever labels differ.

A :class:`LabelType` gives the pydantic model (its validators are the label's
validation; ``to_mongo`` / ``from_mongo``, ``_compact`` attributes and
``_encoding_cannot_fail`` its stored form; the model registers itself with the
codec when defined), the path of its list of labels if it holds
several (``Classifications`` -> ``classifications``: views filter that list and
aggregations count its items singly), the label-specific operations that apply
to it, and the name of the App module that draws it. Adding a type is a model and
one :func:`register_label_type` call; the view engine, the server routes and the
review queue only look types up::

    class Regression(ll.Label):
        value: float

    register_label_type(LabelType(Regression))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from labellens.errors import FieldNotFoundError, LabelLensError, SchemaError, ValidationError
from labellens.fields import FieldType
from labellens.labels import Classification, Classifications, Label

OPERATIONS = frozenset({"classes", "evaluation", "export", "review"})
"""The label-specific operations a type may support:

- ``classes``: its labels name a class in ``label`` (brain scores compare them);
- ``evaluation``: ``evaluate_classifications`` compares its fields;
- ``export``: ``export_view`` and ``import_labels`` read and write its fields;
- ``review``: label decisions (review mode, the App's review queue, label history) change it.
"""


@dataclass(frozen=True)
class LabelType:
    """One kind of label: its model, its list path, what applies to it and the App module that draws it.

    ``renderer`` names ``labellens/server/static/js/labels/<renderer>.js``; None: the App shows
    the label's attributes as fields only.
    """

    model: type[Label]
    list_path: str | None = None
    supports: frozenset[str] = frozenset()
    renderer: str | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.model, type) and issubclass(self.model, Label)):
            raise SchemaError(f"a label type's model must subclass labellens.Label, got {self.model!r}")
        if self.list_path is not None and self.list_path not in self.model.model_fields:
            raise SchemaError(f"list_path {self.list_path!r} is not a field of {self.name}")
        unknown = set(self.supports) - OPERATIONS
        if unknown:
            raise SchemaError(f"unknown operations {sorted(unknown)}; a label type supports some of "
                              f"{sorted(OPERATIONS)}")

    @property
    def name(self) -> str:
        return self.model.__name__

    @property
    def field_type(self) -> FieldType:
        """The type of a field holding these labels: ``EmbeddedDocumentField(<name>)``."""
        return FieldType.embedded(self.name)


_types: dict[str | None, LabelType] = {}


def register_label_type(label_type: LabelType) -> LabelType:
    """Register (or replace) the description of the labels of ``label_type.model``; returns it."""
    _types[label_type.field_type] = label_type
    return label_type


def label_type(field_type: str | None) -> LabelType | None:
    """The label type of fields of type ``field_type``, or None when they hold no labels."""
    return _types.get(field_type)


def list_path(field_type: str | None) -> str | None:
    """The path of the list of labels in fields of type ``field_type`` (``classifications``), else None:
    views filter that list and aggregations count its items singly."""
    found = label_type(field_type)
    return found.list_path if found is not None else None


def label_types() -> list[LabelType]:
    """Every registered label type, in registration order."""
    return list(_types.values())


def label_fields(schema: Mapping[str, str], supports: str | None = None) -> list[str]:
    """The fields of ``schema`` holding labels (of a type that supports the operation ``supports``)."""
    return [name for name, kind in schema.items()
            if (found := _types.get(kind)) is not None and (supports is None or supports in found.supports)]


def check_label_field(schema: Mapping[str, str], field: str, *, role: str, supports: str,
                      error: type[LabelLensError] = SchemaError) -> LabelType:
    """The label type of ``field`` if it supports the operation ``supports``, else a clear error
    (FieldNotFoundError, or ``error``) naming the types and the fields that would do."""
    if not isinstance(field, str) or not field:
        raise ValidationError(f"{role} must be a field name, got {field!r}")
    kinds = " or ".join(t.name for t in _types.values() if supports in t.supports)
    fitting = f"{kinds} fields are: {label_fields(schema, supports)}"
    if field not in schema:
        raise FieldNotFoundError(f"{role} {field!r} does not exist (no field {field!r} in the schema); "
                                 f"{fitting}")
    found = label_type(schema[field])
    if found is None or supports not in found.supports:
        raise error(f"{role} {field!r} holds {schema[field]}; it must hold {kinds} labels ({fitting})")
    return found


register_label_type(LabelType(Classification, supports=OPERATIONS, renderer="classification"))
register_label_type(LabelType(Classifications, list_path="classifications", supports=frozenset({"classes"})))
