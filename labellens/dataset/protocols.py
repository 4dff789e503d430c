"""The interfaces that modules of ``labellens.dataset`` see of each other.

Samples, exporters, printing and the collection base annotate with these
Protocols rather than with the concrete ``Dataset`` and ``View`` classes, so the
package's modules form a strict hierarchy (checked by import-linter) with no
cycle, not even one hidden behind ``TYPE_CHECKING``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol


class SampleOwner(Protocol):
    """What a bound sample needs of its dataset: saving and re-reading it, its field types."""

    @property
    def name(self) -> str: ...

    @property
    def collection_name(self) -> str: ...

    def save_samples(self, samples: Sequence[Any]) -> None: ...

    def __getitem__(self, sample_id: str) -> Any: ...

    def _stored_schema(self, fresh: bool = ...) -> dict[str, str]: ...

    def _run_batches(self, pipeline: list[dict[str, Any]], batch_size: int | None = ..., *,
                     timeout: float | None = ...) -> Iterator[list[dict[str, Any]]]: ...


class ReadableCollection(Protocol):
    """The public reading (and bulk-writing) surface of a dataset or view."""

    @property
    def name(self) -> str: ...

    @property
    def stages(self) -> tuple[Any, ...]: ...

    @property
    def default_classes(self) -> list[str]: ...

    def __len__(self) -> int: ...

    def get_field_schema(self) -> dict[str, str]: ...

    def iter_samples(self, progress: bool = ..., autosave: bool = ..., batch_size: int = ..., *,
                     timeout: float | None = ...) -> Iterator[Any]: ...

    def values(self, path: str, *, as_numpy: bool = False, timeout: float | None = ...) -> Any: ...

    def iter_batches(self, paths: Sequence[str], batch_size: int = ..., *, object_ids: bool = ...,
                     timeout: float | None = ...) -> Iterator[dict[str, list[Any]]]: ...

    def select(self, sample_ids: Any, ordered: bool = ...) -> ReadableCollection: ...

    def set_values(self, path: str, values: Any, *, ids: Sequence[Any] | None = ...) -> None: ...

    def tag_samples(self, tags: Any) -> None: ...


class DatasetCore(SampleOwner, ReadableCollection, Protocol):
    """What the collection base needs of the dataset behind a view (package-internal)."""

    @property
    def info(self) -> dict[str, Any]: ...

    def _check_path(self, path: str, schema: dict[str, str]) -> None: ...

    def _run_pipeline(self, pipeline: list[dict[str, Any]], batch_size: int | None = ..., *,
                      timeout: float | None = ...) -> Iterator[dict[str, Any]]: ...

    def _count_samples(self, *, timeout: float | None = ...) -> int: ...

    def _explain_pipeline(self, pipeline: list[dict[str, Any]]) -> dict[str, Any]: ...

    @property
    def _writer(self) -> Any: ...

    def _clone_collection(self, source: Any, name: str | None, persistent: bool) -> Any: ...


class PipelineSource(Protocol):
    """What the aggregations of a collection need of it: its compiled pipeline and a way to run one."""

    @property
    def dataset(self) -> DatasetCore: ...

    def _compiled(self, paths: Sequence[str] = ...) -> tuple[list[dict[str, Any]], Mapping[str, str]]: ...

    def _count_samples(self, *, timeout: float | None = ...) -> int: ...
