"""KinesisStream and DynamoDBStream, and how an EventSourceMapping reads them: shards and
sequence numbers, the records' shape, retention, the options AWS refuses, starting positions,
batch composition, order, filtering and the parallelization factor.

Failures (retries, partial responses, bisecting, discarding) are in
test_esm_streams_failures.py; runs with the real lambdakit stack in test_esm_streams_stack.py.
Each test cites the AWS page it follows.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from lambdakit.batch import process_batch
from lambdakit.errors import EventSourceMappingError
from lambdakit.testing import FakeClock, dynamodb_stream_event, kinesis_event
from lambdakit.testing.esm._mapping import EventSourceMapping, epoch_ms
from lambdakit.testing.esm._streams import DynamoDBStream, KinesisStream
from lambdakit.testing.esm._summary import FILTERED, SUCCEEDED

KINESIS_CONCEPTS = "https://docs.aws.amazon.com/streams/latest/dev/key-concepts.html"
PUT_RECORD = "https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html"
SPLIT_SHARD = (
    "https://docs.aws.amazon.com/kinesis/latest/dev/kinesis-using-sdk-java-resharding-split.html"
)
WITH_KINESIS = "https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html"
KINESIS_PARAMETERS = "https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-parameters.html"
WITH_DDB = "https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html"
DDB_PARAMETERS = "https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html"
DDB_STREAM_RECORD = (
    "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html"
)
DDB_STREAMS = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html"
BATCHING = (
    "https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html"
    "#invocation-eventsourcemapping-batching"
)
CREATE_MAPPING = "https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html"
CFN_MAPPING = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/"
    "aws-resource-lambda-eventsourcemapping.html"
)
FILTERING = "https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html"
RETRIES = "https://docs.aws.amazon.com/lambda/latest/dg/invocation-retries.html"
GET_SHARD_ITERATOR = (
    "https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetShardIterator.html"
)
KINESIS_CREATE = "https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html"
PARALLELIZATION_BLOG = (
    "https://aws.amazon.com/blogs/compute/"
    "new-aws-lambda-scaling-controls-for-kinesis-and-dynamodb-event-sources/"
)


class Recorder:
    """A Lambda handler that keeps every event it is given (and optionally fails some)."""

    def __init__(self, fail: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail = fail

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        self.events.append(event)
        if self.fail is not None and self.fail(event):
            raise RuntimeError("handler failed")

    def batches(self) -> list[list[str]]:
        """The data (Kinesis) or the ``id`` key (DynamoDB) of each record, batch by batch."""
        return [[payload(record) for record in event["Records"]] for event in self.events]


def payload(record: dict[str, Any]) -> str:
    if "kinesis" in record:
        return base64.b64decode(record["kinesis"]["data"]).decode()
    return str(record["dynamodb"]["Keys"]["id"]["S"])


def md5_shard(partition_key: str, shards: int) -> int:
    """The shard owning the key's hash, computed independently of the model."""
    hash_key = int(hashlib.md5(partition_key.encode()).hexdigest(), 16)
    return hash_key // ((1 << 128) // shards) if shards > 1 else 0


# --- Kinesis: shards and sequence numbers --------------------------------------------------------


def test_a_partition_key_goes_to_the_shard_whose_hash_key_range_holds_its_md5() -> None:
    # KINESIS_CONCEPTS, PUT_RECORD: "an MD5 hash function is used to map partition keys to
    # 128-bit integer values and to map associated data records to shards using the hash key
    # ranges of the shards"; SPLIT_SHARD: the hash key value is the MD5 of the partition key.
    stream = KinesisStream("orders", shards=4)
    keys = [f"customer-{i}" for i in range(64)]
    for key in keys:
        stream.put(b"x", partition_key=key)
        assert stream.shard_id(key) == f"shardId-{md5_shard(key, 4):012d}"
    assert {stream.shard_id(key) for key in keys} == set(stream.shard_ids)
    by_shard = {record["eventID"].split(":")[0] for record in stream.records()}
    assert by_shard == set(stream.shard_ids)


def test_shards_own_equal_ranges_of_the_hash_key_space() -> None:
    # KINESIS_CONCEPTS / SPLIT_SHARD: a shard owns a contiguous range of hash keys; a stream
    # created with n shards splits the 128-bit space evenly (the model's layout).
    stream = KinesisStream("orders", shards=3)
    ranges = [(s.start_hash, s.end_hash) for s in stream._shards]
    assert ranges[0][0] == 0
    assert ranges[-1][1] == (1 << 128) - 1
    assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(2))
    widths = {end - start + 1 for start, end in ranges}
    assert max(widths) - min(widths) <= 1


def test_sequence_numbers_increase_per_shard_and_are_56_digit_decimals() -> None:
    # PUT_RECORD: "Sequence numbers increase over time and are specific to a shard within a
    # stream"; Lambda's sample records carry 56-digit sequence numbers (WITH_KINESIS).
    stream = KinesisStream("orders", shards=2)
    returned = [stream.put(f"{i}".encode(), partition_key=f"k{i % 5}") for i in range(20)]
    records = stream.records()
    assert [r["kinesis"]["sequenceNumber"] for r in records] == returned
    assert len(set(returned)) == 20
    for shard_id in stream.shard_ids:
        numbers = [
            int(r["kinesis"]["sequenceNumber"])
            for r in records
            if r["eventID"].startswith(shard_id)
        ]
        assert numbers == sorted(numbers)
    assert all(len(s) == 56 and s.isdigit() for s in returned)


def test_kinesis_records_have_the_shape_lambda_delivers() -> None:
    # WITH_KINESIS, "Example event": the same keys as lambdakit's kinesis_event builder; data
    # base64, approximateArrivalTimestamp in epoch seconds, eventID "<shardId>:<sequence>".
    clock = FakeClock()
    stream = KinesisStream("orders", clock=clock)
    clock.advance(2.5)
    sequence = stream.put(b'{"id": 1}', partition_key="customer-1")
    (record,) = stream.records()
    template = kinesis_event([b"x"])["Records"][0]
    assert record.keys() == template.keys()
    assert record["kinesis"].keys() == template["kinesis"].keys()
    assert base64.b64decode(record["kinesis"]["data"]) == b'{"id": 1}'
    assert record["kinesis"]["partitionKey"] == "customer-1"
    assert record["kinesis"]["approximateArrivalTimestamp"] == epoch_ms(clock()) / 1000
    assert record["eventID"] == f"shardId-000000000000:{sequence}"
    assert record["eventSource"] == "aws:kinesis"
    assert record["eventName"] == "aws:kinesis:record"
    assert record["eventSourceARN"].endswith(":stream/orders")


def test_put_refuses_what_putrecord_refuses() -> None:
    # PUT_RECORD: PartitionKey is 1 to 256 characters; Data is a blob.
    stream = KinesisStream("orders")
    with pytest.raises(EventSourceMappingError, match="partition_key"):
        stream.put(b"x", partition_key="")
    with pytest.raises(EventSourceMappingError, match="partition_key"):
        stream.put(b"x", partition_key="k" * 257)
    with pytest.raises(EventSourceMappingError, match="expected bytes"):
        stream.put("text", partition_key="k")  # type: ignore[arg-type]
    with pytest.raises(EventSourceMappingError, match="shards"):
        KinesisStream("orders", shards=0)


# --- DynamoDB Streams ----------------------------------------------------------------------------


def test_the_event_name_follows_from_the_images_given() -> None:
    # DDB_STREAMS / DDB_STREAM_RECORD: INSERT has a new image, MODIFY both, REMOVE the old one
    # (StreamViewType NEW_AND_OLD_IMAGES).
    stream = DynamoDBStream("orders")
    stream.put({"id": "a", "n": 1}, keys={"id": "a"})
    stream.put({"id": "a", "n": 2}, {"id": "a", "n": 1}, keys={"id": "a"})
    stream.put(old_image={"id": "a", "n": 2}, keys={"id": "a"})
    records = stream.records()
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert [sorted(k for k in r["dynamodb"] if k.endswith("Image")) for r in records] == [
        ["NewImage"],
        ["NewImage", "OldImage"],
        ["OldImage"],
    ]
    assert {r["dynamodb"]["StreamViewType"] for r in records} == {"NEW_AND_OLD_IMAGES"}


def test_images_are_typed_as_dynamodbs_json_like_the_builders() -> None:
    # WITH_DDB, "Example event"; the same record as dynamodb_stream_event builds.
    clock = FakeClock()
    stream = DynamoDBStream("orders", clock=clock)
    image = {"id": "a", "qty": 3, "price": 9.5, "tags": {"x"}, "blob": b"\x01"}
    sequence = stream.put(image, keys={"id": "a"})
    (record,) = stream.records()
    built = dynamodb_stream_event([{"new_image": image, "keys": {"id": "a"}}])["Records"][0]
    assert record.keys() == built.keys()
    assert record["dynamodb"]["NewImage"] == built["dynamodb"]["NewImage"]
    assert record["dynamodb"]["Keys"] == {"id": {"S": "a"}}
    assert record["dynamodb"]["SequenceNumber"] == sequence
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == stream.arn
    # DDB_STREAM_RECORD: "rounded down to the closest second".
    assert record["dynamodb"]["ApproximateCreationDateTime"] == epoch_ms(clock()) // 1000


def test_dynamodb_sequence_numbers_increase_and_have_21_to_40_digits() -> None:
    # DDB_STREAM_RECORD: SequenceNumber, length 21 to 40, numeric characters only.
    stream = DynamoDBStream("orders")
    numbers = [stream.put({"id": str(i)}, keys={"id": str(i)}) for i in range(5)]
    assert all(21 <= len(n) <= 40 and n.isdigit() for n in numbers)
    assert [int(n) for n in numbers] == sorted(int(n) for n in numbers)
    assert len(set(numbers)) == 5


def test_put_needs_keys_and_an_image() -> None:
    stream = DynamoDBStream("orders")
    with pytest.raises(EventSourceMappingError, match="new_image"):
        stream.put(keys={"id": "a"})
    with pytest.raises(EventSourceMappingError, match="keys="):
        stream.put({"id": "a"}, keys={})
    with pytest.raises(EventSourceMappingError, match="new_image: not a DynamoDB item"):
        stream.put({"id": object()}, keys={"id": "a"})


# --- what a stream retains -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda c: KinesisStream("s", clock=c), lambda c: DynamoDBStream("table", clock=c)],
    ids=["kinesis", "dynamodb"],
)
def test_reading_removes_nothing_and_retention_trims_after_24_hours(make: Any) -> None:
    # FILTERING ("Handling records that don't meet filter criteria"): the iterator advances,
    # records stay until "after the retention period, Kinesis and DynamoDB automatically delete
    # these old records"; the retention is 24 hours by default (KINESIS_CONCEPTS) and for
    # DynamoDB Streams (DDB_PARAMETERS, DDB_STREAMS).
    clock = FakeClock()
    stream = make(clock)
    put_one(stream, "a")
    EventSourceMapping(stream, Recorder(), starting_position="TRIM_HORIZON").run()
    assert len(stream) == 1
    clock.advance(86_399)
    put_one(stream, "b")
    assert [payload(r) for r in stream.records()] == ["a", "b"]
    clock.advance(1)
    assert [payload(r) for r in stream.records()] == ["b"]
    assert len(stream) == 1


def test_several_mappings_read_one_stream_each_from_its_own_checkpoint() -> None:
    # KINESIS_CREATE: "You can create multiple event source mappings to process the same data
    # with multiple Lambda functions"; FILTERING: reading advances an iterator, it removes
    # nothing.
    stream = KinesisStream("s")
    for value in ("a", "b"):
        stream.put(value.encode(), partition_key="k")
    first, second = Recorder(), Recorder()
    EventSourceMapping(stream, first, starting_position="TRIM_HORIZON").run()
    EventSourceMapping(stream, second, starting_position="TRIM_HORIZON").run()
    assert first.batches() == second.batches() == [["a", "b"]]


def test_kinesis_retention_can_be_extended() -> None:
    # KINESIS_CONCEPTS: the retention period is 24 hours by default and can be increased.
    clock = FakeClock()
    stream = KinesisStream("s", retention_period_hours=48, clock=clock)
    put_one(stream, "a")
    clock.advance(86_400)
    assert len(stream) == 1
    with pytest.raises(EventSourceMappingError, match="retention_period_hours"):
        KinesisStream("s", retention_period_hours=23)


def test_streams_say_what_they_hold() -> None:
    kinesis = KinesisStream("orders", shards=2)
    kinesis.put(b"x", partition_key="k")
    table = DynamoDBStream("orders")
    assert repr(kinesis) == "KinesisStream('orders', shards=2, records=1)"
    assert repr(table) == "DynamoDBStream('orders', records=0)"


def test_records_are_copies() -> None:
    stream = KinesisStream("orders")
    stream.put(b"x", partition_key="k")
    stream.records()[0]["kinesis"]["data"] = "changed"
    assert stream.records()[0]["kinesis"]["data"] == base64.b64encode(b"x").decode()


# --- options AWS refuses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("batch_size", 0, "batch_size"),
        ("batch_size", 10_001, "batch_size"),
        ("parallelization_factor", 0, "parallelization_factor"),
        ("parallelization_factor", 11, "parallelization_factor"),
        ("maximum_retry_attempts", -2, "maximum_retry_attempts"),
        ("maximum_retry_attempts", 10_001, "maximum_retry_attempts"),
        ("maximum_record_age", 59, "maximum_record_age"),
        ("maximum_record_age", 0, "maximum_record_age"),
        ("maximum_record_age", 604_801, "maximum_record_age"),
        ("starting_position", "AT_TIMESTAMP", "StartingPositionTimestamp"),
        ("starting_position", "EARLIEST", "starting_position"),
        ("maximum_concurrency", 5, "Amazon SQS only"),
        ("provisioned_mode", True, "provisioned"),
        ("on_failure", "dlq", "on_failure"),
        ("on_failure", "arn:aws:lambda:us-east-1:123456789012:function:f", "on_failure"),
    ],
)
def test_options_create_event_source_mapping_refuses_for_kinesis(
    option: str, value: Any, message: str
) -> None:
    # CREATE_MAPPING: BatchSize max 10,000 for Kinesis and DynamoDB Streams; ParallelizationFactor
    # 1-10; MaximumRetryAttempts -1 to 10,000; MaximumRecordAgeInSeconds -1 or 60 to 604,800
    # ("The minimum valid value for maximum record age is 60s"); ScalingConfig is Amazon SQS
    # only. AT_TIMESTAMP needs StartingPositionTimestamp, which the model does not take.
    with pytest.raises(EventSourceMappingError, match=message):
        EventSourceMapping(KinesisStream("orders"), Recorder(), **{option: value})


def test_at_timestamp_is_kinesis_only() -> None:
    # CREATE_MAPPING, StartingPosition: "AT_TIMESTAMP is supported only for Amazon Kinesis
    # streams, Amazon DocumentDB, Amazon MSK, and self-managed Apache Kafka".
    with pytest.raises(EventSourceMappingError, match="TRIM_HORIZON"):
        EventSourceMapping(DynamoDBStream("orders"), Recorder(), starting_position="AT_TIMESTAMP")


def test_a_fifo_queue_is_refused_as_on_failure_destination() -> None:
    # DDB_PARAMETERS, DestinationConfig: "Standard Amazon SQS queue or standard Amazon SNS
    # topic destination for discarded records".
    class FifoQueue:
        fifo = True

        def send(self, body: str) -> None: ...

    with pytest.raises(EventSourceMappingError, match="FIFO"):
        EventSourceMapping(KinesisStream("orders"), Recorder(), on_failure=FifoQueue())
    with pytest.raises(EventSourceMappingError, match="FIFO"):
        EventSourceMapping(
            KinesisStream("orders"),
            Recorder(),
            on_failure="arn:aws:sqs:us-east-1:123456789012:dlq.fifo",
        )


def test_a_batch_size_over_10_needs_no_batching_window_on_streams() -> None:
    # CFN_MAPPING, MaximumBatchingWindowInSeconds: "For Amazon SQS event sources, when you set
    # BatchSize to a value greater than 10, you must set MaximumBatchingWindowInSeconds to at
    # least 1"; streams default to BatchSize 100 with no window (KINESIS_PARAMETERS).
    EventSourceMapping(KinesisStream("orders"), Recorder(), batch_size=100)
    EventSourceMapping(DynamoDBStream("orders"), Recorder(), batch_size=10_000)


# --- starting position ---------------------------------------------------------------------------


def put_one(stream: Any, name: str, *, key: str | None = None) -> str:
    if isinstance(stream, KinesisStream):
        return stream.put(name.encode(), partition_key=key or name)
    return stream.put({"id": name}, keys={"id": key or name})


@pytest.mark.parametrize("kind", ["kinesis", "dynamodb"])
def test_latest_reads_only_records_put_after_the_mapping_was_created(kind: str) -> None:
    # KINESIS_PARAMETERS / DDB_PARAMETERS, StartingPosition; GET_SHARD_ITERATOR: "LATEST - Start
    # reading just after the most recent record in the shard".
    stream: Any = KinesisStream("s") if kind == "kinesis" else DynamoDBStream("table")
    put_one(stream, "before")
    handler = Recorder()
    mapping = EventSourceMapping(stream, handler, starting_position="LATEST")
    put_one(stream, "after")
    mapping.run()
    assert handler.batches() == [["after"]]


@pytest.mark.parametrize("kind", ["kinesis", "dynamodb"])
def test_trim_horizon_reads_everything_retained(kind: str) -> None:
    # GET_SHARD_ITERATOR: "TRIM_HORIZON - Start reading at the last untrimmed record in the
    # shard in the system, which is the oldest data record in the shard".
    clock = FakeClock()
    stream: Any = (
        KinesisStream("s", clock=clock)
        if kind == "kinesis"
        else DynamoDBStream("orders", clock=clock)
    )
    put_one(stream, "expired")
    clock.advance(86_400)
    put_one(stream, "kept")
    handler = Recorder()
    EventSourceMapping(stream, handler, starting_position="TRIM_HORIZON").run()
    assert handler.batches() == [["kept"]]


# --- batches -------------------------------------------------------------------------------------


def test_records_come_in_sequence_order_in_batches_of_batch_size() -> None:
    # WITH_KINESIS: "Lambda processes records in each shard in order"; BATCHING: batch size.
    stream = KinesisStream("s")
    for i in range(7):
        stream.put(str(i).encode(), partition_key="k")
    handler = Recorder()
    summary = EventSourceMapping(
        stream, handler, batch_size=3, starting_position="TRIM_HORIZON"
    ).run()
    assert handler.batches() == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert (summary.invocations, summary.delivered, summary.succeeded, summary.deleted) == (
        3,
        7,
        7,
        7,
    )


def test_a_batch_holds_records_of_one_shard() -> None:
    # WITH_KINESIS: "Each batch contains records from a single shard/data stream."
    stream = KinesisStream("s", shards=4)
    for i in range(40):
        stream.put(str(i).encode(), partition_key=f"key-{i}")
    handler = Recorder()
    EventSourceMapping(stream, handler, batch_size=100, starting_position="TRIM_HORIZON").run()
    assert len(handler.events) == 4
    for event in handler.events:
        shards = {record["eventID"].split(":")[0] for record in event["Records"]}
        assert len(shards) == 1
        numbers = [int(r["kinesis"]["sequenceNumber"]) for r in event["Records"]]
        assert numbers == sorted(numbers)


def test_the_history_is_keyed_by_sequence_number() -> None:
    stream = KinesisStream("s")
    sequence = stream.put(b"a", partition_key="k")
    clock = stream.clock
    summary = EventSourceMapping(stream, Recorder(), starting_position="TRIM_HORIZON").run()
    (delivery,) = summary.history[sequence]
    assert (delivery.time, delivery.invocation, delivery.outcome) == (clock(), 1, SUCCEEDED)


def test_a_batching_window_gathers_records_until_it_expires() -> None:
    # BATCHING / WITH_KINESIS: "Lambda continues to read records from the event source until
    # it has gathered a full batch, the batching window expires, or the batch reaches the
    # payload limit of 6 MB."
    clock = FakeClock(start=0)
    stream = KinesisStream("s", clock=clock)
    times: list[float] = []
    handler = Recorder(fail=lambda event: times.append(clock()))
    mapping = EventSourceMapping(stream, handler, maximum_batching_window=5)
    for i in range(3):
        stream.put(str(i).encode(), partition_key="k")
        clock.advance(1)
    mapping.run()
    assert handler.batches() == [["0", "1", "2"]]
    assert times == [5.0]


def test_a_full_batch_does_not_wait_for_the_window() -> None:
    # BATCHING: the batch goes when it is full, whichever comes first.
    clock = FakeClock(start=0)
    stream = KinesisStream("s", clock=clock)
    handler = Recorder()
    mapping = EventSourceMapping(stream, handler, batch_size=2, maximum_batching_window=60)
    for i in range(3):
        stream.put(str(i).encode(), partition_key="k")
    mapping.run(max_time=1)
    assert handler.batches() == [["0", "1"]]
    mapping.run()
    assert handler.batches() == [["0", "1"], ["2"]]
    assert clock() == 60


def test_the_next_window_begins_when_the_previous_invocation_completes() -> None:
    # BATCHING: "If you configure a MaximumBatchingWindowInSeconds, the next batching window
    # begins as soon as the previous function invocation completes."
    clock = FakeClock(start=0)
    stream = KinesisStream("s", clock=clock)
    times: list[float] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        times.append(clock())
        if len(times) == 1:
            stream.put(b"late", partition_key="k")  # arrives as the first batch starts
        clock.advance(2)  # the invocation ends 2 s after it started

    mapping = EventSourceMapping(stream, handler, maximum_batching_window=5, function_timeout=10)
    stream.put(b"first", partition_key="k")
    mapping.run()
    assert times == [5.0, 12.0]  # 7 + 5: the window opened when the first call ended, not at 5


def test_the_6_mb_payload_limit_caps_a_batch() -> None:
    # BATCHING: "The payload size reaches 6 MB. You cannot modify this limit."
    stream = KinesisStream("s")
    blob = b"x" * (1024 * 1024)  # each about 1.33 MiB once base64-encoded
    for _ in range(6):
        stream.put(blob, partition_key="k")
    handler = Recorder()
    EventSourceMapping(stream, handler, batch_size=100, starting_position="TRIM_HORIZON").run()
    sizes = [len(json.dumps(event)) for event in handler.events]
    assert [len(event["Records"]) for event in handler.events] == [4, 2]
    assert max(sizes) <= 6 * 1024 * 1024


def test_shards_are_read_in_turn() -> None:
    # WITH_KINESIS: Lambda "processes one batch of records at a time from each shard" and shards
    # are processed in parallel; the sequential model interleaves them.
    stream = KinesisStream("s", shards=2)
    keys = {md5_shard(f"k{i}", 2): f"k{i}" for i in range(20)}
    for i in range(4):
        for shard in (0, 1):
            stream.put(f"{shard}-{i}".encode(), partition_key=keys[shard])
    handler = Recorder()
    EventSourceMapping(stream, handler, batch_size=2, starting_position="TRIM_HORIZON").run()
    firsts = [batch[0][0] for batch in handler.batches()]
    assert firsts == ["0", "1", "0", "1"]


# --- filtering -----------------------------------------------------------------------------------


def test_records_the_filters_drop_are_checkpointed_without_an_invocation() -> None:
    # FILTERING: "For Kinesis and DynamoDB, after your filter criteria evaluates a record, the
    # streams iterator advances past this record"; Lambda includes a record "in the next event
    # it sends to your function" only when it matches.
    stream = KinesisStream("s")
    sequences = [
        stream.put(json.dumps({"type": kind}).encode(), partition_key="k")
        for kind in ("buy", "sell", "buy", "sell", "sell")
    ]
    handler = Recorder()
    summary = EventSourceMapping(
        stream,
        handler,
        batch_size=2,
        filter_criteria={"data": {"type": ["buy"]}},
        starting_position="TRIM_HORIZON",
    ).run()
    assert [len(e["Records"]) for e in handler.events] == [2]  # the filtered do not count
    assert (summary.filtered, summary.delivered, summary.deleted) == (3, 2, 5)
    assert summary.history[sequences[1]][0].outcome == FILTERED
    assert summary.history[sequences[1]][0].invocation == 0


def test_a_shard_of_only_filtered_records_invokes_nothing() -> None:
    stream = DynamoDBStream("orders")
    for i in range(3):
        stream.put({"id": str(i), "status": "draft"}, keys={"id": str(i)})
    summary = EventSourceMapping(
        stream,
        Recorder(),
        filter_criteria={"dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}},
        starting_position="TRIM_HORIZON",
    ).run()
    assert (summary.invocations, summary.filtered, summary.deleted) == (0, 3, 3)


# --- parallelization factor ----------------------------------------------------------------------


def test_with_a_parallelization_factor_each_batch_holds_one_slice_of_partition_keys() -> None:
    # WITH_KINESIS: a parallelization factor from 1 to 10 sets "the number of concurrent
    # batches that Lambda polls from a shard"; "When you increase the number of concurrent
    # batches per shard, Lambda still ensures in-order processing at the partition-key level";
    # PARALLELIZATION_BLOG: "Each parallelized shard contains messages with the same partition
    # key".
    stream = KinesisStream("s")
    keys = [f"customer-{i}" for i in range(12)]
    for round_ in range(3):
        for key in keys:
            stream.put(f"{key}/{round_}".encode(), partition_key=key)
    handler = Recorder()
    EventSourceMapping(
        stream,
        handler,
        batch_size=100,
        parallelization_factor=3,
        starting_position="TRIM_HORIZON",
    ).run()
    assert len(handler.events) == 3
    seen: dict[str, list[int]] = {}
    owner: dict[str, int] = {}
    for index, batch in enumerate(handler.batches()):
        for item in batch:
            key, round_ = item.split("/")
            seen.setdefault(key, []).append(int(round_))
            assert owner.setdefault(key, index) == index  # a key lives in one batch
    assert all(rounds == [0, 1, 2] for rounds in seen.values())


def test_dynamodb_parallelized_shards_keep_order_per_item() -> None:
    # WITH_DDB: "When you increase the number of concurrent batches per shard, Lambda still
    # ensures in-order processing at the item (partition and sort key) level."
    stream = DynamoDBStream("orders")
    for version in range(4):
        for item in ("a", "b", "c", "d", "e"):
            stream.put({"id": item, "v": version}, keys={"id": item})
    handler = Recorder()
    EventSourceMapping(
        stream,
        handler,
        batch_size=3,
        parallelization_factor=4,
        starting_position="TRIM_HORIZON",
    ).run()
    versions: dict[str, list[int]] = {}
    for event in handler.events:
        for record in event["Records"]:
            image = record["dynamodb"]["NewImage"]
            versions.setdefault(image["id"]["S"], []).append(int(image["v"]["N"]))
    assert versions == {item: [0, 1, 2, 3] for item in "abcde"}


def test_process_batch_accepts_what_the_streams_deliver() -> None:
    # The events are what Lambda sends: lambdakit's own process_batch reads them.
    kinesis, table = KinesisStream("s"), DynamoDBStream("orders")
    kinesis.put(b"a", partition_key="k")
    table.put({"id": "a"}, keys={"id": "a"})
    seen: list[Any] = []
    handler = process_batch(seen.append)
    for stream in (kinesis, table):
        summary = EventSourceMapping(
            stream, handler, report_batch_item_failures=True, starting_position="TRIM_HORIZON"
        ).run()
        assert summary.succeeded == 1
    assert [type(view).__name__ for view in seen] == ["KinesisRecord", "DynamoDBRecord"]


def test_records_put_before_the_mapping_took_its_clock_keep_their_age() -> None:
    """A stream made without a clock adopts its mapping's; records already put stay as old as
    they were, so maximum_record_age counts from when they really arrived."""
    from lambdakit.testing import FakeClock
    from lambdakit.testing.esm import EventSourceMapping, KinesisStream

    stream = KinesisStream("ages")
    stream.put(b"x", partition_key="k")
    stream.clock.advance(30)
    clock = FakeClock(start=50_000)
    EventSourceMapping(stream, lambda event, context: None, clock=clock)
    [stored] = [record for shard in stream._shards for record in shard.records]
    assert clock() - stored.arrival == 30
