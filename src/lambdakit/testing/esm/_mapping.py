"""``EventSourceMapping``: drives a handler from a source model the way Lambda's poller does.

The mapping owns what every source shares: its options (validated here, once, with the
source's own rules), the clock, the invocation of the handler (:func:`invoke`) and the reading
of its answer (:func:`reported_failures`), the :class:`Summary`, and the run loop. Each source
model (``SQSQueue``, ``KinesisStream``, ``DynamoDBStream``, ``KafkaTopic``) supplies a *poller*
that knows its service's semantics: what makes a batch, what a failure does, what is deleted
or checkpointed. The loop asks the poller for progress at the current simulated time, and when
there is none moves the clock to the next moment something becomes deliverable (a visibility
timeout ending, a batching window closing, a retry), so a run takes milliseconds of real time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from lambdakit.errors import EventSourceMappingError
from lambdakit.testing.clock import FakeClock
from lambdakit.testing.esm._invoke import RETURNED, Outcome, invoke
from lambdakit.testing.esm._responses import EVERY_RECORD, reported_failures
from lambdakit.testing.esm._summary import Summary

# Epoch milliseconds of clock time 0: timestamps the services set (SentTimestamp,
# approximateArrivalTimestamp, Kafka's timestamp) read as real dates, 2026-01-01T00:00:00Z on.
EPOCH_MS_AT_ZERO = 1_767_225_600_000


# Lambda's invocation payload quota, which caps every batch's event: Invoke refuses a request
# of 6291456 bytes or more ("Request must be smaller than 6291456 bytes").
MAX_PAYLOAD_BYTES = 6_291_456


def epoch_ms(clock_seconds: float) -> int:
    """The epoch-milliseconds timestamp of a moment of the simulated clock."""
    return EPOCH_MS_AT_ZERO + int(clock_seconds * 1000)


class Poller(Protocol):
    """What a source model gives the mapping: progress now, or when progress can come next."""

    def poll(self) -> bool:
        """Make one step of progress at the clock's current time (an invocation, records
        filtered out, messages moved to a DLQ); whether anything happened."""
        ...

    def wake(self) -> float | None:
        """The earliest clock time at which :meth:`poll` can make progress (later than now
        when it just made none), or ``None`` when nothing will ever be delivered again."""
        ...


class Source(Protocol):
    """A source model: its clock, and a poller for a mapping."""

    clock: FakeClock

    def _adopt_clock(self, clock: FakeClock) -> None: ...

    def _clock_given(self) -> bool: ...

    def _poller(self, mapping: EventSourceMapping) -> Poller: ...


class EventSourceMapping:
    """A Lambda event source mapping over an in-memory source (see the testing docs).

    Options carry AWS's names and defaults; each is checked against the source's limits when
    the mapping is made (``EventSourceMappingError`` otherwise), as CreateEventSourceMapping
    checks them. :meth:`run` drives the handler until the source is drained (or ``max_time``
    simulated seconds pass) and returns the cumulative :class:`Summary`.
    """

    def __init__(
        self,
        source: Source,
        handler: Callable[..., Any],
        *,
        batch_size: int = 10,
        maximum_batching_window: float = 0,
        filter_criteria: Any = None,
        report_batch_item_failures: bool = False,
        function_timeout: float = 3,
        maximum_concurrency: int | None = None,
        bisect_batch_on_function_error: bool = False,
        maximum_retry_attempts: int = -1,
        maximum_record_age: float = -1,
        parallelization_factor: int = 1,
        on_failure: Any = None,
        starting_position: str = "LATEST",
        provisioned_mode: bool = False,
        clock: FakeClock | None = None,
    ) -> None:
        if not callable(handler):
            raise EventSourceMappingError(f"handler={handler!r}: expected a Lambda handler")
        _number("function_timeout", function_timeout, 1, 900)
        _number("maximum_batching_window", maximum_batching_window, 0, 300)
        self.source = source
        self.handler = handler
        self.batch_size = batch_size
        self.maximum_batching_window = float(maximum_batching_window)
        self.filter_criteria = _criteria(filter_criteria)
        self.report_batch_item_failures = bool(report_batch_item_failures)
        self.function_timeout = float(function_timeout)
        self.maximum_concurrency = maximum_concurrency
        self.bisect_batch_on_function_error = bool(bisect_batch_on_function_error)
        self.maximum_retry_attempts = maximum_retry_attempts
        self.maximum_record_age = maximum_record_age
        self.parallelization_factor = parallelization_factor
        self.on_failure = on_failure
        self.starting_position = starting_position
        self.provisioned_mode = bool(provisioned_mode)
        self.clock = _shared_clock(source, clock)
        self.summary = Summary()
        self._poller = source._poller(self)  # checks the options that depend on the source

    @classmethod
    def from_template(
        cls,
        path: str | Path,
        function_logical_id: str,
        handler: Callable[..., Any],
        event_name: str | None = None,
        **overrides: Any,
    ) -> EventSourceMapping:
        """The mapping a SAM or CloudFormation template deploys for a function, with its
        source model: the event source's settings (batch size, window, filter criteria,
        partial responses, retries, destinations, starting position), the function's
        ``Timeout``, and for SQS the queue's ``VisibilityTimeout`` and ``RedrivePolicy`` (its
        DLQ built too), AWS's defaults where the template is silent. ``event_name`` picks one
        of several events; ``overrides`` replace settings (``clock=``, or ``source=`` to use
        your own model). The source is ``mapping.source``: send to it."""
        from lambdakit.testing.esm._template import mapping_from_template

        return mapping_from_template(
            cls, path, function_logical_id, handler, event_name, **overrides
        )

    # --- what pollers use ----------------------------------------------------------------------

    def call(
        self, event: dict[str, Any], identifiers: Sequence[Any]
    ) -> tuple[Outcome, list[Any] | None]:
        """Invoke the handler with ``event`` (whose records have ``identifiers``, as a partial
        response names them): the outcome, and the identifiers that failed, in order
        (:data:`EVERY_RECORD` when the whole batch did). Without ``report_batch_item_failures``
        a response is ignored, as Lambda ignores it."""
        self.summary.invocations += 1
        outcome = invoke(
            self.handler, event, self.clock, self.function_timeout, self.summary.invocations
        )
        self.summary.cpu_seconds.append(outcome.cpu_seconds)
        self.summary.wall_seconds.append(outcome.wall_seconds)
        if outcome.kind != RETURNED:
            return outcome, EVERY_RECORD
        if not self.report_batch_item_failures:
            return outcome, []
        return outcome, reported_failures(outcome.response, identifiers)

    def admits(self, record: dict[str, Any], source: str) -> bool:
        """Whether the filter criteria let ``record`` through (no criteria: every record)."""
        return self.filter_criteria is None or bool(
            self.filter_criteria.matches_record(record, source)
        )

    # --- running -------------------------------------------------------------------------------

    def run(
        self, *, until: str | Callable[[Summary], bool] = "drained", max_time: float | None = None
    ) -> Summary:
        """Drive the handler until the source is drained (nothing left that will ever be
        delivered again), ``until(summary)`` is true, or ``max_time`` simulated seconds have
        passed; the clock is then at that moment. Returns the cumulative summary."""
        if until != "drained" and not callable(until):
            raise EventSourceMappingError(
                f"until={until!r}: expected 'drained' or a callable taking the Summary"
            )
        if max_time is not None:
            _number("max_time", max_time, 0, float("inf"))
        clock = self.clock
        end = None if max_time is None else clock() + max_time
        while not (callable(until) and until(self.summary)):
            if self._poller.poll():
                continue
            wake = self._poller.wake()
            if wake is None:
                break
            if end is not None and wake > end:
                clock.advance(max(0.0, end - clock()))
                break
            if wake <= clock():
                raise AssertionError(f"the poller made no progress and woke at {wake} (now)")
            clock.advance(wake - clock())
        return self.summary


def _shared_clock(source: Source, given: FakeClock | None) -> FakeClock:
    """The mapping's clock: the one given (which a source without its own then adopts), else
    the source's. Two different clocks given to a source and its mapping are refused."""
    if given is None:
        return source.clock
    if source.clock is not given:
        if source._clock_given():
            raise EventSourceMappingError(
                "the source and the mapping were given different clocks; pass the same "
                "FakeClock to both (or to one of them)"
            )
        source._adopt_clock(given)
    return given


def _number(option: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise EventSourceMappingError(
            f"{option}={value!r}: expected a number from {low:g} to {high:g}"
        )


def _criteria(criteria: Any) -> Any:
    """Filter criteria as lambdakit.filtering reads them (a FilterCriteria, a
    ``{"Filters": [...]}`` dict, a pattern or a list of patterns), or None."""
    if criteria is None:
        return None
    from lambdakit.filtering._decorator import as_criteria

    return as_criteria(criteria)
