"""``process_batch``: a record handler in, a Lambda handler with partial batch failures out."""

from __future__ import annotations

from _thread import allocate_lock

from lambdakit._internal.aio import is_coroutine_function, with_event_loop
from lambdakit._internal.invocation import (
    carrying_context,
    current_batch,
    current_context,
    current_margin_ms,
    filtered_out,
)
from lambdakit._internal.lazy import wraps
from lambdakit._internal.metrics import counting
from lambdakit._internal.reprs import safe_repr
from lambdakit._internal.signature import accepts, describe
from lambdakit._internal.stacking import LAMBDA_HANDLER, check_stack, mark, supplied_to
from lambdakit.batch._outcome import BatchOutcome, report
from lambdakit.batch._run import Run, drive, drive_async
from lambdakit.batch._sources import EventSource, parse_source, read_batch, source_of
from lambdakit.errors import AllRecordsFailedError, BatchConfigurationError
from lambdakit.events.kafka import default_schemas, is_schema

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Mapping
    from concurrent.futures import ThreadPoolExecutor
    from typing import Any, TypeVar, overload

    from lambdakit.batch._retry import Aftercare, Backoff, Quarantine
    from lambdakit.batch._sources import Batch
    from lambdakit.kafka._schemas import AvroSchema, JsonSchema, ProtobufSchema
    from lambdakit.typing import LambdaContext

    KafkaSchema = AvroSchema | ProtobufSchema[Any] | JsonSchema

    RecordHandler = TypeVar("RecordHandler", bound=Callable[..., Any])
    # What process_batch returns: called by Lambda (or a test) with the event and the context.
    LambdaHandler = Callable[[Mapping[str, Any], LambdaContext | None], "BatchResponse"]

BatchResponse = dict[str, list[dict[str, object]]]  # Kafka identifiers are objects

DEFAULT_DEADLINE_MARGIN_MS = 1000
DEFAULT_MAX_LOGGED_FAILURES = 10


def _calls_with_context(handler: Callable[..., Any]) -> bool:
    """Whether the record handler is called with the Lambda context as its second argument,
    after checking that it can be called at all: with ``*args``, or a second positional
    parameter *without a default*. A second parameter with a default keeps it (it is not a
    place for the context), and a required third one, or a keyword-only one that nothing
    supplies, is refused now rather than raising ``TypeError`` on every record."""
    found = accepts(handler)
    if found is None:  # a builtin or an object without a readable signature: the record alone
        return False
    where = describe(handler)
    if not found.positional and not found.varargs:
        raise BatchConfigurationError(
            f"process_batch: the record handler {where} takes no positional parameter; it is "
            "called as handler(record), or handler(record, context)"
        )
    required = found.required_positional()
    if required > 2:
        raise BatchConfigurationError(
            f"process_batch: the record handler {where} requires {required} positional "
            f"arguments ({', '.join(found.positional[:required])}); it is called with the "
            "record, and the context when a second parameter has no default"
        )
    injected = supplied_to(handler)
    missing = [
        name for name in found.keyword_only if name in found.required and name not in injected
    ]
    if missing:
        raise BatchConfigurationError(
            f"process_batch: the record handler {where} has keyword-only parameter(s) "
            f"{', '.join(missing)} without a default that nothing supplies; inject them with "
            "@inject_secrets under @process_batch, or give them a default"
        )
    return found.varargs or required == 2


def _check_retry_options(retry: Any, quarantine: Any, explicit: str | None) -> bool:
    """Whether ``retry=`` or ``quarantine=`` is set, after checking them. Their classes are
    imported only when one is given (``dataclasses`` costs cold starts that use neither)."""
    if retry is None and quarantine is None:
        return False
    from lambdakit.batch._retry import Backoff, Quarantine

    if retry is not None and not isinstance(retry, Backoff):
        raise BatchConfigurationError(f"retry must be a Backoff or None, got {retry!r}")
    if quarantine is not None and not isinstance(quarantine, Quarantine):
        raise BatchConfigurationError(
            f"quarantine must be a Quarantine or None, got {quarantine!r}"
        )
    if explicit is not None and explicit != "sqs":
        raise BatchConfigurationError(
            f"process_batch: retry= and quarantine= apply to SQS only, not source={explicit!r}"
        )
    return True


def _check_schemas(
    value_schema: Any, key_schema: Any, explicit: str | None
) -> tuple[Any, Any] | None:
    """``(value_schema, key_schema)`` for ``KafkaRecord.value_as()`` / ``key_as()`` without
    argument, after checking them; ``None`` when neither is set."""
    if value_schema is None and key_schema is None:
        return None
    for name, schema in (("value_schema", value_schema), ("key_schema", key_schema)):
        if schema is not None and not is_schema(schema):
            raise BatchConfigurationError(
                f"process_batch: {name} must be an AvroSchema, ProtobufSchema or JsonSchema "
                f"from lambdakit.kafka (or None), got {type(schema).__name__}"
            )
        if schema is not None and explicit is not None and explicit != EventSource.KAFKA:
            raise BatchConfigurationError(
                f"process_batch: {name} applies to Kafka records only, not source={explicit!r}"
            )
    return (value_schema, key_schema)


class _BatchProcessor:
    """One decorated record handler: its options, and a thread pool kept across invocations."""

    def __init__(
        self,
        handler: Callable[..., Any],
        source: str | None,
        concurrency: int,
        deadline_margin_ms: float,
        raise_on_all_failed: bool,
        log_failures: bool,
        max_logged_failures: int,
        metrics: bool,
        aftercare: Aftercare | None = None,
        schemas: tuple[Any, Any] | None = None,
    ) -> None:
        self.handler = handler
        # value_schema / key_schema: what value_as() / key_as() use while a batch runs.
        self.schemas = schemas
        self.source = source
        self.concurrency = concurrency
        self.deadline_margin_ms = deadline_margin_ms
        self.raise_on_all_failed = raise_on_all_failed
        # How many failures the summary logs with their tracebacks; the run keeps that many
        # exceptions, and at least the first one when raise_on_all_failed will carry it.
        self.logged = max_logged_failures if log_failures else 0
        self.keep = max(self.logged, 1 if raise_on_all_failed else 0)
        self.metrics = metrics
        # retry= / quarantine=: a step after the batch, over its failed records only.
        self.aftercare = aftercare
        self.is_async = is_coroutine_function(handler)
        self.with_context = _calls_with_context(handler)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = allocate_lock()

    def pool(self) -> ThreadPoolExecutor:
        # Created on the first concurrent batch and reused: threads outlive an invocation just
        # as boto3 clients do, so later invocations do not pay for starting them.
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._pool = ThreadPoolExecutor(
                        max_workers=self.concurrency, thread_name_prefix="lambdakit-batch"
                    )
        return self._pool

    def __call__(self, event: Any, context: Any) -> BatchResponse:
        handed = filtered_out.get()  # what @filter_records over this decorator dropped
        filtered = handed[1] if handed is not None and handed[0] is event else 0
        batch = read_batch(event, self.source)
        if batch is None:
            if filtered:  # every record was filtered out: still worth a summary and metrics
                source = source_of(handed[2], self.source)  # type: ignore[index]
                report(BatchOutcome(source, 0, filtered=filtered), metrics=self.metrics)
            return {"batchItemFailures": []}
        schemas = self.schemas
        if schemas is not None and batch.source != EventSource.KAFKA:
            names = " and ".join(
                name
                for name, s in zip(("value_schema", "key_schema"), schemas, strict=True)
                if s is not None
            )
            raise BatchConfigurationError(
                f"process_batch: {names} applies to Kafka records only, but this is a "
                f"{batch.source} event"
            )
        sequential = self.concurrency == 1
        aftercare = self.aftercare
        keep = self.keep
        if aftercare is not None:
            aftercare.check_source(batch)
            if aftercare.quarantine is not None:  # every failure's reason goes with it
                keep = len(batch.records)
        run = Run(
            batch,
            context,
            self.deadline_margin_ms,
            keep_failures=keep,
            sequential=sequential,
        )
        extra = (context,) if self.with_context else ()
        # For decorators under this one (idempotent): the context, and the time kept in hand.
        token = current_context.set(context)
        margin_token = current_margin_ms.set(self.deadline_margin_ms)
        batch_token = current_batch.set({})
        schemas_token = default_schemas.set(schemas) if schemas is not None else None
        try:
            with counting() as counts:
                if self.is_async:
                    with_event_loop(lambda loop: self._run_async(loop, batch, run, extra))
                elif sequential:
                    run.sequential(self.handler, context, self.with_context)
                else:
                    self._run_threads(batch, run, extra)
                # After the records, inside the batch's counts (Quarantined, BackoffApplied).
                done = aftercare(batch, run, context) if aftercare is not None else None
        finally:
            run.close()
            if schemas_token is not None:
                default_schemas.reset(schemas_token)
            current_batch.reset(batch_token)
            current_margin_ms.reset(margin_token)
            current_context.reset(token)
        # Reported before the response is returned (or AllRecordsFailedError raised): nothing
        # was logged while records ran.
        outcome = run.outcome(logged=self.logged, filtered=filtered, counts=counts.take())
        if done:  # quarantined: logged as moved away, not as retried
            for failure in outcome.failures:
                failure.quarantined = failure.record_id in done
        report(outcome, metrics=self.metrics)
        return self._response(batch, run, done)

    def _call(self, batch: Batch, extra: tuple[Any, ...]) -> Callable[[int], Any]:
        handler, records, view = self.handler, batch.records, batch.view
        return lambda index: handler(view(records[index], index), *extra)

    def _run_threads(self, batch: Batch, run: Run, extra: tuple[Any, ...]) -> None:
        call = self._call(batch, extra)
        next_lane = run.lane_feed()

        def worker() -> None:
            try:
                while (lane := next_lane()) is not None:
                    drive(run.lane(lane), call)
            except BaseException:  # KeyboardInterrupt, SystemExit: the invocation is over
                run.end()
                raise

        workers = min(self.concurrency, len(batch.records))
        pool = self.pool()
        futures = [pool.submit(carrying_context(worker)) for _ in range(workers)]
        try:
            for future in futures:
                future.result()
        except BaseException:
            # Raised by a record (or delivered to this thread): the other workers finish the
            # record in hand and start no other, and the invocation ends once they have.
            run.end()
            from concurrent.futures import wait

            wait(futures)
            raise

    def _run_async(
        self, loop: asyncio.AbstractEventLoop, batch: Batch, run: Run, extra: tuple[Any, ...]
    ) -> None:
        handler = self.handler
        if self.concurrency == 1:
            # One loop for the whole batch; records run one after the other on it.
            run.sequential(lambda record: loop.run_until_complete(handler(record, *extra)))
            return
        import asyncio

        call = self._call(batch, extra)
        next_lane = run.lane_feed()

        async def worker() -> None:
            try:
                while (lane := next_lane()) is not None:
                    await drive_async(run.lane(lane), call)
            except BaseException:  # KeyboardInterrupt, SystemExit, cancellation
                run.end()
                raise

        async def all_workers() -> None:
            workers = min(self.concurrency, len(batch.records))
            await asyncio.gather(*(worker() for _ in range(workers)))

        try:
            loop.run_until_complete(all_workers())
        except BaseException:
            # asyncio lets KeyboardInterrupt and SystemExit out of the loop with the other
            # workers suspended mid-record; with_event_loop cancels them, and run.end() makes
            # sure none starts another record while it does.
            run.end()
            raise

    def _response(self, batch: Batch, run: Run, done: set[str] | None = None) -> BatchResponse:
        if self.raise_on_all_failed and run.all_failed():
            errors = run.errors()
            first = errors[0] if errors else None
            raise AllRecordsFailedError(
                f"all {len(batch.records)} records of the {batch.source} batch failed "
                f"(first error: {safe_repr(first)})",
                errors,
            ) from first
        if done:  # quarantined: moved and deleted, so no longer to retry
            return {
                "batchItemFailures": [
                    {"itemIdentifier": i} for i in run.failures() if i not in done
                ]
            }
        return {"batchItemFailures": [{"itemIdentifier": i} for i in run.failures()]}


if TYPE_CHECKING:

    @overload
    def process_batch(handler: RecordHandler, /) -> LambdaHandler: ...

    @overload
    def process_batch(
        handler: None = None,
        /,
        *,
        source: str | None = None,
        concurrency: int = 1,
        deadline_margin_ms: float = DEFAULT_DEADLINE_MARGIN_MS,
        raise_on_all_failed: bool = False,
        log_failures: bool = True,
        max_logged_failures: int = DEFAULT_MAX_LOGGED_FAILURES,
        metrics: bool | None = None,
        retry: Backoff | None = None,
        quarantine: Quarantine | None = None,
        sqs_client: Any = None,
        value_schema: KafkaSchema | None = None,
        key_schema: KafkaSchema | None = None,
    ) -> Callable[[RecordHandler], LambdaHandler]: ...


def process_batch(
    handler: Callable[..., Any] | None = None,
    /,
    *,
    source: str | None = None,
    concurrency: int = 1,
    deadline_margin_ms: float = DEFAULT_DEADLINE_MARGIN_MS,
    raise_on_all_failed: bool = False,
    log_failures: bool = True,
    max_logged_failures: int = DEFAULT_MAX_LOGGED_FAILURES,
    metrics: bool | None = None,
    retry: Backoff | None = None,
    quarantine: Quarantine | None = None,
    sqs_client: Any = None,
    value_schema: KafkaSchema | None = None,
    key_schema: KafkaSchema | None = None,
) -> LambdaHandler | Callable[[Callable[..., Any]], LambdaHandler]:
    """Turn a *record handler* into a Lambda handler that reports partial batch failures.

    Wraps ``record_handler(record)`` or ``record_handler(record, context)`` (plain or
    ``async def``); returns ``handler(event, context) -> {"batchItemFailures": [...]}``. A record
    is reported unless its handler returned normally. Enable ``ReportBatchItemFailures`` on the
    event source mapping.

    - ``source``: ``"sqs"``, ``"kinesis"``, ``"dynamodb"`` or ``"kafka"``; detected from the
      records when omitted. SQS FIFO is recognised from the queue's ``.fifo`` ARN.
    - ``concurrency``: records run on a pool of this many threads (asyncio tasks for async
      handlers), keeping order within a FIFO message group and within a stream partition key.
    - ``deadline_margin_ms``: when the context reports less time than this, records not yet
      started are reported as failed (retried) instead of being lost to a timeout. 0 disables.
      On Lambda the clock is not read per record: a watchdog thread raises a flag at the
      cutoff, tested between records, so a record may start up to one interpreter switch
      interval (5 ms by default) after it.
    - ``raise_on_all_failed``: raise :class:`AllRecordsFailedError` when no record succeeded,
      instead of returning every record as failed.
    - ``log_failures``: log failed records with their tracebacks on ``lambdakit.batch``, after
      the batch's summary line (at most ``max_logged_failures`` per batch, the first ones; the
      rest are counted in the summary, so a batch of 10,000 failures logs 10 tracebacks, not
      10,000). ``max_logged_failures=0`` logs none.
    - ``metrics``: write the batch's counts as CloudWatch Embedded Metric Format on stdout;
      ``None`` follows the ``LAMBDAKIT_METRICS`` environment variable.
    - ``retry``: a :class:`~lambdakit.batch.Backoff`; SQS only. After the batch, each failed
      message's visibility timeout is set from its ``ApproximateReceiveCount``
      (``ChangeMessageVisibilityBatch``), so a failing message comes back later each time.
    - ``quarantine``: a :class:`~lambdakit.batch.Quarantine`; SQS only. A message that failed
      after that many receives is sent to the quarantine queue and deleted, and no longer
      reported (a FIFO group moves on). A failed send or delete leaves it reported.
    - ``sqs_client``: the boto3 SQS client for those calls; by default one is created on the
      first batch that needs it and reused.
    - ``value_schema`` / ``key_schema``: Kafka only. The ``AvroSchema``, ``ProtobufSchema`` or
      ``JsonSchema`` (:mod:`lambdakit.kafka`) that ``record.value_as()`` / ``record.key_as()``
      use when called without one. Decoding stays lazy (a record whose handler never asks is
      not decoded); a :class:`~lambdakit.errors.KafkaDecodeError` fails its record like any
      exception. A non-Kafka event fails the invocation with ``BatchConfigurationError``.

    Nothing is logged while records run: one summary line per batch (INFO when every record
    succeeded, WARNING otherwise) is written before the response is returned.

    Options are checked here, when the decorator is applied, so a bad one fails at import.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise BatchConfigurationError(f"concurrency must be an integer >= 1, got {concurrency!r}")
    if (
        isinstance(deadline_margin_ms, bool)
        or not isinstance(deadline_margin_ms, int | float)
        or deadline_margin_ms < 0
    ):
        raise BatchConfigurationError(
            f"deadline_margin_ms must be a number of milliseconds >= 0, got {deadline_margin_ms!r}"
        )
    if (
        isinstance(max_logged_failures, bool)
        or not isinstance(max_logged_failures, int)
        or max_logged_failures < 0
    ):
        raise BatchConfigurationError(
            f"max_logged_failures must be an integer >= 0, got {max_logged_failures!r}"
        )
    if metrics is not None and not isinstance(metrics, bool):
        raise BatchConfigurationError(
            f"metrics must be True, False or None (follow LAMBDAKIT_METRICS), got {metrics!r}"
        )
    from lambdakit._internal.emf import metrics_enabled

    metrics_on = metrics_enabled(metrics)
    explicit = parse_source(source) if source is not None else None
    options = _check_retry_options(retry, quarantine, explicit)
    schemas = _check_schemas(value_schema, key_schema, explicit)

    def decorate(record_handler: Callable[..., Any]) -> LambdaHandler:
        if not callable(record_handler):
            raise BatchConfigurationError(
                f"process_batch wraps a record handler, got {type(record_handler).__name__}"
            )
        check_stack("process_batch", record_handler)
        aftercare = None
        if options:
            from lambdakit.batch._retry import Aftercare

            aftercare = Aftercare(retry, quarantine, sqs_client)  # one client per handler
        processor = _BatchProcessor(
            record_handler,
            explicit,
            concurrency,
            deadline_margin_ms,
            raise_on_all_failed,
            log_failures,
            max_logged_failures,
            metrics_on,
            aftercare,
            schemas,
        )

        def lambda_handler(event: Any, context: Any = None) -> BatchResponse:
            return processor(event, context)

        wraps(lambda_handler, record_handler)
        mark(lambda_handler, "process_batch", record_handler, role=LAMBDA_HANDLER)
        # For flush_kafka(scope="invocation") over this handler: its failures, found after the
        # batch's metrics line, get a line of their own when this batch writes metrics.
        lambda_handler.__lambdakit_metrics__ = metrics_on  # type: ignore[attr-defined]
        return lambda_handler

    if handler is not None:
        return decorate(handler)
    return decorate
