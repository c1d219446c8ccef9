"""Per-message retry back-off and poison quarantine for SQS, applied after a batch has run.

Without these options a failed SQS message comes back after the queue's visibility timeout,
every time, and a FIFO group stays blocked behind a poison message until the redrive policy
moves it to the DLQ. :class:`Backoff` and :class:`Quarantine` change that for the failed records
only, in a step that runs once the batch is over (nothing is added to the per-record loop), and
that may lose a back-off but never a message:

- quarantine first (``SendMessageBatch`` to the quarantine queue, then ``DeleteMessageBatch``
  from the source queue): a message leaves ``batchItemFailures`` only once both succeeded; a
  failed send leaves it reported and undeleted, and a failed delete after a successful send
  leaves it reported (redelivered, then quarantined again: a duplicate, never a loss);
- then the back-off (``ChangeMessageVisibilityBatch``) for every failed record still reported:
  a failed change only loses the back-off.

Calls go 10 entries per request and stop when the invocation's remaining time runs short; what
was not sent stays reported. This module imports ``dataclasses`` (a few ms), so it is imported
only when a user names :class:`Backoff` or :class:`Quarantine`, never by ``process_batch``
alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lambdakit._internal.logs import WARNING, get_logger, log
from lambdakit._internal.metrics import count
from lambdakit.batch._outcome import LOGGER, QUARANTINED
from lambdakit.errors import BatchConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from lambdakit.batch._run import Run
    from lambdakit.batch._sources import Batch

__all__ = ["Backoff", "Quarantine", "Aftercare"]

SQS_MAX_VISIBILITY = 43_200  # ChangeMessageVisibility's limit: 12 hours
_BATCH_ENTRIES = 10  # SQS's limit per *Batch request
_BATCH_BYTES = 262_144  # SendMessageBatch's limit on the sum of its messages (256 KiB)
_MAX_ATTRIBUTES = 10  # message attributes per message
_REASON_CHARS = 1024  # the lambdakit.failure attribute, truncated to this
_CALL_RESERVE_MS = 200  # no request is started with less of the invocation left than this
FAILURE_ATTRIBUTE = "lambdakit.failure"
BACKOFF_APPLIED = "BackoffApplied"


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Backoff:
    """How long a failed SQS message stays invisible, from the number of times it was received.

    A message received ``n`` times (``ApproximateReceiveCount``) waits
    ``min(max_delay, base * factor ** (n - 1))`` seconds, never more than SQS's 12-hour limit.
    With ``jitter`` the wait is drawn uniformly from ``[delay / 2, delay]`` ("equal jitter"):
    spread out, so failures of one outage do not come back together, yet never immediate.
    SQS counts visibility in whole seconds: the wait is rounded up.
    """

    base: float = 1.0
    factor: float = 2.0
    max_delay: float = 900.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if not _number(self.base) or self.base <= 0:
            raise BatchConfigurationError(f"Backoff.base must be seconds > 0, got {self.base!r}")
        if not _number(self.factor) or self.factor < 1:
            raise BatchConfigurationError(
                f"Backoff.factor must be a finite number >= 1, got {self.factor!r}"
            )
        if not _number(self.max_delay) or self.max_delay < self.base:
            raise BatchConfigurationError(
                f"Backoff.max_delay must be seconds >= base ({self.base!r}), got {self.max_delay!r}"
            )
        if not isinstance(self.jitter, bool):
            raise BatchConfigurationError(
                f"Backoff.jitter must be True or False, got {self.jitter!r}"
            )

    def delay(self, receive_count: int, random: Callable[[], float] | None = None) -> float:
        """Seconds to wait after the ``receive_count``-th receive (``random``: a source of
        floats in [0, 1) for the jitter, ``random.random`` by default)."""
        limit = min(self.max_delay, SQS_MAX_VISIBILITY)
        exponent = max(receive_count, 1) - 1
        # factor ** exponent overflows for absurd counts: compare logarithms first.
        if self.factor > 1 and math.log(self.base) + exponent * math.log(self.factor) >= math.log(
            limit
        ):
            full = float(limit)
        else:
            full = min(limit, self.base * self.factor**exponent)
        if not self.jitter:
            return full
        if random is None:
            import random as module

            random = module.random
        return full / 2 + (full / 2) * random()

    def visibility(self, receive_count: int, random: Callable[[], float] | None = None) -> int:
        """:meth:`delay` as ChangeMessageVisibility takes it: whole seconds, rounded up."""
        return min(SQS_MAX_VISIBILITY, math.ceil(self.delay(receive_count, random)))


@dataclass(frozen=True)
class Quarantine:
    """After ``after`` receives, a failed SQS message is moved to the queue ``to`` (URL or ARN).

    The message keeps its body and message attributes, gains a ``lambdakit.failure`` string
    attribute (error type and message, truncated), and on a FIFO queue its message group id
    (deduplication id: the original message id); it is then deleted from the source queue and
    not reported in ``batchItemFailures``, so a FIFO group moves on.
    """

    after: int
    to: str

    def __post_init__(self) -> None:
        if isinstance(self.after, bool) or not isinstance(self.after, int) or self.after < 1:
            raise BatchConfigurationError(
                f"Quarantine.after must be a number of receives >= 1, got {self.after!r}"
            )
        if not isinstance(self.to, str) or not (
            self.to.startswith(("https://", "http://")) or _arn_parts(self.to) is not None
        ):
            raise BatchConfigurationError(
                f"Quarantine.to must be an SQS queue URL or ARN, got {self.to!r}"
            )


def _arn_parts(arn: str) -> tuple[str, str] | None:
    """``(account, queue name)`` of ``arn:<partition>:sqs:<region>:<account>:<name>``."""
    parts = arn.split(":")
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "sqs" and parts[4] and parts[5]:
        return parts[4], parts[5]
    return None


def _chunks(
    entries: list[dict[str, Any]], size_of: Callable[[dict[str, Any]], int] | None = None
) -> Iterator[list[dict[str, Any]]]:
    """``entries`` in requests of at most 10 (and, with ``size_of``, at most 256 KiB)."""
    chunk: list[dict[str, Any]] = []
    total = 0
    for entry in entries:
        size = size_of(entry) if size_of is not None else 0
        if chunk and (len(chunk) == _BATCH_ENTRIES or total + size > _BATCH_BYTES):
            yield chunk
            chunk, total = [], 0
        chunk.append(entry)
        total += size
    if chunk:
        yield chunk


def _send_size(entry: dict[str, Any]) -> int:
    size = len(entry["MessageBody"].encode())
    for name, value in entry.get("MessageAttributes", {}).items():
        size += len(name.encode()) + len(value["DataType"].encode())
        size += len(value.get("StringValue", "").encode()) + len(value.get("BinaryValue", b""))
    return size


def _attributes(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A Lambda record's ``messageAttributes`` in the shape SendMessage takes."""
    import base64

    found: dict[str, dict[str, Any]] = {}
    for name, value in (record.get("messageAttributes") or {}).items():
        if not isinstance(value, dict):
            continue
        data_type = value.get("dataType") or value.get("DataType")
        if not isinstance(data_type, str):
            continue
        attribute: dict[str, Any] = {"DataType": data_type}
        if value.get("stringValue") is not None:
            attribute["StringValue"] = value["stringValue"]
        elif value.get("binaryValue") is not None:
            binary = value["binaryValue"]
            attribute["BinaryValue"] = (
                base64.b64decode(binary) if isinstance(binary, str) else binary
            )
        else:
            continue
        found[name] = attribute
    return found


def _reason(error: BaseException | None) -> str:
    """``ErrorType: message``, as Lambda's logs name an error, truncated to fit an attribute."""
    if error is None:
        text = "unknown (the error was not kept)"
    else:
        from lambdakit._internal.reprs import describe_error

        text = describe_error(error)  # a broken __str__ must not cost the quarantine
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 3] + "..."


class Aftercare:
    """The step after a batch: quarantine and back-off for its failed SQS records.

    One per decorated handler; it keeps the SQS client (created on the first batch that needs
    it) and the queue URLs and visibility timeouts it looked up, per ARN.
    """

    def __init__(self, retry: Backoff | None, quarantine: Quarantine | None, client: Any) -> None:
        self.retry = retry
        self.quarantine = quarantine
        self._client = client
        self._urls: dict[str, str] = {}
        self._visibility: dict[str, int | None] = {}
        self.random: Callable[[], float] | None = None  # tests may pin the jitter

    def client(self) -> Any:
        if self._client is None:
            from lambdakit._internal.clients import client

            self._client = client("sqs")
        return self._client

    def check_source(self, batch: Batch) -> None:
        if batch.source != "sqs":
            raise BatchConfigurationError(
                f"process_batch: retry= and quarantine= apply to SQS only, got a {batch.source} "
                "batch"
            )

    def __call__(self, batch: Batch, run: Run, context: Any) -> set[str]:
        """Quarantine and back off ``run``'s failed records; the message ids now done (moved to
        the quarantine queue and deleted), which are no longer to be reported."""
        from lambdakit._internal.deadline import deadline_of
        from lambdakit.batch._run import FAILED

        failed = [index for index, status in enumerate(run.status) if status == FAILED]
        if not failed:
            return set()
        deadline = deadline_of(context, _CALL_RESERVE_MS)

        def in_time() -> bool:
            return deadline is None or not deadline.reached()

        done: set[str] = set()

        def work() -> None:
            if self.quarantine is not None:
                quarantined = self._quarantine(batch, run, failed, in_time)
                done.update(quarantined)  # one update, when both send and delete are over
            if self.retry is not None:
                self._back_off(
                    batch, [i for i in failed if batch.identifiers[i] not in done], in_time
                )

        budget = _seconds_left(context)
        if budget is None:
            work()
            return done
        if not _bounded(work, budget):
            _warn(
                "quarantine/back-off: the SQS requests did not finish within the invocation's "
                "remaining time; messages not yet quarantined stay reported for retry",
                str(batch.records[failed[0]].get("eventSourceARN", "")),
                None,
            )
        return set(done)

    # --- queues --------------------------------------------------------------------------------

    def _url(self, arn_or_url: str) -> str:
        found = self._urls.get(arn_or_url)
        if found is None:
            parts = _arn_parts(arn_or_url)
            if parts is None:
                return arn_or_url  # a URL already
            account, name = parts
            found = self.client().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
                "QueueUrl"
            ]
            self._urls[arn_or_url] = found
        return found

    def _visibility_timeout(self, arn: str, url: str) -> int | None:
        """The queue's visibility timeout (what the event source mapping's receive set), or
        ``None`` when it cannot be read: then no back-off is applied, as it might shorten it."""
        if arn not in self._visibility:
            try:
                answer = self.client().get_queue_attributes(
                    QueueUrl=url, AttributeNames=["VisibilityTimeout"]
                )
                self._visibility[arn] = int(answer["Attributes"]["VisibilityTimeout"])
            except Exception as error:
                _warn(
                    f"SQS queue {arn}: its visibility timeout could not be read; no back-off is "
                    "applied to its messages (it could shorten the visibility)",
                    arn,
                    error,
                )
                self._visibility[arn] = None
        return self._visibility[arn]

    # --- quarantine ----------------------------------------------------------------------------

    def _quarantine(
        self, batch: Batch, run: Run, failed: list[int], in_time: Callable[[], bool]
    ) -> set[str]:
        quarantine = self.quarantine
        assert quarantine is not None
        due = [i for i in failed if (batch.attempt(i) or 0) >= quarantine.after]
        if not due or not in_time():
            return set()
        errors = dict(run.kept)
        target = source = ""
        try:
            target = self._url(quarantine.to)
            arn = batch.records[due[0]]["eventSourceARN"]
            source = self._url(arn)
        except Exception as error:
            _warn(
                f"quarantine: the queue URLs could not be found ({quarantine.to}); "
                f"{len(due)} message(s) stay reported for retry",
                quarantine.to,
                error,
            )
            return set()
        fifo = target.endswith(".fifo")
        entries = [self._send_entry(batch, i, errors.get(i), fifo) for i in due]
        sent = self._each(
            "send_message_batch", target, entries, in_time, _send_size, "quarantine send"
        )
        deletes = [
            {"Id": str(i), "ReceiptHandle": batch.records[i]["receiptHandle"]}
            for i in due
            if str(i) in sent
        ]
        deleted = self._each(
            "delete_message_batch", source, deletes, in_time, None, "delete after quarantine"
        )
        done = {batch.identifiers[int(i)] for i in deleted}
        if done:
            count(QUARANTINED, len(done))
        return done

    def _send_entry(
        self, batch: Batch, index: int, error: BaseException | None, fifo: bool
    ) -> dict[str, Any]:
        record = batch.records[index]
        attributes = _attributes(record)
        if len(attributes) < _MAX_ATTRIBUTES:  # else SQS would refuse the message: log only
            attributes[FAILURE_ATTRIBUTE] = {"DataType": "String", "StringValue": _reason(error)}
        entry: dict[str, Any] = {"Id": str(index), "MessageBody": record["body"]}
        if attributes:
            entry["MessageAttributes"] = attributes
        if fifo:
            message_id = batch.identifiers[index]
            group = (record.get("attributes") or {}).get("MessageGroupId") or message_id
            entry["MessageGroupId"] = group
            entry["MessageDeduplicationId"] = message_id
        return entry

    # --- back-off ------------------------------------------------------------------------------

    def _back_off(self, batch: Batch, indices: list[int], in_time: Callable[[], bool]) -> None:
        retry = self.retry
        assert retry is not None
        if not indices or not in_time():
            return
        arn = batch.records[indices[0]]["eventSourceARN"]
        try:
            url = self._url(arn)
        except Exception as error:
            _warn(
                f"back-off: the URL of SQS queue {arn} could not be found; no back-off applied",
                arn,
                error,
            )
            return
        floor = self._visibility_timeout(arn, url)
        if floor is None:
            return
        entries = []
        for index in indices:
            seconds = retry.visibility(batch.attempt(index) or 1, self.random)
            if seconds > floor:  # never shorten what the receive set
                entries.append(
                    {
                        "Id": str(index),
                        "ReceiptHandle": batch.records[index]["receiptHandle"],
                        "VisibilityTimeout": seconds,
                    }
                )
        changed = self._each(
            "change_message_visibility_batch", url, entries, in_time, None, "back-off"
        )
        if changed:
            count(BACKOFF_APPLIED, len(changed))

    # --- requests ------------------------------------------------------------------------------

    def _each(
        self,
        operation: str,
        url: str,
        entries: list[dict[str, Any]],
        in_time: Callable[[], bool],
        size_of: Callable[[dict[str, Any]], int] | None,
        what: str,
    ) -> set[str]:
        """Send ``entries`` with ``operation`` in batched requests while time allows; the ids
        that succeeded. Failures (per entry, or of a whole request) are logged, never raised."""
        succeeded: set[str] = set()
        if not entries:
            return succeeded
        call = getattr(self.client(), operation)
        unsent = 0
        for chunk in _chunks(entries, size_of):
            if not in_time():
                unsent += len(chunk)
                continue
            try:
                answer = call(QueueUrl=url, Entries=chunk)
            except Exception as error:
                _warn(
                    f"{what}: {operation} to {url} failed for {len(chunk)} message(s)", url, error
                )
                continue
            succeeded.update(item["Id"] for item in answer.get("Successful", ()))
            for item in answer.get("Failed", ()):
                _warn(
                    f"{what}: {operation} to {url} failed for entry {item.get('Id')}: "
                    f"{item.get('Code')} {item.get('Message', '')}".rstrip(),
                    url,
                    None,
                )
        if unsent:
            _warn(f"{what}: {unsent} message(s) not sent, the invocation is out of time", url, None)
        return succeeded


def _seconds_left(context: Any) -> float | None:
    """Real seconds the SQS requests may take: the invocation's remaining time less the
    reserve, or ``None`` when the context does not say (then nothing bounds them but
    botocore's own timeouts)."""
    from lambdakit._internal.invocation import remaining_seconds

    remaining = remaining_seconds(context)
    if remaining is None:
        return None
    return max(0.0, remaining - _CALL_RESERVE_MS / 1000.0)


def _bounded(work: Callable[[], None], seconds: float) -> bool:
    """Run ``work`` in a thread (in this context: metrics and test doubles see it as this
    invocation's) and wait at most ``seconds``; whether it finished. A request that hangs (a
    socket that accepts and never answers: botocore would wait 60 s and retry) must not hold
    the batch response past the function's timeout, which would make Lambda retry the whole
    batch, successes included. An abandoned request finishes or fails on its own later; what
    it did is safe either way (a message is reported done only once sent *and* deleted)."""
    import threading

    from lambdakit._internal.invocation import carrying_context

    worker = threading.Thread(
        target=carrying_context(work), name="lambdakit-sqs-aftercare", daemon=True
    )
    worker.start()
    worker.join(seconds)
    return not worker.is_alive()


def _warn(message: str, where: str, error: BaseException | None) -> None:
    logger = get_logger(LOGGER)
    if logger.isEnabledFor(WARNING):
        fields: dict[str, object] = {"queue": where}
        if error is not None:
            fields["errorType"] = type(error).__name__
            message = f"{message}: {error}"
        log(logger, WARNING, message, fields)
