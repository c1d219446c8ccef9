"""`make demo`: run the order function on a generated SQS batch and show what Lambda would do.

Starts AWS's DynamoDB Local (lambdakit.testing.dynamodb_local) for the idempotency table and
points the app's store at it through the standard ``AWS_ENDPOINT_URL_DYNAMODB`` variable. Builds
a real-shaped SQS event with lambdakit.testing in which one order arrives twice (two messages,
one order id), invokes the handler the way the Lambda runtime does, and prints which orders
succeeded (deleted from the queue), which message was a duplicate (answered with the stored
receipt, not charged again) and which are reported in ``batchItemFailures`` (made visible again
and retried). DynamoDB Local is stopped on exit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import app

from lambdakit.testing import LambdaContext, sqs_event
from lambdakit.testing.dynamodb_local import DynamoDBLocal, DynamoDBLocalError, find_dynamodb_local

ORDERS = [
    {"order_id": "o-1001", "amount": "19.99"},
    {"order_id": "o-1002", "amount": "5.00"},
    {"order_id": "o-1003", "amount": "-3"},  # rejected: negative amount
    {"order_id": "o-1004", "amount": "120.50"},
    "this body is not JSON",  # rejected: undecodable
    {"order_id": "o-1006"},  # rejected: no amount
    {"order_id": "o-1007", "amount": "42"},
    {"order_id": "o-1002", "amount": "5.00"},  # o-1002 again: resent by the producer
]


def main() -> int:
    logging.basicConfig(level=logging.ERROR, format="  log: %(message)s")
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the server below is stopped too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        server = DynamoDBLocal(find_dynamodb_local(Path(__file__).resolve().parent))
        with server as ddb, moto_server() as secrets_endpoint:
            return run(ddb, secrets_endpoint)
    except DynamoDBLocalError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode on a free loopback port, standing for Secrets Manager."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def run(ddb: DynamoDBLocal, secrets_endpoint: str) -> int:
    # Before the first requests: lambdakit's clients are created lazily and honour
    # AWS_ENDPOINT_URL_<SERVICE>. The local servers accept any credentials.
    os.environ.update(
        AWS_ENDPOINT_URL_DYNAMODB=ddb.endpoint_url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER=secrets_endpoint,
        AWS_ACCESS_KEY_ID="demo",
        AWS_SECRET_ACCESS_KEY="demo",
        AWS_DEFAULT_REGION="us-east-1",
    )
    table = app.store.table_name
    ddb.create_idempotency_table(table)
    print(f"DynamoDB Local is running at {ddb.endpoint_url}; created table {table!r}.")
    import boto3

    key = "pk_demo_" + uuid.uuid4().hex[:12]
    boto3.client("secretsmanager", endpoint_url=secrets_endpoint).create_secret(
        Name=app.PAYMENTS_SECRET, SecretString=json.dumps({"api_key": key})
    )
    print(
        f"Secrets Manager (moto server) at {secrets_endpoint} holds {app.PAYMENTS_SECRET!r}; "
        "the handler gets its api_key through @inject_secrets.\n"
    )

    event = sqs_event(ORDERS, queue_name="orders")
    context = LambdaContext(function_name="orders", timeout=30)
    response = app.handler(event, context)

    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    # The stored results (receipts) say which message of each order actually ran.
    items = ddb.client().scan(TableName=table, ConsistentRead=True)["Items"]
    items = [item for item in items if "data" in item]  # COMPLETED records hold a result
    receipts = {receipt["order_id"]: receipt for receipt in map(_receipt, items)}

    records = event["Records"]
    width = max(len(record["body"]) for record in records)
    print(f"Processed a batch of {len(records)} SQS messages from queue 'orders'\n")
    duplicates = []
    for record in records:
        message_id, note = record["messageId"], ""
        if message_id in failed:
            verdict = "RETRY    "
        else:
            receipt = receipts[json.loads(record["body"])["order_id"]]
            if receipt["message_id"] == message_id:
                verdict = "succeeded"
            else:
                verdict = "duplicate"
                note = f"same order as {receipt['message_id'][:8]}: not charged again"
                duplicates.append((record, receipt))
        print(f"  {verdict}  {message_id[:8]}  {record['body']:<{width}}  {note}".rstrip())

    print("\nHandler response (what Lambda receives):")
    print(json.dumps(response, indent=2))
    succeeded = len(records) - len(failed) - len(duplicates)
    print(
        f"\n{succeeded} succeeded and will be deleted; "
        f"{len(failed)} will be retried by SQS (then dead-lettered after maxReceiveCount)."
    )
    for record, receipt in duplicates:
        print(
            textwrap.fill(
                f"Order {receipt['order_id']} came in two messages, run side by side "
                f"(concurrency=8): {receipt['message_id'][:8]} took the idempotency lock and "
                f"charged it; {record['messageId'][:8]} returned the stored receipt without "
                "running, so it is deleted too.",
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
    return 0


def _receipt(item: dict[str, Any]) -> dict[str, Any]:
    """The result stored in an idempotency record (the ``data`` attribute, JSON text)."""
    result: dict[str, Any] = json.loads(item["data"]["S"])
    return result


if __name__ == "__main__":
    raise SystemExit(main())
