"""Checking and reading the label fields that brain methods score.

Validation happens at the API boundary, before anything is written: a missing
field, a field that is not a classification, or predictions without the
logits a method needs all raise a clear error and leave the database as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from labellens.dataset.collection import SampleCollection
from labellens.errors import SchemaError, ValidationError
from labellens.fields import CLASSIFICATION, CLASSIFICATIONS
from labellens.label_types import check_label_field, list_path

__all__ = ["CLASSIFICATION", "CLASSIFICATIONS", "check_outputs", "check_same_kind", "label_kind",
           "label_paths", "labels_equal", "require_attribute", "stack_rows"]


def label_kind(samples: SampleCollection, field: str, role: str, *,
               schema: dict[str, str] | None = None) -> str:
    """The type of ``field`` (a label type whose labels name classes), or a clear error.

    Pass the ``schema`` already read to check several fields with one read of it.
    """
    schema = samples.get_field_schema() if schema is None else schema
    check_label_field(schema, field, role=role, supports="classes")
    return schema[field]


def check_outputs(schema: Mapping[str, str], outputs: Mapping[str, str] | Sequence[tuple[str, str]],
                  inputs: Sequence[str], *, role: str = "output field") -> None:
    """Each output (``name -> kind``, or ``(name, kind)`` pairs) is a new or same-typed top-level field,
    not an input, and named once. The one output-field check of every brain method and evaluation.

    ``role`` names the argument in the errors (``"eval_key"``: "eval_key 'pred' would overwrite ...").
    Raised before anything is written, so a bad name leaves the dataset as it was.
    """
    pairs = list(outputs.items()) if isinstance(outputs, Mapping) else list(outputs)
    names = [name for name, _ in pairs]
    for name, kind in pairs:
        if not isinstance(name, str) or not name or name.startswith("_") or "." in name:
            raise ValidationError(f"{role} must be a top-level field name, got {name!r}")
        if name in inputs:
            raise ValidationError(f"{role} {name!r} would overwrite an input field; pick another name")
        if schema.get(name, kind) != kind:
            raise SchemaError(f"{role} {name!r} already holds {schema[name]}, not {kind}; "
                              "pick another name")
    if len(set(names)) != len(names):
        raise ValidationError(f"{role}s must differ, got {names}")


def check_same_kind(pred_kind: str, label_kind_: str, pred_field: str, label_field: str) -> None:
    """Predictions and ground truth must both be single- or both multi-label."""
    if pred_kind != label_kind_:
        raise SchemaError(f"{pred_field!r} holds {pred_kind} but {label_field!r} holds {label_kind_}; "
                          "compare fields of the same label type")


def require_attribute(samples: SampleCollection, field: str, attribute: str, hint: str) -> None:
    """Raise if any sample with a ``field`` label lacks ``field.attribute`` (count and one id)."""
    lacking = samples.exists(field).exists(f"{field}.{attribute}", False)
    count = len(lacking)
    if count:
        example = lacking.limit(1).values("id")[0]
        raise ValidationError(f"{count} samples have a {field!r} prediction without {attribute} "
                              f"(e.g. sample {example}); {hint}")


def label_paths(field: str, kind: str) -> str:
    """The path whose values identify the label(s) of ``field`` (of type ``kind``)."""
    key = list_path(kind)
    return f"{field}.{key}.label" if key else f"{field}.label"


def labels_equal(pred: Sequence[Any], truth: Sequence[Any], kind: str) -> np.ndarray:
    """(N,) bool: equal labels, or equal label sets for a list of labels (``Classifications``)."""
    if list_path(kind):
        return np.array([set(p or ()) == set(t or ()) for p, t in zip(pred, truth)], dtype=bool)
    return np.array([p == t for p, t in zip(pred, truth)], dtype=bool)


def stack_rows(rows: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Stack 1-D arrays of one length into float64 ``(M, K)``; also return the (M,) finite mask.

    Rows of the wrong length raise (all predictions of a field must have K values).
    """
    arrays = [np.asarray(r, dtype=np.float64).ravel() for r in rows]
    lengths = {a.shape[0] for a in arrays}
    if len(lengths) > 1:
        raise ValidationError(f"logits have different lengths {sorted(lengths)}; every prediction "
                              "of a field must have one logit per class")
    stacked = np.stack(arrays) if arrays else np.zeros((0, 0))
    return stacked, np.isfinite(stacked).all(axis=1)
