"""What process_batch reports about each batch (the BatchOutcome handed to the summary line and
the metrics), how many failures it keeps for logging, when it logs, how its deadline flag
keeps records from starting, and the options that configure it.

The outcome is observed where process_batch hands it over: ``report(outcome, metrics=...)``,
replaced here by a recorder.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any, ClassVar

import pytest

from lambdakit._internal.metrics import DUPLICATES_ANSWERED, STALE_SECRETS_SERVED, count
from lambdakit.batch import (
    AllRecordsFailedError,
    BatchConfigurationError,
    KinesisRecord,
    SQSRecord,
    _decorator,
    _run,
    process_batch,
)
from lambdakit.batch._outcome import BatchOutcome
from lambdakit.filtering import FilterCriteria, filter_records
from lambdakit.testing import FakeClock, LambdaContext, kinesis_event, sqs_event


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> list[BatchOutcome]:
    """Every outcome process_batch reports, in order."""
    seen: list[BatchOutcome] = []

    def record(outcome: BatchOutcome, *, metrics: bool) -> None:
        seen.append(outcome)

    monkeypatch.setattr(_decorator, "report", record)
    return seen


def counts_of(outcome: BatchOutcome) -> tuple[int, int, int, int]:
    return outcome.succeeded, outcome.failed, outcome.not_run, outcome.deferred


def failed_ids(response: dict[str, Any]) -> list[Any]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def fail_on(*bodies: str) -> Any:
    def handler(record: SQSRecord) -> None:
        if record.body in bodies:
            raise ValueError(record.body)

    return handler


# --- counts ------------------------------------------------------------------------------------


class TestCounts:
    @pytest.mark.parametrize("concurrency", [1, 3])
    def test_a_standard_queue_counts_what_succeeded_and_what_failed(
        self, outcomes: list[BatchOutcome], concurrency: int
    ) -> None:
        event = sqs_event(["a", "bad", "b", "bad2", "c"])
        process_batch(concurrency=concurrency)(fail_on("bad", "bad2"))(event, LambdaContext())
        [outcome] = outcomes
        assert (outcome.source, outcome.size) == ("sqs", 5)
        assert counts_of(outcome) == (3, 2, 0, 0)
        assert outcome.all_succeeded is False

    @pytest.mark.parametrize("concurrency", [1, 2])
    def test_a_fifo_group_after_its_failure_counts_as_not_run(
        self, outcomes: list[BatchOutcome], concurrency: int
    ) -> None:
        event = sqs_event(
            ["a1", "b1", "a2-bad", "b2", "a3", "a4"], group_ids=["a", "b", "a", "b", "a", "a"]
        )
        handler = process_batch(concurrency=concurrency)(fail_on("a2-bad"))
        response = handler(event, LambdaContext())
        [outcome] = outcomes
        assert counts_of(outcome) == (3, 1, 2, 0)
        assert len(failed_ids(response)) == outcome.failed + outcome.not_run

    @pytest.mark.parametrize("concurrency", [1, 4])
    def test_a_stream_after_its_checkpoint_counts_as_not_run(
        self, outcomes: list[BatchOutcome], concurrency: int
    ) -> None:
        event = kinesis_event(["a", "b", "bad", "c", "d"], partition_keys="k")

        @process_batch(concurrency=concurrency)
        def handler(record: KinesisRecord) -> None:
            if record.data == b"bad":
                raise ValueError

        handler(event, LambdaContext())
        [outcome] = outcomes
        assert (outcome.source, outcome.size) == ("kinesis", 5)
        assert counts_of(outcome) == (2, 1, 2, 0)

    def test_a_stream_record_below_the_checkpoint_still_runs_after_a_failure(
        self, outcomes: list[BatchOutcome]
    ) -> None:
        # Sequence numbers out of batch order: after 20 fails, 15 (below it) runs and fails,
        # lowering the checkpoint, so 17 is skipped while 12 still runs.
        event = kinesis_event(["10", "20", "15", "17", "12"], partition_keys="k")
        for raw, number in zip(event["Records"], ["10", "20", "15", "17", "12"], strict=True):
            raw["kinesis"]["sequenceNumber"] = number
        ran: list[str] = []

        @process_batch
        def handler(record: KinesisRecord) -> None:
            ran.append(record.data.decode())
            if record.data in (b"20", b"15"):
                raise ValueError

        response = handler(event, LambdaContext())
        assert ran == ["10", "20", "15", "12"]
        assert failed_ids(response) == ["15"]
        [outcome] = outcomes
        assert counts_of(outcome) == (2, 2, 1, 0)

    def test_records_the_deadline_kept_from_starting_count_as_deferred(
        self, outcomes: list[BatchOutcome]
    ) -> None:
        clock = FakeClock()
        context = LambdaContext(timeout=10, clock=clock)

        @process_batch(deadline_margin_ms=2_500)
        def handler(record: SQSRecord) -> None:
            clock.advance(2)

        handler(sqs_event([str(i) for i in range(10)]), context)
        [outcome] = outcomes
        assert counts_of(outcome) == (4, 0, 0, 6)

    def test_after_the_deadline_a_broken_groups_records_count_as_not_run(
        self, outcomes: list[BatchOutcome]
    ) -> None:
        clock = FakeClock()
        context = LambdaContext(timeout=10, clock=clock)
        event = sqs_event(["a1-bad", "b1", "a2", "b2"], group_ids=["a", "b", "a", "b"])

        @process_batch(deadline_margin_ms=5_000)
        def handler(record: SQSRecord) -> None:
            clock.advance(3)
            if record.body.endswith("bad"):
                raise ValueError

        handler(event, context)
        [outcome] = outcomes
        # a1 failed, b1 ran; then less than 5 s remained: a2 would not have run anyway.
        assert counts_of(outcome) == (1, 1, 1, 1)

    def test_an_empty_batch_reports_nothing(self, outcomes: list[BatchOutcome]) -> None:
        assert process_batch(lambda record: None)({"Records": []}, None) == {
            "batchItemFailures": []
        }
        assert outcomes == []

    def test_counters_of_the_batch_are_its_own(self, outcomes: list[BatchOutcome]) -> None:
        @process_batch
        def handler(record: SQSRecord) -> None:
            if record.body == "duplicate":
                count(DUPLICATES_ANSWERED)
            count(STALE_SECRETS_SERVED)

        handler(sqs_event(["duplicate", "x", "duplicate"]), None)
        handler(sqs_event(["y"]), None)
        first, second = outcomes
        assert first.duplicates == 2
        assert first.counts == {DUPLICATES_ANSWERED: 2, STALE_SECRETS_SERVED: 3}
        assert second.duplicates == 0
        assert second.counts == {STALE_SECRETS_SERVED: 1}

    def test_the_outcome_is_reported_before_all_records_failed_is_raised(
        self, outcomes: list[BatchOutcome]
    ) -> None:
        handler = process_batch(raise_on_all_failed=True)(fail_on("a", "b"))
        with pytest.raises(AllRecordsFailedError):
            handler(sqs_event(["a", "b"]), None)
        [outcome] = outcomes
        assert counts_of(outcome) == (0, 2, 0, 0)


class TestFilteredRecords:
    criteria: ClassVar[dict[str, Any]] = {"body": {"type": ["order"]}}

    def test_records_filter_records_dropped_are_counted_by_the_batch(
        self, outcomes: list[BatchOutcome]
    ) -> None:
        event = sqs_event([{"type": "order"}, {"type": "refund"}, {"type": "order"}, "text"])
        handler = filter_records(self.criteria)(process_batch(lambda record: None))
        handler(event, None)
        [outcome] = outcomes
        assert (outcome.size, outcome.succeeded, outcome.filtered) == (2, 2, 2)

    def test_a_batch_filtered_to_nothing_is_still_reported(
        self, outcomes: list[BatchOutcome]
    ) -> None:
        event = sqs_event([{"type": "refund"}, {"type": "refund"}])
        handler = filter_records(self.criteria)(process_batch(lambda record: None))
        assert handler(event, None) == {"batchItemFailures": []}
        [outcome] = outcomes
        assert (outcome.source, outcome.size, outcome.filtered) == ("sqs", 0, 2)

    def test_the_count_belongs_to_the_filtered_event_only(
        self, outcomes: list[BatchOutcome]
    ) -> None:
        inner = process_batch(lambda record: None)

        @filter_records(self.criteria)
        def outer(event: dict[str, Any], context: Any) -> Any:
            inner(sqs_event([{"type": "other"}]), context)  # another batch event
            return inner(event, context)

        outer(sqs_event([{"type": "order"}, {"type": "refund"}]), None)
        other, filtered = outcomes
        assert (other.size, other.filtered) == (1, 0)
        assert (filtered.size, filtered.filtered) == (1, 1)

    def test_a_kept_records_body_is_parsed_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from lambdakit.events import sqs

        parses: list[Any] = []
        real = sqs.parse_json

        def counting_parse(text: Any, at: Any, field: str) -> Any:
            parses.append(text)
            return real(text, at, field)

        monkeypatch.setattr(sqs, "parse_json", counting_parse)
        seen: list[Any] = []
        handler = filter_records(self.criteria)(
            process_batch(lambda record: seen.append(record.json()))
        )
        handler(sqs_event([{"type": "order", "id": 1}, {"type": "refund"}]), None)
        assert seen == [{"type": "order", "id": 1}]
        assert parses == []  # json() took the parse the filter matched with

    def test_a_body_with_a_fraction_is_parsed_again_as_json_reads_it(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The filter reads 2.5 as Decimal (as Lambda compares numbers); json() gives float.
        seen: list[Any] = []
        handler = filter_records({"body": {"price": [{"numeric": [">", 2]}]}})(
            process_batch(lambda record: seen.append(record.json()))
        )
        handler(sqs_event([{"price": 2.5}, {"price": 1}]), None)
        assert seen == [{"price": 2.5}]
        assert type(seen[0]["price"]) is float

    @pytest.mark.parametrize(
        "pattern",
        [
            {"body": {"type": ["order"]}},
            {"body": {"price": [{"numeric": [">", 2]}]}},
            {"body": [{"prefix": "ord"}]},  # body as a plain string: a JSON body is dropped
            {"body": [{"exists": True}]},
            {"$or": [{"body": {"type": ["order"]}}, {"body": [{"prefix": "ord"}]}]},
            {"attributes": {"ApproximateReceiveCount": ["1"]}},
        ],
    )
    @pytest.mark.parametrize("source", [None, "sqs"])
    def test_a_batch_keeps_exactly_the_records_the_criteria_match(
        self, pattern: dict[str, Any], source: str | None
    ) -> None:
        bodies: list[Any] = [
            {"type": "order", "price": 3},
            {"type": "order", "price": 2.5},
            {"type": "refund"},
            [1, 2],
            "order 7",
            '{"type": "order", "n": NaN}',
            "",
        ]
        event = sqs_event(bodies)
        kept: list[str] = []
        handler = filter_records(pattern, source=source)(
            process_batch(lambda record: kept.append(record.body))
        )
        handler(event, None)
        criteria = FilterCriteria.from_dict({"Filters": [{"Pattern": json.dumps(pattern)}]})
        expected = [r["body"] for r in event["Records"] if criteria.matches_record(r, source)]
        assert kept == expected

    def test_outside_the_filtered_call_json_parses_for_itself(self) -> None:
        record = SQSRecord(sqs_event([{"a": 1}])["Records"][0])
        assert record.json() == {"a": 1}


# --- failures kept for logging -----------------------------------------------------------------


class TestFailuresKept:
    def test_at_most_max_logged_failures_are_kept_the_first_in_batch_order(
        self, outcomes: list[BatchOutcome]
    ) -> None:
        bodies = [f"bad{i}" if i % 2 else f"ok{i}" for i in range(40)]
        event = sqs_event(bodies, receive_count=[1 + i % 3 for i in range(40)])
        handler = process_batch(max_logged_failures=3)(fail_on(*bodies[1::2]))
        handler(event, None)
        [outcome] = outcomes
        assert outcome.failed == 20
        assert [f.index for f in outcome.failures] == [1, 3, 5]
        assert outcome.failures_dropped == 17
        first = outcome.failures[0]
        raw = event["Records"][1]
        assert first.record_id == raw["messageId"]
        assert first.attempt == 2  # ApproximateReceiveCount
        assert first.label == f"SQS message {raw['messageId']} at Records[1]"
        assert isinstance(first.error, ValueError)
        assert str(first.error) == "bad1"

    def test_concurrent_lanes_keep_the_first_failures_in_batch_order(
        self, outcomes: list[BatchOutcome]
    ) -> None:
        bodies = [f"bad{i}" for i in range(24)]
        handler = process_batch(concurrency=4, max_logged_failures=5)(fail_on(*bodies))
        handler(sqs_event(bodies), None)
        [outcome] = outcomes
        assert [f.index for f in outcome.failures] == [0, 1, 2, 3, 4]
        assert outcome.failures_dropped == 19

    def test_a_stream_failure_is_named_by_its_sequence_number(
        self, outcomes: list[BatchOutcome]
    ) -> None:
        event = kinesis_event(["a", "bad"])

        @process_batch
        def handler(record: KinesisRecord) -> None:
            if record.data == b"bad":
                raise ValueError

        handler(event, None)
        [failure] = outcomes[0].failures
        sequence = event["Records"][1]["kinesis"]["sequenceNumber"]
        assert (failure.record_id, failure.attempt) == (sequence, None)
        assert failure.label == f"Kinesis record {sequence} at Records[1]"

    @pytest.mark.parametrize("options", [{"max_logged_failures": 0}, {"log_failures": False}])
    def test_no_failure_is_kept_when_none_is_to_be_logged(
        self, outcomes: list[BatchOutcome], options: dict[str, Any]
    ) -> None:
        process_batch(**options)(fail_on("a", "b"))(sqs_event(["a", "b", "c"]), None)
        [outcome] = outcomes
        assert (outcome.failures, outcome.failures_dropped) == ([], 2)

    def test_all_records_failed_carries_the_first_error_even_when_none_is_logged(
        self, outcomes: list[BatchOutcome]
    ) -> None:
        handler = process_batch(raise_on_all_failed=True, max_logged_failures=0)(fail_on("a", "b"))
        with pytest.raises(AllRecordsFailedError) as caught:
            handler(sqs_event(["a", "b"]), None)
        assert [str(e) for e in caught.value.exceptions] == ["a"]
        assert str(caught.value.__cause__) == "a"
        assert outcomes[0].failures == []

    def test_nothing_is_logged_while_records_run(self) -> None:
        events: list[str] = []

        class Recorder(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                events.append("log")

        @process_batch
        def handler(record: SQSRecord) -> None:
            events.append("record")
            if record.body.startswith("bad"):
                raise ValueError

        logger = logging.getLogger("lambdakit.batch")
        recorder = Recorder(logging.DEBUG)
        logger.addHandler(recorder)
        try:
            handler(sqs_event(["bad1", "ok", "bad2", "ok"]), None)
        finally:
            logger.removeHandler(recorder)
        assert events[:4] == ["record"] * 4
        assert "log" in events[4:]
        assert "record" not in events[4:]


# --- the deadline flag -------------------------------------------------------------------------


class RuntimeContext:
    """The Lambda runtime's context as awslambdaric builds it: a wall-clock deadline."""

    def __init__(self, seconds: float) -> None:
        self._epoch_deadline_time_in_ms = int((time.time() + seconds) * 1000)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._epoch_deadline_time_in_ms - int(time.time() * 1000))


@pytest.fixture
def watchdog_fired(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set when the watchdog thread raises a batch's deadline flag (after it does)."""
    fired = threading.Event()
    real = _run._Watchdog._fire

    def fire(self: Any, flag: list[bool]) -> None:
        real(self, flag)
        fired.set()

    monkeypatch.setattr(_run._Watchdog, "_fire", fire)
    return fired


class TestDeadlineOnARealClock:
    """On a real clock the deadline is a flag a watchdog thread raises at the cutoff, and the
    loop tests the flag before each record: no record starts once it is up."""

    @pytest.mark.parametrize("kind", ["lambda runtime", "lambdakit.testing"])
    def test_no_record_starts_once_the_watchdog_raised_the_flag(
        self, outcomes: list[BatchOutcome], watchdog_fired: threading.Event, kind: str
    ) -> None:
        # 300 ms left, a margin of 200 ms: the cutoff falls due 100 ms after the start.
        context: Any = (
            RuntimeContext(0.3) if kind == "lambda runtime" else LambdaContext(timeout=0.3)
        )
        started: list[float] = []

        @process_batch(deadline_margin_ms=200)
        def handler(record: SQSRecord) -> None:
            started.append(time.monotonic())
            if record.body == "0":  # the first record runs until the flag is up
                assert watchdog_fired.wait(10)

        response = handler(sqs_event([str(i) for i in range(50)]), context)
        assert len(started) == 1
        assert len(failed_ids(response)) == 49
        assert counts_of(outcomes[0]) == (1, 0, 0, 49)

    def test_the_first_record_starts_even_when_the_cutoff_has_passed(
        self, outcomes: list[BatchOutcome]
    ) -> None:
        ran: list[str] = []
        handler = process_batch(deadline_margin_ms=5_000)(lambda r: ran.append(r.body))
        handler(sqs_event(["a", "b", "c"]), RuntimeContext(1.0))
        assert ran == ["a"]
        assert counts_of(outcomes[0]) == (1, 0, 0, 2)

    def test_the_flag_is_raised_at_the_cutoff_not_before(self) -> None:
        watchdog = _run._Watchdog()
        raised: list[float] = []
        done = threading.Event()

        class Flag(list[bool]):
            def append(self, value: bool) -> None:
                raised.append(time.monotonic())
                done.set()

        armed = time.monotonic()
        watchdog.arm(0.05, Flag())
        assert done.wait(10)
        assert raised[0] - armed >= 0.05
        assert raised[0] - armed < 2  # generous: only a stalled thread would take this long

    def test_an_earlier_cutoff_wakes_the_watchdog_early(self) -> None:
        watchdog = _run._Watchdog()
        done = threading.Event()

        class Flag(list[bool]):
            def append(self, value: bool) -> None:
                done.set()

        watchdog.arm(3600, [])  # the thread now sleeps for an hour
        watchdog.arm(0.01, Flag())
        assert done.wait(10)

    def test_a_batch_leaves_nothing_armed(self) -> None:
        handler = process_batch(lambda record: None)
        handler(sqs_event(["a"]), RuntimeContext(600))
        handler(sqs_event(["a"]), LambdaContext(timeout=600))
        assert _run.WATCHDOG._due == {}

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
    def test_a_forked_child_gets_its_own_watchdog(self) -> None:
        process_batch(lambda record: None)(sqs_event(["a"]), RuntimeContext(600))  # started
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child inherits the watchdog's state, not its thread
            try:
                done = threading.Event()

                class Flag(list[bool]):
                    def append(self, value: bool) -> None:
                        done.set()

                _run.WATCHDOG.arm(0.01, Flag())
                os.write(write_end, b"ok" if done.wait(10) else b"no")
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
        assert answer == b"ok"


# --- options -----------------------------------------------------------------------------------


class TestOptionsAreCheckedWhenTheDecoratorIsApplied:
    @pytest.mark.parametrize("value", [-1, 1.5, True, "10", None])
    def test_max_logged_failures_must_be_a_whole_number(self, value: Any) -> None:
        with pytest.raises(BatchConfigurationError, match=r"max_logged_failures.*" + str(value)):
            process_batch(max_logged_failures=value)

    @pytest.mark.parametrize("value", ["yes", 1, 0])
    def test_metrics_must_be_a_bool_or_none(self, value: Any) -> None:
        with pytest.raises(BatchConfigurationError, match="metrics"):
            process_batch(metrics=value)

    @pytest.mark.parametrize("options", [{"max_logged_failures": 0}, {"metrics": None}])
    def test_accepted_values(self, options: dict[str, Any]) -> None:
        handler = process_batch(**options)(lambda record: None)
        assert handler(sqs_event(["a"]), None) == {"batchItemFailures": []}
