"""The parts of lambdakit.testing.esm every source shares: reading a partial batch response as
Lambda does, one invocation (timeout, async, what Lambda cannot serialise), clocks, the loop."""

from __future__ import annotations

import time
from typing import Any

import pytest

from lambdakit.errors import EventSourceMappingError
from lambdakit.testing import FakeClock, SQSQueue
from lambdakit.testing.esm._invoke import RAISED, RETURNED, TIMED_OUT, invoke
from lambdakit.testing.esm._mapping import EventSourceMapping, epoch_ms
from lambdakit.testing.esm._responses import EVERY_RECORD, reported_failures
from lambdakit.testing.esm._summary import FAILED, FILTERED, SUCCEEDED, Summary

IDS = ["m-1", "m-2", "m-3"]

# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
# ("Success and failure conditions"), and the same list on the Kinesis and DynamoDB Streams
# pages (services-kinesis-batchfailurereporting.html, services-ddb-batchfailurereporting.html).


@pytest.mark.parametrize(
    "response",
    [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}],
    ids=["null response", "empty response", "null list", "empty list"],
)
def test_these_responses_are_a_complete_success(response: Any) -> None:
    assert reported_failures(response, IDS) == []


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemIdentifer": "m-1"}]},
        {"batchItemFailures": [{"itemIdentifier": "m-9"}]},
        {"batchItemFailures": "m-1"},
        "ok",
        ["m-1"],
    ],
    ids=[
        "empty identifier",
        "null identifier",
        "misspelt key",
        "unknown message id",
        "not a list",
        "a string",
        "a list",
    ],
)
def test_these_responses_fail_the_whole_batch(response: Any) -> None:
    assert reported_failures(response, IDS) is EVERY_RECORD


def test_reported_failures_come_back_in_batch_order_once_each() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": i} for i in ("m-3", "m-1", "m-3")]}
    assert reported_failures(response, IDS) == ["m-1", "m-3"]


def test_kafka_identifiers_are_objects_compared_by_value() -> None:
    ids = [{"partition": "orders-0", "offset": 4}, {"partition": "orders-0", "offset": 5}]
    response = {"batchItemFailures": [{"itemIdentifier": {"partition": "orders-0", "offset": 5}}]}
    assert reported_failures(response, ids) == [ids[1]]


# --- one invocation ------------------------------------------------------------------------------


def test_the_handler_gets_a_copy_and_a_context_counting_down_on_the_clock() -> None:
    clock = FakeClock()
    event = {"Records": [{"body": "x"}]}
    seen: list[int] = []

    def handler(received: dict[str, Any], context: Any) -> None:
        received["Records"].clear()
        clock.advance(1.5)
        seen.append(context.get_remaining_time_in_millis())

    outcome = invoke(handler, event, clock, 3, 1)
    assert outcome.kind == RETURNED
    assert seen == [1500]
    assert event == {"Records": [{"body": "x"}]}
    assert outcome.seconds == 1.5


def test_a_handler_that_runs_past_the_function_timeout_timed_out_whatever_it_returned() -> None:
    clock = FakeClock()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        clock.advance(3.5)
        return {"batchItemFailures": []}

    assert invoke(handler, {}, clock, 3, 1).kind == TIMED_OUT


def test_a_response_lambda_cannot_serialise_fails_the_invocation() -> None:
    outcome = invoke(lambda event, context: {1, 2}, {}, FakeClock(), 3, 1)
    assert outcome.kind == RAISED
    assert isinstance(outcome.error, TypeError)


def test_an_invocation_measures_the_handlers_cpu_and_wall_time_apart() -> None:
    # What lambdakit.cost fits a handler profile from: waiting shows in wall time only.
    def waits(event: dict[str, Any], context: Any) -> None:
        time.sleep(0.02)

    outcome = invoke(waits, {}, FakeClock(), 3, 1)
    assert outcome.wall_seconds >= 0.02
    assert outcome.cpu_seconds < outcome.wall_seconds / 2


def test_the_summary_keeps_cpu_and_wall_time_per_invocation_in_order() -> None:
    mapping = EventSourceMapping(
        SQSQueue("orders"), lambda event, context: time.sleep(0.01 * len(event["Records"]))
    )
    mapping.call({"Records": [{}]}, ["m-1"])
    mapping.call({"Records": [{}, {}, {}]}, ["m-2", "m-3", "m-4"])
    assert len(mapping.summary.cpu_seconds) == len(mapping.summary.wall_seconds) == 2
    assert mapping.summary.wall_seconds[1] > mapping.summary.wall_seconds[0] >= 0.01


def test_async_handlers_run_to_completion() -> None:
    async def handler(event: dict[str, Any], context: Any) -> str:
        return "done"

    outcome = invoke(handler, {}, FakeClock(), 3, 1)
    assert (outcome.kind, outcome.response) == (RETURNED, "done")


# --- the summary ---------------------------------------------------------------------------------


def test_the_summary_counts_each_delivery_by_outcome() -> None:
    summary = Summary()
    summary.record("m-1", 1000.0, 1, FAILED)
    summary.record("m-1", 1030.0, 2, SUCCEEDED)
    summary.record("m-2", 1000.0, 0, FILTERED)
    assert (summary.delivered, summary.succeeded, summary.failed_attempts, summary.filtered) == (
        2,
        1,
        1,
        1,
    )
    assert [d.invocation for d in summary.history["m-1"]] == [1, 2]


def test_timestamps_read_as_real_dates() -> None:
    assert epoch_ms(0) == 1_767_225_600_000  # 2026-01-01T00:00:00Z
    assert epoch_ms(1.5) - epoch_ms(0) == 1500


# --- the mapping and its loop ---------------------------------------------------------------------


class Ticker:
    """A source whose poller delivers one event at each of the given times."""

    def __init__(self, times: list[float], clock: FakeClock | None = None) -> None:
        self.given = clock is not None
        self.clock = clock or FakeClock()
        self.times = list(times)

    def _adopt_clock(self, clock: FakeClock) -> None:
        self.clock = clock

    def _clock_given(self) -> bool:
        return self.given

    def _poller(self, mapping: EventSourceMapping) -> Any:
        source = self

        class Poller:
            def poll(self) -> bool:
                if source.times and source.times[0] <= source.clock():
                    source.times.pop(0)
                    mapping.call({"Records": []}, [])
                    return True
                return False

            def wake(self) -> float | None:
                return source.times[0] if source.times else None

        return Poller()


def test_the_loop_moves_the_clock_to_each_moment_something_can_happen() -> None:
    clock = FakeClock(start=0)
    ran: list[float] = []
    mapping = EventSourceMapping(Ticker([5, 30, 90], clock), lambda e, c: ran.append(clock()))
    summary = mapping.run()
    assert ran == [5, 30, 90]
    assert summary.invocations == 3
    assert clock() == 90


def test_max_time_stops_the_run_at_that_moment() -> None:
    clock = FakeClock(start=0)
    mapping = EventSourceMapping(Ticker([5, 30, 90], clock), lambda e, c: None)
    assert mapping.run(max_time=40).invocations == 2
    assert clock() == 40
    assert mapping.run().invocations == 3  # the summary is cumulative


def test_until_stops_when_the_summary_says_so() -> None:
    mapping = EventSourceMapping(Ticker([1, 2, 3], FakeClock(start=0)), lambda e, c: None)
    assert mapping.run(until=lambda summary: summary.invocations == 2).invocations == 2


def test_a_source_without_a_clock_shares_the_mappings() -> None:
    clock = FakeClock(start=0)
    source = Ticker([1])
    mapping = EventSourceMapping(source, lambda e, c: None, clock=clock)
    assert source.clock is clock is mapping.clock


def test_a_mapping_without_a_clock_uses_the_sources() -> None:
    source = Ticker([1])
    assert EventSourceMapping(source, lambda e, c: None).clock is source.clock


def test_two_different_clocks_are_refused() -> None:
    with pytest.raises(EventSourceMappingError, match="different clocks"):
        EventSourceMapping(Ticker([1], FakeClock()), lambda e, c: None, clock=FakeClock())


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("function_timeout", 0),
        ("function_timeout", 901),
        ("maximum_batching_window", 301),
        ("maximum_batching_window", -1),
        ("function_timeout", True),
    ],
)
def test_options_out_of_awss_range_are_refused(option: str, value: Any) -> None:
    with pytest.raises(EventSourceMappingError, match=option):
        EventSourceMapping(Ticker([]), lambda e, c: None, **{option: value})


def test_until_must_be_drained_or_a_callable() -> None:
    mapping = EventSourceMapping(Ticker([]), lambda e, c: None)
    with pytest.raises(EventSourceMappingError, match="until="):
        mapping.run(until="forever")
