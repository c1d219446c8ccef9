"""What a Kinesis or DynamoDB Streams event source mapping does when a batch fails: retry the
whole batch, or restart at the reported sequence number; bisect; give up after the retry
quota or the record age and tell the on-failure destination; block the shard meanwhile.
Each test cites the AWS page it follows; where AWS is silent the test says what the model
decided."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lambdakit.errors import EventSourceMappingError
from lambdakit.testing import FakeClock
from lambdakit.testing.esm._mapping import EventSourceMapping, epoch_ms
from lambdakit.testing.esm._streams import DynamoDBStream, KinesisStream, md5_hash_key
from lambdakit.testing.esm._summary import FAILED, SUCCEEDED, TIMED_OUT

WITH_KINESIS = "https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html"
KINESIS_PARTIAL = (
    "https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html"
)
DDB_PARTIAL = "https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html"
KINESIS_ON_FAILURE = (
    "https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html"
)
DDB_ON_FAILURE = "https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html"
KINESIS_PARAMETERS = "https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html"
CREATE_MAPPING = "https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html"
RETRIES = "https://docs.aws.amazon.com/lambda/latest/dg/invocation-retries.html"
WITH_DDB = "https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html"


def data(record: dict[str, Any]) -> str:
    return base64.b64decode(record["kinesis"]["data"]).decode()


class Handler:
    """A Lambda handler over Kinesis records that fails the way a test says.

    ``poison``: data values that make the invocation raise. ``report``: data values reported
    in a partial batch response. ``times``: how many times each poisoned or reported record
    fails before it succeeds (None: always)."""

    def __init__(
        self,
        clock: FakeClock,
        *,
        poison: tuple[str, ...] = (),
        report: tuple[str, ...] = (),
        times: int | None = None,
        response: Any = None,
    ) -> None:
        self.clock = clock
        self.poison, self.report, self.times = poison, report, times
        self.response = response
        self.calls: list[tuple[float, list[str]]] = []
        self.failures: dict[str, int] = {}

    def _fails(self, value: str) -> bool:
        if self.times is not None and self.failures.get(value, 0) >= self.times:
            return False
        self.failures[value] = self.failures.get(value, 0) + 1
        return True

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        values = [data(r) for r in event["Records"]]
        self.calls.append((self.clock(), values))
        if self.response is not None:
            return self.response(event)
        if any(v in self.poison for v in values) and self._fails(
            next(v for v in values if v in self.poison)
        ):
            raise RuntimeError("poison")
        failed = [
            {"itemIdentifier": r["kinesis"]["sequenceNumber"]}
            for r in event["Records"]
            if data(r) in self.report and self._fails(data(r))
        ]
        return {"batchItemFailures": failed}

    def batches(self) -> list[list[str]]:
        return [values for _, values in self.calls]


def stream_of(clock: FakeClock, *values: str, key: str = "k") -> tuple[KinesisStream, list[str]]:
    stream = KinesisStream("orders", clock=clock)
    return stream, [stream.put(v.encode(), partition_key=key) for v in values]


def mapping(stream: Any, handler: Any, **options: Any) -> EventSourceMapping:
    options.setdefault("starting_position", "TRIM_HORIZON")
    return EventSourceMapping(stream, handler, **options)


# --- without a partial batch response ------------------------------------------------------------


def test_a_failure_retries_the_whole_batch_and_blocks_the_shard() -> None:
    # KINESIS_PARTIAL: "by default Lambda checkpoints to the highest sequence number of a batch
    # only when the batch is a complete success. Lambda treats all other results as a complete
    # failure and retries processing the batch"; RETRIES: "Repeated errors block processing of
    # the affected shard". Model decision: a retry comes at the shard's next poll (Kinesis
    # polls each shard once per second, WITH_KINESIS).
    clock = FakeClock(start=0)
    stream, sequences = stream_of(clock, "a", "bad", "c", "d")
    handler = Handler(clock, poison=("bad",), times=2)
    summary = mapping(stream, handler, batch_size=3).run()
    assert handler.calls == [
        (0.0, ["a", "bad", "c"]),
        (1.0, ["a", "bad", "c"]),
        (2.0, ["a", "bad", "c"]),
        (2.0, ["d"]),
    ]
    assert [d.outcome for d in summary.history[sequences[0]]] == [FAILED, FAILED, SUCCEEDED]
    assert (summary.delivered, summary.succeeded, summary.failed_attempts) == (10, 4, 6)
    assert summary.deleted == 4


def test_other_shards_go_on_while_one_is_blocked() -> None:
    # WITH_KINESIS: Lambda "stops processing additional records in a shard if your function
    # returns an error"; the other shards are processed independently.
    clock = FakeClock(start=0)
    stream = KinesisStream("orders", shards=2, clock=clock)
    shard_keys: dict[str, str] = {}
    for i in range(50):
        shard_keys.setdefault(stream.shard_id(f"k{i}"), f"k{i}")
    bad_key, good_key = shard_keys.values()
    stream.put(b"bad", partition_key=bad_key)
    for i in range(3):
        stream.put(f"good-{i}".encode(), partition_key=good_key)
    handler = Handler(clock, poison=("bad",), times=3)
    mapping(stream, handler, batch_size=1).run()
    assert [values for _, values in handler.calls][:4] == [
        ["bad"],
        ["good-0"],
        ["good-1"],
        ["good-2"],
    ]


def test_a_timeout_fails_the_whole_batch() -> None:
    # KINESIS_PARTIAL: anything but a complete success is a complete failure; a function that
    # runs past its timeout returns an error.
    clock = FakeClock(start=0)
    stream, sequences = stream_of(clock, "a", "b")
    attempts: list[float] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        attempts.append(clock())
        if len(attempts) == 1:
            clock.advance(4)  # past function_timeout=3
        return {"batchItemFailures": []}

    summary = mapping(stream, handler, report_batch_item_failures=True).run()
    assert [d.outcome for d in summary.history[sequences[1]]] == [TIMED_OUT, SUCCEEDED]
    assert attempts == [0.0, 5.0]


def test_a_response_lambda_cannot_serialise_fails_the_whole_batch() -> None:
    # The response must be JSON (Runtime.MarshalError otherwise): an invocation error.
    clock = FakeClock(start=0)
    stream, sequences = stream_of(clock, "a")
    answers = iter([{"batchItemFailures": {1, 2}}, None])
    summary = mapping(stream, lambda e, c: next(answers)).run()
    assert [d.outcome for d in summary.history[sequences[0]]] == [FAILED, SUCCEEDED]


def test_without_report_batch_item_failures_a_partial_response_is_ignored() -> None:
    # KINESIS_PARTIAL: partial batch failure responses "will not be processed by Lambda unless
    # the ReportBatchItemFailures feature is explicitly turned on".
    clock = FakeClock(start=0)
    stream, _ = stream_of(clock, "a", "b")
    handler = Handler(clock, report=("b",))
    summary = mapping(stream, handler).run()
    assert (summary.invocations, summary.succeeded) == (1, 2)


# --- with ReportBatchItemFailures ----------------------------------------------------------------


def test_the_checkpoint_restarts_at_the_reported_sequence_number() -> None:
    # KINESIS_PARTIAL: with ReportBatchItemFailures, "Lambda ... retries all records starting
    # from that checkpoint".
    clock = FakeClock(start=0)
    stream, sequences = stream_of(clock, "a", "b", "c", "d")
    handler = Handler(clock, report=("c",), times=1)
    summary = mapping(stream, handler, report_batch_item_failures=True).run()
    assert handler.batches() == [["a", "b", "c", "d"], ["c", "d"]]
    assert [d.outcome for d in summary.history[sequences[1]]] == [SUCCEEDED]
    assert [d.outcome for d in summary.history[sequences[3]]] == [FAILED, SUCCEEDED]
    assert summary.deleted == 4


def test_the_lowest_reported_sequence_number_is_the_checkpoint() -> None:
    # KINESIS_PARTIAL: "If the batchItemFailures array contains multiple items, Lambda uses the
    # record with the lowest sequence number as the checkpoint."
    clock = FakeClock(start=0)
    stream, _ = stream_of(clock, "a", "b", "c", "d")
    handler = Handler(clock, report=("d", "b"), times=1)
    mapping(stream, handler, report_batch_item_failures=True).run()
    assert handler.batches()[1] == ["b", "c", "d"]


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemIdentifer": "x"}]},
        {"batchItemFailures": [{"itemIdentifier": "49590338271490256608559692538361571095"}]},
    ],
    ids=["empty", "null", "bad key name", "unknown sequence number"],
)
def test_an_invalid_partial_response_fails_the_whole_batch(response: Any) -> None:
    # KINESIS_PARTIAL, "Success and failure conditions": an empty or null itemIdentifier, or
    # one with a bad key name, is a complete failure; so is an identifier of no record.
    clock = FakeClock(start=0)
    stream, _ = stream_of(clock, "a", "b")
    answers = iter([response, None])
    summary = mapping(stream, lambda e, c: next(answers), report_batch_item_failures=True).run()
    assert (summary.invocations, summary.delivered, summary.succeeded) == (2, 4, 2)


# --- bisecting -----------------------------------------------------------------------------------


def test_bisect_splits_a_failed_batch_without_consuming_the_retry_quota() -> None:
    # KINESIS_ON_FAILURE: BisectBatchOnFunctionError "splits a failed batch into two smaller
    # batches, isolating bad records ... Splitting batches doesn't consume the retry quota."
    clock = FakeClock(start=0)
    stream, sequences = stream_of(clock, "a", "b", "bad", "d")
    handler = Handler(clock, poison=("bad",))
    destination: list[dict[str, Any]] = []
    summary = mapping(
        stream,
        handler,
        bisect_batch_on_function_error=True,
        maximum_retry_attempts=0,
        on_failure=destination,
    ).run()
    assert handler.batches() == [["a", "b", "bad", "d"], ["a", "b"], ["bad", "d"], ["bad"], ["d"]]
    (document,) = destination
    info = document["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (sequences[2],) * 2
    assert info["batchSize"] == 1
    assert document["requestContext"]["approximateInvokeCount"] == 3
    assert summary.deleted == 4
    assert summary.succeeded == 3


def test_bisect_applies_whatever_report_batch_item_failures_says() -> None:
    # KINESIS_PARTIAL, "Bisecting a batch": "If your invocation fails and
    # BisectBatchOnFunctionError is turned on, the batch is bisected regardless of your
    # ReportBatchItemFailures setting."
    clock = FakeClock(start=0)
    stream, _ = stream_of(clock, "a", "bad", "c", "d")
    handler = Handler(clock, poison=("bad",), times=2)
    mapping(
        stream, handler, bisect_batch_on_function_error=True, report_batch_item_failures=True
    ).run()
    assert handler.batches()[:4] == [["a", "bad", "c", "d"], ["a", "bad"], ["a"], ["bad"]]


def test_with_a_partial_response_bisect_splits_at_the_returned_sequence_number() -> None:
    # KINESIS_PARTIAL: "When a partial batch success response is received and both
    # BisectBatchOnFunctionError and ReportBatchItemFailures are turned on, the batch is
    # bisected at the returned sequence number and Lambda retries only the remaining records."
    clock = FakeClock(start=0)
    stream, _ = stream_of(clock, "a", "b", "c", "d", "e")
    handler = Handler(clock, report=("d",), times=1)
    mapping(
        stream, handler, bisect_batch_on_function_error=True, report_batch_item_failures=True
    ).run()
    assert handler.batches() == [["a", "b", "c", "d", "e"], ["d", "e"]]


# --- giving up: retry quota and record age -------------------------------------------------------


def test_after_maximum_retry_attempts_the_batch_goes_to_the_on_failure_destination() -> None:
    # CREATE_MAPPING, MaximumRetryAttempts: "Discard records after the specified number of
    # retries"; KINESIS_ON_FAILURE: "If the error handling measures fail, Lambda discards the
    # records and continues processing batches from the stream", and sends the destination the
    # documented invocation record (all KinesisBatchInfo fields always present).
    clock = FakeClock(start=0)
    stream, sequences = stream_of(clock, "bad", "b", "c")
    handler = Handler(clock, poison=("bad",))
    destination: list[dict[str, Any]] = []
    summary = mapping(
        stream, handler, batch_size=2, maximum_retry_attempts=2, on_failure=destination
    ).run()
    assert handler.batches() == [["bad", "b"]] * 3 + [["c"]]
    assert summary.on_failure == destination
    (document,) = destination
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert document["requestContext"]["approximateInvokeCount"] == 3
    assert document["requestContext"]["functionArn"].endswith(":function:test-function")
    assert document["requestContext"]["requestId"] == "esm-invocation-3"
    assert document["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert document["version"] == "1.0"
    assert document["timestamp"] == "2026-01-01T00:00:02.000Z"
    assert document["KinesisBatchInfo"] == {
        "shardId": "shardId-000000000000",
        "startSequenceNumber": sequences[0],
        "endSequenceNumber": sequences[1],
        "approximateArrivalOfFirstRecord": "2026-01-01T00:00:00.000Z",
        "approximateArrivalOfLastRecord": "2026-01-01T00:00:00.000Z",
        "batchSize": 2,
        "streamArn": stream.arn,
    }
    assert summary.deleted == 3  # the discarded records are checkpointed past


def test_zero_retry_attempts_discards_after_the_first_failure() -> None:
    clock = FakeClock(start=0)
    stream, _ = stream_of(clock, "bad")
    handler = Handler(clock, poison=("bad",))
    summary = mapping(stream, handler, maximum_retry_attempts=0, on_failure=[]).run()
    assert (summary.invocations, len(summary.on_failure)) == (1, 1)


def test_a_retry_after_a_partial_failure_counts_against_the_quota() -> None:
    # Model decision (AWS does not say): retrying from the reported sequence number is a retry.
    # A discarded remainder was not an invocation error: no functionError in the record.
    clock = FakeClock(start=0)
    stream, sequences = stream_of(clock, "a", "bad", "c")
    handler = Handler(clock, report=("bad",))
    summary = mapping(
        stream, handler, report_batch_item_failures=True, maximum_retry_attempts=1, on_failure=[]
    ).run()
    assert handler.batches() == [["a", "bad", "c"], ["bad", "c"]]
    (document,) = summary.on_failure
    assert document["KinesisBatchInfo"]["startSequenceNumber"] == sequences[1]
    assert document["KinesisBatchInfo"]["batchSize"] == 2
    assert "functionError" not in document["responseContext"]


def test_a_failing_batch_is_retried_until_its_records_are_too_old() -> None:
    # CREATE_MAPPING, MaximumRecordAgeInSeconds: "Discard records older than the specified
    # age"; KINESIS_ON_FAILURE: Lambda retries "until the records expire, exceed the maximum age
    # ..., or reach the configured retry quota". The condition name for this case is not
    # documented by AWS; the model writes "RecordAgeExceeded".
    clock = FakeClock(start=0)
    stream, _ = stream_of(clock, "bad")

    def handler(event: dict[str, Any], context: Any) -> None:
        clock.advance(2)
        raise RuntimeError

    destination: list[dict[str, Any]] = []
    summary = mapping(stream, handler, maximum_record_age=60, on_failure=destination).run()
    assert summary.invocations == 21  # attempts at 0, 3, ..., 60; at 63 the record is too old
    assert destination[0]["requestContext"]["condition"] == "RecordAgeExceeded"
    assert destination[0]["requestContext"]["approximateInvokeCount"] == 21
    assert summary.deleted == 1


def test_records_already_too_old_are_never_sent() -> None:
    # CREATE_MAPPING, MaximumRecordAgeInSeconds: "Discard records older than the specified
    # age" (a discarded batch is described to the destination, KINESIS_ON_FAILURE). Model
    # decision: records already too old are never invoked, and go to the destination in a
    # batch of their own.
    clock = FakeClock(start=0)
    stream, sequences = stream_of(clock, "old-1", "old-2")
    clock.advance(100)
    stream.put(b"young", partition_key="k")
    handler = Handler(clock)
    summary = mapping(stream, handler, maximum_record_age=60, on_failure=[]).run()
    assert handler.batches() == [["young"]]
    (document,) = summary.on_failure
    assert document["requestContext"]["approximateInvokeCount"] == 0
    assert document["KinesisBatchInfo"]["batchSize"] == 2
    assert document["KinesisBatchInfo"]["endSequenceNumber"] == sequences[1]
    # Model decision, as for Kafka (with-msk-on-failure.html): no invocation, no response.
    assert document["responseContext"] is None
    assert document["requestContext"]["requestId"] == "esm-discard-1"
    assert summary.deleted == 3


def test_with_infinite_retries_a_batch_is_retried_until_its_records_expire() -> None:
    # CREATE_MAPPING: "When MaximumRetryAttempts is infinite, Lambda retries failed records
    # until the record expires in the event source"; DDB_ON_FAILURE: a bad record "can block
    # processing on the affected shard for up to one day" (DynamoDB Streams keep 24 hours).
    # Expired records are lost, not discarded by Lambda: no on-failure record.
    clock = FakeClock(start=0)
    stream = DynamoDBStream("orders", clock=clock)
    stream.put({"id": "bad"}, keys={"id": "bad"})
    later: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        ids = [r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]]
        if ids == ["bad"]:
            clock.advance(3600)  # times out (function_timeout=900), an hour per attempt
            return
        later.extend(ids)

    run = mapping(stream, handler, on_failure=[])
    summary = run.run(max_time=3600 * 30)
    assert summary.invocations == 24
    assert summary.on_failure == []
    assert summary.deleted == 0
    stream.put({"id": "next"}, keys={"id": "next"})
    run.run()
    assert later == ["next"]


# --- the on-failure destination ------------------------------------------------------------------


def test_an_object_with_send_receives_the_record_as_json_text() -> None:
    # KINESIS_ON_FAILURE: the record Lambda sends to an SQS queue is this JSON document.
    class Queue:
        def __init__(self) -> None:
            self.bodies: list[str] = []

        def send(self, body: str) -> None:
            self.bodies.append(body)

    clock = FakeClock(start=0)
    stream, _ = stream_of(clock, "bad")
    queue = Queue()
    summary = mapping(
        stream, Handler(clock, poison=("bad",)), maximum_retry_attempts=0, on_failure=queue
    ).run()
    assert [json.loads(body) for body in queue.bodies] == summary.on_failure


def test_a_destination_arn_keeps_the_records_in_the_summary_and_s3_gets_the_event() -> None:
    # KINESIS_ON_FAILURE: SNS topics, SQS queues and S3 buckets are destinations; "For Amazon
    # S3 destinations, Lambda also sends the entire invocation record along with the
    # metadata": the payload field holds the event as an escaped JSON string.
    clock = FakeClock(start=0)
    for arn in ("arn:aws:sqs:us-east-1:123456789012:dlq", "arn:aws:s3:::failures"):
        stream, _ = stream_of(clock, "bad")
        summary = mapping(
            stream, Handler(clock, poison=("bad",)), maximum_retry_attempts=0, on_failure=arn
        ).run()
        (document,) = summary.on_failure
        if arn.startswith("arn:aws:s3"):
            event = json.loads(document["payload"])
            assert [data(r) for r in event["Records"]] == ["bad"]
        else:
            assert "payload" not in document


def test_a_fifo_sqs_queue_model_is_refused_as_the_destination() -> None:
    sqs = pytest.importorskip("lambdakit.testing.esm._sqs")
    queue = sqs.SQSQueue("failures.fifo", fifo=True)
    with pytest.raises(EventSourceMappingError, match="FIFO"):
        mapping(KinesisStream("orders"), Handler(FakeClock()), on_failure=queue)


def test_an_sqs_queue_model_can_be_the_destination() -> None:
    sqs = pytest.importorskip("lambdakit.testing.esm._sqs")
    clock = FakeClock(start=0)
    queue = sqs.SQSQueue("stream-failures", clock=clock)
    stream, _ = stream_of(clock, "bad")
    summary = mapping(
        stream, Handler(clock, poison=("bad",)), maximum_retry_attempts=0, on_failure=queue
    ).run()
    assert len(queue) == 1
    assert summary.on_failure


def test_dynamodb_on_failure_records_carry_ddb_stream_batch_info() -> None:
    # DDB_ON_FAILURE, "Example invocation record": DDBStreamBatchInfo, arrivals to the second.
    clock = FakeClock(start=0)
    clock.advance(1.5)
    stream = DynamoDBStream("orders", clock=clock)
    sequence = stream.put({"id": "a"}, keys={"id": "a"})

    def handler(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError

    summary = mapping(stream, handler, maximum_retry_attempts=0, on_failure=[]).run()
    (document,) = summary.on_failure
    assert document["DDBStreamBatchInfo"] == {
        "shardId": stream.shard_ids[0],
        "startSequenceNumber": sequence,
        "endSequenceNumber": sequence,
        "approximateArrivalOfFirstRecord": "2026-01-01T00:00:01Z",
        "approximateArrivalOfLastRecord": "2026-01-01T00:00:01Z",
        "batchSize": 1,
        "streamArn": stream.arn,
    }
    assert document["timestamp"] == "2026-01-01T00:00:01.500Z"
    assert epoch_ms(0) == 1_767_225_600_000


def test_dynamodb_retries_come_at_the_next_poll_four_times_a_second() -> None:
    # WITH_DDB: "Lambda polls shards in your DynamoDB stream for records at a base rate of 4
    # times per second" (model decision: a failed batch is retried at the next poll).
    clock = FakeClock(start=0)
    stream = DynamoDBStream("orders", clock=clock)
    stream.put({"id": "a"}, keys={"id": "a"})
    times: list[float] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        times.append(clock())
        if len(times) < 3:
            raise RuntimeError

    mapping(stream, handler).run()
    assert times == [0.0, 0.25, 0.5]


# --- the parallelization factor under failure ----------------------------------------------------


def test_a_failing_parallelized_shard_blocks_the_whole_shard() -> None:
    # RETRIES: "Event source mappings that read from streams retry the entire batch of items.
    # Repeated errors block processing of the affected shard until the error is resolved or
    # the items expire." AWS does not document that other partition keys go on while one
    # parallelized shard retries, so the model holds the whole shard.
    clock = FakeClock(start=0)
    stream = KinesisStream("orders", clock=clock)
    keys = [f"k{i}" for i in range(40)]
    lower = [k for k in keys if md5_hash_key(k) < 1 << 127]  # the first parallelized shard
    for key in keys:
        stream.put(key.encode(), partition_key=key)
    handler = Handler(clock, poison=(lower[0],), times=2)
    mapping(stream, handler, batch_size=100, parallelization_factor=2).run()
    assert [(time, sorted(values)) for time, values in handler.calls] == [
        (0.0, sorted(lower)),
        (1.0, sorted(lower)),
        (2.0, sorted(lower)),
        (2.0, sorted(set(keys) - set(lower))),
    ]


def test_redeliveries_and_repeated_payloads_are_counted_as_for_sqs_and_kafka() -> None:
    """Summary.max_receive_count is the most deliveries of one record, and
    duplicates_delivered counts deliveries of a payload another record delivered first."""
    from lambdakit.testing.esm import EventSourceMapping, KinesisStream

    stream = KinesisStream("counts")
    failures = iter([True, True])

    def handler(event: dict[str, object], context: object) -> None:
        if next(failures, False):
            raise ValueError("try again")

    mapping = EventSourceMapping(stream, handler, starting_position="TRIM_HORIZON", batch_size=10)
    stream.put(b"same", partition_key="a")
    stream.put(b"same", partition_key="a")
    summary = mapping.run()
    assert summary.max_receive_count == 3
    assert summary.duplicates_delivered == 3  # the second record, in each of 3 deliveries
