"""Cold start of ``examples/batch_orders/app.py`` against its Powertools equivalent and a floor.

``bench/coldstart/powertools_app.py`` is the same function written with Powertools, and
``bench/coldstart/bare_app.py`` the floor: the same work on the raw clients (boto3,
confluent-kafka), no library; their docstrings say how each piece maps. Each measurement is one
fresh interpreter (``bench/coldstart/run_once.py``) that sets up what the Lambda runtime has in
place before it loads a handler (awslambdaric's JSON logging, its context class), then times on
the wall clock:

- **init**: the import of the handler's module, plus ``lambdakit.warm_up(handler)`` in the
  "warm_up" variant (what a call at the end of the module does, in the INIT phase);
- **first** and **second invocation**: two batches of 10 new orders each from the FIFO orders
  queue, two orders of each of 5 customers (message groups), every order charged, written to the
  idempotency table and published keyed by its customer; every response checked to report no
  failure.

Both apps and the floor use the same local servers, started here as
``examples/batch_orders/demo.py`` starts them: DynamoDB Local (one idempotency table per app),
moto in server mode (the payments secret, and the FIFO orders and quarantine queues that the
example's back-off and quarantine would address: ``QUARANTINE_QUEUE`` is required, and a
failure would reach moto, not AWS) and librdkafka's mock cluster (one topic per app; every
message is read back and counted at the end). Bytecode is compiled first, as a deployment
package ships it: ``compileall`` over lambdakit, the apps and this harness, then one untimed run
of every variant (which also writes any ``.pyc`` the installed packages lack). Variants run
alternating, the median of 5 processes each (``--quick``: 2):

- lambdakit, the app as it is;
- lambdakit + warm_up(handler): the same with ``lambdakit.warm_up(handler)`` at the end of the
  module, which warms what the handler's decorator stack holds (the Kafka producer of
  ``flush_kafka``);
- lambdakit + warm_up(handler, charge_order): also the idempotency store and the injected
  secret of ``charge_order``, which the handler calls from its body (no decorator stack
  leads there, so ``warm_up`` must be given it);
- Powertools, its equivalent as its docs write it (its idempotency layer creates the boto3
  client at import; its Kafka producer starts connecting when created at import);
- Powertools warmed by hand (``BENCH_WARM_BY_HAND=1``): the secret fetched and the producer's
  first metadata awaited at module level, what a user would write without a warm-up utility;
- the floor, and the floor warmed by hand the same way.

Targets (issue 16), on both warm_up rows: init + first invocation <= 0.6x Powertools' (as its
docs write it), and the first invocation within 1.5x of the second.

Run with ``make bench`` or ``.venv/bin/python bench/coldstart_bench.py``; ``--markdown`` prints
the table as Markdown for the docs. Exits non-zero when a server cannot start or a response or
the count of published messages is wrong; a missed target is reported, not fatal.
"""

from __future__ import annotations

import compileall
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from _report import arguments, check, powertools_defaults, print_header, render

import lambdakit
from lambdakit.testing import sqs_event
from lambdakit.testing.dynamodb_local import DynamoDBLocal, find_dynamodb_local
from lambdakit.testing.kafka_cluster import MockKafkaCluster

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "coldstart"
APP_DIR = ROOT / "examples" / "batch_orders"
sys.path.insert(0, str(APP_DIR))
from demo import create_template_queues, moto_server  # noqa: E402  (the demo's, not copies)

RECORDS_PER_BATCH = 10
CUSTOMERS_PER_BATCH = 5  # message groups: two orders of each customer per batch
PAYMENTS_SECRET = "orders/payments"
ORDERS_QUEUE = "orders.fifo"  # the queue the events come from


@dataclass(frozen=True)
class Variant:
    name: str
    app_dir: Path
    module: str
    warm: tuple[str, ...]  # the module attributes passed to lambdakit.warm_up (none: no call)
    table: str
    topic: str
    env: tuple[tuple[str, str], ...] = ()


WARM_BY_HAND = (("BENCH_WARM_BY_HAND", "1"),)
VARIANTS = [
    Variant("lambdakit", APP_DIR, "app", (), "lk-idempotency", "orders-lk"),
    Variant(
        "lambdakit + warm_up(handler)", APP_DIR, "app", ("handler",), "lk-idempotency", "orders-lk"
    ),
    Variant(
        "lambdakit + warm_up(handler, charge_order)",
        APP_DIR,
        "app",
        ("handler", "charge_order"),
        "lk-idempotency",
        "orders-lk",
    ),
    Variant("Powertools", HERE, "powertools_app", (), "pt-idempotency", "orders-pt"),
    Variant(
        "Powertools warmed by hand",
        HERE,
        "powertools_app",
        (),
        "pt-idempotency",
        "orders-pt",
        WARM_BY_HAND,
    ),
    Variant("floor: raw clients", HERE, "bare_app", (), "bare-idempotency", "orders-bare"),
    Variant(
        "floor warmed by hand",
        HERE,
        "bare_app",
        (),
        "bare-idempotency",
        "orders-bare",
        WARM_BY_HAND,
    ),
]
BASELINE = "Powertools"
FLOOR = "floor: raw clients"


@dataclass(frozen=True)
class Timing:
    init_ms: float
    first_ms: float
    second_ms: float


@dataclass(frozen=True)
class ColdRow:
    """A variant's medians, its ratios to Powertools and to the floor, and, for lambdakit with
    warm_up, issue 16's targets."""

    name: str
    timing: Timing
    baseline: Timing
    floor: Timing
    targeted: bool

    def ratios(self) -> tuple[float, float, float]:
        """(init + first) / Powertools' and / the floor's, and first / second."""
        t = self.timing
        cold = t.init_ms + t.first_ms
        return (
            cold / (self.baseline.init_ms + self.baseline.first_ms),
            cold / (self.floor.init_ms + self.floor.first_ms),
            t.first_ms / t.second_ms,
        )

    def misses(self) -> list[str]:
        """The targets this row misses (none when it has no targets)."""
        if not self.targeted:
            return []
        ratios = self.ratios()
        return [
            name
            for name, missed in (
                ("init + first", ratios[0] > 0.6),
                ("first / second", ratios[2] > 1.5),
            )
            if missed
        ]

    @property
    def missed(self) -> bool:
        return bool(self.misses())

    def cells(self) -> list[str]:
        target = "<= 0.6x Powertools; first <= 1.5x second" if self.targeted else "n/a"
        met = (
            ("NO: " + ", ".join(self.misses()) if self.missed else "yes") if self.targeted else "-"
        )
        ratios = self.ratios()
        t = self.timing
        return [
            self.name,
            f"{t.init_ms:.0f} ms",
            f"{t.first_ms:.0f} ms",
            f"{t.init_ms + t.first_ms:.0f} ms",
            f"{t.second_ms:.0f} ms",
            f"{ratios[0]:.2f}x",
            f"{ratios[1]:.2f}x",
            f"{ratios[2]:.2f}x",
            target,
            met,
        ]


HEADER = [
    "variant",
    "init",
    "first invocation",
    "init + first",
    "second invocation",
    "init + first / Powertools",
    "init + first / floor",
    "first / second",
    "target",
    "met?",
]


@dataclass
class Servers:
    environ: dict[str, str]
    kafka: MockKafkaCluster


@contextlib.contextmanager
def servers() -> Iterator[Servers]:
    """DynamoDB Local, moto and the Kafka mock cluster, with both apps' tables and topics, the
    payments secret and the FIFO queues; the environment a function would get pointing at them."""
    import boto3

    with contextlib.ExitStack() as stack:
        ddb = stack.enter_context(DynamoDBLocal(find_dynamodb_local(ROOT)))
        endpoint = stack.enter_context(moto_server())
        kafka = stack.enter_context(MockKafkaCluster())
        environ = {
            "AWS_ENDPOINT_URL_DYNAMODB": ddb.endpoint_url,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
            "AWS_ENDPOINT_URL_SQS": endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_NAME": "orders",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "KAFKA_BOOTSTRAP": kafka.bootstrap,
            "PAYMENTS_SECRET": PAYMENTS_SECRET,
        }
        for table in {v.table for v in VARIANTS}:
            ddb.create_idempotency_table(table)
        for topic in {v.topic for v in VARIANTS}:
            kafka.create_topic(topic, partitions=3)
        moto = {
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "bench",
            "aws_secret_access_key": "bench",
        }
        api_key = "pk_bench_" + uuid.uuid4().hex[:12]
        boto3.client("secretsmanager", **moto).create_secret(
            Name=PAYMENTS_SECRET, SecretString=json.dumps({"api_key": api_key})
        )
        # The template's orders queue (the back-off reads its visibility timeout) and quarantine.
        sqs = boto3.client("sqs", **moto)
        environ["QUARANTINE_QUEUE"] = create_template_queues(sqs, ORDERS_QUEUE)
        yield Servers(environ, kafka)


def batches(directory: Path) -> Path:
    """Two FIFO batches of new orders (every one charged, stored and published), in a file:
    each order's message group is its customer, its deduplication id its order id."""
    events = []
    for _ in range(2):
        order_ids = [f"o-{uuid.uuid4().hex[:12]}" for _ in range(RECORDS_PER_BATCH)]
        events.append(
            sqs_event(
                [json.dumps({"order_id": order_id, "amount": "12.34"}) for order_id in order_ids],
                group_ids=[f"c-{n % CUSTOMERS_PER_BATCH}" for n in range(RECORDS_PER_BATCH)],
                deduplication_ids=order_ids,
                queue_name=ORDERS_QUEUE,
            )
        )
    path = directory / f"events-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(events), encoding="utf-8")
    return path


def cold_start(variant: Variant, env: dict[str, str], directory: Path) -> Timing:
    """One fresh process: init, first and second invocation of ``variant``."""
    events = batches(directory)
    environ = {
        **os.environ,
        **env,
        "IDEMPOTENCY_TABLE": variant.table,
        "ORDERS_TOPIC": variant.topic,
        **dict(variant.env),
    }
    argv = [str(variant.app_dir), variant.module, ",".join(variant.warm), str(events)]
    done = subprocess.run(
        [sys.executable, str(HERE / "run_once.py"), *argv],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    check(
        done.returncode == 0,
        f"{variant.name}: exit status {done.returncode}\n{done.stderr[-3000:]}",
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for response in result["responses"]:
        check(response == {"batchItemFailures": []}, f"{variant.name}: reported {response}")
    return Timing(result["import_ms"], result["first_ms"], result["second_ms"])


def compile_bytecode() -> None:
    """What a deployment package ships: every module compiled."""
    for directory in (Path(lambdakit.__file__).parent, APP_DIR, HERE):
        compileall.compile_dir(str(directory), quiet=1)


def main() -> int:
    parser = arguments(__doc__, "2 processes per variant instead of 5")
    args = parser.parse_args()
    reps = 2 if args.quick else 5
    powertools_defaults()
    started = time.perf_counter()
    compile_bytecode()
    variants = list(VARIANTS)
    published = dict.fromkeys({v.topic for v in VARIANTS}, 0)
    times: dict[str, list[Timing]] = {v.name: [] for v in variants}
    with servers() as running, tempfile.TemporaryDirectory() as tmp:
        for rep in range(reps + 1):  # the first round is untimed: it writes any missing .pyc
            shift = rep % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                timing = cold_start(variant, running.environ, Path(tmp))
                published[variant.topic] += 2 * RECORDS_PER_BATCH
                if rep:
                    times[variant.name].append(timing)
        for topic, expected in published.items():
            got = len(running.kafka.messages(topic))
            check(got == expected, f"{topic}: {got} messages published, {expected} expected")

    def median(samples: list[Timing]) -> Timing:
        return Timing(
            statistics.median(t.init_ms for t in samples),
            statistics.median(t.first_ms for t in samples),
            statistics.median(t.second_ms for t in samples),
        )

    medians = {name: median(samples) for name, samples in times.items()}
    rows = [
        ColdRow(v.name, medians[v.name], medians[BASELINE], medians[FLOOR], bool(v.warm))
        for v in VARIANTS
    ]
    details = [
        f"medians of {reps} fresh processes per variant, alternating; wall time; "
        f"{RECORDS_PER_BATCH} new orders of {CUSTOMERS_PER_BATCH} customers per invocation (FIFO)"
        + (" [--quick]" if args.quick else "")
    ]
    print_header(*details)
    print(render(rows, args.markdown, HEADER))
    missed = sum(row.missed for row in rows)
    targeted = sum(row.targeted for row in rows)
    print(
        f"\n{targeted - missed} of {targeted} target rows met; run took "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
