"""One set of field-type constants: no module but ``labellens/fields.py`` spells a type name.

Every module takes ``FLOAT``, ``BOOLEAN``, ``FieldType.list_of(...)`` and the like from
:mod:`labellens.fields`; a string literal such as ``"FloatField"`` or ``"ListField(StringField)"``
anywhere else in the package is a second spelling that can drift from the first.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import labellens
from labellens import fields
from labellens.fields import FieldType

PACKAGE = Path(labellens.__file__).resolve().parent
HOME = PACKAGE / "fields.py"


def _type_names() -> set[str]:
    """The bare type names the constants of :mod:`labellens.fields` are built of."""
    names = set()
    for value in vars(fields).values():
        for kind in value if isinstance(value, tuple) else (value,):
            while isinstance(kind, FieldType):
                names.add(kind.split("(", 1)[0])
                kind = kind.element
    return names


TYPE_NAMES = _type_names()
LITERAL = re.compile(rf"^({'|'.join(sorted(TYPE_NAMES))})\b")


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes of ``tree`` (prose, not values)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def field_type_literals(root: Path = PACKAGE) -> list[str]:
    """``path:line: 'literal'`` for each string constant under ``root`` that starts with a type name."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.resolve() == HOME:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        docs = _docstrings(tree)
        hits = [node for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docs and LITERAL.match(node.value)]
        for node in sorted(hits, key=lambda n: (n.lineno, n.col_offset)):
            found.append(f"{path.relative_to(root.parent)}:{node.lineno}: {node.value!r}")
    return found


def test_type_names_come_from_fields_module() -> None:
    assert {"BooleanField", "IntField", "FloatField", "StringField", "DateTimeField", "ObjectIdField",
            "ArrayField", "DictField", "ListField", "EmbeddedDocumentField"} <= TYPE_NAMES


def test_scanner_finds_literals_and_skips_docstrings(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        '"""FloatField in a docstring is prose."""\n'
        'A = "FloatField"\n'
        'B = f"ListField({A})"\n'
        'C = "a FloatField mid-sentence"\n'
        'D = "EmbeddedDocumentField(Classification)"\n'
        'E = "FloatFields"\n', encoding="utf-8")
    found = field_type_literals(tmp_path)
    assert [entry.split(":", 2)[1] for entry in found] == ["2", "3", "5"]


def test_no_field_type_literal_outside_fields_module() -> None:
    found = field_type_literals()
    assert not found, ("field type names spelled outside labellens/fields.py; use its constants:\n"
                       + "\n".join(found))
