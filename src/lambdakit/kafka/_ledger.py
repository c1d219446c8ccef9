"""What one call of a ``flush_kafka``-wrapped function produced: its *ledger*.

Every message produced during the call is counted in the call's ledger, and failed deliveries
are settled there, so a flush knows whether the messages of this call (under ``process_batch``:
of this record) all got through. ``current_ledgers`` holds the ledgers of the calls in progress,
one per producer, in the call's context.
"""

from __future__ import annotations

from _thread import allocate_lock
from contextvars import ContextVar

from lambdakit._internal.metrics import KAFKA_DELIVERY_FAILURES, count

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lambdakit.errors import KafkaDeliveryError

MAX_ERRORS_KEPT = 5


class Ledger:
    """The messages one call produced: how many, how many failed (with the first errors), and,
    where the backend reports successes, how many were delivered."""

    __slots__ = (
        "_lock",
        "_marks",
        "chain",
        "deadline",
        "delivered",
        "ended",
        "errors",
        "failed",
        "infers",
        "lost",
        "report",
        "scope",
        "tick",
    )

    def __init__(self) -> None:
        self._marks: list[None] = []
        # list.append is atomic: threads of one call can count without a lock.
        self.tick = self._marks.append
        self.delivered = 0
        self.failed = 0
        self.errors: list[str] = []
        self._lock = allocate_lock()
        # Whether an empty client queue proves every message settled (confluent-kafka clients
        # built here); otherwise every message must be reported (kafka-python, factories).
        self.infers = False
        self.chain: Callable[[Any, Any], None] | None = None  # the user's on_delivery
        self.deadline: float | None = None  # monotonic; when the call's flush must give up
        self.scope: object = None  # the call's entry in current_ledgers (set by begin)
        self.ended = False
        # Set when delivery reports may have been lost (a fatal client error while they were
        # being served): then an empty queue proves nothing, and the call cannot succeed.
        self.lost: str | None = None
        self.report = self._report  # bound once: the per-message delivery callback

    def sent(self) -> None:
        self.tick(None)

    def sent_many(self, count: int) -> None:
        """``count`` messages queued at once (``produce_many``): one list operation, atomic as
        ``tick`` is, instead of one per message."""
        self._marks.extend([None] * count)

    @property
    def produced(self) -> int:
        return len(self._marks)

    def settled(self, error: object | None) -> None:
        with self._lock:
            if error is None:
                self.delivered += 1
            else:
                self.failed += 1
                if len(self.errors) < MAX_ERRORS_KEPT:
                    self.errors.append(str(error))

    def _report(self, error: Any, message: Any) -> None:
        self.settled(error if error is None else described(error, message))
        if self.chain is not None:
            self.chain(error, message)

    @property
    def pending(self) -> int:
        return self.produced - self.delivered - self.failed

    def accounted(self) -> bool:
        """Whether, once the client's queue is empty, this ledger knows every outcome."""
        return self.infers or self.pending <= 0

    def conclude(self, complete: bool) -> None:
        """The flush is over: with ``complete``, whatever did not fail was delivered."""
        if complete and self.infers and self.lost is None:
            with self._lock:
                self.delivered = self.produced - self.failed


def described(error: Any, message: Any) -> str:
    """A delivery error with the topic it happened on (confluent-kafka's own text omits it)."""
    topic = getattr(message, "topic", None)
    return f"{topic()}: {error}" if callable(topic) else str(error)


# The ledgers of the calls in progress, one per producer (a flush_kafka for each producer may
# be stacked on one function): ``{id(producer): ledger}``.
current_ledgers: ContextVar[dict[int, Ledger]] = ContextVar("lambdakit_kafka_ledgers")


def refused(ledger: Ledger | None, topic: str, error: Exception) -> None:
    """A message the client refused before queueing it: a failure of the current call, or,
    outside ``flush_kafka``, an error now (nothing else would ever report it)."""
    if ledger is not None:
        ledger.sent()
        ledger.settled(error)
        return
    raise untracked_refusals(topic, 1, [str(error)]) from error


def untracked_refusals(topic: str, produced: int, errors: list[str]) -> KafkaDeliveryError:
    """The error for messages refused outside ``flush_kafka`` (``produced`` of them were
    offered, ``errors`` says what happened to each refused one), counted as delivery failures:
    no call's ledger will ever report them, so the producing code must hear of them now."""
    from lambdakit.errors import KafkaDeliveryError

    count(KAFKA_DELIVERY_FAILURES, len(errors))
    what = "a message" if produced == 1 else f"{len(errors)} of {produced} messages"
    return KafkaDeliveryError(
        f"{what} to {topic} {'was' if len(errors) == 1 else 'were'} refused: "
        + "; ".join(errors[:MAX_ERRORS_KEPT]),
        produced=produced,
        delivered=0,
        failed=len(errors),
        errors=errors[:MAX_ERRORS_KEPT],
    )
