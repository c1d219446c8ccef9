"""`make demo`: 1,000 messages from 50 customers through the example function, driven as
Lambda's SQS event source mapping drives it from a FIFO queue, against real local servers;
every count checked against what was sent.

Starts the embedded defaults and stops them on exit: moto in server mode for SQS and Secrets
Manager (or ``--endpoint-url`` for another SQS / Secrets Manager endpoint: LocalStack,
ElasticMQ), AWS's DynamoDB Local for the idempotency table, and librdkafka's Kafka mock cluster
for the topic the app publishes to. Creates the FIFO orders queue with its FIFO dead-letter
queue (``maxReceiveCount`` 10, as the template) and the FIFO quarantine queue, the table and
the payments secret, then sends the orders, each with ``MessageGroupId`` = its customer and
``MessageDeduplicationId`` = its order id:

- 5% are resends of an order with the same deduplication id: SQS drops them itself;
- 5% are duplicates: an order sent again with a new deduplication id, as a producer that
  retried with a fresh one does (the idempotency table answers them with the stored receipt;
  they are charged once and published again);
- 5% are poison: an amount the payments API refuses. Each fails, comes back after a back-off,
  and on its third receive is moved to the quarantine queue, so its customer's later orders run
  (the template waits for the fifth receive and a back-off from 180 s; the demo's shorter
  settings show the same in seconds);
- 20% are not orders at all: the FilterCriteria the template deploys drop them, so Lambda
  deletes them without invoking the function.

``SQSEventSource`` (lambdakit.testing.esm) polls the queue as Lambda does (batches of 10,
``ReportBatchItemFailures``, the template's filter criteria) and invokes ``app.handler`` until
the queue is drained. The summary table compares each count with what was sent, and checks
that every customer's orders were charged in the order they were sent; the demo exits 1 on any
mismatch.

It ends with what the function would cost at 10 million messages a day (``lambdakit.cost``):
the handler profile is fitted from this run's own measurements (CPU and wall time of every
invocation, the app's import in a fresh interpreter), the workload has this run's shape
(message size, the share filtered and poison, FIFO with 10,000 active customers, the
quarantine's receive count), and the planner recommends a setting. ``--cost-html FILE`` also
writes the report page.
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
from typing import Any, NamedTuple

from lambdakit.testing.dynamodb_local import DynamoDBLocal, DynamoDBLocalError, find_dynamodb_local
from lambdakit.testing.esm import SQSEventSource, Summary
from lambdakit.testing.kafka_cluster import KafkaClusterError, MockKafkaCluster

sys.path.insert(0, str(Path(__file__).parent))  # the app is imported in run(), once Kafka is up

# Short enough that a poison message's three receives take seconds, long enough that a batch of
# ten orders (DynamoDB writes, a Kafka flush) never outlives it on a slow machine.
VISIBILITY_TIMEOUT = 3
QUARANTINE_AFTER = 3  # the template: 5
MAX_RECEIVE_COUNT = 10  # as the template: the margin is for the orders behind a poison order
TEMPLATE_VISIBILITY_TIMEOUT = 180  # template.yaml: the queue a deployed function reads
RUN_LIMIT_SECONDS = 300.0
MESSAGES_PER_CUSTOMER = 20


class Planned(NamedTuple):
    """One message to send: its kind ("order", "resent", "duplicate", "poison", "other"), its
    customer (the message group), its body and its deduplication id (by default the order's)."""

    kind: str
    customer: str
    body: str
    deduplication_id: str = ""


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


def plan(count: int, rng: random.Random) -> list[Planned]:
    """The messages in the order they are sent: orders of ``count // 20`` customers shuffled
    together, resends and duplicates of orders already sent placed after them."""
    customers = [f"c-{number:03d}" for number in range(max(1, count // MESSAGES_PER_CUSTOMER))]
    resent, duplicates, poison, other = count // 20, count // 20, count // 20, count // 5
    orders = count - resent - duplicates - poison - other
    messages: list[Planned] = []
    for number in range(orders):
        amount = f"{rng.randint(100, 99_999) / 100:.2f}"
        body = json.dumps({"order_id": f"o-{number:05d}", "amount": amount})
        messages.append(Planned("order", rng.choice(customers), body))
    refused = customers[::5]  # one customer in five has orders the payments API refuses
    for number in range(poison):
        body = json.dumps({"order_id": f"p-{number:05d}", "amount": "-3"})
        messages.append(Planned("poison", rng.choice(refused), body))
    for number in range(other):
        body = json.dumps({"type": "ping", "sequence": number})
        messages.append(Planned("other", rng.choice(customers), body, f"ping-{number}"))
    rng.shuffle(messages)
    # Each resend and duplicate is an order already sent, sent again later by its customer's
    # producer: a resend with the same deduplication id, a duplicate with a new one.
    for kind, number in [("resent", n) for n in range(resent)] + [
        ("duplicate", n) for n in range(duplicates)
    ]:
        position = rng.randrange(len(messages) // 2, len(messages) + 1)
        original = rng.choice([m for m in messages[:position] if m.kind == "order"])
        dedup = "" if kind == "resent" else f"retry-{number}-{_order_id(original.body)}"
        messages.insert(position, Planned(kind, original.customer, original.body, dedup))
    return messages


def order_id_of(body: str) -> str | None:
    """The order id a message body names (``None`` for a body that is not an order)."""
    try:
        order = json.loads(body)
    except ValueError:
        return None
    found = order.get("order_id") if isinstance(order, dict) else None
    return found if isinstance(found, str) else None


def _order_id(body: str) -> str:
    """The order id of a body the demo wrote (always an order)."""
    return order_id_of(body) or ""


def run(
    ddb: DynamoDBLocal,
    endpoint: str,
    kafka: MockKafkaCluster,
    count: int,
    rng: random.Random,
    cost_html: str | None = None,
) -> int:
    import boto3

    suffix = uuid.uuid4().hex[:8]
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "demo"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "demo"),
    )
    fifo = {"FifoQueue": "true"}
    dlq_url = sqs.create_queue(QueueName=f"orders-dlq-{suffix}.fifo", Attributes=fifo)["QueueUrl"]
    quarantine_url = sqs.create_queue(
        QueueName=f"orders-quarantine-{suffix}.fifo", Attributes=fifo
    )["QueueUrl"]
    redrive = {
        "deadLetterTargetArn": queue_arn(sqs, dlq_url),
        "maxReceiveCount": str(MAX_RECEIVE_COUNT),
    }
    queue_url = sqs.create_queue(
        QueueName=f"orders-{suffix}.fifo",
        Attributes={
            **fifo,
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    os.environ.update(
        AWS_ENDPOINT_URL_DYNAMODB=ddb.endpoint_url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER=endpoint,
        AWS_ENDPOINT_URL_SQS=endpoint,
        AWS_ACCESS_KEY_ID=os.environ.get("AWS_ACCESS_KEY_ID", "demo"),
        AWS_SECRET_ACCESS_KEY=os.environ.get("AWS_SECRET_ACCESS_KEY", "demo"),
        AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        KAFKA_BOOTSTRAP=kafka.bootstrap,
        QUARANTINE_QUEUE=queue_arn(sqs, quarantine_url),
        QUARANTINE_AFTER=str(QUARANTINE_AFTER),
        RETRY_BASE_S=str(VISIBILITY_TIMEOUT),  # as the template: the visibility timeout
    )
    app = importlib.import_module("app")  # its producer connects on the first message only

    ddb.create_idempotency_table(app.store.table_name)
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint)
    with contextlib.suppress(secrets.exceptions.ResourceExistsException):
        secrets.create_secret(
            Name=app.PAYMENTS_SECRET,
            SecretString=json.dumps({"api_key": "pk_demo_" + uuid.uuid4().hex[:12]}),
        )
    kafka.create_topic(app.ORDERS_TOPIC, partitions=3)
    print(f"SQS and Secrets Manager at {endpoint}; DynamoDB Local at {ddb.endpoint_url};")
    print(f"Kafka mock cluster at {kafka.bootstrap}, topic {app.ORDERS_TOPIC!r} (3 partitions).")

    messages = plan(count, rng)
    for start in range(0, len(messages), 10):
        entries = [
            {
                "Id": str(index),
                "MessageBody": message.body,
                "MessageGroupId": message.customer,
                "MessageDeduplicationId": message.deduplication_id or _order_id(message.body),
            }
            for index, message in enumerate(messages[start : start + 10])
        ]
        answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"SendMessageBatch refused {answer['Failed']}")
    queued = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    deduplicated = len(messages) - int(queued)  # accepted by SQS, not enqueued
    sent = collections.Counter(message.kind for message in messages)
    customers = len({message.customer for message in messages})
    print(
        f"Sent {len(messages)} messages from {customers} customers to "
        f"{queue_url.rsplit('/', 1)[-1]}: {sent['order']} orders, {sent['resent']} resends, "
        f"{sent['duplicate']} duplicates, {sent['poison']} poison, {sent['other']} that are not "
        f"orders. Visibility timeout {VISIBILITY_TIMEOUT} s, quarantine after "
        f"{QUARANTINE_AFTER} receives, maxReceiveCount {MAX_RECEIVE_COUNT}.\n"
    )

    bodies: dict[str, str] = {}  # message id -> body, of every message delivered

    def handler(event: dict[str, Any], context: Any) -> Any:
        bodies.update((record["messageId"], record["body"]) for record in event["Records"])
        return app.handler(event, context)

    source = SQSEventSource(
        queue_url,
        handler,
        client=sqs,
        batch_size=10,
        report_batch_item_failures=True,
        function_timeout=VISIBILITY_TIMEOUT,
        filter_criteria=app.CRITERIA,  # the template's, as the app read them
    )
    settled = len(messages) - deduplicated
    started = time.monotonic()
    summary = source.run(max_time=RUN_LIMIT_SECONDS, on_progress=progress(settled))
    elapsed = time.monotonic() - started
    if sys.stderr.isatty():
        print(file=sys.stderr)
    app.producer.close()  # everything is acknowledged already: flush_kafka waited for it
    published = kafka.messages(app.ORDERS_TOPIC)
    quarantined = drain(sqs, quarantine_url)
    answered = replays(summary, bodies)
    status = report(
        app, summary, sent, messages, published, quarantined, elapsed, deduplicated, answered
    )
    cost(summary, messages, cost_html)
    return status


def replays(summary: Summary, bodies: dict[str, str]) -> int:
    """Messages that succeeded for an order another message had already been charged for:
    answered from the idempotency table. (``summary.duplicates_delivered`` counts deliveries,
    and a FIFO duplicate queued behind a poison order is delivered several times.)"""
    succeeded = collections.Counter(
        _order_id(bodies[message_id])
        for message_id, deliveries in summary.history.items()
        if message_id in bodies and deliveries[-1].outcome == "succeeded"
    )
    return sum(count - 1 for count in succeeded.values())


def queue_arn(sqs: Any, url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return arn


def create_template_queues(sqs: Any, orders: str = "orders.fifo") -> str:
    """The template's FIFO orders queue (the handler's back-off reads its visibility timeout,
    180 s) and quarantine queue, with the boto3 SQS client ``sqs``; the quarantine queue's ARN."""
    fifo = {"FifoQueue": "true"}
    sqs.create_queue(QueueName=orders, Attributes={**fifo, "VisibilityTimeout": "180"})
    url = sqs.create_queue(QueueName="orders-quarantine.fifo", Attributes=fifo)["QueueUrl"]
    return queue_arn(sqs, url)


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message of the FIFO queue ``url``, received and deleted (a FIFO queue hides the
    rest of a group while one of its messages is in flight, so each read is deleted at once)."""
    found: list[dict[str, Any]] = []
    while True:
        answer = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        batch = answer.get("Messages", [])
        if not batch:
            return found
        found += batch
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )


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
    messages: list[Planned],
    published: list[Any],
    quarantined: list[dict[str, Any]],
    elapsed: float,
    deduplicated: int = 0,
    answered: int = 0,
) -> int:
    """Print the summary table, each count against what was sent; 0 when every count holds."""
    customer_of = orders_of(messages)  # poison orders included
    orders = {_order_id(m.body) for m in messages if m.kind == "order"}
    charges = collections.Counter(app.CHARGES)
    # Each customer's orders, in the order sent, against the order they were first charged in.
    expected_order: dict[str, list[str]] = collections.defaultdict(list)
    for message in messages:
        if message.kind == "order":
            expected_order[message.customer].append(_order_id(message.body))
    charged_order: dict[str, list[str]] = collections.defaultdict(list)
    for order_id in dict.fromkeys(app.CHARGES):  # first charges, in order
        charged_order[customer_of.get(order_id, "?")].append(order_id)
    # Only customers without a poison order: their orders never time out in flight. After a
    # failure, moto (5.2) redelivers a FIFO group's messages out of order when several become
    # visible at once (SQS keeps them in order); test_batch_orders_esm.py shows that order.
    refused = {m.customer for m in messages if m.kind == "poison"}
    clean = {c: ids for c, ids in expected_order.items() if c not in refused}
    in_order = sum(charged_order[c] == expected for c, expected in clean.items())
    read_back = {json.loads(m.value)["order_id"] for m in published if m.value}
    groups_kept = sum(
        m.get("Attributes", {}).get("MessageGroupId") == customer_of.get(_order_id(m["Body"]))
        and "lambdakit.failure" in m.get("MessageAttributes", {})
        for m in quarantined
    )
    delivered_orders = sent["order"] + sent["duplicate"]
    rows = [
        ("charged once", len(charges), len(orders), "orders charged, none twice"),
        ("charged twice", sum(1 for c in charges.values() if c > 1), 0, "orders"),
        ("in order", in_order, len(clean), "customers (no poison) charged in the order sent"),
        ("deduplicated by SQS", deduplicated, sent["resent"], "resends with the same id, dropped"),
        (
            "duplicates answered",
            answered,
            sent["duplicate"],
            "new id: stored receipt replayed, not charged",
        ),
        ("filtered", summary.filtered, sent["other"], "deleted by the filter, never invoked"),
        ("quarantined", len(quarantined), sent["poison"], "poison, moved after 3 receives"),
        ("with group and error", groups_kept, sent["poison"], "quarantined: MessageGroupId kept"),
        ("dead-lettered", len(summary.dead_lettered), 0, "none: quarantine came first"),
        ("published to Kafka", len(published), delivered_orders, "one per order message"),
        ("orders read back", len(read_back), len(orders), "key = customer, one group per key"),
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


def orders_of(messages: list[Planned]) -> dict[str, str]:
    """Order id -> customer, for every message that carries an order (poison ones included)."""
    return {_order_id(m.body): m.customer for m in messages if m.kind in ("order", "poison")}


COST_MESSAGES_PER_DAY = 10_000_000
COST_MAX_LATENCY_S = 10.0  # an order is charged within 10 s of being sent, at the 99th percentile
COST_CUSTOMERS = 10_000  # active message groups at that rate
TEMPLATE_QUARANTINE_AFTER = 5  # template.yaml's QUARANTINE_AFTER


def cost(summary: Summary, messages: list[Planned], html: str | None) -> None:
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
    queued = [m for m in messages if m.kind != "resent"]  # SQS dropped the resends
    reaching = [m for m in queued if m.kind != "other"]
    workload = Workload.per_day(
        COST_MESSAGES_PER_DAY,
        message_bytes=round(sum(len(m.body.encode()) for m in queued) / len(queued)),
        fifo=True,
        message_groups=COST_CUSTOMERS,
        filter_pass=len(reaching) / len(queued),
        poison_rate=sum(m.kind == "poison" for m in reaching) / len(reaching),
        # A poison order leaves the queue on its quarantine receive, as it would for the DLQ.
        max_receive_count=TEMPLATE_QUARANTINE_AFTER,
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
