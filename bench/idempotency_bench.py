"""Benchmark ``lambdakit.idempotency`` against Powertools for AWS Lambda (Python) v3's idempotency.

Both libraries run against a real DynamoDB: AWS's DynamoDB Local, started by this script
(``lambdakit.testing.dynamodb_local``; the jar comes from ``node_modules/``, Java 17+ on PATH).
Each library gets its own boto3 client (dummy credentials, pointed at DynamoDB Local), so nothing
reaches AWS and request counts never mix. Two cases:

1. DynamoDB requests per call, counted on the wire (a botocore ``before-send`` hook on each
   library's client, so retries would count too): the first call for a key, a duplicate after
   the first completed, and a duplicate served by the local cache (lambdakit ``local_cache=True``,
   Powertools ``use_local_cache=True``). Decorated Lambda handlers keyed on ``order_id``; the
   handler body must run exactly once per key and duplicates must get the stored result.
2. Wall time for one SQS batch of 200 records, 20% of them duplicates (160 distinct order ids,
   40 of them delivered twice, shuffled with a fixed seed). lambdakit: ``process_batch``
   (``concurrency=16``) over ``@idempotent(key="body.order_id")``;
   Powertools: its sequential ``BatchProcessor`` over ``idempotent_function`` keyed on
   ``powertools_json(body).order_id``, as its docs show. The record handler does a hash, no
   sleep. Every run uses order ids no run used before, so each starts on an empty key space;
   one warm-up run per library (connections, thread pool) is not timed. Checks: the handler body
   ran exactly once per order id, and a record reported failed can only be a duplicate whose key
   was in progress (``IdempotencyAlreadyInProgressError``). Measured twice, each on its own
   clients and tables:

   a. DynamoDB Local on loopback, as it is. Informational, no target: a request there costs
      CPU, not waiting (botocore's ~0.6 ms of CPU per request under the GIL, the Java server on
      the other core of a 2-CPU machine), so concurrency has little to overlap.
   b. The same batch with a simulated network round trip of 5 ms per request: an idle wait
      (``time.sleep`` in a botocore ``before-send`` hook, which releases the GIL) before every
      request, on both libraries' clients alike, standing for the round trip from Lambda to
      DynamoDB in a region. Target: lambdakit <= 0.2x Powertools' wall time.
      ``--latency-ms N`` sets the round trip to N ms instead of 5.

Logging is disabled (``logging.disable(logging.CRITICAL)``) for both libraries: each keeps its
default logging calls, but no record reaches a handler or the terminal.

Run with ``make bench`` or ``.venv/bin/python bench/idempotency_bench.py`` from the project
root; ``--quick`` is a smaller smoke run (seconds), ``--markdown`` prints the table as Markdown
for the docs. Exits non-zero only when a correctness check fails; a missed target is reported,
not fatal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import statistics
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any, Protocol

from _report import RequestCounter, Row, arguments, check, powertools_defaults, print_header, render
from botocore.config import Config

from lambdakit.batch import process_batch
from lambdakit.idempotency import DynamoDBStore, IdempotencyAlreadyInProgressError, idempotent
from lambdakit.testing import LambdaContext, sqs_event
from lambdakit.testing.dynamodb_local import DynamoDBLocal

Event = dict[str, Any]
Handler = Callable[[Event, Any], Any]
LIBRARIES = ("lambdakit", "powertools")
CONCURRENCY = 16
SEED = 20240607


class HasBody(Protocol):
    @property
    def body(self) -> str: ...


@dataclass(frozen=True)
class Sizes:
    count_keys: int  # keys measured per path in the request-count case
    batch_records: int
    batch_duplicates: int
    batch_reps: int


FULL = Sizes(count_keys=5, batch_records=200, batch_duplicates=40, batch_reps=7)
QUICK = Sizes(count_keys=2, batch_records=200, batch_duplicates=40, batch_reps=2)


@dataclass
class BodyRuns:
    """How many times a decorated function's body ran, per order id (thread-safe)."""

    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ran(self, order_id: str) -> None:
        with self.lock:
            self.counts[order_id] += 1


def work(order: dict[str, Any]) -> dict[str, Any]:
    """The record handler's tiny bit of real work."""
    digest = hashlib.sha256(json.dumps(order, sort_keys=True).encode()).hexdigest()
    return {"order_id": order["order_id"], "digest": digest[:16], "status": "done"}


# --- case 1: DynamoDB requests per call --------------------------------------------------------


def lambdakit_handlers(client: Any, table: str, runs: BodyRuns) -> tuple[Handler, Handler]:
    """(no local cache, local cache) Lambda handlers keyed on ``order_id``."""
    store = DynamoDBStore(table, client=client)

    @idempotent(store, key="order_id")
    def handler(event: Event, context: Any) -> Any:
        runs.ran(event["order_id"])
        return work(event)

    @idempotent(store, key="order_id", local_cache=True)
    def cached_handler(event: Event, context: Any) -> Any:
        runs.ran(event["order_id"])
        return work(event)

    return handler, cached_handler


def powertools_handlers(client: Any, table: str, runs: BodyRuns) -> tuple[Handler, Handler]:
    """The same two handlers with Powertools' ``@idempotent`` (one persistence layer each: the
    local cache belongs to the layer)."""
    from aws_lambda_powertools.utilities import idempotency as pt

    layer = pt.DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
    cached_layer = pt.DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
    config = pt.IdempotencyConfig(event_key_jmespath="order_id")
    cached_config = pt.IdempotencyConfig(event_key_jmespath="order_id", use_local_cache=True)

    @pt.idempotent(persistence_store=layer, config=config)
    def handler(event: Event, context: Any) -> Any:
        runs.ran(event["order_id"])
        return work(event)

    @pt.idempotent(persistence_store=cached_layer, config=cached_config)
    def cached_handler(event: Event, context: Any) -> Any:
        runs.ran(event["order_id"])
        return work(event)

    return handler, cached_handler


PATHS = ("first call", "duplicate (after completion)", "local-cache hit")


def count_requests(
    name: str, handlers: tuple[Handler, Handler], counter: RequestCounter, runs: BodyRuns, keys: int
) -> dict[str, list[list[str]]]:
    """Operations sent per call on each path, one list per key."""
    handler, cached_handler = handlers
    sent: dict[str, list[list[str]]] = {path: [] for path in PATHS}
    for i in range(keys):
        for path_handler, prefix in ((handler, "plain"), (cached_handler, "cached")):
            order_id = f"{name}-{prefix}-{i}"
            event: Event = {"order_id": order_id, "amount": 10 + i, "currency": "EUR"}
            with counter.counting() as first:
                result = path_handler(event, LambdaContext())
            with counter.counting() as again:
                replayed = path_handler(event, LambdaContext())
            check(result == work(event), f"{name}: the first call returned {result!r}")
            check(replayed == result, f"{name}: a duplicate got {replayed!r}, not {result!r}")
            check(
                runs.counts[order_id] == 1,
                f"{name}: the body ran {runs.counts[order_id]} times for {order_id}",
            )
            sent["first call"].append(first)
            sent["local-cache hit" if prefix == "cached" else PATHS[1]].append(again)
    return sent


def requests_case(ddb: DynamoDBLocal, sizes: Sizes) -> tuple[list[Row], list[str]]:
    builders = {"lambdakit": lambdakit_handlers, "powertools": powertools_handlers}
    sent: dict[str, dict[str, list[list[str]]]] = {}
    for name in LIBRARIES:
        table = f"{name}-requests"
        ddb.create_idempotency_table(table)
        client = ddb.client()
        counter = RequestCounter(client)
        runs = BodyRuns()
        handlers = builders[name](client, table, runs)
        sent[name] = count_requests(name, handlers, counter, runs, sizes.count_keys)
    rows: list[Row] = []
    notes: list[str] = []
    for path in PATHS:
        lk, pt = (statistics.median(len(ops) for ops in sent[name][path]) for name in LIBRARIES)
        rows.append(Row(f"DynamoDB requests: {path}", lk, pt, "req", 1.0))
        # The operations of the first key, e.g. "PutItem + UpdateItem".
        detail = [" + ".join(sent[name][path][0]) or "none" for name in LIBRARIES]
        notes.append(f"{path}: lambdakit {detail[0]}; powertools {detail[1]}")
    return rows, notes


# --- case 2: a batch with duplicates -----------------------------------------------------------


def batch_bodies(sizes: Sizes, run: str) -> list[dict[str, Any]]:
    """The same shape every run (same seed), with order ids no other run uses (``run`` names the
    run uniquely)."""
    rng = random.Random(SEED)
    distinct = sizes.batch_records - sizes.batch_duplicates
    orders = [
        {"order_id": f"{run}-order-{i}", "amount": rng.randint(1, 500), "sku": f"sku-{i % 17}"}
        for i in range(distinct)
    ]
    bodies = orders + rng.sample(orders, sizes.batch_duplicates)
    rng.shuffle(bodies)
    return bodies


class BatchSubject:
    """One library's Lambda handler for the batch, and what its record handler saw: how often
    the body ran per order id, and which exception each failed record raised."""

    def __init__(self) -> None:
        self.runs = BodyRuns()
        self.errors: dict[str, str] = {}  # message id -> exception type
        self.handler: Handler

    def handle_order(self, record: HasBody) -> Any:
        """The record handler's body, which each library makes idempotent."""
        order = json.loads(record.body)
        self.runs.ran(order["order_id"])
        return work(order)

    def observed(self, record_handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``record_handler`` noting which exception a failed record raised (only to verify
        failures in ``check_batch``)."""

        def observed(record: Any) -> Any:
            try:
                return record_handler(record)
            except Exception as exc:
                self.errors[record.message_id] = type(exc).__name__
                raise

        return observed

    def __call__(self, event: Event, context: Any) -> Any:
        return self.handler(event, context)


class LambdakitBatch(BatchSubject):
    """``process_batch(concurrency=16)`` over ``@idempotent(key="body.order_id")``."""

    def __init__(self, client: Any, table: str) -> None:
        super().__init__()
        store = DynamoDBStore(table, client=client)
        record_handler = idempotent(store, key="body.order_id")(self.handle_order)
        self.handler = process_batch(concurrency=CONCURRENCY)(self.observed(record_handler))


class PowertoolsBatch(BatchSubject):
    """Powertools' documented recipe: ``BatchProcessor`` + ``idempotent_function``."""

    def __init__(self, client: Any, table: str) -> None:
        from aws_lambda_powertools.utilities.batch import (
            BatchProcessor,
            EventType,
            process_partial_response,
        )
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        super().__init__()
        layer = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
        config = IdempotencyConfig(event_key_jmespath="powertools_json(body).order_id")
        processor = BatchProcessor(event_type=EventType.SQS)
        idempotent_handler = idempotent_function(
            data_keyword_argument="record", persistence_store=layer, config=config
        )(self.handle_order)
        record_handler = self.observed(lambda record: idempotent_handler(record=record))

        def handler(event: Event, context: Any) -> Any:
            config.register_lambda_context(context)
            return process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )

        self.handler = handler


def check_batch(name: str, subject: BatchSubject, event: Event, response: Any) -> int:
    """Verify one batch; return how many (in-progress duplicate) records were reported failed."""
    records = event["Records"]
    order_of = {r["messageId"]: json.loads(r["body"])["order_id"] for r in records}
    deliveries = Counter(order_of.values())
    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    for message_id in failed:
        check(message_id in order_of, f"{name}: reported an unknown message id {message_id}")
        order_id = order_of[message_id]
        check(
            deliveries[order_id] > 1,
            f"{name}: record {message_id} ({order_id}, delivered once) failed",
        )
        error = subject.errors.get(message_id, "no exception seen")
        check(
            error == IdempotencyAlreadyInProgressError.__name__,
            f"{name}: duplicate {message_id} ({order_id}) failed with {error}, not in-progress",
        )
    for order_id in deliveries:
        ran = subject.runs.counts[order_id]
        check(ran == 1, f"{name}: the body ran {ran} times for {order_id}")
    return len(failed)


def add_latency(client: Any, seconds: float) -> None:
    """Delay every request ``seconds`` before it is sent, idle (``time.sleep`` releases the GIL):
    a stand-in for the network round trip to DynamoDB in a region, which loopback does not
    have."""

    def wait(**_: Any) -> None:  # None: a value would replace the response
        time.sleep(seconds)

    client.meta.events.register("before-send.dynamodb", wait)


def batch_case(ddb: DynamoDBLocal, sizes: Sizes, latency_ms: float | None) -> tuple[Row, list[str]]:
    """The batch on DynamoDB Local as it is (``latency_ms=None``: informational, no target), or
    with ``latency_ms`` of simulated round trip before every request of both libraries."""
    tag = "loopback" if latency_ms is None else f"+{latency_ms:g} ms"
    key_space = "loopback" if latency_ms is None else "latency"  # tables and order ids
    subjects: dict[str, BatchSubject] = {}
    counters: dict[str, RequestCounter] = {}
    for name, subject_type in (("lambdakit", LambdakitBatch), ("powertools", PowertoolsBatch)):
        table = f"{name}-batch-{key_space}"
        ddb.create_idempotency_table(table)
        # Pool sized for the worker threads (botocore's default is 10): a user running 16
        # concurrent record handlers on one client sizes it so; Powertools only ever uses one.
        client = ddb.client(config=Config(max_pool_connections=CONCURRENCY))
        counters[name] = RequestCounter(client)
        if latency_ms is not None:
            add_latency(client, latency_ms / 1000)
        subjects[name] = subject_type(client, table)

    times: dict[str, list[float]] = {name: [] for name in LIBRARIES}
    failures: dict[str, list[int]] = {name: [] for name in LIBRARIES}
    requests: dict[str, list[int]] = {name: [] for name in LIBRARIES}
    for run in range(1 + sizes.batch_reps):  # run 0 is the warm-up
        event = sqs_event(batch_bodies(sizes, f"{key_space}-run{run}"))
        check(len(event["Records"]) == sizes.batch_records, "unexpected batch size")
        for name in LIBRARIES:
            subject, counter = subjects[name], counters[name]
            context = LambdaContext()
            before = len(counter)
            start = time.perf_counter()
            response = subject(event, context)
            seconds = time.perf_counter() - start
            failed = check_batch(name, subject, event, response)
            if run:
                times[name].append(seconds)
                failures[name].append(failed)
                requests[name].append(len(counter) - before)
    distinct = sizes.batch_records - sizes.batch_duplicates
    case = (
        f"batch: {sizes.batch_records} SQS records, {sizes.batch_duplicates} duplicates, "
        f"DynamoDB Local on loopback (lk concurrency={CONCURRENCY})"
    )
    if latency_ms is not None:
        case += f" + {latency_ms:g} ms simulated network round trip per request"
    row = Row(
        case,
        statistics.median(times["lambdakit"]),
        statistics.median(times["powertools"]),
        "s",
        None if latency_ms is None else 0.2,
    )
    notes = [
        f"batch ({tag}): body ran once for each of the {distinct} order ids in every run "
        "(both libraries)",
        f"batch ({tag}): DynamoDB requests per run (median): "
        + "; ".join(f"{n} {statistics.median(requests[n]):g}" for n in LIBRARIES),
        f"batch ({tag}): records reported failed per run (in-progress duplicates): "
        + "; ".join(f"{n} {failures[n]}" for n in LIBRARIES),
    ]
    return row, notes


def main() -> int:
    parser = arguments(__doc__, "fewer keys and batch runs, for a smoke test")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=5.0,
        help="the second batch row's simulated network round trip, added before every DynamoDB "
        "request of both libraries (default 5)",
    )
    args = parser.parse_args()
    if not args.latency_ms > 0:
        parser.error("--latency-ms must be above 0 (the first batch row already measures 0)")
    sizes = QUICK if args.quick else FULL

    logging.disable(logging.CRITICAL)
    powertools_defaults()
    # Dummy credentials: both libraries get explicit clients aimed at DynamoDB Local, and no
    # profile or real key is ever looked up.
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
    ):
        os.environ.pop(name, None)
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    warnings.filterwarnings("ignore", module="aws_lambda_powertools")

    started = time.perf_counter()
    with DynamoDBLocal() as ddb:
        count_rows, count_notes = requests_case(ddb, sizes)
        loopback_row, loopback_notes = batch_case(ddb, sizes, None)
        latency_row, latency_notes = batch_case(ddb, sizes, args.latency_ms)
        server = ddb.directory.name
    rows = [*count_rows, loopback_row, latency_row]
    batch_note = (
        "batch rows: on loopback a request costs CPU, not waiting (botocore's ~0.6 ms per "
        f"request under the GIL, DynamoDB Local's Java server on the same {os.cpu_count()} CPUs), "
        "so concurrency has little to overlap and that row has no target; the second adds an "
        f"idle {args.latency_ms:g} ms wait (time.sleep, GIL released) before every request of "
        "both libraries' clients, standing for the round trip to DynamoDB in a region "
        "(--latency-ms)."
    )

    print_header(
        f"boto3 {version('boto3')}; DynamoDB Local {server} (in memory, same machine)",
        f"requests counted on the wire for {sizes.count_keys} keys per path (median); batch: "
        f"medians of {sizes.batch_reps} runs after 1 warm-up, each on fresh order ids; "
        "logging.disable(logging.CRITICAL) for both libraries (log calls made, not output)"
        + (" [--quick]" if args.quick else ""),
    )
    print(render(rows, args.markdown))
    print()
    for note in (*count_notes, batch_note, *loopback_notes, *latency_notes):
        print(f"- {note}" if args.markdown else note)
    print(f"(total {time.perf_counter() - started:.1f} s, DynamoDB Local start included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
