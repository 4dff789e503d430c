"""Field types: the one place their names are spelled.

A :class:`FieldType` is a type name such as ``FloatField``,
``ListField(StringField)`` or ``EmbeddedDocumentField(Classification)``. It is a
``str`` (so schemas stay plain JSON and compare with strings) with typed
helpers, and every module uses the constants below instead of literals.
"""

from __future__ import annotations

_LIST, _EMBEDDED = "ListField", "EmbeddedDocumentField"


class FieldType(str):
    """The type of a sample field."""

    __slots__ = ()

    @classmethod
    def list_of(cls, element: str | None) -> FieldType:
        """``ListField(<element>)``, or the untyped ``ListField`` when ``element`` is None."""
        return cls(f"{_LIST}({element})" if element else _LIST)

    @classmethod
    def embedded(cls, document: str) -> FieldType:
        """``EmbeddedDocumentField(<document class name>)``."""
        return cls(f"{_EMBEDDED}({document})")

    @property
    def is_list(self) -> bool:
        return self.startswith(_LIST)

    @property
    def element(self) -> FieldType | None:
        """The element type of a typed list field, else None."""
        if self.startswith(f"{_LIST}(") and self.endswith(")"):
            return FieldType(self[len(_LIST) + 1:-1])
        return None

    @property
    def document(self) -> str | None:
        """The class name of an embedded-document field, else None."""
        if self.startswith(f"{_EMBEDDED}(") and self.endswith(")"):
            return self[len(_EMBEDDED) + 1:-1]
        return None

    @property
    def is_numeric(self) -> bool:
        return self in NUMERIC

    def display(self) -> str:
        """``ListField(StringField)`` -> ``labellens.fields.ListField(labellens.fields.StringField)``."""
        if self.document is not None:
            return f"labellens.fields.{_EMBEDDED}(labellens.labels.{self.document})"
        if self.element is not None:
            return f"labellens.fields.{_LIST}({self.element.display()})"
        return f"labellens.fields.{self}"


BOOLEAN = FieldType("BooleanField")
INT = FieldType("IntField")
FLOAT = FieldType("FloatField")
STRING = FieldType("StringField")
DATETIME = FieldType("DateTimeField")
DATE = FieldType("DateField")
OBJECT_ID = FieldType("ObjectIdField")
ARRAY = FieldType("ArrayField")
DICT = FieldType("DictField")
LIST = FieldType.list_of(None)
STRINGS = FieldType.list_of(STRING)
CLASSIFICATION = FieldType.embedded("Classification")
CLASSIFICATIONS = FieldType.embedded("Classifications")
IMAGE_METADATA = FieldType.embedded("ImageMetadata")

# FiftyOne's names, for add_sample_field(name, ftype, embedded_doc_type=, subfield=).
BooleanField, IntField, FloatField, StringField = BOOLEAN, INT, FLOAT, STRING
DateField, DateTimeField, ObjectIdField, ArrayField, DictField = DATE, DATETIME, OBJECT_ID, ARRAY, DICT
ListField, EmbeddedDocumentField = FieldType(_LIST), FieldType(_EMBEDDED)
FIFTYONE_NAMES = ("ArrayField", "BooleanField", "DateField", "DateTimeField", "DictField",
                  "EmbeddedDocumentField", "FloatField", "IntField", "ListField", "ObjectIdField",
                  "StringField")

NUMERIC = (FLOAT, INT)
SORTABLE = (FLOAT, INT, STRING, BOOLEAN, DATETIME, DATE)

__all__ = ["ARRAY", "BOOLEAN", "CLASSIFICATION", "CLASSIFICATIONS", "DATE", "DATETIME", "DICT", "FLOAT",
           "FIFTYONE_NAMES", "IMAGE_METADATA", "INT", "LIST", "NUMERIC", "OBJECT_ID", "SORTABLE",
           "STRING", "STRINGS", "FieldType", *FIFTYONE_NAMES]
