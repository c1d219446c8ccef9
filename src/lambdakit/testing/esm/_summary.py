"""What a run of an event source mapping did: counts, what was dead-lettered or sent to the
on-failure destination, every record's deliveries, and the handler's measured CPU time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Outcomes of one delivery of a record, as Delivery.outcome says them.
SUCCEEDED = "succeeded"  # the handler finished it (deleted / checkpointed after)
FAILED = "failed"  # reported, raised, invalid response: it comes back (or moves on)
TIMED_OUT = "timed_out"  # the invocation ran past the function timeout
FILTERED = "filtered"  # dropped by the filter criteria, never given to the handler


@dataclass(frozen=True)
class Delivery:
    """One delivery of one record: when (the mapping's clock), in which invocation (1-based,
    0 for a record filtered out before any invocation), and how it ended."""

    time: float
    invocation: int
    outcome: str


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
    """

    invocations: int = 0
    delivered: int = 0
    succeeded: int = 0
    deleted: int = 0
    failed_attempts: int = 0
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
        self, key: str, time: float, invocation: int, outcome: str, payload: str | None = None
    ) -> None:
        """Add one delivery of the record ``key`` to the history and the counts. With
        ``payload`` (what the record carries, as text), also count it in
        ``duplicates_delivered`` when another record delivered the same payload first, and in
        ``max_receive_count`` by how many times ``key`` has been delivered (streams and Kafka;
        SQS counts from the message's own ``ApproximateReceiveCount``)."""
        deliveries = self.history.setdefault(key, [])
        deliveries.append(Delivery(time, invocation, outcome))
        if outcome == FILTERED:
            self.filtered += 1
            return
        if payload is not None:
            if self._first_with_payload.setdefault(payload, key) != key:
                self.duplicates_delivered += 1
            count = sum(1 for delivery in deliveries if delivery.outcome != FILTERED)
            self.max_receive_count = max(self.max_receive_count, count)
        self.delivered += 1
        if outcome == SUCCEEDED:
            self.succeeded += 1
        else:
            self.failed_attempts += 1
