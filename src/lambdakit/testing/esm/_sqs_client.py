"""``SQSClient``: a boto3-shaped SQS client over in-memory :class:`SQSQueue` models.

Code that calls SQS itself while handling a batch (``process_batch(retry=..., quarantine=...,
sqs_client=...)``: ChangeMessageVisibility for a back-off, SendMessage to a quarantine queue,
DeleteMessage) runs in :class:`EventSourceMapping` against the same queues the mapping polls,
so what it does shows in the queues and in ``Summary.history``. The client speaks boto3's
shapes (keyword arguments, response dicts, ``Successful``/``Failed`` lists for batch calls)
and SQS's rules (API reference of each action):

- Queue URLs are ``https://sqs.<region>.amazonaws.com/<account>/<name>``, as GetQueueUrl
  returns them; an unknown URL or name raises ``ClientError``
  (``AWS.SimpleQueueService.NonExistentQueue``).
- Receipt handles must be current: from the message's latest receive, its visibility timeout
  not over. Otherwise the entry fails with ``ReceiptHandleIsInvalid`` (an entry of a batch
  call fails alone, in ``Failed``, as boto3 returns it). Deleting again with the handle that
  deleted a message succeeds, as SQS allows.
- ChangeMessageVisibility sets the timeout *from the call* (not from the receive), 0 to
  43,200 s, and not past 12 hours after the receive (``InvalidParameterValue``).
- Sending checks each message as :meth:`SQSQueue.send` does (a FIFO queue needs
  ``MessageGroupId``, and ``MessageDeduplicationId`` without content-based deduplication; a
  duplicate within 5 minutes is accepted, not enqueued).
- A whole request SQS refuses (no entries, more than 10, repeated or invalid entry ``Id``,
  a batch over 1 MiB) raises ``botocore.exceptions.ClientError`` with SQS's code.

Every call is appended to :attr:`SQSClient.calls` (operation name, keyword arguments), so a
test can see how the code under test batched its requests.

Inside an invocation the mapping runs, what the function deleted and sent through the client
is reported to the mapping's :class:`Summary` (``deleted_by_function``, ``sent_by_function``,
``SENT`` history entries), so a message the function moved is not counted as the mapping's.

:meth:`SQSClient.fail` makes requests fail on purpose, to test what the code under test does
when SQS does: a whole request raising ``ClientError``, or chosen entries of a batch call in
``Failed`` as a server-side fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from lambdakit.errors import EventSourceMappingError
from lambdakit.testing.esm._sqs import (
    _ENTRY_KEYS,
    MAX_BATCH_ENTRIES,
    MAX_MESSAGE_BYTES,
    ReceiptHandleRefused,
    SQSQueue,
    _md5,
    _Outgoing,
    _size,
    check_batch_entry_id,
)
from lambdakit.testing.esm._summary import FUNCTION_CALLS, Sent

_PREFIX = "AWS.SimpleQueueService."
_NO_QUEUE = _PREFIX + "NonExistentQueue"
_CODE = re.compile(r"\(SQS: ([A-Za-z]+)")
# Codes SQS reports with the AWS.SimpleQueueService. prefix (the batch request errors).
_PREFIXED = frozenset(
    (
        "BatchEntryIdsNotDistinct",
        "BatchRequestTooLong",
        "EmptyBatchRequest",
        "InvalidBatchEntryId",
        "TooManyEntriesInBatchRequest",
    )
)


# What SQS answers for a failure of its own (HTTP status); any other code is the sender's (400).
_SERVER_STATUS = {"InternalError": 500, "InternalFailure": 500, "ServiceUnavailable": 503}
# The operations fail() takes, and the SQS action each is.
_ACTIONS = {
    "get_queue_url": "GetQueueUrl",
    "get_queue_attributes": "GetQueueAttributes",
    "send_message": "SendMessage",
    "send_message_batch": "SendMessageBatch",
    "change_message_visibility_batch": "ChangeMessageVisibilityBatch",
    "delete_message_batch": "DeleteMessageBatch",
}
_BATCH_OPERATIONS = frozenset(
    ("send_message_batch", "change_message_visibility_batch", "delete_message_batch")
)


class _Fault:
    """One :meth:`SQSClient.fail` rule: the requests (or entries) it fails, with which code,
    how many more requests (``None``: every one)."""

    __slots__ = ("code", "entries", "left", "operation")

    def __init__(
        self,
        operation: str,
        code: str,
        left: int | None,
        entries: Callable[[Mapping[str, Any]], bool] | frozenset[str] | None,
    ) -> None:
        self.operation = operation
        self.code = code
        self.left = left
        self.entries = entries

    def matches(self, entry: Mapping[str, Any], message_id: str | None) -> bool:
        if callable(self.entries):
            return bool(self.entries(entry))
        assert self.entries is not None
        return entry.get("Id") in self.entries or message_id in self.entries


class SQSClient:
    """A boto3 SQS client's ``get_queue_url``, ``get_queue_attributes``, ``send_message``,
    ``send_message_batch``, ``change_message_visibility_batch`` and ``delete_message_batch``
    over ``queues`` (see the module docs), on the queues' :class:`~lambdakit.testing.FakeClock`.

    Pass it where code takes a boto3 SQS client (``process_batch(sqs_client=...)``), with
    every queue the code addresses: the queue the mapping polls and, for example, a quarantine
    queue. A queue's DLQ is not included unless given.

    Failures on purpose: ``fail(operation, *, code="InternalError", times=None, entries=None)``
    makes the next ``times`` requests of ``operation`` (a method name above; every request
    when ``times`` is ``None``) fail. Without ``entries`` the whole request raises
    ``botocore.exceptions.ClientError`` with ``code`` (HTTP 500 for ``InternalError``) and
    does nothing. With ``entries`` (batch operations only) the chosen entries land in
    ``Failed`` with ``SenderFault: False`` and ``code``, as boto3 returns a server-side entry
    failure, and the others go through; ``entries`` is a predicate on the entry as passed, or
    a collection of entry Ids and message IDs (an entry whose ``ReceiptHandle`` was
    issued for one of those messages). A request counts toward ``times`` when it failed
    something. Failed calls are in :attr:`calls` too; :meth:`heal` removes every rule.
    """

    def __init__(self, *queues: SQSQueue) -> None:
        self._queues: dict[str, SQSQueue] = {}
        for index, queue in enumerate(queues):
            if not isinstance(queue, SQSQueue):
                raise EventSourceMappingError(
                    f"SQSClient: queues[{index}]={queue!r}: expected an SQSQueue"
                )
            url = queue_url(queue)
            if url in self._queues:
                raise EventSourceMappingError(
                    f"SQSClient: queues[{index}]: {queue!s} is given twice (or two queues share "
                    "its name)"
                )
            self._queues[url] = queue
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._faults: list[_Fault] = []

    def __repr__(self) -> str:
        return f"SQSClient({', '.join(q.name for q in self._queues.values())})"

    # --- failures on purpose ------------------------------------------------------------------

    def fail(
        self,
        operation: str,
        *,
        code: str = "InternalError",
        times: int | None = None,
        entries: Callable[[Mapping[str, Any]], bool] | Collection[str] | None = None,
    ) -> None:
        """Make requests of ``operation`` fail (see the class docs); rules apply in the order
        given, an entry failing by the first that chooses it."""
        where = f"SQSClient.fail({operation!r})"
        if operation not in _ACTIONS:
            raise EventSourceMappingError(
                f"{where}: not an operation of SQSClient; expected one of "
                f"{', '.join(sorted(_ACTIONS))}"
            )
        if not isinstance(code, str) or not code:
            raise EventSourceMappingError(f"{where}: code={code!r}: expected an SQS error code")
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise EventSourceMappingError(
                f"{where}: times={times!r}: expected None (every request) or a count >= 1"
            )
        chosen: Callable[[Mapping[str, Any]], bool] | frozenset[str] | None = None
        if entries is not None:
            if operation not in _BATCH_OPERATIONS:
                raise EventSourceMappingError(
                    f"{where}: entries= applies to the batch operations only "
                    f"({', '.join(sorted(_BATCH_OPERATIONS))})"
                )
            if callable(entries):
                chosen = entries
            elif isinstance(entries, str | bytes) or not all(isinstance(e, str) for e in entries):
                raise EventSourceMappingError(
                    f"{where}: entries={entries!r}: expected a predicate on an entry, or a "
                    "collection of entry Ids and message IDs"
                )
            else:
                chosen = frozenset(entries)
        self._faults.append(_Fault(operation, code, times, chosen))

    def heal(self) -> None:
        """Remove every failure :meth:`fail` set: requests work again."""
        self._faults.clear()

    def _request_fault(self, operation: str) -> None:
        """Raise the ClientError of the first whole-request rule for ``operation``, if any."""
        for fault in self._faults:
            if fault.operation == operation and fault.entries is None:
                self._spend(fault)
                raise _client_error(
                    _ACTIONS[operation],
                    fault.code,
                    f"{operation}: failure injected by SQSClient.fail (code={fault.code})",
                    _SERVER_STATUS.get(fault.code, 400),
                )

    def _entry_faults(
        self, operation: str, queue: SQSQueue, entries: Sequence[Mapping[str, Any]]
    ) -> dict[int, dict[str, Any]]:
        """The ``Failed`` item of each entry an entry rule fails, by the entry's index."""
        rules = [f for f in self._faults if f.operation == operation and f.entries is not None]
        if not rules:
            return {}
        failed: dict[int, dict[str, Any]] = {}
        used: list[_Fault] = []
        for index, entry in enumerate(entries):
            found = queue._message_id_for(entry.get("ReceiptHandle"))
            fault = next((f for f in rules if f.matches(entry, found)), None)
            if fault is None:
                continue
            failed[index] = _failed(
                entry["Id"],
                fault.code,
                f"{operation}: Entries[{index}]: failure injected by SQSClient.fail",
                sender_fault=False,
            )
            if fault not in used:
                used.append(fault)
        for fault in used:
            self._spend(fault)
        return failed

    def _spend(self, fault: _Fault) -> None:
        if fault.left is not None:
            fault.left -= 1
            if fault.left == 0:
                self._faults.remove(fault)

    # --- the API ---------------------------------------------------------------------------

    def get_queue_url(
        self, *, QueueName: str, QueueOwnerAWSAccountId: str | None = None
    ) -> dict[str, Any]:
        """GetQueueUrl: the URL of the queue named ``QueueName`` (in the given account)."""
        self.calls.append(
            (
                "get_queue_url",
                _given(QueueName=QueueName, QueueOwnerAWSAccountId=QueueOwnerAWSAccountId),
            )
        )
        self._request_fault("get_queue_url")
        for url, queue in self._queues.items():
            if queue.name == QueueName and QueueOwnerAWSAccountId in (None, queue.account_id):
                return {"QueueUrl": url}
        raise _client_error(
            "GetQueueUrl", _NO_QUEUE, f"The specified queue {QueueName!r} does not exist."
        )

    def get_queue_attributes(
        self, *, QueueUrl: str, AttributeNames: Sequence[str] = ("All",)
    ) -> dict[str, Any]:
        """GetQueueAttributes: the named attributes (or ``All``) as strings, as SQS returns
        them; an attribute name SQS does not know raises ``ClientError``
        (``InvalidAttributeName``)."""
        self.calls.append(
            ("get_queue_attributes", {"QueueUrl": QueueUrl, "AttributeNames": AttributeNames})
        )
        self._request_fault("get_queue_attributes")
        queue = self._queue("GetQueueAttributes", QueueUrl)
        known = _queue_attributes(queue)
        names = list(AttributeNames)
        unknown = [n for n in names if n != "All" and n not in _ATTRIBUTE_NAMES]
        if unknown:
            raise _client_error(
                "GetQueueAttributes",
                "InvalidAttributeName",
                f"Unknown Attribute {unknown[0]} (QueueUrl={QueueUrl!r})",
            )
        wanted = known if "All" in names else {n: known[n] for n in names if n in known}
        return {"Attributes": wanted} if wanted else {}

    def send_message(
        self,
        *,
        QueueUrl: str,
        MessageBody: str,
        DelaySeconds: int | None = None,
        MessageAttributes: Mapping[str, Any] | None = None,
        MessageGroupId: str | None = None,
        MessageDeduplicationId: str | None = None,
    ) -> dict[str, Any]:
        """SendMessage: ``MessageId``, ``MD5OfMessageBody`` (and ``MD5OfMessageAttributes``,
        FIFO ``SequenceNumber``); a message SQS refuses raises ``ClientError``."""
        entry = _given(
            MessageBody=MessageBody,
            DelaySeconds=DelaySeconds,
            MessageAttributes=MessageAttributes,
            MessageGroupId=MessageGroupId,
            MessageDeduplicationId=MessageDeduplicationId,
        )
        self.calls.append(("send_message", {"QueueUrl": QueueUrl, **entry}))
        self._request_fault("send_message")
        queue = self._queue("SendMessage", QueueUrl)
        try:
            outgoing = _prepare(queue, entry, f"send_message(QueueUrl={QueueUrl!r})")
        except EventSourceMappingError as exc:
            raise _client_error("SendMessage", _code_of(exc), str(exc)) from None
        return _send(queue, outgoing)

    def send_message_batch(
        self, *, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """SendMessageBatch: each entry sent or failed on its own (``Successful``, ``Failed``)."""
        self.calls.append(("send_message_batch", {"QueueUrl": QueueUrl, "Entries": Entries}))
        self._request_fault("send_message_batch")
        where = f"send_message_batch(QueueUrl={QueueUrl!r})"
        queue = self._queue("SendMessageBatch", QueueUrl)
        self._check_batch("SendMessageBatch", Entries, where)
        injected = self._entry_faults("send_message_batch", queue, Entries)
        prepared: list[tuple[str, _Outgoing | EventSourceMappingError | dict[str, Any]]] = []
        total = 0
        for index, entry in enumerate(Entries):
            if index in injected:
                prepared.append((entry["Id"], injected[index]))
                continue
            fields = {k: v for k, v in entry.items() if k != "Id"}
            try:
                outgoing = _prepare(queue, fields, f"{where}: Entries[{index}]")
            except EventSourceMappingError as exc:
                prepared.append((entry["Id"], exc))
                continue
            total += _size(outgoing.body, outgoing.attributes)
            prepared.append((entry["Id"], outgoing))
        if total > MAX_MESSAGE_BYTES:
            raise _client_error(
                "SendMessageBatch",
                _PREFIX + "BatchRequestTooLong",
                f"{where}: the batch's messages total {total} bytes; at most {MAX_MESSAGE_BYTES}",
            )
        result: dict[str, Any] = {"Successful": [], "Failed": []}
        for entry_id, done in prepared:
            if isinstance(done, dict):
                result["Failed"].append(done)
            elif isinstance(done, EventSourceMappingError):
                result["Failed"].append(_failed(entry_id, _code_of(done), str(done)))
            else:
                result["Successful"].append({"Id": entry_id, **_send(queue, done)})
        return _without_empty_failed(result)

    def change_message_visibility_batch(
        self, *, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """ChangeMessageVisibilityBatch: each entry's ``VisibilityTimeout`` from now, or a
        ``Failed`` entry (``ReceiptHandleIsInvalid``, ``InvalidParameterValue``)."""
        self.calls.append(
            ("change_message_visibility_batch", {"QueueUrl": QueueUrl, "Entries": Entries})
        )
        self._request_fault("change_message_visibility_batch")
        queue = self._queue("ChangeMessageVisibilityBatch", QueueUrl)
        self._check_batch(
            "ChangeMessageVisibilityBatch",
            Entries,
            f"change_message_visibility_batch(QueueUrl={QueueUrl!r})",
        )
        now = queue.clock()
        return self._each(
            Entries,
            self._entry_faults("change_message_visibility_batch", queue, Entries),
            lambda e: queue._change_visibility(
                e.get("ReceiptHandle"), e.get("VisibilityTimeout"), now
            ),
        )

    def delete_message_batch(
        self, *, QueueUrl: str, Entries: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """DeleteMessageBatch: each entry's message deleted, or a ``Failed`` entry
        (``ReceiptHandleIsInvalid``)."""
        self.calls.append(("delete_message_batch", {"QueueUrl": QueueUrl, "Entries": Entries}))
        self._request_fault("delete_message_batch")
        queue = self._queue("DeleteMessageBatch", QueueUrl)
        self._check_batch(
            "DeleteMessageBatch", Entries, f"delete_message_batch(QueueUrl={QueueUrl!r})"
        )
        now = queue.clock()

        def delete(entry: Mapping[str, Any]) -> None:
            message_id = queue._delete_by_receipt(entry.get("ReceiptHandle"), now)
            calls = FUNCTION_CALLS.get()
            if calls is not None and message_id is not None:
                calls.deleted.add((queue.arn, message_id))

        return self._each(
            Entries, self._entry_faults("delete_message_batch", queue, Entries), delete
        )

    # --- helpers -----------------------------------------------------------------------------

    def _queue(self, operation: str, url: Any) -> SQSQueue:
        queue = self._queues.get(url) if isinstance(url, str) else None
        if queue is None:
            raise _client_error(
                operation, _NO_QUEUE, f"The specified queue does not exist: QueueUrl={url!r}"
            )
        return queue

    @staticmethod
    def _check_batch(operation: str, entries: Any, where: str) -> None:
        """What SQS refuses for a whole batch request: no entries, more than 10, an entry
        without a valid, distinct ``Id``."""
        if isinstance(entries, str | bytes | Mapping) or not isinstance(entries, Sequence):
            raise _client_error(operation, "InvalidParameterValue", f"{where}: Entries: a list")
        if not entries:
            raise _client_error(
                operation, _PREFIX + "EmptyBatchRequest", f"{where}: Entries is empty"
            )
        if len(entries) > MAX_BATCH_ENTRIES:
            raise _client_error(
                operation,
                _PREFIX + "TooManyEntriesInBatchRequest",
                f"{where}: {len(entries)} entries; at most {MAX_BATCH_ENTRIES}",
            )
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            here = f"{where}: Entries[{index}]"
            if not isinstance(entry, Mapping):
                raise _client_error(operation, "InvalidParameterValue", f"{here}: a mapping")
            try:
                check_batch_entry_id(entry.get("Id"), seen, here)
            except EventSourceMappingError as exc:
                raise _client_error(operation, _code_of(exc), str(exc)) from None

    @staticmethod
    def _each(
        entries: Sequence[Mapping[str, Any]],
        injected: dict[int, dict[str, Any]],
        act: Callable[[Mapping[str, Any]], None],
    ) -> dict[str, Any]:
        """Apply ``act`` to each entry but the ``injected`` failures; SQS's ``Successful`` /
        ``Failed`` lists."""
        result: dict[str, Any] = {"Successful": [], "Failed": []}
        for index, entry in enumerate(entries):
            if index in injected:
                result["Failed"].append(injected[index])
                continue
            try:
                act(entry)
            except EventSourceMappingError as exc:
                result["Failed"].append(_failed(entry["Id"], _code_of(exc), str(exc)))
            else:
                result["Successful"].append({"Id": entry["Id"]})
        return _without_empty_failed(result)


def queue_url(queue: SQSQueue) -> str:
    """The URL SQS gives ``queue`` (GetQueueUrl)."""
    return f"https://sqs.{queue.region}.amazonaws.com/{queue.account_id}/{queue.name}"


# GetQueueAttributes names the model answers (others SQS knows, e.g. Policy, are left out).
_ATTRIBUTE_NAMES = frozenset(
    (
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesDelayed",
        "ApproximateNumberOfMessagesNotVisible",
        "ContentBasedDeduplication",
        "DelaySeconds",
        "FifoQueue",
        "KmsMasterKeyId",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "Policy",
        "QueueArn",
        "ReceiveMessageWaitTimeSeconds",
        "RedrivePolicy",
        "SqsManagedSseEnabled",
        "VisibilityTimeout",
        "CreatedTimestamp",
        "LastModifiedTimestamp",
    )
)


def _queue_attributes(queue: SQSQueue) -> dict[str, str]:
    """What GetQueueAttributes reports for ``queue`` now (the attributes the model has)."""
    now = queue.clock()
    messages = queue._messages.values()
    attributes = {
        "QueueArn": queue.arn,
        # Visible now: never received and not delayed, or received and visible again.
        "ApproximateNumberOfMessages": str(sum(m.available_at <= now for m in messages)),
        "ApproximateNumberOfMessagesNotVisible": str(sum(m.in_flight(now) for m in messages)),
        "ApproximateNumberOfMessagesDelayed": str(
            sum(m.receipt_handle is None and m.available_at > now for m in messages)
        ),
        "VisibilityTimeout": f"{queue.visibility_timeout:g}",
        "DelaySeconds": f"{queue.delay_seconds:g}",
        "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
    }
    if queue.dlq is not None:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": queue.dlq.arn, "maxReceiveCount": queue.max_receive_count}
        )
    if queue.fifo:
        attributes["FifoQueue"] = "true"
        attributes["ContentBasedDeduplication"] = str(queue.content_based_deduplication).lower()
    return attributes


def _given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _prepare(queue: SQSQueue, fields: Mapping[str, Any], where: str) -> _Outgoing:
    """One SendMessage(Batch) message checked by the queue, as :meth:`SQSQueue.send` is."""
    unknown = sorted(set(fields) - (_ENTRY_KEYS - {"Id"}))
    if unknown:
        raise EventSourceMappingError(f"{where}: unknown parameter(s) {', '.join(unknown)}")
    body = fields.get("MessageBody")
    if not isinstance(body, str):
        raise EventSourceMappingError(
            f"{where}: MessageBody={body!r}: expected a str (SQS: MissingParameter)"
        )
    return queue._prepare(
        body,
        fields.get("MessageGroupId"),
        fields.get("MessageDeduplicationId"),
        fields.get("MessageAttributes"),
        fields.get("DelaySeconds"),
        where,
    )


def _send(queue: SQSQueue, outgoing: _Outgoing) -> dict[str, Any]:
    """Enqueue one checked message (SendMessage, or an entry of SendMessageBatch); its
    response. Inside a mapping's invocation the send is reported to the poller (enqueued or a
    FIFO duplicate accepted without enqueuing)."""
    before = len(queue._messages)
    message_id = queue._enqueue([outgoing])[0]
    calls = FUNCTION_CALLS.get()
    if calls is not None:
        calls.sent.append(
            Sent(
                queue.name,
                message_id,
                outgoing.body,
                queue.clock(),
                len(queue._messages) > before,
            )
        )
    return _sent(queue, outgoing, message_id)


def _sent(queue: SQSQueue, outgoing: _Outgoing, message_id: str) -> dict[str, Any]:
    """SendMessage's response for a message enqueued (or accepted as a duplicate)."""
    response: dict[str, Any] = {
        "MessageId": message_id,
        "MD5OfMessageBody": _md5(outgoing.body.encode()),
    }
    if outgoing.md5_of_attributes is not None:
        response["MD5OfMessageAttributes"] = outgoing.md5_of_attributes
    message = queue._messages.get(message_id)
    if message is not None and message.sequence_number is not None:
        response["SequenceNumber"] = message.sequence_number
    return response


def _failed(entry_id: str, code: str, message: str, *, sender_fault: bool = True) -> dict[str, Any]:
    return {"Id": entry_id, "SenderFault": sender_fault, "Code": code, "Message": message}


def _without_empty_failed(result: dict[str, Any]) -> dict[str, Any]:
    """boto3 leaves ``Failed`` out when nothing failed (``Successful`` is always there)."""
    if not result["Failed"]:
        del result["Failed"]
    return result


def _code_of(error: EventSourceMappingError) -> str:
    """SQS's error code for a refusal the queue model raised (it names it as ``(SQS: Code``)."""
    if isinstance(error, ReceiptHandleRefused):
        return "ReceiptHandleIsInvalid"
    found = _CODE.search(str(error))
    code = found.group(1) if found else "InvalidParameterValue"
    return _PREFIX + code if code in _PREFIXED else code


def _client_error(operation: str, code: str, message: str, status: int = 400) -> Exception:
    """The ``botocore.exceptions.ClientError`` boto3 raises for a refused request (a 5xx
    ``status``: a failure on SQS's side, ``Type: Receiver``)."""
    from botocore.exceptions import ClientError

    error: Exception = ClientError(
        {
            "Error": {
                "Code": code,
                "Message": message,
                "Type": "Receiver" if status >= 500 else "Sender",
            },
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )
    return error
