"""``SQSQueue``: an Amazon SQS queue in memory, with the service's documented semantics.

What a test can rely on (each rule follows the page cited; the tests cite them again):

- Sending (SendMessage, SendMessageBatch API reference): a body of 1 byte to 1 MiB of XML
  characters, up to 10 message attributes counted in the size; per-queue and per-message delay
  (0-900 s; FIFO queues refuse a per-message delay); ``SentTimestamp`` and ``SenderId`` set.
- FIFO (Amazon SQS Developer Guide, "FIFO queue delivery logic", "Exactly-once processing"): a
  name ending in ``.fifo``, a ``MessageGroupId`` on every message, a deduplication ID (given,
  or the SHA-256 of the body with content-based deduplication), a 5-minute deduplication
  interval in which a duplicate is accepted but not enqueued, ``SequenceNumber`` growing in
  send order, and group blocking: while a message of a group is in flight no other message of
  that group is received, and a group's messages are received in send order.
- Receiving ("Amazon SQS visibility timeout", ReceiveMessage): a received message is invisible
  for the visibility timeout; ``ApproximateReceiveCount`` counts receives "across all queues";
  ``ApproximateFirstReceiveTimestamp`` is set on the first.
- Redrive ("Using dead-letter queues in Amazon SQS", CreateQueue ``RedrivePolicy``): a receive
  that would make the count exceed ``maxReceiveCount`` (default 10) moves the message to the
  dead-letter queue instead (on that receive attempt, as SQS does); a standard queue's DLQ is
  standard and a FIFO queue's is FIFO; in a FIFO DLQ the deduplication ID becomes the message ID.

Lambda's side (batching, filtering, partial batch responses) is the poller, in
``_sqs_poller.py``. Time is the queue's :class:`~lambdakit.testing.FakeClock`; nothing sleeps.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lambdakit.errors import EventBuilderError, EventSourceMappingError
from lambdakit.testing.builders._common import DEFAULT_ACCOUNT, payload_text, region_or_default
from lambdakit.testing.builders.sqs import _FIFO_SEQUENCE_BASE, _message_attributes
from lambdakit.testing.clock import FakeClock
from lambdakit.testing.esm._mapping import epoch_ms

if TYPE_CHECKING:
    from lambdakit.testing.esm._mapping import EventSourceMapping
    from lambdakit.testing.esm._sqs_poller import SQSPoller

MAX_MESSAGE_BYTES = 1_048_576  # body + message attributes (SendMessage: "1 MiB or 1,048,576 bytes")
MAX_BATCH_ENTRIES = 10  # SendMessageBatch: "up to 10 messages"
MAX_MESSAGE_ATTRIBUTES = 10
DEDUPLICATION_INTERVAL = 300.0  # FIFO: "the 5-minute deduplication interval"
MAX_DELAY_SECONDS = 900
MAX_VISIBILITY_TIMEOUT = 43_200
DEFAULT_MAX_RECEIVE_COUNT = 10  # RedrivePolicy maxReceiveCount: "Default: 10"
MAX_MAX_RECEIVE_COUNT = 1_000
SENDER_ID = "AIDAIENQZJOLO23YVJ4VO"  # the IAM user ID in AWS's sample events

# Characters SQS accepts in a body or a string attribute (the XML 1.0 character set).
_INVALID_TEXT = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_BATCH_ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_TOKEN = re.compile(r"[\x21-\x7e]{1,128}")  # group and deduplication IDs: ASCII punctuation, alnum
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")
_ATTRIBUTE_TYPE = re.compile(r"(String|Number|Binary)(\..+)?", re.DOTALL)
_ENTRY_KEYS = frozenset(
    (
        "Id",
        "MessageBody",
        "DelaySeconds",
        "MessageAttributes",
        "MessageGroupId",
        "MessageDeduplicationId",
    )
)


@dataclass(frozen=True)
class SQSMessage:
    """A message as SQS would report it at one moment: its ID, body, system ``attributes``
    (``SentTimestamp``, ``ApproximateReceiveCount`` ("0" before any receive), ...; FIFO:
    ``MessageGroupId``, ``MessageDeduplicationId``, ``SequenceNumber``; in a dead-letter queue:
    ``DeadLetterQueueSourceArn``) and ``message_attributes`` in the shape Lambda's event uses.
    """

    message_id: str
    body: str
    attributes: dict[str, str]
    message_attributes: dict[str, Any]

    @property
    def receive_count(self) -> int:
        """``ApproximateReceiveCount`` as a number."""
        return int(self.attributes["ApproximateReceiveCount"])


class _Message:
    """One message's state inside a queue. Times are on the queue's clock (seconds)."""

    __slots__ = (
        "available_at",
        "body",
        "dedup_id",
        "first_receive_at",
        "group_id",
        "md5_of_attributes",
        "message_attributes",
        "message_id",
        "receipt_handle",
        "receive_count",
        "sent_at",
        "sequence_number",
        "source_arn",
    )

    def __init__(
        self,
        message_id: str,
        body: str,
        message_attributes: dict[str, Any],
        md5_of_attributes: str | None,
        sent_at: float,
        group_id: str | None,
        dedup_id: str | None,
        sequence_number: str | None,
        available_at: float,
    ) -> None:
        self.message_id = message_id
        self.body = body
        self.message_attributes = message_attributes
        self.md5_of_attributes = md5_of_attributes
        self.sent_at = sent_at
        self.group_id = group_id
        self.dedup_id = dedup_id
        self.sequence_number = sequence_number
        # When it can next be received: the end of its delay, or of its visibility timeout.
        self.available_at = available_at
        self.receive_count = 0
        self.first_receive_at: float | None = None
        self.receipt_handle: str | None = None  # set while received from *this* queue
        self.source_arn: str | None = None  # DeadLetterQueueSourceArn

    def in_flight(self, now: float) -> bool:
        """Received from this queue and its visibility timeout not over."""
        return self.receipt_handle is not None and self.available_at > now


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """A validated message about to be enqueued (every entry of a batch is checked first)."""

    body: str
    attributes: dict[str, Any]
    md5_of_attributes: str | None
    group_id: str | None
    dedup_id: str | None
    delay: float


class SQSQueue:
    """An Amazon SQS queue in memory, for :class:`EventSourceMapping` (see the module docs).

    ``dlq`` is another ``SQSQueue`` (standard for a standard queue, FIFO for a FIFO queue)
    that receives the messages redriven after ``max_receive_count`` receives (SQS's default,
    10, when only ``dlq`` is given). ``clock`` is the :class:`FakeClock` everything reads; when
    omitted the queue shares its DLQ's, or makes its own, and adopts its mapping's.

    ``len(queue)`` counts the messages not deleted nor moved to the DLQ (delayed and in-flight
    ones included); :meth:`messages` lists them. Options SQS refuses raise
    :class:`~lambdakit.errors.EventSourceMappingError` naming the option and SQS's rule.
    """

    def __init__(
        self,
        name: str,
        *,
        fifo: bool = False,
        visibility_timeout: float = 30,
        max_receive_count: int | None = None,
        dlq: SQSQueue | None = None,
        delay_seconds: float = 0,
        content_based_deduplication: bool = False,
        clock: FakeClock | None = None,
    ) -> None:
        where = f"SQSQueue({name!r})"
        _check_name(name, bool(fifo), where)
        _check_number(f"{where}: visibility_timeout", visibility_timeout, MAX_VISIBILITY_TIMEOUT)
        _check_number(f"{where}: delay_seconds", delay_seconds, MAX_DELAY_SECONDS)
        if content_based_deduplication and not fifo:
            raise EventSourceMappingError(
                f"{where}: content_based_deduplication applies only to FIFO queues "
                "(SQS: ContentBasedDeduplication is a FIFO queue attribute)"
            )
        if dlq is not None:
            _check_dlq(dlq, bool(fifo), where)
            if max_receive_count is None:
                max_receive_count = DEFAULT_MAX_RECEIVE_COUNT
        if max_receive_count is not None:
            if dlq is None:
                raise EventSourceMappingError(
                    f"{where}: max_receive_count={max_receive_count!r} without a dlq; a "
                    "redrive policy names the dead-letter queue (deadLetterTargetArn)"
                )
            if (
                isinstance(max_receive_count, bool)
                or not isinstance(max_receive_count, int)
                or not 1 <= max_receive_count <= MAX_MAX_RECEIVE_COUNT
            ):
                raise EventSourceMappingError(
                    f"{where}: max_receive_count={max_receive_count!r}: expected an integer "
                    f"from 1 to {MAX_MAX_RECEIVE_COUNT}"
                )
        self.name = name
        self.fifo = bool(fifo)
        self.visibility_timeout = float(visibility_timeout)
        self.max_receive_count = max_receive_count
        self.dlq = dlq
        self.delay_seconds = float(delay_seconds)
        self.content_based_deduplication = bool(content_based_deduplication)
        self.region = region_or_default(None)
        self.account_id = DEFAULT_ACCOUNT
        self.arn = f"arn:aws:sqs:{self.region}:{self.account_id}:{name}"
        self._clock_was_given = clock is not None
        if clock is None and dlq is not None:
            clock = dlq.clock
        elif clock is not None and dlq is not None and dlq.clock is not clock:
            if dlq._clock_given():
                raise EventSourceMappingError(
                    f"{where}: the queue and its dlq were given different clocks; pass the "
                    "same FakeClock to both (or to one of them)"
                )
            dlq._adopt_clock(clock)
        self.clock: FakeClock = clock or FakeClock()
        self._messages: dict[str, _Message] = {}  # in queue order: send (or redrive) order
        self._deduplication: dict[str, tuple[float, str]] = {}  # id -> (sent at, message ID)
        self._sequence = 0
        # The current receipt handle of each message in flight -> (message ID, received at), and
        # the last handles of deleted messages (deleting again with one succeeds, as in SQS):
        # what the boto3-shaped SQSClient checks receipt handles against.
        self._handles: dict[str, tuple[str, float]] = {}
        self._spent_handles: set[str] = set()
        # IDs and receipt handles are random-looking but reproducible run to run.
        self._random = random.Random(self.arn)

    # --- the Source protocol -------------------------------------------------------------------

    def _clock_given(self) -> bool:
        return self._clock_was_given or (self.dlq is not None and self.dlq._clock_given())

    def _adopt_clock(self, clock: FakeClock) -> None:
        """Move to ``clock`` (the mapping's), keeping every pending time as far from now as
        it was on the old clock."""
        shift = clock() - self.clock()
        for message in self._messages.values():
            message.available_at += shift
            message.sent_at += shift
            if message.first_receive_at is not None:
                message.first_receive_at += shift
        self._deduplication = {
            key: (sent + shift, message_id)
            for key, (sent, message_id) in self._deduplication.items()
        }
        self._handles = {
            handle: (message_id, received + shift)
            for handle, (message_id, received) in self._handles.items()
        }
        self.clock = clock
        if self.dlq is not None and self.dlq.clock is not clock:
            self.dlq._adopt_clock(clock)

    def _poller(self, mapping: EventSourceMapping) -> SQSPoller:
        from lambdakit.testing.esm._sqs_poller import SQSPoller

        return SQSPoller(self, mapping)

    # --- sending -------------------------------------------------------------------------------

    def send(
        self,
        body: Any,
        *,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        delay_seconds: float | None = None,
    ) -> str:
        """Send one message (SendMessage); its message ID.

        ``body``: a ``str`` as it is, ``bytes`` as UTF-8, anything else as JSON. ``attributes``
        are message attributes: ``{"name": value}`` (a ``str`` is a String, a number a Number,
        ``bytes`` Binary), or SendMessage's ``{"DataType": ..., "StringValue"/"BinaryValue":
        ...}``, or the event's ``{"dataType": ..., "stringValue"/"binaryValue": ...}``. On a FIFO
        queue a duplicate (same deduplication ID within 5 minutes) is accepted and not
        enqueued, and the first message's ID is returned, as SQS does."""
        outgoing = self._prepare(
            body, group_id, deduplication_id, attributes, delay_seconds, f"{self!s}.send"
        )
        return self._enqueue([outgoing])[0]

    def send_batch(
        self,
        entries: Iterable[Any],
        *,
        group_id: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        delay_seconds: float | None = None,
    ) -> list[str]:
        """Send up to 10 messages at once (SendMessageBatch); their message IDs, in order.

        Each entry is either a body (as :meth:`send` takes it) or a SendMessageBatch entry: a
        mapping with ``MessageBody`` and optionally ``Id`` (unique in the batch),
        ``MessageGroupId``, ``MessageDeduplicationId``, ``MessageAttributes``,
        ``DelaySeconds``. ``group_id``, ``attributes`` and ``delay_seconds`` apply to entries
        that do not set their own. Every entry is checked before any is sent (an invalid entry
        sends nothing), and the batch's messages together are at most 1 MiB, as SQS requires.
        """
        where = f"{self!s}.send_batch"
        if isinstance(entries, str | bytes | bytearray | Mapping):
            raise EventSourceMappingError(f"{where}: expected a list of entries or bodies")
        entries = list(entries)
        if not entries:
            raise EventSourceMappingError(f"{where}: no entries (SQS: EmptyBatchRequest)")
        if len(entries) > MAX_BATCH_ENTRIES:
            raise EventSourceMappingError(
                f"{where}: {len(entries)} entries; a batch holds at most {MAX_BATCH_ENTRIES} "
                "(SQS: TooManyEntriesInBatchRequest); call send() for each, or send_batch() "
                "per 10"
            )
        prepared: list[_Outgoing] = []
        seen_ids: set[str] = set()
        total = 0
        for index, entry in enumerate(entries):
            here = f"{where}: entries[{index}]"
            if isinstance(entry, Mapping) and "MessageBody" in entry:
                unknown = sorted(set(entry) - _ENTRY_KEYS)
                if unknown:
                    raise EventSourceMappingError(
                        f"{here}: unknown key(s) {', '.join(map(repr, unknown))}; an entry has "
                        f"{', '.join(sorted(_ENTRY_KEYS))}"
                    )
                entry_id = entry.get("Id")
                if entry_id is not None:
                    check_batch_entry_id(entry_id, seen_ids, here)
                outgoing = self._prepare(
                    entry["MessageBody"],
                    entry.get("MessageGroupId", group_id),
                    entry.get("MessageDeduplicationId"),
                    entry.get("MessageAttributes", attributes),
                    entry.get("DelaySeconds", delay_seconds),
                    here,
                )
            else:
                outgoing = self._prepare(entry, group_id, None, attributes, delay_seconds, here)
            total += _size(outgoing.body, outgoing.attributes)
            prepared.append(outgoing)
        if total > MAX_MESSAGE_BYTES:
            raise EventSourceMappingError(
                f"{where}: the batch's messages total {total} bytes; at most "
                f"{MAX_MESSAGE_BYTES} (SQS: BatchRequestTooLong)"
            )
        return self._enqueue(prepared)

    def _prepare(
        self,
        body: Any,
        group_id: Any,
        deduplication_id: Any,
        attributes: Any,
        delay_seconds: Any,
        where: str,
    ) -> _Outgoing:
        """Check one message as SendMessage does; raise naming what SQS would refuse."""
        try:
            text = payload_text(body, f"{where}: body")
        except EventBuilderError as exc:
            raise EventSourceMappingError(str(exc)) from None
        if not text:
            raise EventSourceMappingError(
                f"{where}: the body is empty; SQS requires at least 1 character"
            )
        _check_text(text, f"{where}: body")
        shaped, md5 = _shape_attributes(attributes, where)
        size = _size(text, shaped)
        if size > MAX_MESSAGE_BYTES:
            raise EventSourceMappingError(
                f"{where}: the message is {size} bytes (body and message attributes); SQS's "
                f"limit is {MAX_MESSAGE_BYTES} (1 MiB)"
            )
        if group_id is not None:
            _check_token(group_id, f"{where}: group_id")
        elif self.fifo:
            raise EventSourceMappingError(
                f"{where}: a FIFO queue requires group_id (SQS: MissingParameter MessageGroupId)"
            )
        if not self.fifo:
            if deduplication_id is not None:
                raise EventSourceMappingError(
                    f"{where}: deduplication_id applies only to FIFO queues (SQS: "
                    "InvalidParameterValue)"
                )
            dedup = None
        elif deduplication_id is not None:
            _check_token(deduplication_id, f"{where}: deduplication_id")
            dedup = deduplication_id
        elif self.content_based_deduplication:
            dedup = hashlib.sha256(text.encode()).hexdigest()
        else:
            raise EventSourceMappingError(
                f"{where}: a FIFO queue without content_based_deduplication requires "
                "deduplication_id (SQS: InvalidParameterValue)"
            )
        if delay_seconds is None:
            delay = self.delay_seconds
        else:
            _check_number(f"{where}: delay_seconds", delay_seconds, MAX_DELAY_SECONDS)
            if self.fifo and delay_seconds:
                raise EventSourceMappingError(
                    f"{where}: delay_seconds={delay_seconds!r}: FIFO queues don't support "
                    "per-message delays; set delay_seconds on the queue (SQS: "
                    "InvalidParameterValue)"
                )
            delay = float(delay_seconds)
        return _Outgoing(text, shaped, md5, group_id, dedup, delay)

    def _enqueue(self, prepared: list[_Outgoing]) -> list[str]:
        now = self.clock()
        ids = []
        for outgoing in prepared:
            if outgoing.dedup_id is not None:
                earlier = self._deduplication.get(outgoing.dedup_id)
                if earlier is not None and now - earlier[0] < DEDUPLICATION_INTERVAL:
                    ids.append(earlier[1])  # accepted, not enqueued
                    continue
            message = _Message(
                self._new_id(),
                outgoing.body,
                outgoing.attributes,
                outgoing.md5_of_attributes,
                now,
                outgoing.group_id,
                outgoing.dedup_id,
                self._next_sequence_number(),
                now + outgoing.delay,
            )
            if outgoing.dedup_id is not None:
                self._deduplication[outgoing.dedup_id] = (now, message.message_id)
            self._messages[message.message_id] = message
            ids.append(message.message_id)
        return ids

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def _next_sequence_number(self) -> str | None:
        if not self.fifo:
            return None
        self._sequence += 1
        return str(_FIFO_SEQUENCE_BASE + self._sequence)

    # --- what is left --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._messages)

    def messages(self) -> list[SQSMessage]:
        """The messages not deleted nor moved to the DLQ, in queue order, as SQS would
        report them now (a message never received has ``ApproximateReceiveCount`` "0")."""
        return [self._snapshot(message) for message in self._messages.values()]

    def __str__(self) -> str:
        return f"SQSQueue({self.name!r})"

    def __repr__(self) -> str:
        now = self.clock()
        in_flight = sum(m.in_flight(now) for m in self._messages.values())
        delayed = sum(
            m.receipt_handle is None and m.available_at > now for m in self._messages.values()
        )
        dlq = None if self.dlq is None else self.dlq.name
        return (
            f"SQSQueue({self.name!r}, fifo={self.fifo}, messages={len(self._messages)}, "
            f"in_flight={in_flight}, delayed={delayed}, dlq={dlq!r})"
        )

    # --- what the poller uses ------------------------------------------------------------------

    def _receivable(self, now: float) -> list[_Message]:
        """The messages a ReceiveMessage would return now, in the order it would return them.

        Standard: every visible message, in queue order. FIFO: per group in order of the
        group's oldest message, the group's visible messages in send order, skipping a group
        while one of its messages is in flight ("as many messages with the same message group
        ID as possible", then the next group)."""
        if not self.fifo:
            return [m for m in self._messages.values() if m.available_at <= now]
        groups: dict[str | None, list[_Message]] = {}
        blocked: set[str | None] = set()
        for message in self._messages.values():
            group = message.group_id
            if group in blocked:
                continue
            if message.in_flight(now):
                blocked.add(group)
                groups.pop(group, None)
            elif message.available_at > now:
                blocked.add(group)  # a group is received in order: nothing after this one yet
            else:
                groups.setdefault(group, []).append(message)
        return [message for run in groups.values() for message in run]

    def _redrive_due(self, message: _Message) -> bool:
        """Whether receiving ``message`` would make its count exceed ``max_receive_count``."""
        return self.max_receive_count is not None and (
            message.receive_count + 1 > self.max_receive_count
        )

    def _move_to_dlq(self, message: _Message, now: float) -> SQSMessage:
        """Move ``message`` to the DLQ (SQS does it on a receive attempt); what it was here."""
        assert self.dlq is not None
        snapshot = self._snapshot(message)
        self._forget(message)
        self.dlq._accept_redriven(message, self.arn, now)
        return snapshot

    def _accept_redriven(self, message: _Message, source_arn: str, now: float) -> None:
        """Take a message moved here by a source queue's redrive policy: same ID, body,
        attributes and receive count ("across all queues"); in a FIFO DLQ the deduplication
        ID becomes the message ID and the message gets this queue's next sequence number."""
        moved = _Message(
            message.message_id,
            message.body,
            message.message_attributes,
            message.md5_of_attributes,
            message.sent_at,
            message.group_id,
            message.message_id if self.fifo else None,
            self._next_sequence_number(),
            now,
        )
        moved.receive_count = message.receive_count
        moved.first_receive_at = message.first_receive_at
        moved.source_arn = source_arn
        self._messages[moved.message_id] = moved

    def _receipt(self) -> str:
        """A fresh receipt handle (each receive gets its own)."""
        return "AQEB" + base64.b64encode(self._random.randbytes(96)).decode()

    def _receive(self, message: _Message, now: float, receipt_handle: str) -> None:
        """Receive ``message``: count it, hide it for the visibility timeout."""
        message.receive_count += 1
        if message.first_receive_at is None:
            message.first_receive_at = now
        if message.receipt_handle is not None:
            self._handles.pop(message.receipt_handle, None)  # an earlier receive's: stale now
        message.receipt_handle = receipt_handle
        self._handles[receipt_handle] = (message.message_id, now)
        message.available_at = now + self.visibility_timeout

    def _delete(self, message: _Message) -> None:
        handle = self._forget(message)
        if handle is not None:
            self._spent_handles.add(handle)

    def _forget(self, message: _Message) -> str | None:
        """Remove ``message`` (deleted, or moved to the DLQ); its last receipt handle."""
        self._messages.pop(message.message_id, None)
        if message.receipt_handle is not None:
            self._handles.pop(message.receipt_handle, None)
        return message.receipt_handle

    def _in_flight_by_receipt(self, receipt_handle: Any, now: float) -> tuple[_Message, float]:
        """The message ``receipt_handle`` was issued for and when it was received, if the
        handle is still current: from the message's latest receive, its visibility timeout
        not over. Otherwise :class:`ReceiptHandleRefused` (SQS: ReceiptHandleIsInvalid)."""
        found = self._handles.get(receipt_handle) if isinstance(receipt_handle, str) else None
        message = None if found is None else self._messages.get(found[0])
        if found is None or message is None:
            raise ReceiptHandleRefused(
                f"{self!s}: the receipt handle {_short(receipt_handle)} is not valid for this "
                "queue (not issued by it, or its message was deleted or received again)"
            )
        if not message.in_flight(now):
            raise ReceiptHandleRefused(
                f"{self!s}: the receipt handle {_short(receipt_handle)} has expired (the "
                f"message's visibility timeout ended at {message.available_at:g})"
            )
        return message, found[1]

    def _change_visibility(self, receipt_handle: Any, timeout: Any, now: float) -> None:
        """ChangeMessageVisibility: hide the message for ``timeout`` seconds *from now* (not
        from the receive), within 12 hours of the receive, as SQS does."""
        where = f"{self!s}: VisibilityTimeout"
        _check_number(where, timeout, MAX_VISIBILITY_TIMEOUT)
        message, received_at = self._in_flight_by_receipt(receipt_handle, now)
        if now + timeout - received_at > MAX_VISIBILITY_TIMEOUT:
            raise EventSourceMappingError(
                f"{where}={timeout!r}: the message was received {now - received_at:g} s ago; "
                f"its visibility can extend to {MAX_VISIBILITY_TIMEOUT} s after the receive, "
                "not beyond (SQS: InvalidParameterValue)"
            )
        message.available_at = now + float(timeout)

    def _message_id_for(self, receipt_handle: Any) -> str | None:
        """The message a receipt handle of this queue was issued for, else ``None``."""
        found = self._handles.get(receipt_handle) if isinstance(receipt_handle, str) else None
        return None if found is None else found[0]

    def _delete_by_receipt(self, receipt_handle: Any, now: float) -> str | None:
        """DeleteMessage: delete the message by its current receipt handle; its ID (``None``
        when the handle already deleted it: nothing to do, as SQS accepts it)."""
        if isinstance(receipt_handle, str) and receipt_handle in self._spent_handles:
            return None
        message = self._in_flight_by_receipt(receipt_handle, now)[0]
        self._delete(message)
        return message.message_id

    def _next_change(self, now: float) -> float | None:
        """The earliest moment after ``now`` a message's delay or visibility timeout ends."""
        return min(
            (m.available_at for m in self._messages.values() if m.available_at > now), default=None
        )

    def _record(self, message: _Message, now: float, receipt_handle: str) -> dict[str, Any]:
        """The event record Lambda would hand over if ``message`` were received at ``now``."""
        first = message.first_receive_at if message.first_receive_at is not None else now
        record: dict[str, Any] = {
            "messageId": message.message_id,
            "receiptHandle": receipt_handle,
            "body": message.body,
            "attributes": self._attributes(message, message.receive_count + 1, first),
            "messageAttributes": _copy_attributes(message.message_attributes),
        }
        if message.md5_of_attributes is not None:
            record["md5OfMessageAttributes"] = message.md5_of_attributes
        record["md5OfBody"] = _md5(message.body.encode())
        record["eventSource"] = "aws:sqs"
        record["eventSourceARN"] = self.arn
        record["awsRegion"] = self.region
        return record

    def _attributes(
        self, message: _Message, receive_count: int, first_receive_at: float | None
    ) -> dict[str, str]:
        """System attributes, in the order AWS's sample events list them."""
        attributes = {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(epoch_ms(message.sent_at)),
        }
        if message.sequence_number is not None:
            attributes["SequenceNumber"] = message.sequence_number
        if message.group_id is not None:
            attributes["MessageGroupId"] = message.group_id
        attributes["SenderId"] = SENDER_ID
        if message.dedup_id is not None:
            attributes["MessageDeduplicationId"] = message.dedup_id
        if first_receive_at is not None:
            attributes["ApproximateFirstReceiveTimestamp"] = str(epoch_ms(first_receive_at))
        if message.source_arn is not None:
            attributes["DeadLetterQueueSourceArn"] = message.source_arn
        return attributes

    def _snapshot(self, message: _Message) -> SQSMessage:
        return SQSMessage(
            message.message_id,
            message.body,
            self._attributes(message, message.receive_count, message.first_receive_at),
            _copy_attributes(message.message_attributes),
        )


class ReceiptHandleRefused(EventSourceMappingError):
    """A receipt handle SQS would refuse (ReceiptHandleIsInvalid): unknown, stale or expired."""


def _short(receipt_handle: Any) -> str:
    text = repr(receipt_handle)
    return text if len(text) <= 24 else text[:20] + "...'"


# --- checks --------------------------------------------------------------------------------------


def check_batch_entry_id(entry_id: Any, seen: set[str], where: str) -> None:
    """A batch entry's ``Id``: up to 80 letters, digits, - and _, distinct in its batch (added
    to ``seen``)."""
    if not isinstance(entry_id, str) or not _BATCH_ENTRY_ID.fullmatch(entry_id):
        raise EventSourceMappingError(
            f"{where}: Id={entry_id!r}: up to 80 letters, digits, - and _ "
            "(SQS: InvalidBatchEntryId)"
        )
    if entry_id in seen:
        raise EventSourceMappingError(
            f"{where}: Id={entry_id!r} repeats an earlier entry's (SQS: BatchEntryIdsNotDistinct)"
        )
    seen.add(entry_id)


def _check_name(name: Any, fifo: bool, where: str) -> None:
    """CreateQueue: up to 80 letters, digits, - and _; a FIFO queue's name ends in ``.fifo``
    (and only a FIFO queue's: ``.`` is not a valid character otherwise)."""
    if not isinstance(name, str):
        raise EventSourceMappingError(f"{where}: the queue name must be a str")
    stem = name[: -len(".fifo")] if fifo and name.endswith(".fifo") else name
    if fifo and stem == name:
        raise EventSourceMappingError(
            f"{where}: a FIFO queue's name must end with .fifo (SQS: InvalidParameterValue)"
        )
    if not fifo and name.endswith(".fifo"):
        raise EventSourceMappingError(
            f"{where}: only a FIFO queue's name ends with .fifo; pass fifo=True"
        )
    if not _QUEUE_NAME.fullmatch(stem) or len(name) > 80:
        raise EventSourceMappingError(
            f"{where}: a queue name has 1 to 80 letters, digits, hyphens and underscores "
            "(and .fifo at the end of a FIFO queue's)"
        )


def _check_number(where: str, value: Any, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise EventSourceMappingError(f"{where}={value!r}: expected seconds from 0 to {high:g}")


def _check_dlq(dlq: Any, fifo: bool, where: str) -> None:
    if not isinstance(dlq, SQSQueue):
        raise EventSourceMappingError(f"{where}: dlq={dlq!r}: expected an SQSQueue")
    if dlq.fifo != fifo:
        kind = "FIFO" if fifo else "standard"
        raise EventSourceMappingError(
            f"{where}: the dead-letter queue of a {kind} queue must also be a {kind} queue "
            f"({dlq!s} is not)"
        )


def _check_token(value: Any, where: str) -> None:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise EventSourceMappingError(
            f"{where}={value!r}: 1 to 128 ASCII letters, digits and punctuation"
        )


def _check_text(text: str, where: str) -> None:
    bad = _INVALID_TEXT.search(text)
    if bad is not None:
        raise EventSourceMappingError(
            f"{where}: character {bad.group()!r} at {bad.start()} is not allowed in SQS "
            "messages (SQS: InvalidMessageContents)"
        )


# --- message attributes --------------------------------------------------------------------------


def _shape_attributes(attributes: Any, where: str) -> tuple[dict[str, Any], str | None]:
    """Message attributes in the event's shape, checked as SQS checks them, and their MD5."""
    if attributes is None:
        return {}, None
    if not isinstance(attributes, Mapping):
        raise EventSourceMappingError(f"{where}: attributes: expected a mapping of name to value")
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        raise EventSourceMappingError(
            f"{where}: {len(attributes)} message attributes; SQS allows {MAX_MESSAGE_ATTRIBUTES}"
        )
    for name in attributes:
        _check_attribute_name(name, where)
    shaped = _message_attributes({k: _from_api_shape(v) for k, v in attributes.items()})
    for name, value in shaped.items():
        _check_attribute_value(value, f"{where}: attributes[{name!r}]")
    return shaped, (_attributes_md5(shaped) if shaped else None)


def _from_api_shape(value: Any) -> Any:
    """SendMessage's ``{"DataType": ..., "StringValue"|"BinaryValue": ...}`` in the event's
    shape; anything else as it is."""
    if not (isinstance(value, Mapping) and "DataType" in value):
        return value
    shaped: dict[str, Any] = {}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        shaped["binaryValue"] = (
            base64.b64encode(raw).decode() if isinstance(raw, bytes | bytearray) else raw
        )
    shaped["stringListValues"] = []
    shaped["binaryListValues"] = []
    shaped["dataType"] = value["DataType"]
    return shaped


def _check_attribute_name(name: Any, where: str) -> None:
    ok = (
        isinstance(name, str)
        and _ATTRIBUTE_NAME.fullmatch(name) is not None
        and not name.startswith(".")
        and not name.endswith(".")
        and ".." not in name
        and not name.lower().startswith(("aws.", "amazon."))
    )
    if not ok:
        raise EventSourceMappingError(
            f"{where}: message attribute name {name!r}: up to 256 letters, digits, _, - and "
            "., not starting with AWS. or Amazon., no leading, trailing or repeated periods"
        )


def _check_attribute_value(value: dict[str, Any], where: str) -> None:
    data_type = value.get("dataType")
    if not isinstance(data_type, str) or len(data_type) > 256:
        raise EventSourceMappingError(f"{where}: dataType {data_type!r}: expected a str")
    kind = _ATTRIBUTE_TYPE.fullmatch(data_type)
    if kind is None:
        raise EventSourceMappingError(
            f"{where}: dataType {data_type!r}: expected String, Number or Binary (optionally "
            "with a .custom suffix)"
        )
    _check_text(data_type, f"{where}.dataType")
    if kind.group(1) == "Binary":
        try:
            raw = base64.b64decode(value.get("binaryValue") or "", validate=True)
        except (TypeError, ValueError):
            raw = b""
        if not raw:
            raise EventSourceMappingError(f"{where}: a Binary attribute needs a non-empty value")
        return
    text = value.get("stringValue")
    if not isinstance(text, str) or not text:
        raise EventSourceMappingError(f"{where}: a {kind.group(1)} attribute needs a value")
    _check_text(text, f"{where}.stringValue")
    if kind.group(1) == "Number":
        from decimal import Decimal, InvalidOperation

        try:
            number = Decimal(text)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise EventSourceMappingError(f"{where}: {text!r} is not a number")


def _attribute_value_bytes(value: dict[str, Any]) -> tuple[int, bytes]:
    """The transport type (1 String, 2 Binary) and the value's bytes, as SQS counts them."""
    if str(value["dataType"]).startswith("Binary"):
        return 2, base64.b64decode(value["binaryValue"])
    return 1, str(value["stringValue"]).encode()


def _attributes_md5(shaped: dict[str, Any]) -> str:
    """MD5 of message attributes, as SQS computes ``MD5OfMessageAttributes``: attributes
    sorted by name; for each, length-prefixed name, data type, a transport byte and the
    length-prefixed value ("Calculating the MD5 message digest for message attributes")."""
    buffer = bytearray()
    for name in sorted(shaped):
        value = shaped[name]
        transport, raw = _attribute_value_bytes(value)
        for part in (name.encode(), str(value["dataType"]).encode()):
            buffer += len(part).to_bytes(4, "big") + part
        buffer.append(transport)
        buffer += len(raw).to_bytes(4, "big") + raw
    return _md5(bytes(buffer))


def _size(body: str, shaped: dict[str, Any]) -> int:
    """A message's size as SQS counts it: the body and each attribute's name, type, value."""
    size = len(body.encode())
    for name, value in shaped.items():
        size += len(name.encode()) + len(str(value["dataType"]).encode())
        size += len(_attribute_value_bytes(value)[1])
    return size


def _copy_attributes(shaped: dict[str, Any]) -> dict[str, Any]:
    return {name: _copied(value) for name, value in shaped.items()}


def _copied(value: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, list) else v for k, v in value.items()}


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
