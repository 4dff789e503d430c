"""The in-memory samples of each dataset: one object per stored id, kept current by writes.

A sample read through a dataset (not a view) or added to it is registered here
by weak reference, under its dataset's sample collection. Reading the same id
again gives the same object back, and a write that goes around it (saving
another object of that id, ``set_values``, ``tag_samples``, renaming or deleting
a field) refreshes it, as FiftyOne does. A read registers only the samples the caller
kept once it has moved past them (see :meth:`LiveSamples.keep`), so streaming a
dataset allocates no weak reference per sample; dead references are swept when the
registry has doubled since the last sweep.
"""

from __future__ import annotations

import operator
import sys
import weakref
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, repeat
from typing import Any

# The 12 bytes inside an ObjectId, read from its slot: hashing an ObjectId runs a Python method.
id_key: Callable[[Any], bytes] = operator.attrgetter("_ObjectId__id")
doc_key: Callable[[dict[str, Any]], Any] = operator.itemgetter("_id")
_FIRST_SWEEP = 4096


class LiveSamples:
    """Stored id -> weak reference to the one in-memory sample of that id, for one dataset."""

    __slots__ = ("refs", "_sweep_at")

    def __init__(self) -> None:
        self.refs: dict[bytes, weakref.ref[Any]] = {}
        self._sweep_at = _FIRST_SWEEP

    def register(self, oids: Iterable[Any], samples: Iterable[Any]) -> None:
        """Make ``samples`` the in-memory samples of ``oids`` (just added: ids no sample had)."""
        self.refs.update(zip(map(id_key, oids), map(weakref.ref, samples)))
        self._sweep()

    def reuse(self, docs: Sequence[dict[str, Any]], samples: list[Any]) -> list[Any]:
        """``samples`` just made from ``docs``, with the live sample of an id that has one in place of
        the new one (refreshed from its document). Free while no sample is registered."""
        refs = self.refs
        if not refs:
            return samples
        found = list(map(refs.get, map(id_key, map(doc_key, docs))))
        if not any(found):
            return samples
        held = list(map(operator.call, filter(None, found)))
        if not any(held):
            return samples
        return [new if ref is None or ref() is None else ref()._reread(doc)
                for ref, new, doc in zip(found, samples, docs)]

    def keep(self, page: list[Any]) -> None:
        """Register the samples of a page just handed out that are still referenced outside it.

        Called when the reader moves past the page (or is dropped): a sample only the page holds
        (refcount 2: the page and the call) is gone already, so a loop over a million samples
        registers only those it kept, for a few C-level passes a page.
        """
        counts = list(map(sys.getrefcount, page))  # first: compress would hold each sample meanwhile
        kept = list(compress(page, map(operator.lt, repeat(2), counts)))
        if kept:
            self.register([s._id for s in kept], kept)

    def _sweep(self) -> None:
        """Drop dead entries once the registry has doubled since the last sweep."""
        refs = self.refs
        if len(refs) > self._sweep_at:
            for key in [key for key, ref in refs.items() if ref() is None]:
                del refs[key]
            self._sweep_at = max(_FIRST_SWEEP, 2 * len(refs))

    def get(self, oid: Any) -> Any:
        ref = self.refs.get(id_key(oid))
        return None if ref is None else ref()

    def among(self, oids: Sequence[Any]) -> list[Any]:
        """The live samples of those of ``oids`` that have one (a bulk write's ids are only looked at
        when some sample is alive)."""
        alive = self.all()
        if not alive:
            return []
        wanted = set(map(id_key, oids))
        return [s for s in alive if id_key(s._id) in wanted]

    def all(self) -> list[Any]:
        return [s for s in (ref() for ref in list(self.refs.values())) if s is not None]

    def forget(self, oids: Iterable[Any]) -> list[Any]:
        """Unregister ``oids``; returns their live samples."""
        refs = self.refs
        gone = [refs.pop(k, None) for k in map(id_key, oids)] if refs else []
        return [s for s in (ref() for ref in gone if ref is not None) if s is not None]


_REGISTRIES: dict[str, LiveSamples] = {}


def of(collection_name: str) -> LiveSamples:
    """The registry of the dataset whose samples are in ``collection_name``."""
    registry = _REGISTRIES.get(collection_name)
    if registry is None:
        registry = _REGISTRIES[collection_name] = LiveSamples()
    return registry


def refresh(store: Any, oids: Sequence[Any] | None = None) -> None:
    """Re-read the live samples of ``oids`` (all of the dataset's when None) from ``store`` (the
    dataset's SampleStore) in one read, and refresh each; one whose document is gone is unbound."""
    registry = of(store.collection_name)
    samples = registry.all() if oids is None else registry.among(oids)
    if not samples:
        return
    by_id = {s._id: s for s in samples}
    for docs in store.batches([{"$match": {"_id": {"$in": list(by_id)}}}]):
        for doc in docs:
            by_id.pop(doc["_id"]).refresh(doc)
    for sample in registry.forget(by_id):
        sample.unbind()
