"""KafkaTopic and the Kafka poller: Lambda's Amazon MSK / self-managed Kafka event source mapping
as AWS documents it. Each rule's test names the page it follows; the pages:"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lambdakit.batch import process_batch
from lambdakit.errors import EventSourceMappingError
from lambdakit.testing import FakeClock, kafka_event
from lambdakit.testing.esm import EventSourceMapping
from lambdakit.testing.esm._kafka import KafkaTopic, murmur2, partition_for_key
from lambdakit.testing.esm._mapping import epoch_ms
from lambdakit.testing.esm._summary import FAILED, FILTERED, SUCCEEDED, TIMED_OUT

DG = "https://docs.aws.amazon.com/lambda/latest/dg"
MSK_CONFIGURE = f"{DG}/with-msk-configure.html"  # commits, whole-batch retries, 14 minutes
RETRY_CONTROLS = f"{DG}/kafka-retry-configurations.html"  # provisioned mode, partial responses
KAFKA_DESTINATION = f"{DG}/kafka-on-failure-destination.html"
MSK_ON_FAILURE = f"{DG}/with-msk-on-failure.html"  # SQS / SNS / S3 invocation records
MSK_PARAMETERS = f"{DG}/msk-esm-parameters.html"
FILTERING = f"{DG}/invocation-eventfiltering.html"
BATCHING = f"{DG}/invocation-eventsourcemapping.html#invocation-eventsourcemapping-batching"
SQS_ARN = "arn:aws:sqs:us-east-1:123456789012:kafka-failures"


def values_of(event: dict[str, Any]) -> list[Any]:
    return [
        json.loads(base64.b64decode(record["value"]))
        for batch in event["records"].values()
        for record in batch
    ]


class Recorder:
    """A plain handler: records each event's values, answers with ``answer(event)``."""

    def __init__(self, answer: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.answer = answer

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        return self.answer(event) if callable(self.answer) else self.answer

    @property
    def values(self) -> list[list[Any]]:
        return [values_of(event) for event in self.events]


def failing(*values: Any, times: int | None = None) -> Any:
    """A record handler (for process_batch) that raises on ``values`` (``times`` times each)."""
    seen: dict[Any, int] = {}

    def handle(record: Any) -> None:
        value = record.json()
        seen[value] = seen.get(value, 0) + 1
        if value in values and (times is None or seen[value] <= times):
            raise ValueError(f"cannot process {value}")

    return handle


def topic_with(values: list[Any], partitions: int = 1, clock: FakeClock | None = None) -> Any:
    topic = KafkaTopic("orders", partitions=partitions, clock=clock or FakeClock())
    for index, value in enumerate(values):
        topic.produce(value, partition=index % partitions)
    return topic


# --- the topic -----------------------------------------------------------------------------------


def test_produce_returns_each_records_offset_in_its_partition() -> None:
    topic = KafkaTopic("orders", partitions=2)
    offsets = [topic.produce(i, partition=i % 2) for i in range(5)]
    assert offsets == [0, 0, 1, 1, 2]
    assert len(topic) == 5
    assert [(r["partition"], r["offset"]) for r in topic.records()] == [
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
    ]
    assert [r["offset"] for r in topic.records(partition=1)] == [0, 1]


def test_records_are_stored_exactly_as_the_event_builder_writes_them() -> None:
    clock = FakeClock()
    topic = KafkaTopic("orders", clock=clock)
    topic.produce({"id": 1}, key="order-1", headers={"trace": b"\x01\xff"})
    expected = kafka_event(
        [{"id": 1}], topic="orders", keys="order-1", headers={"trace": b"\x01\xff"}
    )
    record = topic.records()[0]
    assert record == {**expected["records"]["orders-0"][0], "timestamp": epoch_ms(clock())}
    assert record["headers"] == [{"trace": [1, -1]}]  # Java's signed bytes, as Lambda sends them


def test_a_record_without_a_key_has_no_key_field() -> None:
    topic = KafkaTopic("orders")
    topic.produce("plain text")
    assert "key" not in topic.records()[0]
    assert base64.b64decode(topic.records()[0]["value"]) == b"plain text"


def test_murmur2_is_kafkas_own_hash() -> None:
    # Kafka's clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2.
    vectors = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    assert {data: murmur2(data) for data in vectors} == vectors


def test_a_keyed_record_goes_where_the_java_producer_puts_it() -> None:
    # BuiltInPartitioner.partitionForKey: toPositive(murmur2(key)) % numPartitions.
    for key in ("21", "foobar", "abc", "order-42"):
        topic = KafkaTopic("orders", partitions=6)
        topic.produce("v", key=key)
        expected = (murmur2(key.encode()) & 0x7FFFFFFF) % 6
        assert topic.records()[0]["partition"] == expected == partition_for_key(key.encode(), 6)
    assert partition_for_key(b"foobar", 6) == 1357151166 % 6


def test_records_of_one_key_share_a_partition_and_keyless_ones_go_round_robin() -> None:
    topic = KafkaTopic("orders", partitions=3)
    for _ in range(4):
        topic.produce("v", key="same")
    assert len({record["partition"] for record in topic.records()}) == 1
    keyless = KafkaTopic("events", partitions=3)
    offsets = [keyless.produce("v") for _ in range(6)]
    assert offsets == [0, 0, 0, 1, 1, 1]  # partitions 0, 1, 2, 0, 1, 2
    assert [len(keyless.records(partition=p)) for p in range(3)] == [2, 2, 2]


def test_an_explicit_partition_wins_and_must_exist() -> None:
    topic = KafkaTopic("orders", partitions=2)
    topic.produce("v", key="foobar", partition=0)
    assert topic.records()[0]["partition"] == 0
    with pytest.raises(EventSourceMappingError, match=r"partition=2: .*0 to 1"):
        topic.produce("v", partition=2)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ({"name": ""}, "topic name"),
        ({"name": "has space"}, "topic name"),
        ({"name": "x" * 250}, "topic name"),
        ({"name": "orders", "partitions": 0}, "partitions=0"),
        ({"name": "orders", "partitions": True}, "partitions=True"),
    ],
)
def test_a_topic_kafka_would_refuse_is_refused(args: dict[str, Any], match: str) -> None:
    with pytest.raises(EventSourceMappingError, match=match):
        KafkaTopic(**args)


def test_values_and_headers_that_cannot_be_encoded_are_refused_naming_the_topic() -> None:
    topic = KafkaTopic("orders")
    with pytest.raises(EventSourceMappingError, match=r"KafkaTopic\('orders'.*value"):
        topic.produce({1, 2})
    with pytest.raises(EventSourceMappingError, match="headers"):
        topic.produce("v", headers=[("a", b"1")])  # type: ignore[arg-type]


def test_the_topic_says_what_it_holds() -> None:
    topic = topic_with([1, 2, 3], partitions=2)
    assert repr(topic) == "KafkaTopic('orders', partitions=2, records=3)"


def test_a_record_is_stamped_with_the_topics_clock() -> None:
    clock = FakeClock()
    topic = KafkaTopic("orders", clock=clock)
    clock.advance(2.5)
    topic.produce("v")
    assert topic.records()[0]["timestamp"] == epoch_ms(clock())
    assert topic.records()[0]["timestampType"] == "CREATE_TIME"


# --- the events ----------------------------------------------------------------------------------


def test_the_handler_gets_an_msk_event_grouped_by_topic_partition() -> None:
    # The MSK event's envelope and records, as kafka_event (and Lambda's sample) shape them.
    topic = topic_with([1, 2, 3], partitions=2)
    handler = Recorder()
    EventSourceMapping(topic, handler, starting_position="TRIM_HORIZON").run()
    (event,) = handler.events
    envelope = kafka_event([], topic="orders")
    assert event["eventSource"] == "aws:kafka"
    assert event["eventSourceArn"] == envelope["eventSourceArn"]
    assert event["bootstrapServers"] == envelope["bootstrapServers"]
    assert list(event["records"]) == ["orders-0", "orders-1"]
    assert [r["offset"] for r in event["records"]["orders-0"]] == [0, 1]
    assert event["records"]["orders-1"][0] == topic.records(partition=1)[0]


def test_a_self_managed_topic_sends_self_managed_events() -> None:
    topic = KafkaTopic("orders", self_managed=True, bootstrap_servers="kafka-1:9092")
    topic.produce(1)
    handler = Recorder()
    EventSourceMapping(topic, handler, starting_position="TRIM_HORIZON").run()
    (event,) = handler.events
    assert event["eventSource"] == "SelfManagedKafka"
    assert event["bootstrapServers"] == "kafka-1:9092"
    assert "eventSourceArn" not in event


def test_process_batch_handles_the_events_and_its_report_is_understood() -> None:
    # The real use: lambdakit's process_batch reads the events and reports failures as
    # {"partition": "<topic>-<n>", "offset": n}, the identifier AWS documents for Kafka
    # (RETRY_CONTROLS, "PartialBatchResponse").
    topic = topic_with([1, 2, 3, 4], partitions=2)
    handler = process_batch(failing(3, times=1))
    summary = EventSourceMapping(
        topic,
        handler,
        starting_position="TRIM_HORIZON",
        provisioned_mode=True,
        report_batch_item_failures=True,
    ).run()
    assert summary.invocations == 2
    # 3 is orders-0@1; it failed once, then succeeded; nothing else was delivered twice
    assert [d.outcome for d in summary.history["orders-0@1"]] == [FAILED, SUCCEEDED]
    assert all(len(v) == 1 for k, v in summary.history.items() if k != "orders-0@1")
    assert summary.deleted == 4


def test_history_names_records_topic_partition_at_offset() -> None:
    topic = topic_with([1, 2], partitions=2)
    summary = EventSourceMapping(topic, Recorder(), starting_position="TRIM_HORIZON").run()
    assert sorted(summary.history) == ["orders-0@0", "orders-1@0"]


# --- starting position ---------------------------------------------------------------------------


def test_latest_reads_only_records_produced_after_the_mapping_was_made() -> None:
    # StartingPosition (MSK_PARAMETERS): LATEST starts at the end of each partition.
    topic = topic_with([1, 2])
    handler = Recorder()
    mapping = EventSourceMapping(topic, handler, starting_position="LATEST")
    topic.produce(3)
    summary = mapping.run()
    assert handler.values == [[3]]
    assert summary.deleted == 1  # only what the mapping read is committed by it


def test_trim_horizon_reads_from_the_first_offset() -> None:
    topic = topic_with([1, 2])
    handler = Recorder()
    EventSourceMapping(topic, handler, starting_position="TRIM_HORIZON").run()
    assert handler.values == [[1, 2]]


def test_at_timestamp_is_refused_since_the_model_takes_no_timestamp() -> None:
    with pytest.raises(EventSourceMappingError, match="starting_position='AT_TIMESTAMP'"):
        EventSourceMapping(KafkaTopic("orders"), Recorder(), starting_position="AT_TIMESTAMP")


# --- batching ------------------------------------------------------------------------------------


def test_a_full_batch_is_invoked_at_once_and_a_partial_one_when_the_window_closes() -> None:
    # BATCHING: Lambda invokes when the batch size is reached or the window expires; Kafka's
    # default window is 500 ms (MSK_PARAMETERS).
    clock = FakeClock()
    topic = topic_with([1, 2, 3, 4, 5], clock=clock)
    times: list[float] = []
    handler = Recorder(lambda event: times.append(clock()))
    EventSourceMapping(
        topic, handler, batch_size=2, maximum_batching_window=0.5, starting_position="TRIM_HORIZON"
    ).run()
    assert handler.values == [[1, 2], [3, 4], [5]]
    assert times == [1000.0, 1000.0, 1000.5]


def test_a_batch_takes_records_from_every_partition() -> None:
    # MSK_CONFIGURE: "A single Lambda payload can contain messages from multiple partitions."
    topic = topic_with(list(range(6)), partitions=3)
    handler = Recorder()
    EventSourceMapping(topic, handler, batch_size=3, starting_position="TRIM_HORIZON").run()
    first = handler.events[0]
    assert list(first["records"]) == ["orders-0", "orders-1", "orders-2"]


def test_records_of_a_partition_arrive_in_offset_order() -> None:
    topic = KafkaTopic("orders", partitions=2)
    for i in range(20):
        topic.produce(i, key=f"k{i % 3}")
    handler = Recorder()
    EventSourceMapping(topic, handler, batch_size=4, starting_position="TRIM_HORIZON").run()
    for partition in ("orders-0", "orders-1"):
        offsets = [
            r["offset"] for event in handler.events for r in event["records"].get(partition, [])
        ]
        assert offsets == sorted(offsets) == list(range(len(offsets)))


def test_the_6_mb_payload_limit_caps_a_batch() -> None:
    # BATCHING: a batch is invoked when its payload reaches 6 MB.
    topic = KafkaTopic("orders")
    for _ in range(5):
        topic.produce(b"x" * 2_000_000)  # ~2.7 MB each once base64-encoded
    handler = Recorder()
    EventSourceMapping(topic, handler, batch_size=100, starting_position="TRIM_HORIZON").run()
    sizes = [sum(len(b) for b in e["records"].values()) for e in handler.events]
    assert sizes == [2, 2, 1]
    assert all(len(json.dumps(e)) <= 6 * 1024 * 1024 for e in handler.events)


# --- commits and on-demand retries ---------------------------------------------------------------


def test_a_successful_batch_commits_every_partitions_offsets() -> None:
    # MSK_CONFIGURE: "After Lambda processes each batch, it commits the offsets of the messages
    # in that batch."
    topic = topic_with(list(range(6)), partitions=2)
    summary = EventSourceMapping(topic, Recorder(), starting_position="TRIM_HORIZON").run()
    assert (summary.invocations, summary.succeeded, summary.deleted) == (1, 6, 6)
    assert len(topic) == 6  # Kafka keeps what was consumed


def test_without_provisioned_mode_a_failure_retries_the_whole_batch() -> None:
    # MSK_CONFIGURE: "If your function returns an error for any of the messages in a batch,
    # Lambda retries the whole batch of messages until processing succeeds".
    topic = topic_with([1, 2, 3], partitions=2)
    calls: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("down")

    mapping = EventSourceMapping(topic, handler, starting_position="TRIM_HORIZON")
    first = mapping.run(until=lambda s: s.invocations == 1)
    assert first.deleted == 0  # nothing committed after a failure
    summary = mapping.run()
    assert summary.invocations == 3
    assert all(
        [d.outcome for d in h] == [FAILED, FAILED, SUCCEEDED] for h in summary.history.values()
    )
    assert (summary.delivered, summary.failed_attempts, summary.deleted) == (9, 6, 3)


def test_without_provisioned_mode_a_partial_response_is_ignored() -> None:
    # Without ReportBatchItemFailures Lambda ignores the response (it cannot be turned on
    # without provisioned mode, below): the batch succeeded.
    topic = topic_with([1, 2])
    answer = {"batchItemFailures": [{"itemIdentifier": {"partition": "orders-0", "offset": 0}}]}
    summary = EventSourceMapping(topic, Recorder(answer), starting_position="TRIM_HORIZON").run()
    assert (summary.invocations, summary.deleted) == (1, 2)


def test_a_record_too_big_for_any_event_goes_to_the_on_failure_destination() -> None:
    # MSK_ON_FAILURE: condition "MaximumPayloadSizeExceeded", "responseContext": null (no
    # invocation); such a destination needs no provisioned mode.
    topic = KafkaTopic("orders")
    topic.produce(b"x" * 5_000_000)  # 6.7 MB once base64-encoded
    topic.produce(b"small")
    handler = Recorder()
    summary = EventSourceMapping(
        topic, handler, starting_position="TRIM_HORIZON", on_failure=SQS_ARN
    ).run()
    assert [len(e["records"]["orders-0"]) for e in handler.events] == [1]
    (record,) = summary.on_failure
    assert record["requestContext"]["condition"] == "MaximumPayloadSizeExceeded"
    assert record["responseContext"] is None
    assert summary.deleted == 2


def test_a_handler_that_times_out_fails_its_batch() -> None:
    clock = FakeClock()
    topic = topic_with([1], clock=clock)
    runs: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        runs.append(1)
        if len(runs) == 1:
            clock.advance(4)

    summary = EventSourceMapping(
        topic, handler, function_timeout=3, starting_position="TRIM_HORIZON"
    ).run()
    assert [d.outcome for d in summary.history["orders-0@0"]] == [TIMED_OUT, SUCCEEDED]


def test_a_retry_comes_one_simulated_second_after_the_failure() -> None:
    # AWS does not document the interval; the model's choice keeps max_time meaningful.
    clock = FakeClock()
    topic = topic_with([1], clock=clock)
    summary = EventSourceMapping(
        topic, Recorder(lambda e: 1 / 0), starting_position="TRIM_HORIZON"
    ).run(max_time=3.5)
    assert [d.time for d in summary.history["orders-0@0"]] == [1000, 1001, 1002, 1003]
    assert clock() == 1003.5


@pytest.mark.parametrize(
    "option",
    [
        {"report_batch_item_failures": True},
        {"bisect_batch_on_function_error": True},
        {"maximum_retry_attempts": 3},
        {"maximum_record_age": 3600},
        {"on_failure": "kafka://failures"},
    ],
    ids=lambda option: next(iter(option)),
)
def test_error_handling_controls_need_provisioned_mode(option: dict[str, Any]) -> None:
    # RETRY_CONTROLS: "Under Event poller configuration, select provisioned mode to configure
    # error handling controls"; KAFKA_DESTINATION: "Provisioned mode required".
    with pytest.raises(EventSourceMappingError, match="provisioned mode"):
        EventSourceMapping(KafkaTopic("orders"), Recorder(), **option)


@pytest.mark.parametrize(
    ("option", "match"),
    [
        ({"batch_size": 10_001}, "1 to 10000"),
        ({"batch_size": 0}, "1 to 10000"),
        ({"function_timeout": 900}, "14 minutes"),
        ({"parallelization_factor": 2}, "Kinesis"),
        ({"maximum_concurrency": 5}, "SQS"),
        ({"provisioned_mode": True, "maximum_retry_attempts": 10_001}, "0 to 10000"),
        ({"provisioned_mode": True, "maximum_record_age": 59}, "60 to 604800"),
        ({"on_failure": "arn:aws:lambda:us-east-1:123456789012:function:f"}, "on_failure"),
    ],
)
def test_options_aws_refuses_for_kafka_are_refused(option: dict[str, Any], match: str) -> None:
    # MSK_PARAMETERS (BatchSize maximum 10,000; no ParallelizationFactor, no ScalingConfig);
    # MSK_CONFIGURE (functions of up to 14 minutes); RETRY_CONTROLS (0-10000, 60-604800).
    with pytest.raises(EventSourceMappingError, match=match):
        EventSourceMapping(KafkaTopic("orders"), Recorder(), **option)


# --- provisioned mode: partial batch responses ----------------------------------------------------


def provisioned(topic: KafkaTopic, handler: Any, **options: Any) -> EventSourceMapping:
    return EventSourceMapping(
        topic,
        handler,
        starting_position="TRIM_HORIZON",
        provisioned_mode=True,
        report_batch_item_failures=True,
        **options,
    )


def test_only_the_reported_records_are_retried() -> None:
    # RETRY_CONTROLS ("PartialBatchResponse"): "the handler returns identifiers only for the
    # failed messages, allowing Lambda to retry just those specific items".
    topic = topic_with([10, 11, 12, 13])
    answers = iter(
        [{"batchItemFailures": [{"itemIdentifier": {"partition": "orders-0", "offset": 1}}]}]
    )
    handler = Recorder(lambda event: next(answers, None))
    mapping = provisioned(topic, handler)
    first = mapping.run(until=lambda s: s.invocations == 1)
    assert first.deleted == 1  # committed up to the failed record, offset 1
    summary = mapping.run()
    assert handler.values == [[10, 11, 12, 13], [11]]
    assert summary.deleted == 4


def test_partitions_without_a_reported_failure_are_committed() -> None:
    topic = topic_with([1, 2, 3, 4], partitions=2)
    answers = iter(
        [{"batchItemFailures": [{"itemIdentifier": {"partition": "orders-1", "offset": 0}}]}]
    )
    mapping = provisioned(topic, Recorder(lambda event: next(answers, None)))
    first = mapping.run(until=lambda s: s.invocations == 1)
    assert first.deleted == 2  # orders-0 fully; orders-1 stops at offset 0


@pytest.mark.parametrize(
    "answer",
    [
        {"batchItemFailures": [{"itemIdentifier": {"partition": "orders-0", "offset": 7}}]},
        {"batchItemFailures": [{"itemIdentifier": {"partition": "orders-9", "offset": 0}}]},
        {"batchItemFailures": [{"itemIdentifier": "orders-0@0"}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        "not a response",
    ],
    ids=["unknown offset", "unknown partition", "a string identifier", "null", "not an object"],
)
def test_an_invalid_partial_response_retries_the_entire_batch(answer: Any) -> None:
    # RETRY_CONTROLS: "Any invalid topic-partition_number or offset returned that was not
    # present in the invoked event will be treated as failure and entire batch will be retried."
    topic = topic_with([1, 2])
    answers = iter([answer])
    handler = Recorder(lambda event: next(answers, None))
    summary = provisioned(topic, handler).run()
    assert handler.values == [[1, 2], [1, 2]]
    assert summary.failed_attempts == 2


@pytest.mark.parametrize("answer", [None, {}, {"batchItemFailures": []}])
def test_an_empty_or_null_response_is_a_success(answer: Any) -> None:
    # RETRY_CONTROLS: "If you return an empty valid JSON or null, the event source mapping will
    # consider a batch as successfully processed."
    summary = provisioned(topic_with([1, 2]), Recorder(answer)).run()
    assert (summary.invocations, summary.succeeded, summary.deleted) == (1, 2, 2)


# --- provisioned mode: retries, record age, bisecting, on-failure destinations -------------------


def test_after_its_retry_attempts_a_record_goes_to_the_on_failure_destination() -> None:
    # RETRY_CONTROLS: "Maximum retry attempts ... This doesn't count the initial invocation";
    # MSK_ON_FAILURE: the SQS / SNS invocation record.
    topic = topic_with([1, 2])
    summary = provisioned(
        topic, process_batch(failing(2)), maximum_retry_attempts=2, on_failure=SQS_ARN
    ).run()
    assert [d.outcome for d in summary.history["orders-0@1"]] == [FAILED, FAILED, FAILED]
    assert summary.deleted == 2  # committed past the record given up on
    (record,) = summary.on_failure
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].startswith("arn:aws:lambda:")
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["version"] == "1.0"
    info = record["KafkaBatchInfo"]
    assert info["batchSize"] == 1
    assert info["eventSourceArn"].startswith("arn:aws:kafka:")
    assert info["recordsInfo"] == {
        "orders-0": {
            "firstRecordOffset": "1",
            "lastRecordOffset": "1",
            "firstRecordTimestamp": "2026-01-01T00:16:40.000Z",
            "lastRecordTimestamp": "2026-01-01T00:16:40.000Z",
        }
    }
    assert "payload" not in record  # only S3 destinations get the event


def test_a_handler_error_is_reported_as_unhandled() -> None:
    topic = topic_with([1])
    summary = EventSourceMapping(
        topic,
        Recorder(lambda e: 1 / 0),
        starting_position="TRIM_HORIZON",
        provisioned_mode=True,
        maximum_retry_attempts=0,
        on_failure=SQS_ARN,
    ).run()
    (record,) = summary.on_failure
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["requestContext"]["approximateInvokeCount"] == 1


def test_without_a_destination_a_record_past_its_retries_is_skipped() -> None:
    summary = provisioned(
        topic_with([1, 2]), process_batch(failing(1)), maximum_retry_attempts=0
    ).run()
    assert summary.on_failure == []
    assert (summary.deleted, summary.invocations) == (2, 1)


def test_infinite_retries_with_a_destination_mean_ten() -> None:
    # KAFKA_DESTINATION: "When you configure both infinite retries and an on-failure destination,
    # Lambda automatically applies a maximum of 10 retry attempts."
    summary = provisioned(topic_with([1]), process_batch(failing(1)), on_failure=SQS_ARN).run()
    assert len(summary.history["orders-0@0"]) == 11
    assert len(summary.on_failure) == 1


def test_an_s3_destination_gets_the_whole_event_too() -> None:
    # MSK_ON_FAILURE: "the payload field contains the original invocation record as an escaped
    # JSON string" (S3 only).
    summary = provisioned(
        topic_with([1]),
        process_batch(failing(1)),
        maximum_retry_attempts=0,
        on_failure="arn:aws:s3:::failed-batches",
    ).run()
    payload = json.loads(summary.on_failure[0]["payload"])
    assert payload["eventSource"] == "aws:kafka"
    assert values_of(payload) == [1]


def test_a_list_or_a_queue_model_receives_the_records_as_for_streams() -> None:
    # The destinations the stream sources take (an SQSQueue gets each record as JSON text).
    received: list[dict[str, Any]] = []
    summary = provisioned(
        topic_with([1]), process_batch(failing(1)), maximum_retry_attempts=0, on_failure=received
    ).run()
    assert received == summary.on_failure
    assert received[0]["KafkaBatchInfo"]["batchSize"] == 1


def test_a_kafka_destination_gets_each_record_with_its_key() -> None:
    # KAFKA_DESTINATION: one message per failed record, metadata and the record itself; "Lambda
    # uses the same partition key from the original record".
    clock = FakeClock()
    topic = KafkaTopic("orders", clock=clock)
    topic.produce({"n": 1}, key="order-1")
    failures = KafkaTopic("orders-failed", partitions=3, clock=clock)
    summary = provisioned(
        topic, Recorder(lambda e: 1 / 0), maximum_retry_attempts=1, on_failure=failures
    ).run()
    (message,) = summary.on_failure
    assert message["requestContext"]["condition"] == "RetriesExhausted"  # as that page spells it
    assert message["KafkaBatchInfo"]["batchSize"] == 1
    assert message["KafkaBatchInfo"]["recordInfo"] == {
        "offset": "0",
        "timestamp": "2026-01-01T00:16:40.000Z",
    }
    assert message["payload"]["records"]["orders-0"] == topic.records()
    (produced,) = failures.records()
    assert base64.b64decode(produced["key"]) == b"order-1"
    assert produced["partition"] == partition_for_key(b"order-1", 3)
    assert json.loads(base64.b64decode(produced["value"])) == message


def test_a_kafka_destination_cannot_be_the_source_topic() -> None:
    # KAFKA_DESTINATION: "Lambda prevents infinite loops by blocking configurations where the
    # source and destination topics are the same."
    topic = KafkaTopic("orders")
    with pytest.raises(EventSourceMappingError, match="cannot be the source topic"):
        provisioned(topic, Recorder(), on_failure="kafka://orders")


def test_records_older_than_the_maximum_record_age_are_not_sent_to_the_function() -> None:
    # RETRY_CONTROLS: "Maximum record age - The maximum age of a record that Lambda sends to
    # your function." The invocation record's condition is not documented for Kafka; the
    # model writes "RecordAgeExceeded", as for streams.
    clock = FakeClock()
    topic = topic_with([1], clock=clock)
    mapping = provisioned(
        topic,
        Recorder(lambda e: 1 / 0),
        maximum_record_age=60,
        maximum_retry_attempts=10_000,
        on_failure=SQS_ARN,
    )
    summary = mapping.run()
    # retried each second while younger than 60 s: at 1000, 1001 ... 1059
    assert len(summary.history["orders-0@0"]) == 60
    (record,) = summary.on_failure
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["responseContext"] is None  # no invocation behind this record
    assert clock() == 1060
    assert summary.deleted == 1


def test_bisecting_isolates_the_record_that_fails() -> None:
    # RETRY_CONTROLS: "Split batch on error - When your function returns an error, split the
    # batch into two smaller batches and retry each separately."
    topic = topic_with([1, 2, 3, 4])
    handler = Recorder(lambda event: 1 / 0 if 3 in values_of(event) else None)
    summary = EventSourceMapping(
        topic,
        handler,
        starting_position="TRIM_HORIZON",
        provisioned_mode=True,
        bisect_batch_on_function_error=True,
        maximum_retry_attempts=2,
        on_failure=SQS_ARN,
    ).run()
    assert handler.values == [[1, 2, 3, 4], [1, 2], [3, 4], [3], [4]]
    assert [
        r["KafkaBatchInfo"]["recordsInfo"]["orders-0"]["firstRecordOffset"]
        for r in summary.on_failure
    ] == ["2"]
    assert summary.deleted == 4


# --- filtering -----------------------------------------------------------------------------------


def test_filtered_records_are_dropped_without_invoking_and_committed() -> None:
    # FILTERING: "For Amazon MSK and self-managed Apache Kafka, Lambda commits offsets for
    # matched and unmatched messages after successfully invoking the function."
    topic = topic_with([{"kind": "order"}, {"kind": "ping"}, {"kind": "order"}, {"kind": "ping"}])
    handler = Recorder()
    summary = EventSourceMapping(
        topic,
        handler,
        starting_position="TRIM_HORIZON",
        filter_criteria={"value": {"kind": ["order"]}},
    ).run()
    assert handler.values == [[{"kind": "order"}, {"kind": "order"}]]
    assert summary.filtered == 2
    assert [d.outcome for d in summary.history["orders-0@1"]] == [FILTERED]
    assert summary.history["orders-0@1"][0].invocation == 0
    assert summary.deleted == 4


def test_a_topic_of_filtered_records_is_committed_without_any_invocation() -> None:
    topic = topic_with(["a", "b"])
    summary = EventSourceMapping(
        topic, Recorder(), starting_position="TRIM_HORIZON", filter_criteria={"value": ["z"]}
    ).run()
    assert (summary.invocations, summary.filtered, summary.deleted) == (0, 2, 2)


# --- clocks, duplicates, the summary -------------------------------------------------------------


def test_a_mapping_without_a_clock_shares_the_topics() -> None:
    topic = KafkaTopic("orders")
    mapping = EventSourceMapping(topic, Recorder())
    assert mapping.clock is topic.clock


def test_a_topic_without_a_clock_adopts_the_mappings_keeping_record_ages() -> None:
    topic = KafkaTopic("orders")
    topic.produce(1)
    clock = FakeClock(start=5000)
    mapping = provisioned(topic, Recorder(lambda e: 1 / 0), maximum_record_age=60, clock=clock)
    assert topic.clock is clock
    mapping.run()
    assert clock() == 5060  # the record was new when the mapping started


def test_duplicate_values_and_the_most_deliveries_are_counted() -> None:
    topic = topic_with([7, 7, 8])
    summary = provisioned(topic, process_batch(failing(8, times=2))).run()
    assert summary.duplicates_delivered == 1
    assert summary.max_receive_count == 3
