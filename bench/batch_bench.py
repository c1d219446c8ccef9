"""Benchmark ``lambdakit.batch`` against Powertools for AWS Lambda (Python) v3, with a floor.

Every case is measured three ways in one run, alternating, and reported as the median of 11
repeats (``--quick``: 3) with the ratios lambdakit / floor and lambdakit / Powertools:

- **floor**: a bare Python loop with the same semantics: ``try``/``except`` around each record,
  failures collected, the same ``{"batchItemFailures": [...]}`` response; SQS FIFO stops a
  message group at its first failure (the group's later records are reported, not run); a
  stream (Kinesis, DynamoDB Streams) stops at its first failure and reports that sequence
  number, the checkpoint Lambda restarts from;
- **lambdakit**: ``@process_batch`` with its defaults;
- **Powertools**: ``process_partial_response`` with one module-level processor, as its docs
  show: ``BatchProcessor`` (SQS standard, Kinesis, DynamoDB Streams) or
  ``SqsFifoPartialProcessor(skip_group_on_error=True)`` (FIFO: the same per-group semantics),
  both answering a batch in which every record failed with ``batchItemFailures`` rather than
  an exception (``raise_on_entire_batch_failure=False``; the FIFO processor has no such
  parameter, so the attribute is set), as lambdakit does by default.

Per-record cases (CPU time, ``time.process_time``, per record of a 10,000-record event built
with ``lambdakit.testing``'s builders): the four sources x 0 / 5 / 100% of handler calls
failing x the two handler signatures (lambdakit: ``h(record)`` and ``h(record, context)``;
Powertools: ``h(record)`` and ``h(record, lambda_context)``, the parameter name it injects the
context by) x logging on and off. The record handler does no work of its own: it counts its
calls and raises on every 20th (5%) or on every call (100%), so every implementation fails the
same records, and what is timed is the library around it. Four more rows (SQS standard and
FIFO, 0%, logging on) have the handler read ``record.body`` (floor: ``rec["body"]``), as every
real handler reads its payload. Each invocation gets a fresh
``awslambdaric.lambda_context.LambdaContext`` (the runtime's own) with 15 minutes left. Each
case builds its implementations afresh and collects garbage after them (a processor keeps its
last batch alive); the events are built once and ``gc.freeze()``-d.

Logging on is Lambda's: the runtime's own ``awslambdaric.bootstrap._setup_logging(LogFormat.JSON,
None, sink)`` (what ``AWS_LAMBDA_LOG_FORMAT=JSON`` gives: a root handler, root level WARNING,
the runtime's JSON formatter) with its ``FramedTelemetryLogSink`` writing framed records to
``/dev/null`` (formatting and writes happen for real). Logging off is
``logging.disable(logging.CRITICAL)``.

Other cases:

- I/O: 1,000 SQS records whose handler waits 5 ms. lambdakit ``concurrency=32`` (a blocking
  ``time.sleep`` on its threads) and, second row, an ``async def`` handler with
  ``concurrency=1000``; Powertools' fastest configuration, ``AsyncBatchProcessor`` with an
  async handler awaiting ``asyncio.sleep`` (every record at once); floors: a reused
  ``ThreadPoolExecutor(32)`` and ``asyncio.gather`` over every record. Wall ms per batch.
- Filtering: ``@filter_records`` over ``@process_batch`` (20% of 10,000 bodies dropped by a
  pattern on the JSON body) against Powertools' ``BatchProcessor(EventType.SQS)`` +
  ``process_partial_response`` whose record handler does the same check on
  ``json.loads(record.body)``; floor: a bare loop parsing each body once. The handler reads
  the parsed body. A table of its own shows, informational, lambdakit with the check written
  in a ``@process_batch`` handler instead (what ``filter_records`` costs over doing it by hand).
- Async: invocations of 5 records whose ``async def`` handler awaits ``asyncio.to_thread`` once
  (lambdakit sequential, Powertools ``AsyncBatchProcessor``, floor: one reused event loop
  running the records in turn); wall ms per invocation.
- Import of the batch module in a fresh interpreter, alternating; floor: ``import json`` (what
  a bare handler needs), in the same alternation.

Checks (exit status 1 on failure): in every run of every case the three implementations report
the same failed records: the same identifiers for SQS (standard and FIFO), the same lowest
sequence number for streams (Powertools reports every failed record and Lambda checkpoints at
the lowest; lambdakit and the floor report the lowest and run nothing after it); and the
expected number of them. Targets (issue 16) are reported, never fatal.

Run with ``make bench`` or ``.venv/bin/python bench/batch_bench.py``; ``--quick`` is a smoke run
(2,000 records, 3 repeats), ``--only TEXT`` keeps the per-record cases whose name contains TEXT,
``--markdown`` prints Markdown tables for the docs.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from _report import (
    FLOOR_HEADER,
    FloorRow,
    Target,
    arguments,
    check,
    powertools_defaults,
    print_header,
    render,
)
from coldstart.lambda_env import lambda_context, lambda_logging

from lambdakit.batch import process_batch
from lambdakit.filtering import filter_records
from lambdakit.testing import dynamodb_stream_event, kinesis_event, sqs_event

Event = dict[str, Any]
Invoke = Callable[[Event, Any], Any]  # (event, context) -> response


@dataclass(frozen=True)
class Sizes:
    records: int
    reps: int
    io_records: int
    async_invocations: int
    import_reps: int


FULL = Sizes(records=10_000, reps=11, io_records=1_000, async_invocations=200, import_reps=7)
QUICK = Sizes(records=2_000, reps=3, io_records=200, async_invocations=50, import_reps=3)

SOURCES = ("SQS standard", "SQS FIFO", "Kinesis", "DynamoDB Streams")
FAIL_PERCENTS = (0, 5, 100)
EVERY = {0: 0, 5: 20, 100: 1}  # a handler call fails when its number % every == every - 1
FIFO_GROUPS = 1_000  # records interleaved round-robin over this many message groups

# --- the record handlers --------------------------------------------------------------------------
# They count their calls and fail every EVERY-th; _calls is reset before each invocation, so the
# floor, lambdakit and Powertools (which all call them in batch order, skipping the same records)
# fail the same records. "nothing" touches nothing (the library's own cost); "body" reads the
# SQS body first, as every real handler reads its payload (floor: rec["body"]).

_every = 0
_calls: Iterator[int] = itertools.count()


class Poison(Exception):
    """What a failing record raises."""


def reset_calls() -> None:
    global _calls
    _calls = itertools.count()


_HANDLER_TEMPLATE = """
def {name}(record{context}):
    {read}
    if _every and next(_calls) % _every == _every - 1:
        raise Poison("record rejected")
"""
_READS = {"nothing": "pass", "body": "record.body", "raw body": 'record["body"]'}


def record_handler(read: str, context: str = "") -> Callable[..., None]:
    """A handler that reads ``read`` (a key of _READS) and takes ``context`` as its second
    parameter's name (none when empty)."""
    name = "on_record"
    code = _HANDLER_TEMPLATE.format(
        name=name, context=f", {context}" if context else "", read=_READS[read]
    )
    exec(compile(code, f"<handler {read}>", "exec"), globals())
    handler: Callable[..., None] = globals().pop(name)
    return handler


@dataclass(frozen=True)
class Handlers:
    """One handler shape as each implementation gets it."""

    floor: Callable[..., None]
    lambdakit: Callable[..., None]
    powertools: Callable[..., None]
    with_context: bool


def handlers(read: str, with_context: bool) -> Handlers:
    """``read`` is "nothing" or "body". Powertools passes the context only to a parameter named
    ``lambda_context``; lambdakit to a second positional parameter."""
    floor_read = "raw body" if read == "body" else read
    lk_context, pt_context = ("context", "lambda_context") if with_context else ("", "")
    return Handlers(
        record_handler(floor_read, lk_context),
        record_handler(read, lk_context),
        record_handler(read, pt_context),
        with_context,
    )


SIGNATURES = {"h(record)": False, "h(record, context)": True}


# --- the floors: one loop per ordering rule, generated for each signature -------------------------
# Written out rather than parametrised, so the floor pays for nothing (no *args, no extra frame).

_FLOOR_TEMPLATES = {
    "independent": """
def floor(event, context):
    failures = []
    for rec in event["Records"]:
        try:
            {call}
        except Exception:
            failures.append({{"itemIdentifier": rec["messageId"]}})
    return {{"batchItemFailures": failures}}
""",
    "grouped": """
def floor(event, context):
    failures = []
    broken = set()
    for rec in event["Records"]:
        group = rec["attributes"]["MessageGroupId"]
        if group in broken:
            failures.append({{"itemIdentifier": rec["messageId"]}})
            continue
        try:
            {call}
        except Exception:
            broken.add(group)
            failures.append({{"itemIdentifier": rec["messageId"]}})
    return {{"batchItemFailures": failures}}
""",
    "stream": """
def floor(event, context):
    for rec in event["Records"]:
        try:
            {call}
        except Exception:
            return {{"batchItemFailures": [{{"itemIdentifier": {sequence}}}]}}
    return {{"batchItemFailures": []}}
""",
}
_ORDERING = {
    "SQS standard": ("independent", None),
    "SQS FIFO": ("grouped", None),
    "Kinesis": ("stream", 'rec["kinesis"]["sequenceNumber"]'),
    "DynamoDB Streams": ("stream", 'rec["dynamodb"]["SequenceNumber"]'),
}


def floor_for(source: str, handler: Callable[..., Any], with_context: bool) -> Invoke:
    ordering, sequence = _ORDERING[source]
    call = "handler(rec, context)" if with_context else "handler(rec)"
    code = _FLOOR_TEMPLATES[ordering].format(call=call, sequence=sequence)
    namespace: dict[str, Any] = {"handler": handler}
    exec(compile(code, f"<floor {ordering}>", "exec"), namespace)
    floor: Invoke = namespace["floor"]
    return floor


# --- Powertools, as its docs show it --------------------------------------------------------------


def powertools_processor(source: str, *, asynchronous: bool = False) -> Any:
    from aws_lambda_powertools.utilities import batch

    if source == "SQS FIFO":
        processor: Any = batch.SqsFifoPartialProcessor(skip_group_on_error=True)
        processor.raise_on_entire_batch_failure = False  # no such parameter on this class
        return processor
    event_type = {
        "SQS standard": batch.EventType.SQS,
        "Kinesis": batch.EventType.KinesisDataStreams,
        "DynamoDB Streams": batch.EventType.DynamoDBStreams,
    }[source]
    cls = batch.AsyncBatchProcessor if asynchronous else batch.BatchProcessor
    return cls(event_type=event_type, raise_on_entire_batch_failure=False)


def powertools(
    source: str, record_handler: Callable[..., Any], *, asynchronous: bool = False
) -> Invoke:
    from aws_lambda_powertools.utilities import batch

    processor = powertools_processor(source, asynchronous=asynchronous)
    process = (
        batch.async_process_partial_response if asynchronous else batch.process_partial_response
    )

    def handler(event: Event, context: Any) -> Any:
        return process(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler


# --- Lambda's logging on and off -----------------------------------------------------------------


def logging_on(on: bool) -> None:
    logging.disable(logging.NOTSET if on else logging.CRITICAL)


# --- measuring ------------------------------------------------------------------------------------


def failed(response: Any) -> list[Any]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def checkpoint(response: Any) -> int | None:
    """Where Lambda restarts a stream: the lowest sequence number reported."""
    ids = failed(response)
    return min(map(int, ids)) if ids else None


def measure(
    name: str,
    implementations: dict[str, Invoke],
    event: Event,
    reps: int,
    outcome: Callable[[Any], Any],
    clock: Callable[[], float] = time.process_time,
) -> tuple[dict[str, float], Any]:
    """Median seconds per invocation of each implementation, and the outcome they all gave: one
    untimed round, then ``reps`` rounds, the order rotating each round. Every response's
    ``outcome`` must equal the first one's (the floor's)."""
    names = list(implementations)
    times: dict[str, list[float]] = {n: [] for n in names}
    expected: list[Any] = []
    for rep in range(reps + 1):
        shift = rep % len(names)
        for impl in names[shift:] + names[:shift]:
            context = lambda_context(900.0)  # 15 minutes left
            reset_calls()
            start = clock()
            response = implementations[impl](event, context)
            seconds = clock() - start
            got = outcome(response)
            if not expected:
                expected.append(got)
            check(got == expected[0], f"{name}: {impl} reported {got!r}, not {expected[0]!r}")
            if rep:
                times[impl].append(seconds)
    return {n: statistics.median(t) for n, t in times.items()}, expected[0]


def check_outcome(name: str, source: str, percent: int, n: int, outcome: Any) -> None:
    """What every implementation reported is what the case should report: nothing at 0%,
    exactly the failing 5% or 100% on SQS standard, something otherwise."""
    if percent == 0:
        check(outcome in (frozenset(), None), f"{name}: failures reported")
    elif source == "SQS standard":
        check(len(outcome) == n * percent // 100, f"{name}: {len(outcome)} reported")
    else:
        check(bool(outcome), f"{name}: nothing reported")


def build_events(n: int) -> dict[str, Event]:
    bodies = [f"order-{i}" for i in range(n)]
    return {
        "SQS standard": sqs_event(bodies),
        "SQS FIFO": sqs_event(bodies, group_ids=[f"g{i % FIFO_GROUPS}" for i in range(n)]),
        "Kinesis": kinesis_event(bodies),
        "DynamoDB Streams": dynamodb_stream_event(
            [{"new_image": {"id": f"o-{i}", "amount": 12}} for i in range(n)]
        ),
    }


@dataclass(frozen=True)
class Case:
    source: str
    percent: int
    signature: str
    log: bool
    read: str = "nothing"

    @property
    def name(self) -> str:
        reads = ", reads record.body" if self.read == "body" else ""
        log = "logging JSON" if self.log else "logging off"
        return f"{self.source}, {self.percent}% fail, {self.signature}{reads}, {log}"

    @property
    def targets(self) -> tuple[Target, ...]:
        """Issue 16's targets; they are set with Lambda's logging on."""
        if not self.log:
            return ()
        if self.source.startswith("SQS"):
            floor = (Target("floor", 3.0),) if self.percent == 0 else ()
            return (*floor, Target("peer", 0.4))
        return (Target("peer", 0.7),) if self.percent == 0 else ()


def cases() -> list[Case]:
    """Every source, failure share and signature with logging on, the same with the body read
    (SQS, 0%), then everything again with logging off."""
    grid = [
        Case(source, percent, signature, log)
        for log in (True, False)
        for source in SOURCES
        for percent in FAIL_PERCENTS
        for signature in SIGNATURES
    ]
    reading = [
        Case(source, 0, signature, True, "body")
        for source in ("SQS standard", "SQS FIFO")
        for signature in SIGNATURES
    ]
    half = len(grid) // 2
    return [*grid[:half], *reading, *grid[half:]]


def per_record_rows(sizes: Sizes, only: str | None) -> list[FloorRow]:
    global _every
    events = build_events(sizes.records)
    gc.collect()
    gc.freeze()  # the events are long-lived: collections need not walk them
    rows: list[FloorRow] = []
    for case in cases():
        if only and only not in case.name:
            continue
        # Built per case and dropped after it: a processor keeps its last batch (Powertools
        # keeps every failed record's exception and traceback until the next batch), and what
        # one case leaves behind must not slow the garbage collector in the next.
        shape = handlers(case.read, SIGNATURES[case.signature])
        implementations = {
            "floor": floor_for(case.source, shape.floor, shape.with_context),
            "lambdakit": process_batch(shape.lambdakit),
            "Powertools": powertools(case.source, shape.powertools),
        }
        stream = case.source in ("Kinesis", "DynamoDB Streams")
        outcome = checkpoint if stream else (lambda r: frozenset(failed(r)))
        _every = EVERY[case.percent]
        logging_on(case.log)
        try:
            medians, reported = measure(
                case.name,
                implementations,
                events[case.source],
                sizes.reps,
                outcome,
            )
        finally:
            logging_on(True)
            _every = 0
            del implementations
            gc.collect()
        check_outcome(case.name, case.source, case.percent, sizes.records, reported)
        us = 1e6 / sizes.records
        rows.append(
            FloorRow(
                case.name,
                medians["floor"] * us,
                medians["lambdakit"] * us,
                medians["Powertools"] * us,
                "µs",
                case.targets,
            )
        )
    gc.unfreeze()
    return rows


# --- I/O: concurrency against Powertools' AsyncBatchProcessor -------------------------------------

IO_WAIT_S = 0.005


def sleep_5ms(record: Any) -> None:
    time.sleep(IO_WAIT_S)


async def async_sleep_5ms(record: Any) -> None:
    await asyncio.sleep(IO_WAIT_S)


def thread_pool_floor(pool: ThreadPoolExecutor) -> Invoke:
    def floor(event: Event, context: Any) -> Any:
        records = event["Records"]
        futures = [pool.submit(sleep_5ms, rec) for rec in records]
        failures = []
        for rec, future in zip(records, futures, strict=True):
            try:
                future.result()
            except Exception:
                failures.append({"itemIdentifier": rec["messageId"]})
        return {"batchItemFailures": failures}

    return floor


def gather_floor(event: Event, context: Any) -> Any:
    records = event["Records"]

    async def run_all() -> list[Any]:
        return await asyncio.gather(
            *(async_sleep_5ms(rec) for rec in records), return_exceptions=True
        )

    results = asyncio.run(run_all())
    failures = [
        {"itemIdentifier": rec["messageId"]}
        for rec, result in zip(records, results, strict=True)
        if isinstance(result, Exception)
    ]
    return {"batchItemFailures": failures}


def io_rows(sizes: Sizes) -> list[FloorRow]:
    n = sizes.io_records
    event = sqs_event([f"msg-{i}" for i in range(n)])
    pt = powertools("SQS standard", async_sleep_5ms, asynchronous=True)

    def row(case: str, label: str, floor: Invoke, lambdakit: Invoke) -> FloorRow:
        """One I/O case: wall time, milliseconds per batch, against Powertools' async peer."""
        medians, _ = measure(
            case,
            {"floor": floor, "lambdakit": lambdakit, "Powertools": pt},
            event,
            sizes.reps,
            lambda r: frozenset(failed(r)),
            clock=time.perf_counter,
        )
        return FloorRow(
            label,
            medians["floor"] * 1000,
            medians["lambdakit"] * 1000,
            medians["Powertools"] * 1000,
            "ms",
        )

    with ThreadPoolExecutor(max_workers=32) as pool:
        threads = row(
            "I/O threads",
            f"I/O: {n:,} x 5 ms; lk concurrency=32 (threads), floor ThreadPoolExecutor(32)",
            thread_pool_floor(pool),
            process_batch(concurrency=32)(sleep_5ms),
        )
    asynchronous = row(
        "I/O asyncio",
        f"I/O: {n:,} x 5 ms; async handler, lk concurrency={n:,}, floor asyncio.gather",
        gather_floor,
        process_batch(concurrency=n)(async_sleep_5ms),
    )
    return [threads, asynchronous]


# --- async handlers, a few records per invocation -------------------------------------------------


async def awaits_a_thread(record: Any) -> None:
    await asyncio.to_thread(len, "x")


def async_row(sizes: Sizes) -> FloorRow:
    loop = asyncio.new_event_loop()

    def floor(event: Event, context: Any) -> Any:
        failures = []
        for rec in event["Records"]:
            try:
                loop.run_until_complete(awaits_a_thread(rec))
            except Exception:
                failures.append({"itemIdentifier": rec["messageId"]})
        return {"batchItemFailures": failures}

    implementations = {
        "floor": floor,
        "lambdakit": process_batch(awaits_a_thread),
        "Powertools": powertools("SQS standard", awaits_a_thread, asynchronous=True),
    }
    many = sizes.async_invocations

    def repeated(invoke: Invoke) -> Invoke:
        def run(event: Event, context: Any) -> Any:
            for _ in range(many - 1):
                invoke(event, context)
            return invoke(event, context)

        return run

    event = sqs_event([f"msg-{i}" for i in range(5)])
    medians, _ = measure(
        "async",
        {name: repeated(invoke) for name, invoke in implementations.items()},
        event,
        sizes.reps,
        lambda r: frozenset(failed(r)),
        clock=time.perf_counter,
    )
    loop.close()
    ms = 1000 / many
    return FloorRow(
        "async: 5 records, each awaits to_thread (floor: one loop, reused)",
        medians["floor"] * ms,
        medians["lambdakit"] * ms,
        medians["Powertools"] * ms,
        "ms/inv",
    )


# --- filtering inside the batch -------------------------------------------------------------------

ORDER_PATTERN = {"body": {"order_id": [{"exists": True}]}}


def order_handler(record: Any) -> None:
    record.json()["order_id"]


def hand_checked(record: Any) -> None:
    order = record.json()
    if "order_id" not in order:
        return
    order["order_id"]


def powertools_checked(record: Any) -> None:
    """Powertools' record handler for the filtering case: the check written in it, on the body
    parsed as its docs parse it (``json.loads(record.body)``)."""
    order = json.loads(record.body)
    if "order_id" not in order:
        return
    order["order_id"]


def filtering_rows(sizes: Sizes) -> tuple[FloorRow, FloorRow]:
    """The filtering case against Powertools (the peer, for the main table) and, informational,
    against lambdakit's own ``process_batch`` with the check in the handler (for its table)."""
    n = sizes.records
    bodies = [
        json.dumps({"type": "ping", "sequence": i} if i % 5 == 4 else {"order_id": f"o-{i}"})
        for i in range(n)
    ]
    event = sqs_event(bodies)

    def floor(event: Event, context: Any) -> Any:
        failures = []
        loads = json.loads
        for rec in event["Records"]:
            try:
                order = loads(rec["body"])
                if "order_id" not in order:
                    continue
                order["order_id"]
            except Exception:
                failures.append({"itemIdentifier": rec["messageId"]})
        return {"batchItemFailures": failures}

    medians, reported = measure(
        "filtering",
        {
            "floor": floor,
            "lambdakit": filter_records(ORDER_PATTERN)(process_batch(order_handler)),
            "Powertools": powertools("SQS standard", powertools_checked),
            "hand check": process_batch(hand_checked),
        },
        event,
        sizes.reps,
        lambda r: frozenset(failed(r)),
    )
    check_outcome("filtering", "SQS standard", 0, n, reported)
    us = {name: median * 1e6 / n for name, median in medians.items()}
    case = f"SQS, {n:,} JSON bodies, 20% dropped by the pattern, h(record) reads record.json()"
    return (
        FloorRow(
            f"filtering: {case} (Powertools: json.loads(record.body), check in handler)",
            us["floor"],
            us["lambdakit"],
            us["Powertools"],
            "µs",
        ),
        FloorRow(
            case,
            us["floor"],
            us["lambdakit"],
            us["hand check"],
            "µs",
            (Target("peer", 1.5),),
            peer_name="check in handler",
        ),
    )


FILTER_HEADER = [
    "case",
    "floor",
    "filter_records + process_batch",
    "process_batch, check in handler",
    "lk / floor",
    "filter / check",
    "target",
    "met?",
]

# --- import ---------------------------------------------------------------------------------------


def import_seconds(module: str) -> float:
    """Seconds a fresh interpreter takes to import ``module``, which it must not have imported
    already (at startup, through ``site``): that import would cost nothing here."""
    code = (
        f"import sys, time; loaded = {module!r} in sys.modules; t = time.perf_counter(); "
        f"import {module}; print(time.perf_counter() - t, loaded)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, loaded = out.stdout.split()
    check(loaded == "False", f"import: {module} was already imported at interpreter startup")
    return float(seconds)


def import_row(sizes: Sizes) -> FloorRow:
    """The floor is what a bare handler imports (``json``, for its bodies), in the same fresh
    interpreters and alternation (the order rotating each round) as the two batch modules.
    ``lambdakit.batch`` imports neither ``json`` nor the ``re`` it pulls in until a record is
    parsed, so it can come in under this floor: that deferred cost is the cold-start bench's."""
    modules = {
        "floor": "json",
        "lambdakit": "lambdakit.batch",
        "Powertools": "aws_lambda_powertools.utilities.batch",
    }
    times: dict[str, list[float]] = {name: [] for name in modules}
    names = list(modules)
    for rep in range(sizes.import_reps):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(import_seconds(modules[name]))
    ms = {name: statistics.median(t) * 1000 for name, t in times.items()}
    return FloorRow(
        "import the batch module (fresh process; floor: import json, which lk defers to first use)",
        ms["floor"],
        ms["lambdakit"],
        ms["Powertools"],
        "ms",
        (Target("peer", 0.25),),
    )


def main() -> int:
    parser = arguments(__doc__, "2,000 records and 3 repeats, for a smoke test")
    parser.add_argument("--only", help="per-record cases whose name contains this text only")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL

    powertools_defaults()
    lambda_logging()
    started = time.perf_counter()

    rows = per_record_rows(sizes, args.only)
    others = [] if args.only else [*io_rows(sizes), async_row(sizes), import_row(sizes)]
    filtering: list[FloorRow] = []
    if not args.only:
        against_powertools, against_check = filtering_rows(sizes)
        others.insert(-1, against_powertools)  # before the import row
        filtering.append(against_check)

    from importlib.metadata import version

    print_header(
        f"awslambdaric {version('awslambdaric')}; {sizes.records:,} records per event; medians "
        f"of {sizes.reps} alternating repeats (imports: {sizes.import_reps}); CPU time "
        "(time.process_time) per record, wall time for I/O and async"
        + (" [--quick]" if args.quick else ""),
        "logging JSON: awslambdaric's _setup_logging(LogFormat.JSON, None, FramedTelemetryLogSink"
        "(/dev/null)), root at WARNING; logging off: logging.disable(CRITICAL)",
    )
    print(render([*rows, *others], args.markdown, FLOOR_HEADER))
    if filtering:
        print()
        print(render(filtering, args.markdown, FILTER_HEADER))
    missed = sum(row.missed for row in [*rows, *others, *filtering])
    targeted = sum(bool(row.targets) for row in [*rows, *others, *filtering])
    print(
        f"\n{targeted - missed} of {targeted} targets met; run took "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
