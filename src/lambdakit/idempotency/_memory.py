"""An in-process store with DynamoDBStore's exact semantics, for users' unit tests.

Same lock rule, same expiry (on an injectable clock, so a test moves time instead of sleeping),
same take-over of expired locks. It is shared by the threads of one process only; it is not a
production store (records vanish with the execution environment).
"""

from __future__ import annotations

import time
from _thread import allocate_lock

from lambdakit.idempotency._record import INPROGRESS, StoredRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambdakit._internal.clock import Clock


class InMemoryStore:
    """``IdempotencyStore`` in a dict. ``clock`` returns epoch seconds (default ``time.time``).

    ``requests`` counts the store operations made, one per method call, as DynamoDBStore's
    requests would be counted, so tests can assert on round trips.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or time.time
        self._records: dict[str, StoredRecord] = {}
        self._lock = allocate_lock()
        self.requests = 0

    def now(self) -> float:
        return self._clock()

    def acquire(self, record: StoredRecord) -> StoredRecord | None:
        with self._lock:
            self.requests += 1
            found = self._live(record.key)
            if found is not None:
                return found
            self._records[record.key] = record
            return None

    def complete(self, record: StoredRecord) -> None:
        with self._lock:
            self.requests += 1
            self._records[record.key] = record

    def release(self, lock: StoredRecord) -> None:
        with self._lock:
            self.requests += 1
            found = self._records.get(lock.key)
            if found is not None and found.status == INPROGRESS and found.token == lock.token:
                del self._records[lock.key]

    def get(self, key: str) -> StoredRecord | None:
        with self._lock:
            self.requests += 1
            return self._live(key)

    def records(self) -> dict[str, StoredRecord]:
        """Every record held, expired ones included (for assertions in tests)."""
        with self._lock:
            return dict(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def _live(self, key: str) -> StoredRecord | None:
        found = self._records.get(key)
        return found if found is not None and found.is_live(self._clock()) else None
