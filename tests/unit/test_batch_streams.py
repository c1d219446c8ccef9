"""process_batch on Kinesis and DynamoDB Streams: Lambda checkpoints at one sequence number, so
the response carries the lowest sequence number that failed or did not run."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from lambdakit.batch import DynamoDBRecord, KinesisRecord, process_batch
from lambdakit.errors import InvalidRecordError
from lambdakit.testing import LambdaContext, dynamodb_stream_event, kinesis_event


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def kinesis_seq(event: dict[str, Any], index: int) -> str:
    return str(event["Records"][index]["kinesis"]["sequenceNumber"])


class TestKinesisSequential:
    def test_processing_stops_at_the_first_failure(self, lambda_context: LambdaContext) -> None:
        event = kinesis_event(["a", "b", "bad", "c", "bad"])
        ran: list[bytes] = []

        @process_batch
        def handler(record: KinesisRecord) -> None:
            ran.append(record.data)
            if record.data == b"bad":
                raise ValueError

        assert failed_ids(handler(event, lambda_context)) == [kinesis_seq(event, 2)]
        assert ran == [b"a", b"b", b"bad"]

    def test_no_failure_reports_nothing(self, lambda_context: LambdaContext) -> None:
        handler = process_batch(lambda record: None)
        assert handler(kinesis_event(["a", "b"]), lambda_context) == {"batchItemFailures": []}

    def test_sequence_numbers_compare_as_numbers_not_strings(
        self, lambda_context: LambdaContext
    ) -> None:
        # "999..." > "1000..." as strings; Lambda compares numbers.
        event = kinesis_event(["bad-later", "bad-first"], partition_keys=["k1", "k2"])
        event["Records"][0]["kinesis"]["sequenceNumber"] = "1000"
        event["Records"][1]["kinesis"]["sequenceNumber"] = "999"

        @process_batch(concurrency=2)
        def handler(record: KinesisRecord) -> None:
            raise ValueError

        assert failed_ids(handler(event, lambda_context)) == ["999"]


class TestKinesisConcurrent:
    def test_partition_keys_run_in_parallel_and_in_order_within_a_key(
        self, lambda_context: LambdaContext
    ) -> None:
        keys = ["k1", "k2"] * 5
        event = kinesis_event([f"{k}-{i}" for i, k in enumerate(keys)], partition_keys=keys)
        barrier = threading.Barrier(2, timeout=10)
        seen: dict[str, list[str]] = {"k1": [], "k2": []}

        @process_batch(concurrency=4)
        def handler(record: KinesisRecord) -> None:
            seen[record.partition_key].append(record.data.decode())
            if len(seen[record.partition_key]) == 1:
                barrier.wait()

        assert handler(event, lambda_context) == {"batchItemFailures": []}
        assert seen["k1"] == [f"k1-{i}" for i in range(0, 10, 2)]
        assert seen["k2"] == [f"k2-{i}" for i in range(1, 10, 2)]

    def test_reports_the_lowest_failed_sequence_number(self, lambda_context: LambdaContext) -> None:
        keys = ["k1", "k2", "k3", "k1", "k2", "k3"]
        event = kinesis_event(["ok", "ok", "ok", "ok", "bad", "bad"], partition_keys=keys)

        @process_batch(concurrency=3)
        def handler(record: KinesisRecord) -> None:
            if record.data == b"bad":
                raise ValueError

        assert failed_ids(handler(event, lambda_context)) == [kinesis_seq(event, 4)]

    def test_records_after_a_failure_in_the_same_key_do_not_run(
        self, lambda_context: LambdaContext
    ) -> None:
        event = kinesis_event(["bad", "after"], partition_keys="k")
        ran: list[bytes] = []

        @process_batch(concurrency=4)
        def handler(record: KinesisRecord) -> None:
            ran.append(record.data)
            raise ValueError

        assert failed_ids(handler(event, lambda_context)) == [kinesis_seq(event, 0)]
        assert ran == [b"bad"]


class TestDynamoDBStreams:
    def test_stops_at_the_first_failure_and_reports_its_sequence_number(
        self, lambda_context: LambdaContext
    ) -> None:
        event = dynamodb_stream_event(
            [{"new_image": {"id": str(i), "ok": i != 1}} for i in range(4)]
        )
        ran: list[str] = []

        @process_batch
        def handler(record: DynamoDBRecord) -> None:
            image = record.new_image
            assert image is not None
            ran.append(image["id"])
            if not image["ok"]:
                raise ValueError

        expected = event["Records"][1]["dynamodb"]["SequenceNumber"]
        assert failed_ids(handler(event, lambda_context)) == [expected]
        assert ran == ["0", "1"]

    def test_changes_to_one_item_stay_in_order_under_concurrency(
        self, lambda_context: LambdaContext
    ) -> None:
        changes = [{"new_image": {"id": "same", "v": v}} for v in range(20)]
        changes += [{"new_image": {"id": f"other-{v}", "v": v}} for v in range(20)]
        seen: list[int] = []

        @process_batch(concurrency=8)
        def handler(record: DynamoDBRecord) -> None:
            if record.keys == {"id": "same"}:
                seen.append(int(record.new_image["v"]))  # type: ignore[index]

        handler(dynamodb_stream_event(changes), lambda_context)
        assert seen == list(range(20))


class TestSequenceNumbersAreCheckedBeforeAnyRecordRuns:
    """A stream's sequence numbers decide the checkpoint, so one that is not a plain ASCII
    decimal number of a size Kinesis or DynamoDB Streams can issue fails the invocation with a
    typed error before any record runs (Lambda retries the batch; nothing is reported wrongly)."""

    @pytest.mark.parametrize(
        ("value", "problem"),
        [
            ("²", "not a decimal sequence number"),  # str.isdigit() is true, int() fails
            ("\u0661\u0660", "not a decimal sequence number"),  # Arabic-Indic 10: int() reads 10
            ("12a", "not a decimal sequence number"),
            ("-5", "not a decimal sequence number"),
            (" 5", "not a decimal sequence number"),
            ("1" * 5000, "longer than any sequence number"),  # past int()'s digit limit
            ("9" * 130, "longer than any sequence number"),
        ],
    )
    @pytest.mark.parametrize("source", ["kinesis", "dynamodb"])
    def test_a_sequence_number_that_is_not_ascii_decimal_digits_is_refused(
        self, source: str, value: str, problem: str
    ) -> None:
        if source == "kinesis":
            event = kinesis_event(["a", "b"])
            event["Records"][1]["kinesis"]["sequenceNumber"] = value
            field = "kinesis.sequenceNumber"
        else:
            event = dynamodb_stream_event([{"new_image": {"id": "a"}}, {"new_image": {"id": "b"}}])
            event["Records"][1]["dynamodb"]["SequenceNumber"] = value
            field = "dynamodb.SequenceNumber"
        ran: list[object] = []
        with pytest.raises(InvalidRecordError, match=rf"^Records\[1\]\.{field}: {problem}"):
            process_batch(ran.append)(event, None)
        assert ran == []

    def test_the_longest_sequence_number_kinesis_issues_is_accepted(self) -> None:
        event = kinesis_event(["a", "b"])
        event["Records"][0]["kinesis"]["sequenceNumber"] = "9" * 128
        event["Records"][1]["kinesis"]["sequenceNumber"] = "1" + "0" * 128

        def handler(record: KinesisRecord) -> None:
            raise ValueError("fails")

        # Compared as numbers, not strings: the 129-digit one is the larger.
        response = process_batch(handler)(event, None)
        assert failed_ids(response) == ["9" * 128]
