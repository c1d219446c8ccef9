"""The poller Lambda runs for a Kinesis or DynamoDB Streams event source mapping, as a model.

What it follows (each rule's AWS page is cited by the test that holds it, in
``tests/unit/test_esm_streams*.py``):

- A batch holds records of one shard, in sequence-number order, at most ``batch_size`` and
  6 MB of event; with a batching window, Lambda gathers records until the batch is full, the
  window expires or the payload limit is reached, and a window begins when the previous
  invocation completes.
- Records that the filter criteria drop are passed over (the iterator advances past them)
  without an invocation, and count neither toward the batch size nor the window.
- Without ``ReportBatchItemFailures`` a batch succeeds or fails as a whole (a raise, a timeout,
  a response Lambda cannot serialise); with it, Lambda checkpoints before the lowest sequence
  number reported and retries from there, and an invalid response fails the whole batch.
- A failed batch blocks its whole shard (all its parallelized shards) until it is resolved: it
  succeeds, it is discarded (retries exhausted, records too old) or its records expire.
  ``BisectBatchOnFunctionError`` splits a batch that failed as a whole in two (without
  consuming a retry); discarded batches are described to the ``on_failure`` destination.
- With a parallelization factor ``n``, each shard is read as ``n`` parallelized shards, by
  partition key (Kinesis) or item key (DynamoDB) hash, so records of one key stay in order.

Where AWS is silent the model decides, and says so: a failed batch is retried at the shard's
next poll (Kinesis once a second, DynamoDB Streams four times a second); the window of an idle
shard begins when its first record arrives; a retry after a partial failure consumes one retry
attempt, bisected or not; records too old are never mixed into a batch with younger ones (they
go to the destination as a batch of their own, ``condition`` ``RecordAgeExceeded``, with a null
``responseContext`` when no invocation was made); records that expire while their batch is
retried are lost, as the data is, without an on-failure record.
"""

from __future__ import annotations

import json
from collections import deque
from typing import TYPE_CHECKING, Any

from lambdakit.errors import EventSourceMappingError
from lambdakit.testing.esm._invoke import RETURNED, Outcome
from lambdakit.testing.esm._invoke import TIMED_OUT as INVOCATION_TIMED_OUT
from lambdakit.testing.esm._mapping import MAX_PAYLOAD_BYTES, epoch_ms
from lambdakit.testing.esm._responses import EVERY_RECORD
from lambdakit.testing.esm._streams import iso_time
from lambdakit.testing.esm._summary import FAILED, FILTERED, SUCCEEDED, TIMED_OUT

if TYPE_CHECKING:
    from lambdakit.testing.esm._mapping import EventSourceMapping
    from lambdakit.testing.esm._streams import Shard, StoredRecord, _Stream

# The synchronous invocation payload limit that caps a batch (6 MB).
_EVENT_OVERHEAD = len('{"Records":[]}')

# ``requestContext.condition`` of an on-failure record: the first is AWS's documented example;
# AWS documents no name for the record-age case, and this is the one LocalStack uses.
RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


class _Item:
    """A record as one mapping sees it: whether its filter criteria let it through."""

    __slots__ = ("admitted", "record")

    def __init__(self, record: StoredRecord, admitted: bool) -> None:
        self.record = record
        self.admitted = admitted


class _Batch:
    """Records invoked (or to be invoked) together, and what happened to them so far: retries
    consumed, invocations made (carried over to the halves of a bisected batch), the last
    invocation's outcome and number, and when the batch may be retried."""

    __slots__ = ("invocations", "last_invocation", "outcome", "ready_at", "records", "retries")

    def __init__(self, records: list[StoredRecord], parent: _Batch | None = None) -> None:
        self.records = records
        self.retries: int = parent.retries if parent else 0
        self.invocations: int = parent.invocations if parent else 0
        self.outcome: Outcome | None = parent.outcome if parent else None
        self.last_invocation: int = parent.last_invocation if parent else 0
        self.ready_at = 0.0


class _Lane:
    """One parallelized shard: the records read and not yet batched, the failed batches (and
    bisected halves) to finish before them, and when its batching window opened."""

    __slots__ = ("pending", "queue", "shard", "window_open")

    def __init__(self, shard: _ShardState, now: float) -> None:
        self.shard = shard
        self.pending: deque[_Item] = deque()
        self.queue: deque[_Batch] = deque()
        self.window_open = now


class _ShardState:
    """A shard as one mapping reads it: where reading continues, and its lanes."""

    __slots__ = ("lanes", "position", "shard")

    def __init__(self, shard: Shard, lanes: int, position: int, now: float) -> None:
        self.shard = shard
        self.position = position
        self.lanes = [_Lane(self, now) for _ in range(lanes)]

    def failing(self) -> _Lane | None:
        """The lane whose failed batch blocks the shard, if any."""
        for lane in self.lanes:
            if lane.queue:
                return lane
        return None


class StreamPoller:
    """The mapping's poller over a :class:`KinesisStream` or :class:`DynamoDBStream`."""

    def __init__(self, stream: _Stream, mapping: EventSourceMapping) -> None:
        self.destination = check_options(stream, mapping)
        self.discards = 0
        self.stream = stream
        self.mapping = mapping
        self.clock = mapping.clock
        self.window = mapping.maximum_batching_window
        self.factor = mapping.parallelization_factor
        now = self.clock()
        stream._trim()
        latest = mapping.starting_position == "LATEST"
        self.shards = [
            _ShardState(shard, self.factor, shard.end if latest else shard.first, now)
            for shard in stream._shards
        ]
        self.lanes = [lane for state in self.shards for lane in state.lanes]
        self.turn = 0  # lanes take turns, as shards are polled concurrently on AWS

    # --- the Poller protocol -------------------------------------------------------------------

    def poll(self) -> bool:
        now = self.clock()
        self._read(now)
        count = len(self.lanes)
        for step in range(count):
            index = (self.turn + step) % count
            if self._step(self.lanes[index], now):
                self.turn = (index + 1) % count
                return True
        return False

    def wake(self) -> float | None:
        self._read(self.clock())
        times: list[float] = []
        for state in self.shards:
            failing = state.failing()
            for lane in [failing] if failing is not None else state.lanes:
                if lane.queue:
                    times.append(lane.queue[0].ready_at)
                elif lane.pending:
                    times.append(self._window_end(lane))
        return min(times, default=None)

    # --- reading -------------------------------------------------------------------------------

    def _read(self, now: float) -> None:
        """Take the records put since the last read into their lanes, and forget the ones the
        stream no longer retains."""
        stream, admits, source = self.stream, self.mapping.admits, self.stream._SOURCE
        stream._trim()
        for state in self.shards:
            shard = state.shard
            for record in shard.read(state.position):
                lane = state.lanes[record.lane(self.factor)]
                lane.pending.append(_Item(record, admits(record.event, source)))
            state.position = shard.end
            for lane in state.lanes:
                while lane.pending and stream._expired(lane.pending[0].record, now):
                    lane.pending.popleft()
                while lane.queue and stream._expired(lane.queue[0].records[0], now):
                    batch = lane.queue[0]
                    batch.records = [r for r in batch.records if not stream._expired(r, now)]
                    if not batch.records:
                        lane.queue.popleft()

    # --- one step of one lane ------------------------------------------------------------------

    def _step(self, lane: _Lane, now: float) -> bool:
        failing = lane.shard.failing()
        if failing is not None and failing is not lane:
            return False  # a failed batch blocks its whole shard
        if lane.queue:
            batch = lane.queue[0]
            if batch.ready_at > now:
                return False
            lane.queue.popleft()
            if self._too_old(batch.records[0], now):
                self._discard(batch, RECORD_AGE_EXCEEDED)
            else:
                self._invoke(lane, batch)
            return True
        if not lane.pending:
            return False
        head = lane.pending[0]
        if not head.admitted:
            lane.pending.popleft()
            self._filtered(head.record, now)
            return True
        if self._too_old(head.record, now):
            aged = self._take(lane, now, self._aged_span(lane, now))
            self._discard(_Batch(aged), RECORD_AGE_EXCEEDED)
            return True
        span, full = self._gather(lane)
        if not full and now < self._window_end(lane):
            return False
        self._invoke(lane, _Batch(self._take(lane, now, span)))
        return True

    def _gather(self, lane: _Lane) -> tuple[int, bool]:
        """How many pending items the next batch spans (up to its last admitted record), and
        whether it is full: ``batch_size`` records, or the next would pass the 6 MB limit."""
        size, count, span = _EVENT_OVERHEAD, 0, 0
        for index, item in enumerate(lane.pending):
            if not item.admitted:
                continue
            if count == self.mapping.batch_size:
                return span, True
            if count and size + item.record.size + 1 > MAX_PAYLOAD_BYTES:
                return span, True
            size += item.record.size + 1
            count += 1
            span = index + 1
        return span, count == self.mapping.batch_size

    def _aged_span(self, lane: _Lane, now: float) -> int:
        """How many pending items a batch of records too old to send spans: up to
        ``batch_size`` of them, never a younger record with them."""
        count, span = 0, 0
        for index, item in enumerate(lane.pending):
            if not item.admitted:
                continue
            if count == self.mapping.batch_size or not self._too_old(item.record, now):
                break
            count += 1
            span = index + 1
        return span

    def _take(self, lane: _Lane, now: float, span: int) -> list[StoredRecord]:
        """Remove the first ``span`` pending items: the batch's records, and the records the
        filters dropped among them, which are passed over."""
        records: list[StoredRecord] = []
        for _ in range(span):
            item = lane.pending.popleft()
            if item.admitted:
                records.append(item.record)
            else:
                self._filtered(item.record, now)
        return records

    def _window_end(self, lane: _Lane) -> float:
        """When the lane's batching window expires: it opens when the previous invocation
        completed, or, on an idle lane, when its first pending record arrived."""
        head = next(item for item in lane.pending if item.admitted) if lane.pending else None
        if head is None:
            return self.clock()
        return max(lane.window_open, head.record.arrival) + self.window

    def _too_old(self, record: StoredRecord, now: float) -> bool:
        limit = self.mapping.maximum_record_age
        return limit != -1 and now - record.arrival > limit

    # --- invoking and what follows -------------------------------------------------------------

    def _invoke(self, lane: _Lane, batch: _Batch) -> None:
        mapping, summary, records = self.mapping, self.mapping.summary, batch.records
        identifiers = [record.sequence for record in records]
        started = self.clock()
        outcome, failed = mapping.call({"Records": [r.event for r in records]}, identifiers)
        number = summary.invocations
        batch.invocations += 1
        batch.outcome, batch.last_invocation = outcome, number
        lane.window_open = self.clock()
        if failed is EVERY_RECORD:
            result = TIMED_OUT if outcome.kind == INVOCATION_TIMED_OUT else FAILED
            for record in records:
                summary.record(record.sequence, started, number, result, _payload(record))
            if mapping.bisect_batch_on_function_error and len(records) > 1:
                middle = len(records) // 2
                halves = [_Batch(records[:middle], batch), _Batch(records[middle:], batch)]
                for half in halves:
                    half.ready_at = self.clock() + self.stream._POLL_INTERVAL
                lane.queue.extendleft(reversed(halves))
            else:
                self._retry(lane, batch)
            return
        cut = identifiers.index(failed[0]) if failed else len(records)
        for record in records[:cut]:
            summary.record(record.sequence, started, number, SUCCEEDED, _payload(record))
        summary.deleted += cut
        if cut == len(records):
            return
        # Lambda checkpoints before the lowest sequence number reported and retries from it.
        for record in records[cut:]:
            summary.record(record.sequence, started, number, FAILED, _payload(record))
        self._retry(lane, _Batch(records[cut:], batch))

    def _retry(self, lane: _Lane, batch: _Batch) -> None:
        """Count a retry of ``batch``; discard it when that exhausts ``maximum_retry_attempts``,
        else retry it at the shard's next poll, before anything else in the shard."""
        batch.retries += 1
        limit = self.mapping.maximum_retry_attempts
        if limit != -1 and batch.retries > limit:
            self._discard(batch, RETRIES_EXHAUSTED)
            return
        batch.ready_at = self.clock() + self.stream._POLL_INTERVAL
        lane.queue.appendleft(batch)

    def _filtered(self, record: StoredRecord, now: float) -> None:
        self.mapping.summary.record(record.sequence, now, 0, FILTERED)
        self.mapping.summary.deleted += 1

    def _discard(self, batch: _Batch, condition: str) -> None:
        """Move past ``batch`` (its records are checkpointed, unprocessed) and describe it to
        the on-failure destination."""
        summary = self.mapping.summary
        summary.deleted += len(batch.records)
        self.discards += 1
        document = self._failure_record(batch, condition)
        if self.destination == "s3":  # the S3 record carries the whole event as a JSON string
            document["payload"] = json.dumps({"Records": [r.event for r in batch.records]})
        summary.on_failure.append(document)
        deliver(self.mapping.on_failure, document)

    def _failure_record(self, batch: _Batch, condition: str) -> dict[str, Any]:
        """The on-failure record, in the shape AWS documents (SQS, SNS and S3 destinations)."""
        stream, records = self.stream, batch.records
        return failure_record(
            request_id=(
                f"esm-invocation-{batch.last_invocation}"
                if batch.last_invocation
                else f"esm-discard-{self.discards}"
            ),
            function_arn=function_arn(stream.region),
            condition=condition,
            invocations=batch.invocations,
            outcome=batch.outcome,
            now=self.clock(),
            batch_key=stream._BATCH_INFO,
            batch_info={
                "shardId": records[0].shard.shard_id,
                "startSequenceNumber": records[0].sequence,
                "endSequenceNumber": records[-1].sequence,
                "approximateArrivalOfFirstRecord": stream._arrival_text(records[0]),
                "approximateArrivalOfLastRecord": stream._arrival_text(records[-1]),
                "batchSize": len(records),
                "streamArn": stream.arn,
            },
        )


# --- on-failure destinations (any source with a DestinationConfig) ------------------------------


def function_arn(region: str) -> str:
    """The ARN of the function the model invokes (the one its LambdaContext reports)."""
    from lambdakit.testing.context import LambdaContext

    return LambdaContext(region=region).invoked_function_arn


def failure_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    invocations: int,
    outcome: Outcome | None,
    now: float,
    batch_key: str,
    batch_info: dict[str, Any],
) -> dict[str, Any]:
    """An on-failure invocation record. ``responseContext`` is what the last invocation
    answered (``functionError`` when it raised or timed out), ``null`` when none was made."""
    response: dict[str, Any] | None = None
    if outcome is not None:
        response = {"statusCode": 200, "executedVersion": "$LATEST"}
        if outcome.kind != RETURNED:
            response["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invocations,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": iso_time(epoch_ms(now)),
        batch_key: batch_info,
    }


def destination_kind(destination: Any, where: str) -> str | None:
    """What the on-failure destination is, or ``EventSourceMappingError``: ``None``; a list
    (records appended as they are); an object with ``send(body)``, such as an ``SQSQueue``
    (records sent as JSON text); or the ARN of an SQS queue, SNS topic or S3 bucket (records
    kept in the summary only; an S3 record carries the whole event as ``payload``). Only
    standard queues and topics are accepted, as AWS accepts only those."""
    if destination is None:
        return None
    if isinstance(destination, list):
        return "list"
    if isinstance(destination, str):
        parts = destination.split(":")
        service = parts[2] if len(parts) >= 6 and parts[0] == "arn" else None
        if service not in ("sqs", "sns", "s3"):
            raise EventSourceMappingError(
                f"{where}: on_failure={destination!r}: expected the ARN of an SQS queue, SNS "
                "topic or S3 bucket, an SQSQueue (or any object with send(body)), or a list"
            )
        if destination.endswith(".fifo"):
            raise EventSourceMappingError(
                f"{where}: on_failure={destination!r}: an on-failure destination must be a "
                "standard queue or topic, not a FIFO one"
            )
        return service
    if not callable(getattr(destination, "send", None)):
        raise EventSourceMappingError(
            f"{where}: on_failure={destination!r}: expected the ARN of an SQS queue, SNS topic "
            "or S3 bucket, an SQSQueue (or any object with send(body)), or a list"
        )
    if getattr(destination, "fifo", False):
        raise EventSourceMappingError(
            f"{where}: on_failure={destination!r}: an on-failure destination must be a "
            "standard queue, not a FIFO queue"
        )
    return "send"


def deliver(destination: Any, document: dict[str, Any]) -> None:
    """Hand an on-failure record to the destination: appended to a list, sent as JSON text to
    an object with ``send``; an ARN has nothing to hand it to."""
    if isinstance(destination, list):
        destination.append(document)
    elif destination is not None and not isinstance(destination, str):
        destination.send(json.dumps(document))


# --- the options a stream source takes ----------------------------------------------------------


def check_options(stream: _Stream, mapping: EventSourceMapping) -> str | None:
    """Refuse what CreateEventSourceMapping refuses for a Kinesis or DynamoDB stream; the kind
    of on-failure destination (:func:`destination_kind`)."""
    where = repr(stream)
    _whole("batch_size", mapping.batch_size, 1, 10_000, where)
    _whole("parallelization_factor", mapping.parallelization_factor, 1, 10, where)
    _whole("maximum_retry_attempts", mapping.maximum_retry_attempts, -1, 10_000, where)
    age = mapping.maximum_record_age
    if (
        isinstance(age, bool)
        or not isinstance(age, int | float)
        or not (age == -1 or 60 <= age <= 604_800)
    ):
        raise EventSourceMappingError(
            f"{where}: maximum_record_age={age!r}: expected -1 (no limit) or 60 to 604800 seconds"
        )
    position = mapping.starting_position
    if position not in stream._STARTING_POSITIONS:
        hint = (
            "; AT_TIMESTAMP needs a StartingPositionTimestamp, which EventSourceMapping does "
            "not take"
            if position == "AT_TIMESTAMP" and stream._SOURCE == "kinesis"
            else ""
        )
        raise EventSourceMappingError(
            f"{where}: starting_position={position!r}: expected one of "
            f"{list(stream._STARTING_POSITIONS)}{hint}"
        )
    if mapping.maximum_concurrency is not None:
        raise EventSourceMappingError(
            f"{where}: maximum_concurrency={mapping.maximum_concurrency!r}: a scaling "
            "configuration is for Amazon SQS only (use parallelization_factor for streams)"
        )
    if mapping.provisioned_mode:
        raise EventSourceMappingError(
            f"{where}: provisioned_mode=True: provisioned pollers are not available for "
            "Kinesis or DynamoDB Streams"
        )
    return destination_kind(mapping.on_failure, where)


def _whole(option: str, value: Any, low: int, high: int, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise EventSourceMappingError(
            f"{where}: {option}={value!r}: expected a whole number from {low} to {high}"
        )


def _payload(record: StoredRecord) -> str:
    """What a stream record carries, for ``duplicates_delivered``: Kinesis's data, or a
    DynamoDB record's keys and images."""
    event = record.event
    if "kinesis" in event:
        return str(event["kinesis"]["data"])
    change = event["dynamodb"]
    return json.dumps([change.get(part) for part in ("Keys", "NewImage", "OldImage")])
