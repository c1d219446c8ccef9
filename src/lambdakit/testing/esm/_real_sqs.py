"""``SQSEventSource``: Lambda's SQS poller played against a real SQS API, through boto3.

The in-memory model (``EventSourceMapping`` over an ``SQSQueue``) answers "what does Lambda do
with my handler's answer" in milliseconds; this driver answers the same question against a real
endpoint (moto server, LocalStack, ElasticMQ, or AWS itself) in real time, so a test or a demo
exercises the real service's visibility timeouts, redrive policy and FIFO group blocking. Both
read options, invoke the handler and read its answer with the same code (an
:class:`EventSourceMapping` is made for the options, over a stand-in for the remote queue), so
they also validate and count the same way, into the same :class:`Summary`.

What it does, following the pages ``_sqs_poller.py`` cites:

- ReceiveMessage, at most 10 per call, asking for every system and message attribute, until
  ``batch_size`` messages are gathered, the batching window has passed since the first one
  arrived (one receive with no window), or one more would take the event past 6 MB (that
  message waits, received, for the next batch). Records are built from the API's answer in the
  shape the model builds them (:func:`lambda_record`).
- Filter criteria are applied to each message as it is received; a message they drop is
  deleted (DeleteMessageBatch) without invoking and does not count toward the batch.
- The handler runs once per batch with a ``LambdaContext`` counting down ``function_timeout``
  on the wall clock; an invocation that ran longer is a timeout (the handler is not
  interrupted, which Lambda would do; what it did before the deadline stays done).
- Success deletes the batch with DeleteMessageBatch, 10 entries per request. An entry SQS
  refuses is not counted in ``deleted``; the message comes back after its visibility timeout and
  is delivered again; the refusal is kept in :attr:`SQSEventSource.delete_failures` and logged.
- Failure (raised, timed out, an invalid partial response) leaves the batch alone: it becomes
  visible again when the visibility timeout ends, as with Lambda, which does not change
  visibility on failure. A valid partial response deletes the messages it does not name.
- Visibility: with a batching window, messages are received with a visibility timeout of the
  queue's plus the window, so none reappears while the batch is gathered, and just before the
  invocation ChangeMessageVisibilityBatch sets each one's to the queue's visibility timeout
  (as for a message held over from the previous batch by the 6 MB limit). A failed batch thus
  comes back one visibility timeout after its invocation started, as in the model.
- Redrive is the queue's own (its RedrivePolicy; SQS moves a message on the receive that would
  exceed maxReceiveCount). At the end of a run the messages this source delivered that are now
  in the dead-letter queue are read from it (ReceiveMessage with a 30 s visibility timeout, then
  ChangeMessageVisibilityBatch to 0, so they stay there, visible) and listed in
  ``summary.dead_lettered``. SQS counts such a read as a receive; the listed
  ``ApproximateReceiveCount`` leaves this source's own reads out, so it is the count the message
  had when it moved.
- ``drained``: a receive returned nothing and the queue reports no visible, in-flight or delayed
  message (GetQueueAttributes ``ApproximateNumberOfMessages*``). While messages are in flight or
  delayed, the driver long-polls (``WaitTimeSeconds`` 1) until they come back.

How it differs from the model: time is real (``Delivery.time`` and ``clock`` are
:func:`time.monotonic` seconds; ``max_time`` is wall seconds, checked between steps, so a run
can end up to a long poll or an invocation later, and a run ending inside a batching window
invokes the batch gathered so far); the model receives a batch when it invokes, this driver
while it gathers, so ``ApproximateFirstReceiveTimestamp`` can be up to the window earlier;
invocations are sequential in both, so ``maximum_concurrency`` is checked but changes nothing
here; counts come from what SQS answers, and
on AWS ``ApproximateNumberOf*`` and short-polling receives are approximate, so ``drained`` may be
declared while a message is on its way back and a message in a dead-letter queue may only be
listed by a later run. A FIFO dead-letter queue shows at most 10 messages of one group per
read (SQS hides the rest of a group while one of its messages is in flight).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from lambdakit.errors import EventSourceMappingError
from lambdakit.testing.esm._mapping import MAX_PAYLOAD_BYTES, EventSourceMapping, _number
from lambdakit.testing.esm._sqs import MAX_VISIBILITY_TIMEOUT, SQSMessage, _from_api_shape
from lambdakit.testing.esm._sqs_poller import (
    _ENVELOPE_BYTES,
    _json_bytes,
    check_options,
    count_delivery,
    failures_of,
)
from lambdakit.testing.esm._summary import FILTERED, SUCCEEDED, Summary

if TYPE_CHECKING:
    import logging

    from lambdakit.testing.clock import FakeClock
    from lambdakit.testing.esm._sqs import SQSQueue

__all__ = ["SQSEventSource", "lambda_record"]

MAX_PER_REQUEST = 10  # ReceiveMessage MaxNumberOfMessages, and entries per *Batch request
MAX_WAIT_SECONDS = 20  # ReceiveMessage WaitTimeSeconds
IDLE_WAIT_SECONDS = 1  # the long poll while messages are in flight or delayed
DLQ_READ_VISIBILITY = 30  # hides a DLQ message while the run pages through the DLQ
_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)
# System attributes in the order of AWS's sample events (the model's order); others follow.
_ATTRIBUTE_ORDER = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
    "DeadLetterQueueSourceArn",
)


def lambda_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """A ReceiveMessage message (boto3's shape) as Lambda's SQS event record: camelCase keys in
    the sample event's order, system attributes in the sample's order, message attributes in the
    event's shape (binary values base64), ``md5OfMessageAttributes`` when the message has
    attributes, and the queue's ARN and Region."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": _ordered(message.get("Attributes") or {}),
        "messageAttributes": _event_attributes(message),
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record["md5OfBody"] = message["MD5OfBody"]
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = queue_arn.split(":")[3]
    return record


def _ordered(attributes: Mapping[str, str]) -> dict[str, str]:
    """System attributes in the sample events' order (SQS answers them in any order)."""
    known = {name: attributes[name] for name in _ATTRIBUTE_ORDER if name in attributes}
    return {**known, **{k: v for k, v in attributes.items() if k not in known}}


def _event_attributes(message: Mapping[str, Any]) -> dict[str, Any]:
    """A message's MessageAttributes (API shape) in the event's shape."""
    return {
        name: _from_api_shape(value)
        for name, value in (message.get("MessageAttributes") or {}).items()
    }


class SQSEventSource:
    """Lambda's SQS event source mapping over a real queue (see the module docs).

    ``queue_url`` names the queue; ``client`` is a boto3 SQS client, else one is made on first
    use with ``endpoint_url`` and ``region_name`` (the environment's ``AWS_ENDPOINT_URL``,
    ``AWS_ENDPOINT_URL_SQS`` and Region when they are None). The options are
    :class:`EventSourceMapping`'s for SQS, with its defaults and checks: what does not depend on
    the queue is checked here (a ``.fifo`` URL is a FIFO queue), the function timeout against
    the queue's ``VisibilityTimeout`` when :meth:`run` reads it.
    """

    def __init__(
        self,
        queue_url: str,
        handler: Callable[..., Any],
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        batch_size: int = 10,
        maximum_batching_window: float = 0,
        filter_criteria: Any = None,
        report_batch_item_failures: bool = False,
        function_timeout: float = 3,
        maximum_concurrency: int | None = None,
    ) -> None:
        if not isinstance(queue_url, str) or "/" not in queue_url:
            raise EventSourceMappingError(
                f"SQSEventSource: queue_url={queue_url!r}: expected a queue URL "
                "(https://sqs.<region>.amazonaws.com/<account>/<name>, or your endpoint's)"
            )
        self.queue_url = queue_url
        self._client = client
        self._endpoint_url = endpoint_url
        self._region_name = region_name
        self._queue = _RemoteQueue(queue_url, lambda: self.client)
        self._mapping = EventSourceMapping(
            self._queue,
            handler,
            batch_size=batch_size,
            maximum_batching_window=maximum_batching_window,
            filter_criteria=filter_criteria,
            report_batch_item_failures=report_batch_item_failures,
            function_timeout=function_timeout,
            maximum_concurrency=maximum_concurrency,
        )

    @property
    def client(self) -> Any:
        """The boto3 SQS client (made on first use when none was given)."""
        if self._client is None:
            from lambdakit._internal.clients import client

            self._client = client(
                "sqs", region_name=self._region_name, endpoint_url=self._endpoint_url
            )
        return self._client

    @property
    def delete_failures(self) -> list[dict[str, Any]]:
        """The DeleteMessageBatch entries SQS refused (``messageId``, ``code``, ``message``,
        ``senderFault``), in order: those messages were delivered again, or still will be."""
        return self._queue.poller.delete_failures

    @property
    def summary(self) -> Summary:
        """What the runs did so far (cumulative)."""
        return self._mapping.summary

    @property
    def clock(self) -> Callable[[], float]:
        """The clock ``Delivery.time`` and the handler's context read: the wall clock."""
        return time.monotonic

    def run(
        self,
        *,
        until: str | Callable[[Summary], bool] = "drained",
        max_time: float | None = None,
        on_progress: Callable[[Summary], Any] | None = None,
    ) -> Summary:
        """Poll and invoke until the queue is drained, ``until(summary)`` is true, or
        ``max_time`` wall seconds have passed; then list what reached the dead-letter queue.
        ``on_progress(summary)`` is called after each invocation, and after each receive whose
        messages the filter criteria all dropped. Returns the cumulative summary."""
        if until != "drained" and not callable(until):
            raise EventSourceMappingError(
                f"until={until!r}: expected 'drained' or a callable taking the Summary"
            )
        if max_time is not None:
            _number("max_time", max_time, 0, float("inf"))
        if on_progress is not None and not callable(on_progress):
            raise EventSourceMappingError(
                f"on_progress={on_progress!r}: expected a callable taking the Summary"
            )
        poller = self._queue.poller
        poller.start()
        summary = self.summary
        end = None if max_time is None else time.monotonic() + max_time
        wait = 0
        while not (callable(until) and until(summary)):
            if end is not None and time.monotonic() >= end:
                break
            if poller.step(wait, end):
                wait = 0
                if on_progress is not None:
                    on_progress(summary)
                continue
            if poller.wake() is None:
                break
            wait = IDLE_WAIT_SECONDS
        poller.finish()
        return summary

    def __repr__(self) -> str:
        return f"SQSEventSource({self.queue_url!r})"


class _RemoteQueue:
    """The remote queue as the mapping sees a source: its URL for messages, what
    ``check_options`` reads (``fifo``, ``visibility_timeout``), and the wall clock."""

    def __init__(self, url: str, client: Callable[[], Any]) -> None:
        self.url = url
        self.client = client
        self.fifo = url.rstrip("/").endswith(".fifo")  # SQS: a FIFO queue's name ends .fifo
        # Unknown until a run reads it; the largest SQS allows refuses no function timeout.
        self.visibility_timeout = float(MAX_VISIBILITY_TIMEOUT)
        # The mapping's clock; invoke() and the context only call it.
        self.clock = cast("FakeClock", time.monotonic)
        self.poller: _RemotePoller

    def _clock_given(self) -> bool:
        return True

    def _adopt_clock(self, clock: FakeClock) -> None:
        raise EventSourceMappingError(f"{self!s}: a real queue runs on the wall clock")

    def _poller(self, mapping: EventSourceMapping) -> _RemotePoller:
        self.poller = _RemotePoller(self, mapping)
        return self.poller

    def __str__(self) -> str:
        return repr(self.url)


class _RemotePoller:
    """What Lambda's poller does, one step at a time, over the SQS API."""

    def __init__(self, queue: _RemoteQueue, mapping: EventSourceMapping) -> None:
        check_options(cast("SQSQueue", queue), mapping)
        self.queue = queue
        self.mapping = mapping
        self.arn = ""
        self.dead_letter_arn: str | None = None
        self._carried: list[dict[str, Any]] = []  # received, held over by the 6 MB limit
        self._first_delivered: dict[str, str] = {}  # body -> the first message ID delivered
        self._settled: set[str] = set()  # deleted, or listed as dead-lettered
        self.delete_failures: list[dict[str, Any]] = []

    # --- the run's frame ----------------------------------------------------------------------

    def start(self) -> None:
        """Read the queue's attributes and check the options that depend on them."""
        attributes = self.queue.client().get_queue_attributes(
            QueueUrl=self.queue.url, AttributeNames=["All"]
        )["Attributes"]
        self.arn = attributes["QueueArn"]
        self.queue.fifo = attributes.get("FifoQueue") == "true"
        self.queue.visibility_timeout = float(attributes["VisibilityTimeout"])
        check_options(cast("SQSQueue", self.queue), self.mapping)
        redrive = attributes.get("RedrivePolicy")
        self.dead_letter_arn = json.loads(redrive)["deadLetterTargetArn"] if redrive else None

    def wake(self) -> float | None:
        """``None`` when the queue reports nothing visible, in flight or delayed (after a
        receive that returned nothing); else the time of the next long poll."""
        counts = self.queue.client().get_queue_attributes(
            QueueUrl=self.queue.url, AttributeNames=list(_COUNTS)
        )["Attributes"]
        if not self._carried and all(int(counts.get(name, 0)) == 0 for name in _COUNTS):
            return None
        return time.monotonic() + IDLE_WAIT_SECONDS

    def poll(self) -> bool:
        """One step without waiting (the :class:`Poller` protocol)."""
        return self.step(0, None)

    def finish(self) -> None:
        """List what reached the dead-letter queue; let go of messages held over (they come
        back when their visibility timeout ends)."""
        self._carried = []
        if self.dead_letter_arn is not None:
            self._read_dead_letters(self.dead_letter_arn)

    # --- one step -----------------------------------------------------------------------------

    def step(self, wait: int, end: float | None) -> bool:
        """Gather a batch (long-polling ``wait`` seconds for the first message) and invoke
        it; whether anything happened (an invocation, or messages filtered out)."""
        mapping = self.mapping
        window = mapping.maximum_batching_window
        batch, self._carried = self._carried, []
        held_over = bool(batch)
        size = _ENVELOPE_BYTES + sum(_json_bytes(r) for r in batch) + max(len(batch) - 1, 0)
        window_end: float | None = None  # the window opens with the batch's first message
        filtered = capped = False
        while len(batch) < mapping.batch_size and not capped:
            if window_end is None:
                poll_wait = wait
            else:
                if not window:
                    break  # no window: invoke with what one receive gave
                limit = window_end if end is None else min(window_end, end)
                remaining = limit - time.monotonic()
                if remaining <= 0:
                    break
                poll_wait = min(MAX_WAIT_SECONDS, math.ceil(remaining))
            received = self._receive(
                min(MAX_PER_REQUEST, mapping.batch_size - len(batch)), poll_wait
            )
            if not received and window_end is None:
                break
            wait = 0  # later receives of this step only wait for the batching window
            dropped: list[dict[str, Any]] = []
            for record in received:
                if not mapping.admits(record, "sqs"):
                    dropped.append(record)
                    continue
                grown = size + _json_bytes(record) + (1 if batch else 0)
                if capped or (batch and grown > MAX_PAYLOAD_BYTES):
                    capped = True
                    self._carried.append(record)
                    continue
                batch.append(record)
                size = grown
            if dropped:
                self._drop(dropped)
                filtered = True
            if batch and window_end is None:
                window_end = time.monotonic() + window
        if not batch:
            return filtered
        if window or held_over:
            self._change_visibility(
                self.queue.url,
                [r["receiptHandle"] for r in batch],
                int(self.queue.visibility_timeout),
            )
        self._invoke(batch)
        return True

    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "QueueUrl": self.queue.url,
            "MaxNumberOfMessages": count,
            "WaitTimeSeconds": wait,
            "AttributeNames": ["All"],  # deprecated for the next line; older emulators read it
            "MessageSystemAttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        window = self.mapping.maximum_batching_window
        if window:  # nothing may reappear while the batch is gathered
            request["VisibilityTimeout"] = min(
                MAX_VISIBILITY_TIMEOUT, int(self.queue.visibility_timeout) + math.ceil(window)
            )
        messages = self.queue.client().receive_message(**request).get("Messages", [])
        return [lambda_record(message, self.arn) for message in messages]

    def _drop(self, records: list[dict[str, Any]]) -> None:
        """Delete messages the filter criteria dropped, as Lambda does, without invoking."""
        now = time.monotonic()
        deleted = self._delete(records)
        summary = self.mapping.summary
        for record in records:
            summary.record(record["messageId"], now, 0, FILTERED)
            if record["messageId"] in deleted:
                summary.deleted += 1

    def _invoke(self, batch: list[dict[str, Any]]) -> None:
        mapping, summary = self.mapping, self.mapping.summary
        identifiers = [record["messageId"] for record in batch]
        now = time.monotonic()
        outcome, failed = mapping.call({"Records": batch}, identifiers)
        number = summary.invocations
        failed_ids, how = failures_of(outcome, failed, identifiers)
        deleted = self._delete([r for r in batch if r["messageId"] not in failed_ids])
        for record in batch:
            message_id = record["messageId"]
            if message_id in failed_ids:
                summary.record(message_id, now, number, how)
            else:
                summary.record(message_id, now, number, SUCCEEDED)
                if message_id in deleted:
                    summary.deleted += 1
            count_delivery(summary, self._first_delivered, message_id, record)

    # --- batched requests ---------------------------------------------------------------------

    def _delete(self, records: Sequence[dict[str, Any]]) -> set[str]:
        """DeleteMessageBatch, 10 per request; the message IDs SQS deleted. Refused entries
        are kept (``delete_failures``) and logged: those messages will come back."""
        deleted: set[str] = set()
        for start in range(0, len(records), MAX_PER_REQUEST):
            chunk = records[start : start + MAX_PER_REQUEST]
            answer = self.queue.client().delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)
                ],
            )
            for entry in answer.get("Successful", []):
                deleted.add(chunk[int(entry["Id"])]["messageId"])
            for entry in answer.get("Failed", []):
                failure = {
                    "messageId": chunk[int(entry["Id"])]["messageId"],
                    "code": entry.get("Code"),
                    "message": entry.get("Message"),
                    "senderFault": entry.get("SenderFault"),
                }
                self.delete_failures.append(failure)
                _log().warning(
                    "SQSEventSource(%r): SQS did not delete message %s (%s: %s); it will be "
                    "delivered again",
                    self.queue.url,
                    failure["messageId"],
                    failure["code"],
                    failure["message"],
                )
        self._settled |= deleted
        return deleted

    def _change_visibility(self, url: str, handles: Sequence[str], seconds: int) -> None:
        """ChangeMessageVisibilityBatch, 10 per request. A refused entry (the message was
        deleted or its handle is stale) changes nothing that a retry could fix: logged."""
        for start in range(0, len(handles), MAX_PER_REQUEST):
            chunk = handles[start : start + MAX_PER_REQUEST]
            answer = self.queue.client().change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                    for i, handle in enumerate(chunk)
                ],
            )
            for entry in answer.get("Failed", []):
                _log().warning(
                    "SQSEventSource(%r): visibility of a message not changed (%s: %s)",
                    url,
                    entry.get("Code"),
                    entry.get("Message"),
                )

    # --- the dead-letter queue ----------------------------------------------------------------

    def _read_dead_letters(self, dead_letter_arn: str) -> None:
        """Add to ``dead_lettered`` the messages this source delivered, never deleted, that
        are now in the DLQ; leave them there, visible again."""
        summary = self.mapping.summary
        waiting = {key for key in summary.history if key not in self._settled}
        if not waiting:
            return
        client = self.queue.client()
        _, _, _, _, account, name = dead_letter_arn.split(":", 5)
        url = client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        found: list[dict[str, Any]] = []
        handles: list[str] = []
        try:
            while waiting:
                messages = client.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=MAX_PER_REQUEST,
                    WaitTimeSeconds=0,
                    VisibilityTimeout=DLQ_READ_VISIBILITY,
                    AttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    handles.append(message["ReceiptHandle"])
                    message_id = message["MessageId"]
                    if message_id in waiting:
                        waiting.discard(message_id)
                        found.append(message)
        finally:
            self._change_visibility(url, handles, 0)
        for message in found:
            summary.dead_lettered.append(self._as_moved(message))
            self._settled.add(message["MessageId"])

    def _as_moved(self, message: Mapping[str, Any]) -> SQSMessage:
        """A DLQ message as an :class:`SQSMessage`, its receive count without the read that
        found it (SQS counts receives across queues): the count it had when SQS moved it. A
        message found is settled, so no earlier read of this source counted it."""
        attributes = _ordered(message.get("Attributes") or {})
        if "ApproximateReceiveCount" in attributes:
            count = int(attributes["ApproximateReceiveCount"])
            attributes["ApproximateReceiveCount"] = str(max(count - 1, 0))
        return SQSMessage(
            message["MessageId"], message["Body"], attributes, _event_attributes(message)
        )


def _log() -> logging.Logger:
    from lambdakit._internal.logs import get_logger

    return get_logger("lambdakit.testing.esm")
