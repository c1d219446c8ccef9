"""What a run of an event source mapping did: counts, what was dead-lettered or sent to the
on-failure destination, every record's deliveries, what the function itself sent and deleted
through :class:`SQSClient`, and the handler's measured CPU time."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

# Outcomes of one delivery of a record, as Delivery.outcome says them.
SUCCEEDED = "succeeded"  # the handler finished it (deleted / checkpointed after)
FAILED = "failed"  # reported, raised, invalid response: it comes back (or moves on)
TIMED_OUT = "timed_out"  # the invocation ran past the function timeout
FILTERED = "filtered"  # dropped by the filter criteria, never given to the handler
# The function deleted the message itself (SQSClient) during the invocation: neither a success
# the mapping deleted nor a failure it retries (what process_batch's quarantine does).
DELETED_BY_FUNCTION = "deleted_by_function"
# Not a delivery: the function sent this message (SQSClient) during the invocation.
SENT = "sent"
# History entries that are not deliveries to the handler: what counts records per invocation
# (the summary's receive counts, lambdakit.cost's fit) skips them.
NOT_DELIVERIES = frozenset((FILTERED, SENT))


@dataclass(frozen=True)
class Delivery:
    """One delivery of one record: when (the mapping's clock), in which invocation (1-based,
    0 for a record filtered out before any invocation), and how it ended.

    With :class:`SQSClient`, an entry also says where a message went: a delivery whose
    message the function copied (sent a message with the same body during that invocation)
    names the queue it was sent ``to`` and the copy's message ID (``counterpart``); the copy's
    own history starts with a :data:`SENT` entry (time of the send) naming that queue and the
    delivered message it copies. A quarantined message thus reads ``deleted_by_function``, to
    the quarantine queue, and its copy ``sent``, from it.
    """

    time: float
    invocation: int
    outcome: str
    to: str | None = None
    counterpart: str | None = None


@dataclass
class Summary:
    """What :meth:`EventSourceMapping.run` did (cumulative over the mapping's runs).

    ``delivered`` counts records handed to the handler, redeliveries included; ``succeeded``
    the deliveries that finished successfully; ``deleted`` SQS messages deleted, or stream and
    Kafka records checkpointed past; ``failed_attempts`` the deliveries that did not succeed;
    ``filtered`` records dropped by the filter criteria without invoking; ``dead_lettered`` the
    messages moved to the DLQ; ``on_failure`` the records sent to the on-failure destination,
    in AWS's documented shape; ``duplicates_delivered`` deliveries of a message body already
    delivered under another id; ``max_receive_count`` the highest receive count seen;
    ``history`` every delivery by message id (SQS, Kafka ``topic-partition@offset``) or
    sequence number (streams). ``cpu_seconds`` and ``wall_seconds`` are the handler's CPU time
    and real elapsed time per invocation, in invocation order (``lambdakit.cost.fit_summary``
    fits a handler profile from them).

    What the function did itself through :class:`SQSClient` during an invocation is told
    apart: ``deleted_by_function`` counts deliveries whose message the function deleted
    (outcome :data:`DELETED_BY_FUNCTION`: not in ``succeeded``, ``failed_attempts`` nor
    ``deleted``, so ``delivered`` is the sum of the three counts); ``sent_by_function`` the
    messages it sent (and enqueued: a FIFO duplicate is not), each with a :data:`SENT` entry
    in ``history`` that is not a delivery.
    """

    invocations: int = 0
    delivered: int = 0
    succeeded: int = 0
    deleted: int = 0
    failed_attempts: int = 0
    deleted_by_function: int = 0
    sent_by_function: int = 0
    filtered: int = 0
    dead_lettered: list[Any] = field(default_factory=list)
    on_failure: list[dict[str, Any]] = field(default_factory=list)
    duplicates_delivered: int = 0
    max_receive_count: int = 0
    history: dict[str, list[Delivery]] = field(default_factory=dict)
    cpu_seconds: list[float] = field(default_factory=list)
    wall_seconds: list[float] = field(default_factory=list)

    @property
    def cpu_seconds_per_record(self) -> float:
        """The handler's CPU time per record delivered (0 when none was)."""
        return sum(self.cpu_seconds) / self.delivered if self.delivered else 0.0

    # Who first delivered each payload (for duplicates_delivered), not part of the summary.
    _first_with_payload: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def record(
        self,
        key: str,
        time: float,
        invocation: int,
        outcome: str,
        payload: str | None = None,
        to: str | None = None,
        counterpart: str | None = None,
    ) -> None:
        """Add one delivery of the record ``key`` to the history and the counts. With
        ``payload`` (what the record carries, as text), also count it in
        ``duplicates_delivered`` when another record delivered the same payload first, and in
        ``max_receive_count`` by how many times ``key`` has been delivered (streams and Kafka;
        SQS counts from the message's own ``ApproximateReceiveCount``). ``to`` and
        ``counterpart`` link a message and the copy the function sent (see :class:`Delivery`);
        a :data:`SENT` entry only counts in ``sent_by_function``."""
        deliveries = self.history.setdefault(key, [])
        deliveries.append(Delivery(time, invocation, outcome, to, counterpart))
        if outcome == SENT:
            self.sent_by_function += 1
            return
        if outcome == FILTERED:
            self.filtered += 1
            return
        if payload is not None:
            if self._first_with_payload.setdefault(payload, key) != key:
                self.duplicates_delivered += 1
            count = sum(1 for delivery in deliveries if delivery.outcome not in NOT_DELIVERIES)
            self.max_receive_count = max(self.max_receive_count, count)
        self.delivered += 1
        if outcome == SUCCEEDED:
            self.succeeded += 1
        elif outcome == DELETED_BY_FUNCTION:
            self.deleted_by_function += 1
        else:
            self.failed_attempts += 1


@dataclass(frozen=True, slots=True)
class Sent:
    """A message the function sent during an invocation: to which queue, the ID SQS answered,
    the body, the clock time, and whether it was enqueued (not a duplicate)."""

    queue: str
    message_id: str
    body: str
    time: float
    enqueued: bool


class FunctionCalls:
    """What the function did to SQS through :class:`SQSClient` during the invocation a poller
    is running: the messages it deleted (by queue ARN) and sent. The poller reads it after the
    invocation to tell the truth in the :class:`Summary`; the client and the poller never meet
    otherwise, so it travels in :data:`FUNCTION_CALLS` (a context variable, which an ``async``
    handler's task and ``asyncio.to_thread`` inherit)."""

    __slots__ = ("deleted", "sent")

    def __init__(self) -> None:
        self.deleted: set[tuple[str, str]] = set()  # (queue ARN, message ID)
        self.sent: list[Sent] = []


FUNCTION_CALLS: ContextVar[FunctionCalls | None] = ContextVar(
    "lambdakit_esm_function_calls", default=None
)
