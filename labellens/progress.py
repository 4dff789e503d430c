"""Progress bars for long loops, built on tqdm.

``ProgressBar`` mirrors the tutorial's ``fo.ProgressBar``: use it as a context
manager and call it on an iterable to iterate with a bar::

    with ProgressBar() as pb:
        for batch in pb(loader):
            ...
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


class ProgressBar:
    """A tqdm progress bar usable as ``with ProgressBar() as pb: for x in pb(items)``."""

    def __init__(self, total: int | None = None, *, desc: str | None = None,
                 unit: str = "it", enabled: bool = True) -> None:
        self._total = total
        self._desc = desc
        self._unit = unit
        self._enabled = enabled
        self._bar: Any = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __call__(self, iterable: Iterable[T]) -> Iterator[T]:
        total = self._total
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self._bar = tqdm(iterable, total=total, desc=self._desc, unit=self._unit,
                         disable=not self._enabled, dynamic_ncols=True)
        return iter(self._bar)

    def update(self, n: int = 1) -> None:
        """Advance a bar that was made with a ``total`` and no iterable."""
        if self._bar is None:
            self._bar = tqdm(total=self._total, desc=self._desc, unit=self._unit,
                             disable=not self._enabled, dynamic_ncols=True)
        self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
