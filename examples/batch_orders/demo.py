"""`make demo`: 1,000 orders through the example function, driven as Lambda's SQS event source
mapping drives it, against real local servers; every count checked against what was sent.

Starts the embedded defaults and stops them on exit: moto in server mode for SQS and Secrets
Manager (or ``--endpoint-url`` for another SQS / Secrets Manager endpoint: LocalStack,
ElasticMQ), AWS's DynamoDB Local for the idempotency table, and librdkafka's Kafka mock cluster
for the topic the app publishes to. Creates the orders queue with a dead-letter queue
(``maxReceiveCount`` 3), the table and the payments secret, then sends the orders:

- 10% are duplicates: an order sent again in a new message (the idempotency table answers them
  with the stored receipt; they are charged once and published again);
- 5% are poison: an amount the payments API refuses (retried, then dead-lettered);
- 20% are not orders at all: the FilterCriteria the template deploys drop them, so Lambda
  deletes them without invoking the function.

``SQSEventSource`` (lambdakit.testing.esm) polls the queue as Lambda does (batches of 10,
``ReportBatchItemFailures``, the template's filter criteria) and invokes ``app.handler`` until
the queue is drained. The summary table compares each count with what was sent; the demo exits
1 on any mismatch.

It ends with what the function would cost at 10 million messages a day (``lambdakit.cost``):
the handler profile is fitted from this run's own measurements (CPU and wall time of every
invocation, the app's import in a fresh interpreter), the workload has this run's shape
(message size, the share filtered and poison, the template's ``maxReceiveCount``), and the
planner recommends a setting. ``--cost-html FILE`` also writes the report page.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import importlib
import json
import logging
import os
import random
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from lambdakit.testing.dynamodb_local import DynamoDBLocal, DynamoDBLocalError, find_dynamodb_local
from lambdakit.testing.esm import SQSEventSource, Summary
from lambdakit.testing.kafka_cluster import KafkaClusterError, MockKafkaCluster

sys.path.insert(0, str(Path(__file__).parent))  # the app is imported in run(), once Kafka is up

# Short enough that a poison message's three receives take seconds, long enough that a batch of
# ten orders (DynamoDB writes, a Kafka flush) never outlives it on a slow machine.
VISIBILITY_TIMEOUT = 3
MAX_RECEIVE_COUNT = 3
TEMPLATE_VISIBILITY_TIMEOUT = 180  # template.yaml: the queue a deployed function reads
RUN_LIMIT_SECONDS = 300.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint-url", help="SQS and Secrets Manager endpoint (default: moto)")
    parser.add_argument("--messages", type=int, default=1000, help="how many to send (1000)")
    parser.add_argument("--seed", type=int, default=7, help="what the orders look like")
    parser.add_argument("--cost-html", help="also write the cost report page to this file")
    args = parser.parse_args(argv)
    # Failed records are logged by process_batch with their tracebacks; 150 of them would bury
    # the summary. The counts below say what failed.
    logging.basicConfig(level=logging.CRITICAL)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        server = DynamoDBLocal(find_dynamodb_local(Path(__file__).resolve().parent))
        with contextlib.ExitStack() as stack:
            ddb = stack.enter_context(server)
            endpoint = args.endpoint_url or stack.enter_context(moto_server())
            kafka = stack.enter_context(MockKafkaCluster())
            return run(
                ddb, endpoint, kafka, args.messages, random.Random(args.seed), args.cost_html
            )
    except (DynamoDBLocalError, KafkaClusterError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode on a free loopback port, standing for SQS and Secrets Manager."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def plan(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, body) for each message, shuffled: kinds "order", "duplicate", "poison", "other"."""
    duplicates, poison, other = count // 10, count // 20, count // 5
    orders = count - duplicates - poison - other
    bodies: list[tuple[str, str]] = []
    for number in range(orders):
        amount = f"{rng.randint(100, 99_999) / 100:.2f}"
        bodies.append(("order", json.dumps({"order_id": f"o-{number:05d}", "amount": amount})))
    for number in range(poison):
        bodies.append(("poison", json.dumps({"order_id": f"p-{number:05d}", "amount": "-3"})))
    for number in range(other):
        bodies.append(("other", json.dumps({"type": "ping", "sequence": number})))
    rng.shuffle(bodies)
    # Each duplicate is an order already sent, sent again later (as a retrying producer does).
    for _ in range(duplicates):
        position = rng.randrange(len(bodies) // 2, len(bodies) + 1)
        original = rng.choice([body for kind, body in bodies[:position] if kind == "order"])
        bodies.insert(position, ("duplicate", original))
    return bodies


def run(
    ddb: DynamoDBLocal,
    endpoint: str,
    kafka: MockKafkaCluster,
    count: int,
    rng: random.Random,
    cost_html: str | None = None,
) -> int:
    os.environ.update(
        AWS_ENDPOINT_URL_DYNAMODB=ddb.endpoint_url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER=endpoint,
        AWS_ENDPOINT_URL_SQS=endpoint,
        AWS_ACCESS_KEY_ID=os.environ.get("AWS_ACCESS_KEY_ID", "demo"),
        AWS_SECRET_ACCESS_KEY=os.environ.get("AWS_SECRET_ACCESS_KEY", "demo"),
        AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        KAFKA_BOOTSTRAP=kafka.bootstrap,
    )
    app = importlib.import_module("app")  # its producer connects on the first message only
    import boto3

    from lambdakit.filtering import FilterCriteria

    suffix = uuid.uuid4().hex[:8]
    ddb.create_idempotency_table(app.store.table_name)
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint)
    with contextlib.suppress(secrets.exceptions.ResourceExistsException):
        secrets.create_secret(
            Name=app.PAYMENTS_SECRET,
            SecretString=json.dumps({"api_key": "pk_demo_" + uuid.uuid4().hex[:12]}),
        )
    kafka.create_topic(app.ORDERS_TOPIC, partitions=3)
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    dlq_url = sqs.create_queue(QueueName=f"orders-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    queue_url = sqs.create_queue(
        QueueName=f"orders-{suffix}",
        Attributes={
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    print(f"SQS and Secrets Manager at {endpoint}; DynamoDB Local at {ddb.endpoint_url};")
    print(f"Kafka mock cluster at {kafka.bootstrap}, topic {app.ORDERS_TOPIC!r} (3 partitions).")

    messages = plan(count, rng)
    for start in range(0, len(messages), 10):
        entries = [
            {"Id": str(index), "MessageBody": body}
            for index, (_, body) in enumerate(messages[start : start + 10])
        ]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    sent = collections.Counter(kind for kind, _ in messages)
    print(
        f"Sent {len(messages)} messages to {queue_url.rsplit('/', 1)[-1]}: {sent['order']} "
        f"orders, {sent['duplicate']} duplicates, {sent['poison']} poison, {sent['other']} that "
        f"are not orders. Visibility timeout {VISIBILITY_TIMEOUT} s, maxReceiveCount "
        f"{MAX_RECEIVE_COUNT}.\n"
    )

    source = SQSEventSource(
        queue_url,
        app.handler,
        client=sqs,
        batch_size=10,
        report_batch_item_failures=True,
        function_timeout=VISIBILITY_TIMEOUT,
        filter_criteria=FilterCriteria.from_template(app.TEMPLATE, "OrdersFunction"),
    )
    started = time.monotonic()
    summary = source.run(max_time=RUN_LIMIT_SECONDS, on_progress=progress(len(messages)))
    elapsed = time.monotonic() - started
    if sys.stderr.isatty():
        print(file=sys.stderr)
    app.producer.close()  # everything is acknowledged already: flush_kafka waited for it
    published = kafka.messages(app.ORDERS_TOPIC)
    status = report(app, summary, sent, messages, published, elapsed)
    cost(summary, messages, cost_html)
    return status


def progress(total: int) -> Any:
    """A progress bar on stderr: messages settled (deleted or dead-lettered) of those sent."""

    live = sys.stderr.isatty()
    shown = [-1]  # the last tenth printed, when stderr is a log rather than a terminal

    def draw(summary: Summary) -> None:
        done = summary.deleted + len(summary.dead_lettered)
        filled = int(40 * min(done, total) / total)
        line = (
            f"  [{'#' * filled}{'.' * (40 - filled)}] {done}/{total} settled, "
            f"{summary.invocations} invocations"
        )
        if live:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        elif filled // 4 > shown[0]:
            shown[0] = filled // 4
            print(line, file=sys.stderr, flush=True)

    return draw


def report(
    app: ModuleType,
    summary: Summary,
    sent: collections.Counter[str],
    messages: list[tuple[str, str]],
    published: list[Any],
    elapsed: float,
) -> int:
    """Print the summary table, each count against what was sent; 0 when every count holds."""
    orders = {json.loads(body)["order_id"] for kind, body in messages if kind == "order"}
    charges = collections.Counter(app.CHARGES)
    keys = collections.Counter((message.key or b"").decode() for message in published)
    delivered_orders = sent["order"] + sent["duplicate"]
    rows = [
        ("charged once", len(charges), len(orders), "orders charged, none twice"),
        ("charged twice", sum(1 for c in charges.values() if c > 1), 0, "orders"),
        (
            "duplicates answered",
            summary.duplicates_delivered,
            sent["duplicate"],
            "stored receipt replayed, not charged",
        ),
        ("filtered", summary.filtered, sent["other"], "deleted by the filter, never invoked"),
        (
            "retried",
            summary.failed_attempts,
            sent["poison"] * MAX_RECEIVE_COUNT,
            "failed deliveries (poison, each received 3 times)",
        ),
        ("dead-lettered", len(summary.dead_lettered), sent["poison"], "moved to the DLQ"),
        ("deleted", summary.deleted, delivered_orders + sent["other"], "by the event source"),
        ("published to Kafka", len(published), delivered_orders, "one per order message"),
        ("distinct keys read back", len(keys), len(orders), "one per order"),
    ]
    print(f"\nDrained in {elapsed:.1f} s: {summary.invocations} invocations.\n")
    print(f"  {'':<24} {'counted':>8} {'expected':>9}")
    problems = 0
    for name, counted, expected, note in rows:
        mark = "ok" if counted == expected else "MISMATCH"
        problems += counted != expected
        print(f"  {name:<24} {counted:>8} {expected:>9}  {mark:<8} {note}")
    if problems:
        print(f"\n{problems} count(s) differ from what was sent.", file=sys.stderr)
        return 1
    print("Every count matches what was sent.")
    return 0


COST_MESSAGES_PER_DAY = 10_000_000
COST_MAX_LATENCY_S = 10.0  # an order is charged within 10 s of being sent, at the 99th percentile


def cost(summary: Summary, messages: list[tuple[str, str]], html: str | None) -> None:
    """What the function would cost at 10 million messages a day, planned from this run: the
    handler profile fitted from every invocation's CPU and wall time (against local servers, so
    real DynamoDB and MSK latencies will add waiting time), INIT from the app's import in a
    fresh interpreter, and a workload shaped like the messages sent."""
    from lambdakit.cost import Workload, fit_summary, measure_init, plan, plan_html, plan_text
    from lambdakit.errors import CostInputError

    try:
        measured = fit_summary(summary)
    except CostInputError as exc:  # e.g. every invocation had the same batch size
        print(f"\nNo cost estimate: {exc}")
        return
    init = measure_init("app")
    profile = dataclasses.replace(
        measured.profile,
        init_ms=init.ms,
        base_memory_mb=init.rss_mb,
        source=f"measured by make demo ({summary.invocations} invocations)",
    )
    reaching = [body for kind, body in messages if kind != "other"]
    workload = Workload.per_day(
        COST_MESSAGES_PER_DAY,
        message_bytes=round(sum(len(body.encode()) for _, body in messages) / len(messages)),
        filter_pass=len(reaching) / len(messages),
        poison_rate=sum(kind == "poison" for kind, _ in messages) / len(reaching),
        max_receive_count=MAX_RECEIVE_COUNT,
        visibility_timeout_s=TEMPLATE_VISIBILITY_TIMEOUT,
    )
    result = plan(workload, profile, max_latency_s=COST_MAX_LATENCY_S)
    print(
        f"\nCost at {COST_MESSAGES_PER_DAY:,} messages a day, from this run's measurements "
        f"(fit r\u00b2 {measured.r_squared:.2f} over {len(measured.points)} batch sizes):\n"
    )
    print(plan_text(result, top=5, backlog=1_000_000))
    if html:
        Path(html).write_text(plan_html(result, top=10, backlog=1_000_000), encoding="utf-8")
        print(f"\nReport page: {html}")


if __name__ == "__main__":
    raise SystemExit(main())
