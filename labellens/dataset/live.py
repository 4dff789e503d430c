"""The in-memory samples of each dataset: one object per stored id, kept current by writes.

A sample read through a dataset (not a view) or added to it is registered here
by weak reference, under its dataset's sample collection. Reading the same id
again gives the same object back, and a write that goes around it (saving
another object of that id, ``set_values``, ``tag_samples``, renaming or deleting
a field) refreshes it, as FiftyOne does. Registering a page of samples is C-level
calls only (no Python frame per sample): about 0.1 us a sample, 0.2 us when re-reading
ids whose samples are gone (a weak reference and two dict operations each). Dead
references are swept when the registry has doubled since the last sweep.
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable, Iterable, Sequence
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

    def adopt(self, docs: Sequence[dict[str, Any]], samples: list[Any]) -> list[Any]:
        """The in-memory samples of documents just read: the live one of an id that has one
        (refreshed from its document), else the new sample made for it, registered.

        A page costs a few C-level passes (no Python frame per sample) unless some id has a
        live sample: a re-read of ids whose samples are gone only replaces their entries.
        """
        refs = self.refs
        keys = list(map(id_key, map(doc_key, docs)))
        made = list(map(weakref.ref, samples))
        found = list(map(refs.setdefault, keys, made))
        if found != made:  # some ids had an entry (references compare by referent, or identity once dead)
            held = list(map(operator.call, found))  # None for a dead entry
            if held.count(None) + sum(map(operator.is_, held, samples)) != len(held):
                samples = [new if old is None or old is new else old._reread(doc)
                           for old, new, doc in zip(held, samples, docs)]
                made = list(map(weakref.ref, samples))
            refs.update(zip(keys, made))
        self._sweep()
        return samples

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
