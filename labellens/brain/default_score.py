"""The one rule for the default score: what the App's grid and review queue and the snapshot sort by."""

from __future__ import annotations

from collections.abc import Sequence

SCORE_PRIORITY: tuple[str, ...] = ("label_issue", "mistakenness", "label_quality", "hardness")
"""Score fields from most to least preferred; the first one a dataset has is the default sort
(all of them: higher = more likely mislabeled, or harder)."""


def default_score_field(numeric_fields: Sequence[str]) -> str | None:
    """The first of :data:`SCORE_PRIORITY` among ``numeric_fields``, else the first numeric field."""
    return next((name for name in SCORE_PRIORITY if name in numeric_fields),
                numeric_fields[0] if numeric_fields else None)


__all__ = ["SCORE_PRIORITY", "default_score_field"]
