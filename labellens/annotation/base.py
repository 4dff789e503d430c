"""The annotation-backend interface: what a tool (Label Studio, CVAT, Labelbox) must offer.

The dataset layer only talks to :class:`AnnotationBackend`; a new tool is one new module
registered in :data:`BACKENDS`, nothing else changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from labellens.errors import LabelLensError


class AnnotationServerError(LabelLensError, ConnectionError):
    """The annotation server is down, refused the credentials, or lost the project."""


@dataclass(frozen=True)
class AnnotationTask:
    """One sample sent to annotators: its id, image, current label and pre-annotation."""

    sample_id: str
    filepath: str
    label: str | None
    suggestion: str | None = None


@dataclass(frozen=True)
class AnnotationResult:
    """A finished task read back: the sample, the annotator's label and who gave it."""

    sample_id: str
    label: str | None
    annotator: str | None


class AnnotationBackend(Protocol):
    """A connection to one annotation tool (credentials live only on this object)."""

    url: str

    def create_project(self, name: str, classes: Sequence[str],
                       tasks: Sequence[AnnotationTask]) -> dict[str, Any]:
        """Create a project of ``tasks``; return what :meth:`load` needs later (JSON-able, no secrets)."""

    def load(self, project: dict[str, Any]) -> tuple[list[AnnotationResult], int]:
        """The finished tasks of ``project`` and the number of unfinished ones."""

    def delete_project(self, project: dict[str, Any]) -> None:
        """Delete the project on the tool's side."""
