"""New ObjectIds, made fast: one source for label ids and sample ids.

Ids are laid out as the driver makes them (4 bytes of time, 5 random bytes per
process, new ones after a fork, and a 3-byte counter), but built directly:
``ObjectId()`` checks the process id on every call and ``str(ObjectId())`` is
three times slower than formatting the hex, and every label constructor and
every added sample needs one.
"""

from __future__ import annotations

import itertools
import os
import secrets
import time

from bson import ObjectId

_COUNTER_MASK = 0xFFFFFF


class _IdSource:
    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self.process = secrets.token_bytes(5)
        self.process_hex = self.process.hex()
        self.counter = itertools.count(secrets.randbelow(_COUNTER_MASK + 1))

    def hex(self) -> str:
        """One new id as its 24-character hex string."""
        count = next(self.counter) & _COUNTER_MASK
        return f"{int(time.time()) & 0xFFFFFFFF:08x}{self.process_hex}{count:06x}"

    def object_ids(self, count: int) -> list[ObjectId]:
        """``count`` new ObjectIds, in increasing counter order."""
        prefix = (int(time.time()) & 0xFFFFFFFF).to_bytes(4, "big") + self.process
        counter = self.counter
        return [ObjectId(prefix + (next(counter) & _COUNTER_MASK).to_bytes(3, "big")) for _ in range(count)]


_SOURCE = _IdSource()
os.register_at_fork(after_in_child=_SOURCE.reseed)
new_hex_id = _SOURCE.hex
new_object_ids = _SOURCE.object_ids
