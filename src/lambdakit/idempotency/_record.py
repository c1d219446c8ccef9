"""What a store keeps per idempotency key, and the protocol every store implements.

The record layout is Powertools for AWS Lambda's (``id``, ``status``, ``expiration`` in epoch
seconds, ``in_progress_expiration`` in epoch milliseconds, ``data`` as a JSON string,
``validation`` as a hash), so a team can move between the two libraries on one table.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object

INPROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"
_FIELDS = ("key", "status", "expiration", "in_progress_expiration", "data", "validation", "token")


class StoredRecord:
    """One key's state. ``data`` is the JSON text of the result (``None`` while in progress).

    ``expiration`` bounds the whole record; ``in_progress_expiration`` bounds an INPROGRESS
    lock, so a call that crashed (or timed out) without releasing its lock does not block its
    key for longer than its invocation could have lived. ``token`` is a random value unique to
    one lock: it lets a call recognise its own lock (when a retried write finds the lock its
    first attempt took) and release only its own lock. Immutable; compared by value. (A plain
    class rather than a dataclass: ``dataclasses`` imports ``inspect``, ~10 ms of cold start.)
    """

    __slots__ = (
        "data",
        "expiration",
        "in_progress_expiration",
        "key",
        "status",
        "token",
        "validation",
    )

    key: str
    status: str
    expiration: int
    in_progress_expiration: int | None
    data: str | None
    validation: str | None
    token: str | None

    def __init__(
        self,
        key: str,
        status: str,
        expiration: int,
        in_progress_expiration: int | None = None,
        data: str | None = None,
        validation: str | None = None,
        token: str | None = None,
    ) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "key", key)
        setattr_(self, "status", status)
        setattr_(self, "expiration", expiration)
        setattr_(self, "in_progress_expiration", in_progress_expiration)
        setattr_(self, "data", data)
        setattr_(self, "validation", validation)
        setattr_(self, "token", token)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"StoredRecord is immutable (tried to set {name})")

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StoredRecord):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        # ``data`` is the function's result: it may be sensitive, so only its size is shown.
        size = "None" if self.data is None else f"<{len(self.data)} chars>"
        return (
            f"StoredRecord(key={self.key!r}, status={self.status!r}, "
            f"expiration={self.expiration}, in_progress_expiration={self.in_progress_expiration},"
            f" data={size}, validation={self.validation!r}, token={self.token!r})"
        )

    def is_live(self, now: float) -> bool:
        """Whether the record still counts at ``now`` (epoch seconds).

        DynamoDB's TTL deletes expired items lazily (up to days later), so every reader checks
        expiry itself. The rule is exactly the one the conditional write uses: a record is gone
        once ``expiration`` has passed, and a lock once ``in_progress_expiration`` has passed.
        """
        if self.expiration < int(now):
            return False
        if self.status == INPROGRESS and self.in_progress_expiration is not None:
            return self.in_progress_expiration >= int(now * 1000)
        return True


class IdempotencyStore(Protocol):
    """Where ``idempotent`` keeps its records. Implement these five methods to add a store.

    Each method is one atomic step (one request for a remote store); the decorator never
    needs a transaction. Failures of the underlying service are raised as
    :class:`~lambdakit.errors.IdempotencyPersistenceError` with the cause chained.

    A remote store may also define ``warm(timeout)``: create its client and open its
    connection now, raising if it cannot (``lambdakit.warm_up`` calls it at init, on a thread,
    and stops waiting after ``timeout`` seconds). :class:`DynamoDBStore` has one.
    """

    def now(self) -> float:
        """The store's clock, in epoch seconds (expirations are computed from it)."""
        ...

    def acquire(self, record: StoredRecord) -> StoredRecord | None:
        """Write ``record`` (an INPROGRESS lock) unless a live record holds its key.

        Returns ``None`` when the lock was taken, else the live record found (of any status):
        a duplicate is answered by this one call.
        """
        ...

    def complete(self, record: StoredRecord) -> None:
        """Replace the lock with ``record`` (COMPLETED, with the result in ``data``)."""
        ...

    def release(self, lock: StoredRecord) -> None:
        """Delete ``lock`` so the next delivery can run, but only if it is still this lock
        (same ``token``: an expired lock may have been taken over by another call since)."""
        ...

    def get(self, key: str) -> StoredRecord | None:
        """The live record for ``key``, or ``None`` (expired records count as absent)."""
        ...
