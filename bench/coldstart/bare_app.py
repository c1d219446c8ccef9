"""The cold-start floor: examples/batch_orders/app.py written on the raw clients, no library.

What the lambdakit app does, with nothing around the clients a function needs anyway: boto3's
DynamoDB and Secrets Manager clients and a ``confluent_kafka.Producer``, all created at module
level (AWS's advice for SDK clients); per record, a body that is not an order is skipped, the
order is claimed with one conditional ``PutItem`` (an existing record's stored receipt answers a
duplicate), charged, its receipt stored with one ``UpdateItem``, then produced (key = the
customer, the record's FIFO message group) and flushed; a record that raises is reported in
``batchItemFailures``, and so is every later record of its customer, without running (an order
without a group is rejected). The secret is fetched on first use and kept for five minutes.
Records run one after the other.

It skips what the libraries add for safety (in-progress expiry, the Lambda context's remaining
time, payload validation, retries beyond boto3's own), so it is a floor, not an equivalent.

``BENCH_WARM_BY_HAND=1``: at module level, also fetch the secret and wait for the producer's
first metadata, as the Powertools app's variant does.
"""

from __future__ import annotations

import json
import os
import time
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import uuid4

import boto3
from confluent_kafka import KafkaException, Producer

TABLE = os.environ.get("IDEMPOTENCY_TABLE", "orders-idempotency")
PAYMENTS_SECRET = os.environ.get("PAYMENTS_SECRET", "orders/payments")
ORDERS_TOPIC = os.environ.get("ORDERS_TOPIC", "orders-processed")
SECRET_MAX_AGE_S = 300.0
FLUSH_TIMEOUT_S = 20.0
EXPIRES_AFTER_S = 3600

dynamodb = boto3.client("dynamodb")
secrets = boto3.client("secretsmanager")
producer = Producer(
    {
        "bootstrap.servers": os.environ["KAFKA_BOOTSTRAP"],
        "security.protocol": "plaintext",
        "client.id": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "batch-orders"),
        "enable.idempotence": True,
        "message.timeout.ms": int(os.environ.get("KAFKA_MESSAGE_TIMEOUT_MS", "20000")),
    }
)
_secret: tuple[float, str] | None = None  # (fetched at, api key)


def api_key() -> str:
    global _secret
    if _secret is None or time.monotonic() - _secret[0] > SECRET_MAX_AGE_S:
        text = secrets.get_secret_value(SecretId=PAYMENTS_SECRET)["SecretString"]
        _secret = (time.monotonic(), json.loads(text)["api_key"])
    return _secret[1]


def charge(order: dict[str, Any], key: str) -> str:
    """The same stand-in for a payments API as the other apps'."""
    if not key.startswith("pk_"):
        raise PermissionError("the payments API refused the key")
    try:
        amount = Decimal(str(order["amount"]))
    except (KeyError, InvalidOperation) as exc:
        raise ValueError(f"order {order.get('order_id')!r}: no valid amount") from exc
    if amount <= 0:
        raise ValueError(f"order {order['order_id']!r}: amount must be positive, got {amount}")
    return f"ch_{uuid4().hex[:12]}"


def charge_once(order: dict[str, Any], message_id: str, customer: str) -> dict[str, str]:
    """Claim the order, charge it, store the receipt; a claimed order's receipt answers."""
    key = {"id": {"S": f"orders.charge#{order['order_id']}"}}
    expires = str(int(time.time()) + EXPIRES_AFTER_S)
    try:
        dynamodb.put_item(
            TableName=TABLE,
            Item={**key, "status": {"S": "INPROGRESS"}, "expiration": {"N": expires}},
            ConditionExpression="attribute_not_exists(id)",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        stored = dynamodb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]
        if stored["status"]["S"] != "COMPLETED":
            raise RuntimeError(f"order {order['order_id']!r} is being charged") from None
        return json.loads(stored["receipt"]["S"])  # type: ignore[no-any-return]
    receipt = {
        "order_id": order["order_id"],
        "customer_id": customer,
        "amount": str(order["amount"]),
        "charge_id": charge(order, api_key()),
        "message_id": message_id,
    }
    dynamodb.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET #s = :done, receipt = :receipt",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":done": {"S": "COMPLETED"},
            ":receipt": {"S": json.dumps(receipt)},
        },
    )
    return receipt


def publish(receipt: dict[str, str]) -> None:
    errors: list[Any] = []

    def delivered(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(err)

    value = json.dumps(receipt, sort_keys=True, separators=(",", ":"))
    producer.produce(ORDERS_TOPIC, value, key=receipt["customer_id"], on_delivery=delivered)
    if producer.flush(FLUSH_TIMEOUT_S) or errors:
        raise KafkaException(errors[0] if errors else "message not delivered before the timeout")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    failed_groups: set[str] = set()  # customers with a failed order: their later ones wait
    for record in event["Records"]:
        customer = record["attributes"].get("MessageGroupId", "")
        if customer in failed_groups:
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        try:
            try:
                order = json.loads(record["body"])
            except ValueError:
                continue
            if not isinstance(order, dict) or "order_id" not in order:
                continue
            if not customer:
                raise ValueError(f"order {order['order_id']!r}: no MessageGroupId")
            publish(charge_once(order, record["messageId"], customer))
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
            failed_groups.add(customer)
    return {"batchItemFailures": failures}


if os.environ.get("BENCH_WARM_BY_HAND") == "1":
    api_key()
    producer.list_topics(ORDERS_TOPIC, timeout=2.0)
