"""One SQS FIFO batch through the order function, message by message, and what Lambda would do
with the answer (``make demo`` runs the 1,000-message showcase, demo.py; this is its close-up).

Starts three local servers and stops them on exit: AWS's DynamoDB Local
(lambdakit.testing.dynamodb_local) for the idempotency table, reached through the standard
``AWS_ENDPOINT_URL_DYNAMODB`` variable; moto in server mode for Secrets Manager and SQS (the
orders and quarantine queues, which the handler's back-off looks up); and librdkafka's Kafka
mock cluster (lambdakit.testing.kafka_cluster), a real Kafka protocol peer, with the topic the
app publishes to. ``KAFKA_BOOTSTRAP`` and ``QUARANTINE_QUEUE`` are set before the app is
imported, since the app reads them at import (and refuses to load without them).

Builds a real-shaped FIFO event with lambdakit.testing (three customers, each a message group)
in which one order arrives twice (two messages, one order id, two deduplication ids) and one
message is no order at all, invokes the handler the way the Lambda runtime does, and prints
which orders succeeded (deleted from the queue), which message was a duplicate (answered with
the stored receipt, not charged again), which message the template's filter criteria dropped
(``@filter_records``: deleted without running, as Lambda deletes it), which failed and which
were reported without running because an earlier order of their customer failed (all in
``batchItemFailures``: made visible again and retried, in order). Then it reads the topic back
and checks it against the batch: every order that succeeded was published once per message that
succeeded (so the order sent twice is published twice, with the same key and bytes), keyed by
its customer, with its stored receipt as the value, and no failed order or filtered message was
published. It exits 1 if not.
"""

from __future__ import annotations

import collections
import importlib
import json
import logging
import os
import signal
import sys
import textwrap
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from lambdakit.testing import LambdaContext, sqs_event
from lambdakit.testing.dynamodb_local import DynamoDBLocal, DynamoDBLocalError, find_dynamodb_local
from lambdakit.testing.kafka_cluster import KafkaClusterError, MockKafkaCluster

sys.path.insert(0, str(Path(__file__).parent))  # the app is imported in run(), once Kafka is up

from demo import create_template_queues, moto_server, order_id_of

QUEUE = "orders.fifo"
ORDERS: list[tuple[str, Any]] = [  # (customer, body), in the order they were sent
    ("c-1", {"order_id": "o-1001", "amount": "19.99"}),
    ("c-2", {"order_id": "o-1002", "amount": "5.00"}),
    ("c-1", {"order_id": "o-1003", "amount": "-3"}),  # rejected: negative amount
    ("c-3", {"order_id": "o-1004", "amount": "120.50"}),
    ("c-2", "this body is not JSON"),  # no order: the template's filter criteria drop it
    ("c-3", {"order_id": "o-1006"}),  # rejected: no amount
    ("c-2", {"order_id": "o-1007", "amount": "42"}),
    ("c-2", {"order_id": "o-1002", "amount": "5.00"}),  # o-1002 again, with a new dedup id
    ("c-1", {"order_id": "o-1008", "amount": "8.00"}),  # behind o-1003: does not run
]


def main() -> int:
    logging.basicConfig(level=logging.ERROR, format="  log: %(message)s")
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the server below is stopped too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        server = DynamoDBLocal(find_dynamodb_local(Path(__file__).resolve().parent))
        with server as ddb, moto_server() as secrets_endpoint, MockKafkaCluster() as kafka:
            return run(ddb, secrets_endpoint, kafka)
    except (DynamoDBLocalError, KafkaClusterError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1


def run(ddb: DynamoDBLocal, secrets_endpoint: str, kafka: MockKafkaCluster) -> int:
    # Before the first requests: lambdakit's clients are created lazily and honour
    # AWS_ENDPOINT_URL_<SERVICE>. The local servers accept any credentials.
    os.environ.update(
        AWS_ENDPOINT_URL_DYNAMODB=ddb.endpoint_url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER=secrets_endpoint,
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL_SQS=secrets_endpoint,
        KAFKA_BOOTSTRAP=kafka.bootstrap,
    )
    import boto3

    os.environ["QUARANTINE_QUEUE"] = create_template_queues(
        boto3.client("sqs", endpoint_url=secrets_endpoint)
    )
    app = importlib.import_module("app")  # its producer connects on the first message only
    table = app.store.table_name
    ddb.create_idempotency_table(table)
    print(f"DynamoDB Local is running at {ddb.endpoint_url}; created table {table!r}.")

    key = "pk_demo_" + uuid.uuid4().hex[:12]
    boto3.client("secretsmanager", endpoint_url=secrets_endpoint).create_secret(
        Name=app.PAYMENTS_SECRET, SecretString=json.dumps({"api_key": key})
    )
    print(
        f"Secrets Manager (moto server) at {secrets_endpoint} holds {app.PAYMENTS_SECRET!r}; "
        "the handler gets its api_key through @inject_secrets."
    )
    kafka.create_topic(app.ORDERS_TOPIC, partitions=3)
    print(
        f"Kafka mock cluster (librdkafka) at {kafka.bootstrap} has the topic "
        f"{app.ORDERS_TOPIC!r} (3 partitions); the handler publishes each order it charges there "
        "through @flush_kafka.\n"
    )

    criteria = app.handler.filter_criteria  # what @filter_records applies: the template's
    patterns = " or ".join(f.text for f in criteria.filters)
    print(
        textwrap.fill(
            f"The handler's @filter_records applies the FilterCriteria that template.yaml deploys "
            f"on the queue: {patterns}.",
            width=100,
        )
        + "\n"
    )

    event = sqs_event(
        [body for _, body in ORDERS],
        group_ids=[customer for customer, _ in ORDERS],
        deduplication_ids=[f"d-{number}" for number in range(len(ORDERS))],
        queue_name=QUEUE,
    )
    context = LambdaContext(function_name="orders", timeout=30)
    response = app.handler(event, context)

    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    filtered = {r["messageId"] for r in event["Records"] if not criteria.matches_record(r)}
    # The stored results (receipts) say which message of each order actually ran.
    items = ddb.client().scan(TableName=table, ConsistentRead=True)["Items"]
    items = [item for item in items if "data" in item]  # COMPLETED records hold a result
    receipts = {receipt["order_id"]: receipt for receipt in map(_receipt, items)}

    records = event["Records"]
    width = max(len(record["body"]) for record in records)
    print(
        f"Processed a batch of {len(records)} SQS messages from the FIFO queue {QUEUE!r} "
        "(message group = customer)\n"
    )
    duplicates = []
    failed_in_group: dict[str, str] = {}  # customer -> the first of its orders that failed
    for record in records:
        message_id, note = record["messageId"], ""
        customer = record["attributes"]["MessageGroupId"]
        if message_id in failed and customer in failed_in_group:
            verdict = "not-run  "
            note = f"behind {failed_in_group[customer][:8]} in {customer}'s order: reported"
        elif message_id in failed:
            verdict = "RETRY    "
            failed_in_group[customer] = message_id
        elif message_id in filtered:
            verdict, note = "filtered ", "matches no filter: deleted without running"
        else:
            receipt = receipts[json.loads(record["body"])["order_id"]]
            if receipt["message_id"] == message_id:
                verdict = "succeeded"
            else:
                verdict = "duplicate"
                note = f"same order as {receipt['message_id'][:8]}: not charged again"
                duplicates.append((record, receipt))
        line = f"  {verdict}  {message_id[:8]}  {customer}  {record['body']:<{width}}  {note}"
        print(line.rstrip())

    print("\nHandler response (what Lambda receives):")
    print(json.dumps(response, indent=2))
    succeeded = len(records) - len(failed) - len(duplicates) - len(filtered)
    print(
        "\n"
        + textwrap.fill(
            f"{succeeded} succeeded and will be deleted; {len(failed)} will be retried by SQS, "
            "each customer's in the order sent (one that keeps failing is quarantined on its "
            f"{app.QUARANTINE.after}th receive, so its customer's later orders run); "
            f"{len(filtered)} matched no filter of "
            "the template: not run, not reported, so it is deleted as processed, as Lambda "
            "deletes the messages its filter criteria drop (never dead-lettered).",
            width=100,
        )
    )
    for record, receipt in duplicates:
        print(
            textwrap.fill(
                f"Order {receipt['order_id']} came in two messages with different deduplication "
                "ids, so SQS delivered both (one id would have made SQS drop the second within "
                f"five minutes): {receipt['message_id'][:8]} charged it; "
                f"{record['messageId'][:8]}, later in the same customer's group, returned the "
                "stored receipt without running, so it is deleted too; the receipt is published "
                "again (below).",
                width=100,
            )
        )
    charged = ", ".join(f"{k}={v}" for k, v in sorted(app.PROCESSED.items()))
    twice = sorted({order for order in app.CHARGES if app.CHARGES.count(order) > 1})
    print(f"Charged: {charged} ({len(app.CHARGES)} charges; charged twice: {twice or 'none'})")
    from lambdakit.secrets import default_cache

    print(
        f"The payments key was read from lambdakit's secrets cache for each charge: "
        f"{len(default_cache())} cached value(s), fetched once; never printed or logged."
    )

    print(f"\nIdempotency table {table!r}: one record per order charged, holding its receipt.")
    print("The rejected orders have none: a call that raises deletes its lock, so retries run.")
    now = time.time()
    for item in sorted(items, key=lambda item: _receipt(item)["order_id"]):
        receipt = _receipt(item)
        minutes = (int(item["expiration"]["N"]) - now) / 60
        print(
            f"  {item['id']['S'][:26]}...  {item['status']['S']}  expires in {minutes:.0f} min  "
            f"{receipt['order_id']}: {receipt['charge_id']} by {receipt['message_id'][:8]}"
        )

    app.producer.close()  # everything is acknowledged already: flush_kafka waited for it
    return check_topic(app, kafka, records, failed, filtered, receipts)


def check_topic(
    app: ModuleType,
    kafka: MockKafkaCluster,
    records: list[dict[str, Any]],
    failed: set[str],
    filtered: set[str],
    receipts: dict[str, dict[str, Any]],
) -> int:
    """Read the topic back and compare it with the batch; 0 if it holds what it should."""
    topic = app.ORDERS_TOPIC
    expected: collections.Counter[str] = collections.Counter()  # order id -> copies
    rejected = set()
    for record in records:
        if record["messageId"] in filtered:
            continue  # it never ran, so it published nothing
        order_id = order_id_of(record["body"])
        if record["messageId"] in failed:
            rejected.add(order_id or record["body"])
        else:
            expected[order_id or ""] += 1
    rejected -= set(expected)  # an order that succeeded in another message is published
    messages: list[dict[str, Any]] = [
        {
            "partition": m.partition,
            "offset": m.offset,
            "key": (m.key or b"").decode(),
            "value": (m.value or b"").decode(),
        }
        for m in kafka.messages(topic)  # every partition from the start, in offset order
    ]

    print(f"\nTopic {topic!r}, read back from the start:")
    for message in messages:
        receipt = json.loads(message["value"])
        print(
            f"  partition {message['partition']}  offset {message['offset']}  "
            f"key {message['key']}  {receipt['order_id']}  {receipt['amount']:>6}  "
            f"{receipt['charge_id']} by {receipt['message_id'][:8]}"
        )
    published = collections.Counter(json.loads(m["value"])["order_id"] for m in messages)
    problems = [
        f"order {order_id}: published {published[order_id]} time(s), expected {expected[order_id]}"
        for order_id in sorted(set(expected) | set(published) - rejected)
        if published[order_id] != expected[order_id]
    ]
    problems += [f"failed order {order!r} was published" for order in rejected if published[order]]
    problems += [f"filtered message {m[:8]} was reported for retry" for m in filtered & failed]
    for message in messages:
        order_id = json.loads(message["value"])["order_id"]
        stored = receipts.get(order_id)
        if stored is None or message["value"] != app.published_value(stored):
            problems.append(
                f"partition {message['partition']} offset {message['offset']}: the value is not "
                f"the stored receipt of order {order_id}"
            )
        elif message["key"] != stored["customer_id"]:
            problems.append(
                f"partition {message['partition']} offset {message['offset']}: order {order_id} "
                f"is keyed {message['key']!r}, not by its customer {stored['customer_id']!r}"
            )
    if problems:
        print("\nThe topic does not hold what the batch published:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1

    twice = sorted(order for order, count in expected.items() if count > 1)
    print(
        f"\n{len(messages)} messages for {len(expected)} charged orders, as expected: key = the "
        "customer (one customer's orders share a partition, in order), value = the order's "
        "stored receipt."
    )
    for order in twice:
        print(
            textwrap.fill(
                f"Order {order} is there {expected[order]} times, byte for byte the same: each of "
                "its messages published the receipt. Publishing is at least once (a retry after a "
                "failed delivery publishes again too); consumers deduplicate on its order_id.",
                width=100,
            )
        )
    print(
        f"The {len(rejected)} failed orders were not published, nor the filtered message: nothing "
        "is announced before it is charged."
    )
    return 0


def _receipt(item: dict[str, Any]) -> dict[str, Any]:
    """The result stored in an idempotency record (the ``data`` attribute, JSON text)."""
    result: dict[str, Any] = json.loads(item["data"]["S"])
    return result


if __name__ == "__main__":
    raise SystemExit(main())
