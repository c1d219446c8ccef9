"""What one batch came to, as the summary line, the bounded failure logs and the optional
metrics report it.

:func:`report` runs once per batch, after its records: one summary line (INFO when every record
succeeded, WARNING otherwise), then the first failures with their tracebacks (at most the
configured number, kept by the run; the rest are only counted, so a poison batch of 10,000
records does not spend seconds logging), then, when metrics are on, one Embedded Metric Format
line. Nothing is formatted for a level the ``lambdakit.batch`` logger does not emit.

The two classes are plain ``__slots__`` classes with the constructor a dataclass would have:
``dataclasses`` imports ``inspect`` and ``re`` (about 12 ms), which every cold start of a batch
function would pay.
"""

from __future__ import annotations

from lambdakit._internal.logs import INFO, WARNING, get_logger, log
from lambdakit._internal.metrics import (
    DUPLICATES_ANSWERED,
    KAFKA_DELIVERY_FAILURES,
    STALE_SECRETS_SERVED,
)
from lambdakit._internal.reprs import safe_repr

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

LOGGER = "lambdakit.batch"

# Metric names of the batch's own counts (the other counters are named in _internal.metrics).
RECORDS_SUCCEEDED = "RecordsSucceeded"
RECORDS_FAILED = "RecordsFailed"
RECORDS_NOT_RUN = "RecordsNotRun"
RECORDS_DEFERRED = "RecordsDeferred"
RECORDS_FILTERED_OUT = "RecordsFilteredOut"

# Counters that BatchOutcome already carries as fields (filtered, duplicates): reported once.
QUARANTINED = "Quarantined"  # counted by batch._retry when a failed message is moved away
_IN_FIELDS = frozenset((DUPLICATES_ANSWERED, QUARANTINED))
_SOURCE_NAMES = {
    "sqs": "SQS",
    "kinesis": "Kinesis",
    "dynamodb": "DynamoDB Streams",
    "kafka": "Kafka",
}


def _amount(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _counter_text(name: str, count: int) -> str:
    """How the summary line says a counter of ``_internal.metrics``."""
    if name == STALE_SECRETS_SERVED:
        return _amount(count, "stale secret value") + " served"
    if name == KAFKA_DELIVERY_FAILURES:
        return _amount(count, "Kafka delivery failure")
    return f"{name}: {count}"


def _field_name(counter: str) -> str:
    """A counter's key in JSON logs: camelCase, as Lambda's own keys (``staleSecretsServed``)."""
    return counter[:1].lower() + counter[1:]


class Failure:
    """One failed record kept for logging: where it is in the batch (``index``), how it is
    named in logs (``label``: ``Records[3] (<messageId>)``, ``orders-0@15``), its identifier as
    ``batchItemFailures`` gives it (``record_id``), how many times it was delivered when the
    source says (SQS ``ApproximateReceiveCount``), and what it raised; ``quarantined`` when
    ``process_batch(quarantine=...)`` moved it to the quarantine queue instead of a retry."""

    __slots__ = ("attempt", "error", "index", "label", "quarantined", "record_id")

    def __init__(
        self,
        index: int,
        label: str,
        record_id: Any,
        attempt: int | None,
        error: BaseException,
        quarantined: bool = False,
    ) -> None:
        self.index = index
        self.label = label
        self.record_id = record_id
        self.attempt = attempt
        self.error = error
        self.quarantined = quarantined

    def __repr__(self) -> str:
        return (
            f"Failure(index={self.index!r}, label={self.label!r}, record_id={self.record_id!r}, "
            f"attempt={self.attempt!r}, error={safe_repr(self.error)})"
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not Failure:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass

    def message(self) -> str:
        """The log line's text, complete in TEXT format: which record, which attempt, what."""
        attempt = f" (attempt {self.attempt})" if self.attempt is not None else ""
        fate = "was moved to the quarantine queue" if self.quarantined else "will be retried"
        return f"{self.label} failed and {fate}{attempt}: {safe_repr(self.error)}"

    def fields(self, source: str) -> dict[str, object]:
        """The line's structured fields (top-level keys in Lambda's JSON format)."""
        return {
            "recordId": self.record_id,
            "eventSource": source,
            "attempt": self.attempt,
            "errorType": type(self.error).__name__,
        }


# In constructor order: the slots, and what repr and equality compare.
_OUTCOME_FIELDS = (
    "source",
    "size",
    "succeeded",
    "failed",
    "not_run",
    "deferred",
    "filtered",
    "duplicates",
    "counts",
    "failures",
    "failures_dropped",
)


class BatchOutcome:
    """The counts of one batch: ``size`` records received; ``succeeded``; ``failed`` (raised);
    ``not_run`` (skipped because an earlier record of their FIFO group or stream shard failed);
    ``deferred`` (not started because the deadline margin was reached); ``filtered`` (dropped
    by ``@filter_records`` before the batch); ``duplicates`` (answered by ``@idempotent`` from
    its store); ``counts``: every other counter of the batch (``_internal.metrics``).
    ``failures``: the first failed records, at most the configured number, in batch order;
    ``failures_dropped``: how many more failed and are only counted."""

    __slots__ = _OUTCOME_FIELDS

    def __init__(
        self,
        source: str,
        size: int,
        succeeded: int = 0,
        failed: int = 0,
        not_run: int = 0,
        deferred: int = 0,
        filtered: int = 0,
        duplicates: int = 0,
        counts: dict[str, int] | None = None,
        failures: list[Failure] | None = None,
        failures_dropped: int = 0,
    ) -> None:
        self.source = source
        self.size = size
        self.succeeded = succeeded
        self.failed = failed
        self.not_run = not_run
        self.deferred = deferred
        self.filtered = filtered
        self.duplicates = duplicates
        self.counts: dict[str, int] = {} if counts is None else counts
        self.failures: list[Failure] = [] if failures is None else failures
        self.failures_dropped = failures_dropped

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in _OUTCOME_FIELDS)
        return f"BatchOutcome({inner})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not BatchOutcome:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _OUTCOME_FIELDS)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass

    @property
    def all_succeeded(self) -> bool:
        """Every record received ran and returned (duplicates answered count as successes)."""
        return not (self.failed or self.not_run or self.deferred)

    def other_counts(self) -> dict[str, int]:
        """The non-zero counters of the batch that no field of this class carries."""
        return {
            name: count for name, count in self.counts.items() if count and name not in _IN_FIELDS
        }

    def summary(self) -> str:
        """The summary line's text, complete in TEXT format; counts that are zero are left out
        (beyond "succeeded"): ``Batch of 10 SQS records: 7 succeeded, 3 reported for retry (2
        failed, 1 not run after an earlier failure in its group or shard); 1 record filtered
        out before the batch``."""
        source = _SOURCE_NAMES.get(self.source, self.source)
        text = f"Batch of {_amount(self.size, source + ' record')}: {self.succeeded} succeeded"
        if self.duplicates:
            text += f" ({self.duplicates} answered from the idempotency store)"
        if not self.all_succeeded:
            why = []
            if self.failed:
                why.append(f"{self.failed} failed")
            if self.not_run:
                why.append(f"{self.not_run} not run after an earlier failure in its group or shard")
            if self.deferred:
                why.append(f"{self.deferred} deferred by the deadline margin")
            quarantined = self.counts.get(QUARANTINED, 0)
            retried = self.failed + self.not_run + self.deferred - quarantined
            text += f", {retried} reported for retry ({', '.join(why)})"
            if quarantined:
                text += f", {quarantined} of the failed moved to the quarantine queue"
        extras = []
        if self.filtered:
            extras.append(f"{_amount(self.filtered, 'record')} filtered out before the batch")
        extras.extend(_counter_text(name, n) for name, n in self.other_counts().items())
        if self.failures_dropped:
            what = "more failure" if self.failures else "failure"
            extras.append(f"{_amount(self.failures_dropped, what)} not logged")
        return "; ".join([text, *extras])

    def summary_fields(self) -> dict[str, object]:
        """The summary line's structured fields: every count, zero or not, so that a query on
        JSON logs finds the same keys on every batch."""
        fields: dict[str, object] = {
            "eventSource": self.source,
            "batchSize": self.size,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "notRun": self.not_run,
            "deferred": self.deferred,
            "filtered": self.filtered,
            "duplicates": self.duplicates,
            "failuresNotLogged": self.failures_dropped,
            "quarantined": self.counts.get(QUARANTINED, 0),
        }
        for name, count in self.other_counts().items():
            fields[_field_name(name)] = count
        return fields

    def metric_values(self) -> dict[str, int]:
        """The batch's metrics: the four record counts always (a zero is a data point: it tells
        "no failure" from "no batch"), the others only when non-zero (each metric name is a
        billed custom metric; one a function never uses should not be created)."""
        values = {
            RECORDS_SUCCEEDED: self.succeeded,
            RECORDS_FAILED: self.failed,
            RECORDS_NOT_RUN: self.not_run,
            RECORDS_DEFERRED: self.deferred,
        }
        if self.filtered:
            values[RECORDS_FILTERED_OUT] = self.filtered
        if self.duplicates:
            values[DUPLICATES_ANSWERED] = self.duplicates
        values.update(self.other_counts())
        return values


def user_frames(traceback: TracebackType | None) -> TracebackType | None:
    """``traceback`` without its leading frames in ``lambdakit.batch`` (the loop that called
    the record handler, a worker's ``drive``): the frames a reader of a failed record's log
    needs are the handler's. Half the traceback's formatting cost too: under Lambda's JSON
    format each frame's source line is parsed to place its carets. At least one frame stays."""
    while traceback is not None and traceback.tb_next is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if not (isinstance(module, str) and module.startswith("lambdakit.batch")):
            break
        traceback = traceback.tb_next
    return traceback


def report(outcome: BatchOutcome, *, metrics: bool) -> None:
    """Report one batch: the summary line, the kept failures with their tracebacks, and when
    ``metrics`` is true one EMF line on stdout (dimensions ``FunctionName`` and
    ``EventSource``).

    Called before the batch's response is returned: nothing here may turn a processed batch
    into a failed invocation (every record redelivered), so a metrics line that cannot be
    written is logged, not raised.
    """
    logger = get_logger(LOGGER)
    level = INFO if outcome.all_succeeded else WARNING
    if logger.isEnabledFor(level):
        log(logger, level, outcome.summary(), outcome.summary_fields())
    if outcome.failures and logger.isEnabledFor(WARNING):
        source = outcome.source
        for failure in outcome.failures:
            error = failure.error
            log(
                logger,
                WARNING,
                failure.message(),
                failure.fields(source),
                error=error,
                traceback=user_frames(error.__traceback__),
            )
    if metrics:
        from lambdakit._internal import emf

        try:
            emf.emit(
                outcome.metric_values(),
                {"FunctionName": emf.function_name(), "EventSource": outcome.source},
            )
        except (OSError, ValueError) as exc:  # stdout closed or gone
            if logger.isEnabledFor(WARNING):
                log(logger, WARNING, f"Batch metrics not written: {safe_repr(exc)}", {})
