"""Deadline awareness, async record handlers, and refusing events that are not batches."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lambdakit.batch import (
    BatchConfigurationError,
    EventSource,
    EventSourceMismatchError,
    InvalidRecordError,
    KinesisRecord,
    NotABatchEventError,
    SQSRecord,
    UnknownEventSourceError,
    process_batch,
)
from lambdakit.testing import FakeClock, LambdaContext, kinesis_event, sqs_event


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


class TestDeadline:
    def test_records_not_started_before_the_margin_are_reported(self) -> None:
        clock = FakeClock()
        context = LambdaContext(timeout=10, clock=clock)
        event = sqs_event([str(i) for i in range(10)])
        ran: list[str] = []

        @process_batch(deadline_margin_ms=2_500)
        def handler(record: SQSRecord) -> None:
            ran.append(record.body)
            clock.advance(2)  # each record takes 2 s

        response = handler(event, context)
        # Started with 10 s, 8 s, 6 s and 4 s left; 2 s left is less than the margin.
        assert ran == ["0", "1", "2", "3"]
        assert failed_ids(response) == [r["messageId"] for r in event["Records"][4:]]

    def test_streams_report_the_first_record_not_started(self) -> None:
        clock = FakeClock()
        context = LambdaContext(timeout=5, clock=clock)
        event = kinesis_event(["a", "b", "c"])

        @process_batch(deadline_margin_ms=3_500)
        def handler(record: KinesisRecord) -> None:
            clock.advance(1)

        expected = event["Records"][2]["kinesis"]["sequenceNumber"]
        assert failed_ids(handler(event, context)) == [expected]

    def test_the_first_record_always_starts(self) -> None:
        clock = FakeClock()
        context = LambdaContext(timeout=1, clock=clock)
        event = sqs_event(["a", "b"])
        handler = process_batch(deadline_margin_ms=5_000)(lambda record: None)
        assert failed_ids(handler(event, context)) == [event["Records"][1]["messageId"]]

    def test_a_context_that_reports_no_time_does_not_starve_the_batch(self) -> None:
        class ZeroContext:
            def get_remaining_time_in_millis(self) -> int:
                return 0

        handler = process_batch(lambda record: None)
        assert handler(sqs_event(["a", "b"]), ZeroContext()) == {"batchItemFailures": []}

    def test_a_zero_margin_disables_the_deadline(self) -> None:
        clock = FakeClock()
        context = LambdaContext(timeout=1, clock=clock)

        @process_batch(deadline_margin_ms=0)
        def handler(record: SQSRecord) -> None:
            clock.advance(5)

        assert handler(sqs_event(["a", "b"]), context) == {"batchItemFailures": []}

    def test_concurrent_batches_stop_starting_records_at_the_deadline(self) -> None:
        clock = FakeClock()
        context = LambdaContext(timeout=10, clock=clock)
        event = sqs_event([str(i) for i in range(6)])

        @process_batch(concurrency=2, deadline_margin_ms=5_000)
        def handler(record: SQSRecord) -> None:
            if record.body == "1":
                clock.advance(6)

        failed = set(failed_ids(handler(event, context)))
        assert event["Records"][1]["messageId"] not in failed
        assert event["Records"][5]["messageId"] in failed


class TestAsyncHandlers:
    def test_async_record_handlers_are_awaited(self, lambda_context: LambdaContext) -> None:
        event = sqs_event(["ok", "bad"])

        @process_batch
        async def handler(record: SQSRecord) -> None:
            await asyncio.sleep(0)
            if record.body == "bad":
                raise ValueError

        assert failed_ids(handler(event, lambda_context)) == [event["Records"][1]["messageId"]]

    def test_async_concurrency_overlaps_records(self, lambda_context: LambdaContext) -> None:
        in_flight = 0
        peak = 0

        @process_batch(concurrency=5)
        async def handler(record: SQSRecord) -> None:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1

        handler(sqs_event([str(i) for i in range(10)]), lambda_context)
        assert peak == 5

    def test_async_fifo_groups_keep_order(self, lambda_context: LambdaContext) -> None:
        groups = ["a", "b", "a", "b", "a"]
        event = sqs_event(["a0", "b1", "a2-bad", "b3", "a4"], group_ids=groups)
        ran: list[str] = []

        @process_batch(concurrency=2)
        async def handler(record: SQSRecord) -> None:
            await asyncio.sleep(0)
            ran.append(record.body)
            if record.body.endswith("bad"):
                raise ValueError

        ids = [r["messageId"] for r in event["Records"]]
        assert failed_ids(handler(event, lambda_context)) == [ids[2], ids[4]]
        assert "a4" not in ran

    def test_async_handler_called_from_a_running_loop(self, lambda_context: LambdaContext) -> None:
        handler = process_batch(_async_noop)

        async def main() -> dict[str, Any]:
            return handler(sqs_event(["a"]), lambda_context)

        assert asyncio.run(main()) == {"batchItemFailures": []}


async def _async_noop(record: SQSRecord) -> None:
    await asyncio.sleep(0)


class TestBadInput:
    handler = staticmethod(process_batch(lambda record: None))

    def test_an_event_that_is_not_a_dict(self) -> None:
        with pytest.raises(NotABatchEventError, match="got list"):
            self.handler([], None)

    def test_an_event_without_records(self) -> None:
        with pytest.raises(NotABatchEventError, match="no 'Records' key"):
            self.handler({"detail-type": "x"}, None)

    def test_records_that_are_not_a_list(self) -> None:
        with pytest.raises(NotABatchEventError, match=r"event\.Records: expected a list"):
            self.handler({"Records": {"a": 1}}, None)

    def test_a_record_that_is_not_an_object(self) -> None:
        with pytest.raises(InvalidRecordError, match=r"Records\[0\]"):
            self.handler({"Records": ["x"]}, None)

    def test_an_unknown_event_source_names_the_record(self) -> None:
        event = sqs_event(["a", "b"])
        event["Records"][1]["eventSource"] = "aws:s3"
        with pytest.raises(UnknownEventSourceError, match=r"Records\[1\]\.eventSource: 'aws:s3'"):
            self.handler(event, None)

    def test_a_missing_event_source_asks_for_an_explicit_one(self) -> None:
        event = sqs_event(["a"])
        del event["Records"][0]["eventSource"]
        with pytest.raises(UnknownEventSourceError, match="pass source="):
            self.handler(event, None)

    def test_an_explicit_source_covers_records_without_one(self) -> None:
        event = sqs_event(["a"])
        del event["Records"][0]["eventSource"]
        handler = process_batch(source="sqs")(lambda record: None)
        assert handler(event, None) == {"batchItemFailures": []}
        handler = process_batch(source=EventSource.SQS)(lambda record: None)
        assert handler(event, None) == {"batchItemFailures": []}

    def test_mixed_sources_are_refused(self) -> None:
        event = {"Records": sqs_event(["a"])["Records"] + kinesis_event(["b"])["Records"]}
        with pytest.raises(EventSourceMismatchError, match=r"Records\[1\]\.eventSource"):
            self.handler(event, None)

    def test_a_record_missing_its_identifier_fails_before_any_record_runs(self) -> None:
        event = sqs_event(["a", "b", "c", "d"])
        del event["Records"][3]["messageId"]
        ran: list[str] = []
        handler = process_batch(lambda record: ran.append(record.body))
        with pytest.raises(InvalidRecordError, match=r"Records\[3\]\.messageId: missing") as err:
            handler(event, None)
        assert (err.value.index, err.value.field) == (3, "messageId")
        assert ran == []

    def test_a_stream_sequence_number_must_be_decimal(self) -> None:
        event = kinesis_event(["a"])
        event["Records"][0]["kinesis"]["sequenceNumber"] = "abc"
        with pytest.raises(InvalidRecordError, match=r"kinesis\.sequenceNumber: not a decimal"):
            self.handler(event, None)

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"concurrency": 0}, "concurrency"),
            ({"concurrency": 2.5}, "concurrency"),
            ({"deadline_margin_ms": -1}, "deadline_margin_ms"),
        ],
    )
    def test_bad_options_fail_when_the_decorator_is_applied(
        self, options: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(BatchConfigurationError, match=message):
            process_batch(**options)

    def test_an_unknown_explicit_source_fails_when_the_decorator_is_applied(self) -> None:
        with pytest.raises(UnknownEventSourceError, match="source='s3'"):
            process_batch(source="s3")
