"""The optional per-environment cache of completed results (``local_cache=``).

A duplicate found here costs no request at all. Only COMPLETED records are cached, each until
its own expiration; the payload is still validated against the cached record on every hit.
Every cache registers itself so that :func:`reset_local_caches` (called by lambdakit's pytest
plugin between tests) can empty them all.
"""

from __future__ import annotations

import weakref
from _thread import allocate_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambdakit.idempotency._record import StoredRecord

_caches: weakref.WeakSet[LocalCache] = weakref.WeakSet()


class LocalCache:
    """A thread-safe LRU of at most ``max_items`` completed records."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self._items: dict[str, StoredRecord] = {}
        self._lock = allocate_lock()
        _caches.add(self)

    def get(self, key: str, now: float) -> StoredRecord | None:
        with self._lock:
            record = self._items.pop(key, None)
            if record is None or not record.is_live(now):
                return None
            self._items[key] = record  # most recently used goes last
            return record

    def put(self, record: StoredRecord) -> None:
        with self._lock:
            self._items.pop(record.key, None)
            self._items[record.key] = record
            while len(self._items) > self.max_items:
                del self._items[next(iter(self._items))]

    def discard(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def reset_local_caches() -> None:
    """Empty every local cache in the process (between tests, or after changing a table)."""
    for cache in list(_caches):
        cache.clear()
