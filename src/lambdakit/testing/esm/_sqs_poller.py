"""Lambda's poller for an :class:`SQSQueue`: what makes a batch, and what the answer does.

Following "Using Lambda with Amazon SQS", "Configuring an Amazon SQS event source mapping",
"Handling errors for an SQS event source in Lambda" and "Control which events Lambda sends to
your function" (event filtering) in the AWS Lambda Developer Guide:

- A batch is invoked when ``batch_size`` messages are available, when the batching window has
  passed since the poller started gathering (at once with no window), or when one more message
  would take the event past the 6 MB invocation payload limit.
- Filter criteria are applied to each message as it is received, before batching: a message
  they drop is deleted without invoking the function and does not count toward the batch.
- A receive that would take a message past the queue's ``maxReceiveCount`` moves it to the DLQ
  instead (SQS's redrive policy, on the receive attempt).
- Success deletes the batch. An error, a timeout or an invalid partial response leaves every
  message of the batch in the queue, visible again when the visibility timeout (started at the
  receive) ends. Without ``report_batch_item_failures`` a returned response is ignored; with
  it, the reported messages stay and the others are deleted.
- FIFO: the queue never hands out a message while an earlier one of its group is in flight, so
  a failed message blocks its group until it is deleted, expires into the DLQ, or succeeds.
- A message the function deleted itself during the invocation (through :class:`SQSClient`,
  as ``process_batch``'s quarantine does) is gone whatever the answer says: its delivery is
  ``deleted_by_function``, neither a success the mapping deleted nor a failure to retry.

The model receives a batch when it invokes (so ``ApproximateFirstReceiveTimestamp`` and the
visibility timeout start then); Lambda receives messages while it gathers a batch and covers
the window with a longer visibility, which a sequential model cannot tell apart.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from lambdakit.errors import EventSourceMappingError
from lambdakit.testing.esm._invoke import TIMED_OUT as INVOCATION_TIMED_OUT
from lambdakit.testing.esm._invoke import Outcome
from lambdakit.testing.esm._mapping import MAX_PAYLOAD_BYTES
from lambdakit.testing.esm._responses import EVERY_RECORD
from lambdakit.testing.esm._summary import (
    DELETED_BY_FUNCTION,
    FAILED,
    FILTERED,
    FUNCTION_CALLS,
    SENT,
    SUCCEEDED,
    TIMED_OUT,
    FunctionCalls,
    Summary,
)

if TYPE_CHECKING:
    from lambdakit.testing.esm._mapping import EventSourceMapping
    from lambdakit.testing.esm._sqs import SQSQueue, _Message

_ENVELOPE_BYTES = len('{"Records":[]}')
_STANDARD_MAX_BATCH = 10_000
_FIFO_MAX_BATCH = 10
# Options CreateEventSourceMapping takes only for streams and Kafka, with their defaults.
_NOT_FOR_SQS = (
    ("bisect_batch_on_function_error", False),
    ("maximum_retry_attempts", -1),
    ("maximum_record_age", -1),
    ("parallelization_factor", 1),
    ("on_failure", None),
    ("starting_position", "LATEST"),
)


def check_options(queue: SQSQueue, mapping: EventSourceMapping) -> None:
    """Refuse what CreateEventSourceMapping refuses for this queue (its error message where
    AWS's is known)."""
    where = f"EventSourceMapping({queue!s})"
    for option, default in _NOT_FOR_SQS:
        value = getattr(mapping, option)
        if value != default or isinstance(value, bool) != isinstance(default, bool):
            raise EventSourceMappingError(
                f"{where}: {option}={value!r}: not an option of SQS event sources (streams "
                "and Kafka only)"
            )
    limit = _FIFO_MAX_BATCH if queue.fifo else _STANDARD_MAX_BATCH
    size = mapping.batch_size
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= limit:
        kind = "FIFO" if queue.fifo else "standard"
        raise EventSourceMappingError(
            f"{where}: batch_size={size!r}: expected an integer from 1 to {limit} for a "
            f"{kind} queue"
        )
    window = mapping.maximum_batching_window
    if window != int(window):
        raise EventSourceMappingError(
            f"{where}: maximum_batching_window={window!r}: SQS takes whole seconds"
        )
    if queue.fifo and window:
        raise EventSourceMappingError(
            f"{where}: maximum_batching_window={window:g}: Batching window is not supported "
            "for FIFO queues"
        )
    if size > 10 and window < 1:
        raise EventSourceMappingError(
            f"{where}: batch_size={size}: Maximum batch window in seconds must be greater "
            "than 0 if maximum batch size is greater than 10"
        )
    concurrency = mapping.maximum_concurrency
    if concurrency is not None and (
        isinstance(concurrency, bool)
        or not isinstance(concurrency, int)
        or not 2 <= concurrency <= 1000
    ):
        raise EventSourceMappingError(
            f"{where}: maximum_concurrency={concurrency!r}: expected None or an integer from "
            "2 to 1000"
        )
    if mapping.function_timeout > queue.visibility_timeout:
        raise EventSourceMappingError(
            f"{where}: Queue visibility timeout: {queue.visibility_timeout:g} seconds is less "
            f"than Function timeout: {mapping.function_timeout:g} seconds"
        )


class SQSPoller:
    """One mapping's poller over one queue (the :class:`Poller` protocol)."""

    def __init__(self, queue: SQSQueue, mapping: EventSourceMapping) -> None:
        check_options(queue, mapping)
        self.queue = queue
        self.mapping = mapping
        self._gathering_since: float | None = None  # the batching window's start
        self._first_delivered: dict[str, str] = {}  # body -> the first message ID delivered

    def poll(self) -> bool:
        """Receive what is receivable now: redrive, filter, and invoke when a batch is due."""
        mapping, queue = self.mapping, self.queue
        now = mapping.clock()
        progressed = False
        matching: list[_Message] = []
        for message in queue._receivable(now):
            if queue._redrive_due(message):
                mapping.summary.dead_lettered.append(queue._move_to_dlq(message, now))
                progressed = True
                continue
            if mapping.filter_criteria is not None:
                receipt = queue._receipt()
                if not mapping.admits(queue._record(message, now, receipt), "sqs"):
                    queue._receive(message, now, receipt)
                    queue._delete(message)
                    mapping.summary.record(message.message_id, now, 0, FILTERED)
                    mapping.summary.deleted += 1
                    progressed = True
                    continue
            matching.append(message)
        if not matching:
            self._gathering_since = None
            return progressed
        batch, capped = self._compose(matching, now)
        if mapping.maximum_batching_window and len(batch) < mapping.batch_size and not capped:
            if self._gathering_since is None:
                self._gathering_since = now
            if now < self._gathering_since + mapping.maximum_batching_window:
                return progressed
        self._gathering_since = None
        self._invoke(batch, now)
        return True

    def wake(self) -> float | None:
        """When a delay or visibility timeout ends, or the batching window closes."""
        now = self.mapping.clock()
        times = [t for t in (self.queue._next_change(now),) if t is not None]
        if self._gathering_since is not None:
            times.append(self._gathering_since + self.mapping.maximum_batching_window)
        later = [t for t in times if t > now]
        return min(later, default=None)

    def _compose(
        self, matching: list[_Message], now: float
    ) -> tuple[list[tuple[_Message, dict[str, Any]]], bool]:
        """The next batch: up to ``batch_size`` messages whose event stays within 6 MB, and
        whether the payload limit (rather than the batch size) ended it."""
        batch: list[tuple[_Message, dict[str, Any]]] = []
        size = _ENVELOPE_BYTES
        for message in matching:
            if len(batch) == self.mapping.batch_size:
                return batch, False
            record = self.queue._record(message, now, self.queue._receipt())
            grown = size + _json_bytes(record) + (1 if batch else 0)
            if batch and grown > MAX_PAYLOAD_BYTES:
                return batch, True
            batch.append((message, record))
            size = grown
        return batch, False

    def _invoke(self, batch: list[tuple[_Message, dict[str, Any]]], now: float) -> None:
        mapping, queue, summary = self.mapping, self.queue, self.mapping.summary
        for message, record in batch:
            queue._receive(message, now, record["receiptHandle"])
        records = [record for _, record in batch]
        identifiers = [record["messageId"] for record in records]
        calls = FunctionCalls()
        token = FUNCTION_CALLS.set(calls)
        try:
            outcome, failed = mapping.call({"Records": records}, identifiers)
        finally:
            FUNCTION_CALLS.reset(token)
        number = summary.invocations
        failed_ids, how = failures_of(outcome, failed, identifiers)
        copies = _copies(calls, records, number, summary)
        for message, record in batch:
            message_id = record["messageId"]
            to, copy = copies.get(message_id, (None, None))
            if (queue.arn, message_id) in calls.deleted:
                summary.record(
                    message_id, now, number, DELETED_BY_FUNCTION, to=to, counterpart=copy
                )
            elif message_id in failed_ids:
                summary.record(message_id, now, number, how, to=to, counterpart=copy)
            else:
                queue._delete(message)
                summary.record(message_id, now, number, SUCCEEDED, to=to, counterpart=copy)
                summary.deleted += 1
            count_delivery(summary, self._first_delivered, message_id, record)


def _copies(
    calls: FunctionCalls, records: list[dict[str, Any]], invocation: int, summary: Summary
) -> dict[str, tuple[str, str]]:
    """Record each message the function sent during ``invocation`` as ``SENT`` in its own
    history, linked to the delivered message it copies: the first of the batch, in batch order,
    with the same body and no copy yet. Returns delivered message ID -> (queue, copy's ID).
    A send is matched by body because that is all a copy shares with its original on a
    standard queue (a quarantine, a re-drive, a re-enqueue with a delay all keep the body)."""
    copies: dict[str, tuple[str, str]] = {}
    if not calls.sent:
        return copies
    waiting: dict[str, list[str]] = {}  # body -> delivered IDs without a copy, last first
    for record in reversed(records):
        waiting.setdefault(record["body"], []).append(record["messageId"])
    for sent in calls.sent:
        originals = waiting.get(sent.body)
        original = originals.pop() if originals else None
        if original is not None:
            copies[original] = (sent.queue, sent.message_id)
        if sent.enqueued:
            summary.record(
                sent.message_id, sent.time, invocation, SENT, to=sent.queue, counterpart=original
            )
    return copies


def failures_of(
    outcome: Outcome, failed: list[Any] | None, identifiers: list[str]
) -> tuple[set[str], str]:
    """The message IDs an invocation failed, and how (timed out, or failed): every message
    when the whole batch failed, else the ones reported. Shared by the model and the
    real-endpoint driver."""
    if failed is EVERY_RECORD:
        return set(identifiers), TIMED_OUT if outcome.kind == INVOCATION_TIMED_OUT else FAILED
    return set(failed), FAILED


def count_delivery(
    summary: Summary, first_delivered: dict[str, str], message_id: str, record: dict[str, Any]
) -> None:
    """``duplicates_delivered``: a delivery of a body already delivered under another message
    ID (``first_delivered``: body -> the first ID it came under); ``max_receive_count``: the
    highest receive count a delivery carried. Shared by the model and the real-endpoint driver."""
    first = first_delivered.setdefault(record["body"], message_id)
    if first != message_id:
        summary.duplicates_delivered += 1
    count = int(record["attributes"].get("ApproximateReceiveCount", 0))
    summary.max_receive_count = max(summary.max_receive_count, count)


def _json_bytes(record: dict[str, Any]) -> int:
    return len(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode())
