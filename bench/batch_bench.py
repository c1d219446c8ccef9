"""Benchmark ``lambdakit.batch`` against Powertools for AWS Lambda (Python) v3's BatchProcessor.

Three cases, measured side by side in one run and reported as medians:

1. CPU overhead: 10,000 SQS records, a record handler that does nothing, 5% of records raise.
   Microseconds per record; both libraries must report the same failed message ids.
2. I/O-bound: 1,000 SQS records whose handler sleeps 5 ms; lambdakit with ``concurrency=32``
   against Powertools' sequential ``BatchProcessor``. Total seconds per batch.
3. Async record handlers: invocations of 5 SQS records whose ``async def`` handler awaits
   ``asyncio.to_thread`` once (an I/O client's usual shape), lambdakit against Powertools'
   ``AsyncBatchProcessor``. Milliseconds per invocation: this is where a loop and executor
   threads made per invocation show.
4. Import time of ``lambdakit.batch`` and ``aws_lambda_powertools.utilities.batch``, each in a
   fresh interpreter, alternating.

Logging is disabled (``logging.disable(logging.CRITICAL)``) for both libraries: each keeps its
default logging calls, but no record reaches a handler or the terminal.

Run with ``make bench`` or ``.venv/bin/python bench/batch_bench.py``; ``--quick`` is a smaller
smoke run (a few seconds), ``--markdown`` prints the table as Markdown for the docs. Exits
non-zero only when a correctness check fails; a missed target is reported, not fatal.
"""

from __future__ import annotations

import logging
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from _report import Row, arguments, check, powertools_defaults, print_header, render

from lambdakit.batch import process_batch
from lambdakit.testing import LambdaContext, sqs_event

Event = dict[str, Any]
Handler = Callable[[Event, Any], Any]
FAIL = "fail"


class HasBody(Protocol):
    @property
    def body(self) -> str: ...


@dataclass(frozen=True)
class Sizes:
    cpu_records: int
    cpu_reps: int
    io_records: int
    io_reps: int
    import_reps: int


FULL = Sizes(cpu_records=10_000, cpu_reps=7, io_records=1_000, io_reps=3, import_reps=7)
QUICK = Sizes(cpu_records=2_000, cpu_reps=3, io_records=200, io_reps=1, import_reps=3)
ASYNC_INVOCATIONS = 200  # per repetition of the async case


def fail_some(record: HasBody) -> None:
    if record.body == FAIL:
        raise ValueError("poison message")


def sleep_5ms(record: HasBody) -> None:
    time.sleep(0.005)


def powertools(record_handler: Callable[[HasBody], Any], *, asynchronous: bool = False) -> Handler:
    """A Lambda handler built as Powertools documents it: one module-level processor, reused
    (``AsyncBatchProcessor`` and ``async_process_partial_response`` for an async handler)."""
    from aws_lambda_powertools.utilities import batch

    if asynchronous:
        processor: Any = batch.AsyncBatchProcessor(event_type=batch.EventType.SQS)
        process: Callable[..., Any] = batch.async_process_partial_response
    else:
        processor = batch.BatchProcessor(event_type=batch.EventType.SQS)
        process = batch.process_partial_response

    def handler(event: Event, context: Any) -> Any:
        return process(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler


def failed_ids(response: Any) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def timed(handler: Handler, event: Event) -> tuple[float, Any]:
    context = LambdaContext()
    start = time.perf_counter()
    response = handler(event, context)
    return time.perf_counter() - start, response


def compare(
    lk: Handler, pt: Handler, event: Event, reps: int, expected: set[str], warmup: bool = True
) -> list[float]:
    """Median seconds per batch for [lambdakit, powertools], runs alternating."""
    warmups = 1 if warmup else 0
    times: list[list[float]] = [[], []]
    for rep in range(warmups + reps):
        for slot, (name, handler) in enumerate((("lambdakit", lk), ("powertools", pt))):
            seconds, response = timed(handler, event)
            check(failed_ids(response) == expected, f"{name} reported other failed ids")
            if rep >= warmups:
                times[slot].append(seconds)
    return [statistics.median(t) for t in times]


def cpu_case(sizes: Sizes) -> Row:
    n = sizes.cpu_records
    event = sqs_event([FAIL if i % 20 == 0 else f"ok-{i}" for i in range(n)])
    expected = {r["messageId"] for r in event["Records"] if r["body"] == FAIL}
    check(len(expected) == n // 20, "expected 5% failing records")
    lk, pt = compare(
        process_batch(fail_some), powertools(fail_some), event, sizes.cpu_reps, expected
    )
    per_record = 1e6 / n
    return Row(f"CPU: {n:,} records, 5% fail", lk * per_record, pt * per_record, "µs/rec", 0.5)


def io_case(sizes: Sizes) -> Row:
    n = sizes.io_records
    event = sqs_event([f"msg-{i}" for i in range(n)])
    lk_handler = process_batch(concurrency=32)(sleep_5ms)
    # No warm-up run: the sequential peer's cost is its sleeps, and each of its runs takes ~5 s.
    lk, pt = compare(lk_handler, powertools(sleep_5ms), event, sizes.io_reps, set(), warmup=False)
    return Row(f"I/O: {n:,} records x 5 ms sleep", lk, pt, "s", 0.05)


async def awaits_a_thread(record: HasBody) -> None:
    import asyncio

    await asyncio.to_thread(len, record.body)


def async_case(sizes: Sizes) -> Row:
    event = sqs_event([f"msg-{i}" for i in range(5)])
    handlers = (process_batch(awaits_a_thread), powertools(awaits_a_thread, asynchronous=True))
    per_invocation: list[list[float]] = [[], []]
    for rep in range(1 + sizes.cpu_reps):  # the first round warms both up
        for slot, handler in enumerate(handlers):
            start = time.perf_counter()
            for _ in range(ASYNC_INVOCATIONS):
                check(failed_ids(handler(event, LambdaContext())) == set(), "async: failures")
            if rep:
                per_invocation[slot].append((time.perf_counter() - start) / ASYNC_INVOCATIONS)
    lk, pt = (statistics.median(t) * 1000 for t in per_invocation)
    return Row("async: 5 records, each awaits to_thread", lk, pt, "ms/inv", None)


def import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def import_case(sizes: Sizes) -> Row:
    modules = ("lambdakit.batch", "aws_lambda_powertools.utilities.batch")
    times: list[list[float]] = [[], []]
    for _ in range(sizes.import_reps):
        for slot, module in enumerate(modules):
            times[slot].append(import_seconds(module))
    lk, pt = (statistics.median(t) * 1000 for t in times)
    return Row("import batch module (fresh process)", lk, pt, "ms", 0.25)


def main() -> int:
    parser = arguments(__doc__, "fewer records and runs, for a smoke test")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL

    logging.disable(logging.CRITICAL)
    powertools_defaults()

    rows = [cpu_case(sizes), io_case(sizes), async_case(sizes), import_case(sizes)]

    print_header(
        f"medians of {sizes.cpu_reps} (CPU), {sizes.io_reps} (I/O), {sizes.import_reps} (import) "
        "runs; logging.disable(logging.CRITICAL) for both libraries (log calls made, not output)"
        + (" [--quick]" if args.quick else "")
    )
    print(render(rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
