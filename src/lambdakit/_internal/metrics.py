"""Counts of what happened during an invocation, for the batch summary line and for the
optional CloudWatch metrics (Embedded Metric Format).

Utilities count events where they happen (``count("StaleSecretsServed")`` in the secrets cache,
``count("DuplicatesAnswered")`` in ``@idempotent``, ``count("KafkaDeliveryFailures")`` in the
producer), without knowing who reads them. ``process_batch`` opens a fresh :class:`Counts` for
its batch (:func:`counting`), so each batch's summary holds exactly its own events; outside a
batch nothing is kept (a call outside a batch reports its own, as ``flush_kafka`` does).

A context variable rather than a global, as in ``_internal.invocation``: threads started for a
batch run in a copy of the caller's context (``carrying_context``), so their counts land in the
batch's :class:`Counts`; a lock makes increments from those threads safe.
"""

from __future__ import annotations

from _contextvars import ContextVar
from _thread import allocate_lock

# The names every emitter and reader shares (also the EMF metric names).
STALE_SECRETS_SERVED = "StaleSecretsServed"
DUPLICATES_ANSWERED = "DuplicatesAnswered"
KAFKA_DELIVERY_FAILURES = "KafkaDeliveryFailures"


class Counts:
    """Named counters, safe to increment from several threads."""

    __slots__ = ("_lock", "_values")

    def __init__(self) -> None:
        self._values: dict[str, int] = {}
        self._lock = allocate_lock()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] = self._values.get(name, 0) + amount

    def get(self, name: str) -> int:
        return self._values.get(name, 0)

    def take(self) -> dict[str, int]:
        """The counts so far, and start again from zero."""
        with self._lock:
            values, self._values = self._values, {}
        return values

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)


_current: ContextVar[Counts | None] = ContextVar("lambdakit_counts", default=None)


def count(name: str, amount: int = 1) -> None:
    """Count ``amount`` events called ``name`` in the batch running now (none: not kept)."""
    counts = _current.get()
    if counts is not None:
        counts.add(name, amount)


def counting() -> _Scope:
    """A fresh :class:`Counts` that :func:`count` fills until the block ends (one batch)."""
    return _Scope()


class _Scope:
    """The ``with`` block of :func:`counting`: a plain class, because process_batch opens one
    on every invocation (a ``contextmanager`` would build a generator and its wrapper each
    time)."""

    __slots__ = ("_counts", "_token")

    def __enter__(self) -> Counts:
        self._counts = Counts()
        self._token = _current.set(self._counts)
        return self._counts

    def __exit__(self, *exc_info: object) -> None:
        _current.reset(self._token)
