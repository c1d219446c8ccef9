"""process_batch on SQS: standard queues report exactly the records that raised; FIFO queues
stop a message group at its first failure."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from lambdakit.batch import AllRecordsFailedError, SQSRecord, process_batch
from lambdakit.testing import LambdaContext, sqs_event


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def ids(event: dict[str, Any], *indices: int) -> list[str]:
    return [event["Records"][i]["messageId"] for i in indices]


class TestStandardQueue:
    def test_only_records_that_raised_are_reported(self, lambda_context: LambdaContext) -> None:
        event = sqs_event(["ok", "bad", "ok", "bad", "ok"])

        @process_batch
        def handler(record: SQSRecord) -> None:
            if record.body == "bad":
                raise ValueError("refused")

        assert failed_ids(handler(event, lambda_context)) == ids(event, 1, 3)

    def test_a_batch_without_failures_reports_none(self, lambda_context: LambdaContext) -> None:
        handler = process_batch(lambda record: None)
        assert handler(sqs_event(["a", "b"]), lambda_context) == {"batchItemFailures": []}

    def test_an_empty_batch_reports_no_failures(self, lambda_context: LambdaContext) -> None:
        handler = process_batch(lambda record: None)
        assert handler({"Records": []}, lambda_context) == {"batchItemFailures": []}

    def test_every_record_runs_once_in_order(self, lambda_context: LambdaContext) -> None:
        seen: list[str] = []
        handler = process_batch(lambda record: seen.append(record.body))
        handler(sqs_event(["1", "2", "3"]), lambda_context)
        assert seen == ["1", "2", "3"]

    def test_all_records_failing_are_all_reported(self, lambda_context: LambdaContext) -> None:
        event = sqs_event(["a", "b"])

        @process_batch
        def handler(record: SQSRecord) -> None:
            raise RuntimeError("down")

        assert failed_ids(handler(event, lambda_context)) == ids(event, 0, 1)

    def test_all_records_failing_can_raise_instead(self, lambda_context: LambdaContext) -> None:
        @process_batch(raise_on_all_failed=True)
        def handler(record: SQSRecord) -> None:
            raise RuntimeError(f"down {record.body}")

        with pytest.raises(AllRecordsFailedError, match="all 2 records") as caught:
            handler(sqs_event(["a", "b"]), lambda_context)
        assert [str(e) for e in caught.value.exceptions] == ["down a", "down b"]
        assert isinstance(caught.value.__cause__, RuntimeError)

    def test_raise_on_all_failed_does_not_raise_on_partial_failure(
        self, lambda_context: LambdaContext
    ) -> None:
        @process_batch(raise_on_all_failed=True)
        def handler(record: SQSRecord) -> None:
            if record.body == "bad":
                raise RuntimeError

        event = sqs_event(["bad", "ok"])
        assert failed_ids(handler(event, lambda_context)) == ids(event, 0)

    def test_the_handler_may_take_the_lambda_context(self, lambda_context: LambdaContext) -> None:
        contexts: list[Any] = []

        @process_batch
        def handler(record: SQSRecord, context: Any) -> None:
            contexts.append(context)

        handler(sqs_event(["a"]), lambda_context)
        assert contexts == [lambda_context]

    def test_the_context_may_be_omitted(self) -> None:
        handler = process_batch(lambda record: None)
        assert handler(sqs_event(["a"])) == {"batchItemFailures": []}

    def test_failures_are_logged_with_the_record_id(
        self, lambda_context: LambdaContext, caplog: pytest.LogCaptureFixture
    ) -> None:
        event = sqs_event(["bad"])

        @process_batch
        def handler(record: SQSRecord) -> None:
            raise ValueError("refused")

        with caplog.at_level(logging.WARNING, logger="lambdakit.batch"):
            handler(event, lambda_context)
        # After the batch's summary line, the failure with its traceback.
        (message,) = [r for r in caplog.records if r.name == "lambdakit.batch" and r.exc_info]
        assert event["Records"][0]["messageId"] in message.getMessage()

    def test_base_exceptions_are_not_swallowed(self, lambda_context: LambdaContext) -> None:
        @process_batch
        def handler(record: SQSRecord) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            handler(sqs_event(["a"]), lambda_context)

    def test_the_decorated_handler_keeps_its_name(self) -> None:
        @process_batch(concurrency=2)
        def record_handler(record: SQSRecord) -> None:
            """Docs."""

        assert record_handler.__name__ == "record_handler"
        assert record_handler.__doc__ == "Docs."


class TestFifoQueue:
    def test_a_failure_reports_the_rest_of_its_group_without_running_it(
        self, lambda_context: LambdaContext
    ) -> None:
        event = sqs_event(
            ["a1", "b1", "a2-bad", "b2", "a3", "b3"],
            group_ids=["a", "b", "a", "b", "a", "b"],
        )
        ran: list[str] = []

        @process_batch
        def handler(record: SQSRecord) -> None:
            ran.append(record.body)
            if record.body.endswith("bad"):
                raise ValueError

        assert failed_ids(handler(event, lambda_context)) == ids(event, 2, 4)
        assert ran == ["a1", "b1", "a2-bad", "b2", "b3"]

    def test_fifo_is_detected_from_the_queue_name(self, lambda_context: LambdaContext) -> None:
        event = sqs_event(["x-bad", "y"], group_ids="g")

        @process_batch
        def handler(record: SQSRecord) -> None:
            if record.body == "x-bad":
                raise ValueError

        # Same group: the second record is not run and is reported.
        assert failed_ids(handler(event, lambda_context)) == ids(event, 0, 1)

    def test_a_fifo_record_without_a_group_is_refused_before_anything_runs(
        self, lambda_context: LambdaContext
    ) -> None:
        from lambdakit.batch import InvalidRecordError

        event = sqs_event(["a", "b"], group_ids="g")
        del event["Records"][1]["attributes"]["MessageGroupId"]
        ran: list[str] = []
        handler = process_batch(lambda record: ran.append(record.body))
        with pytest.raises(InvalidRecordError, match=r"Records\[1\]\.attributes\.MessageGroupId"):
            handler(event, lambda_context)
        assert ran == []


class TestConcurrency:
    def test_standard_records_run_in_parallel(self, lambda_context: LambdaContext) -> None:
        barrier = threading.Barrier(4, timeout=10)

        @process_batch(concurrency=4)
        def handler(record: SQSRecord) -> None:
            barrier.wait()  # only returns if four records run at once

        assert handler(sqs_event(["a", "b", "c", "d"]), lambda_context) == {"batchItemFailures": []}

    def test_a_fifo_group_stays_sequential_while_groups_run_in_parallel(
        self, lambda_context: LambdaContext
    ) -> None:
        groups = ["a", "b"] * 6
        event = sqs_event([f"{g}{i}" for i, g in enumerate(groups)], group_ids=groups)
        barrier = threading.Barrier(2, timeout=10)
        order: dict[str, list[str]] = {"a": [], "b": []}
        lock = threading.Lock()

        @process_batch(concurrency=4)
        def handler(record: SQSRecord) -> None:
            group = record.message_group_id
            assert group is not None
            with lock:
                order[group].append(record.body)
            if len(order[group]) == 1:
                barrier.wait()  # both groups' first records are in flight together

        handler(event, lambda_context)
        assert order["a"] == [f"a{i}" for i in range(0, 12, 2)]
        assert order["b"] == [f"b{i}" for i in range(1, 12, 2)]

    def test_concurrent_fifo_failure_stops_only_its_group(
        self, lambda_context: LambdaContext
    ) -> None:
        groups = ["a", "b", "a", "b", "a", "b"]
        event = sqs_event(["a0", "b1", "a2", "b3-bad", "a4", "b5"], group_ids=groups)

        @process_batch(concurrency=3)
        def handler(record: SQSRecord) -> None:
            if record.body.endswith("bad"):
                raise ValueError

        assert failed_ids(handler(event, lambda_context)) == ids(event, 3, 5)

    def test_the_pool_is_reused_across_invocations(self, lambda_context: LambdaContext) -> None:
        names: set[str] = set()

        @process_batch(concurrency=2)
        def handler(record: SQSRecord) -> None:
            names.add(threading.current_thread().name)

        for _ in range(5):
            handler(sqs_event(["a", "b", "c"]), lambda_context)
        assert len(names) <= 2
