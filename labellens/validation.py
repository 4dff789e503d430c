"""Checks of arguments shared by every layer (the API boundary's small validators)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labellens.errors import LabelLensError, ValidationError


def string_list(value: Any, name: str, *, what: str = "string", single: bool = True, empty: bool = False,
                error: type[LabelLensError] = ValidationError) -> list[str]:
    """``value`` as a list of non-empty strings, else ``error`` naming ``name``.

    Accepts one string (unless ``single`` is False) or a list, tuple or other
    iterable of them; ``None`` and empty lists only when ``empty``.
    """
    if isinstance(value, str) and single:
        items: Any = [value]
    elif value is None and empty:
        items = []
    elif isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        items = None
    else:
        items = list(value)
    if items is None or (not items and not empty) or not all(isinstance(v, str) and v for v in items):
        one = f"a {'non-empty ' if not empty else ''}{what} or " if single else ""
        raise error(f"{name} must be {one}a list of {what}s, got {value!r:.200}")
    return items
