"""examples/batch_orders/app.py written with Powertools for AWS Lambda, for the cold-start bench.

The same function, written the way Powertools' documentation shows each piece: partial batch
failures of the FIFO orders queue with ``SqsFifoPartialProcessor(skip_group_on_error=True)`` and
``process_partial_response`` (a failed order reports the later orders of its customer, its
message group, without running them; other customers go on); the charge made idempotent
with ``idempotent_function`` on a ``DynamoDBPersistenceLayer`` (keyed on the order id, a one-hour
expiry, the Lambda context registered so an expired in-progress record can be taken over); the
payments API key read with ``parameters.get_secret`` (JSON, cached for five minutes, as the
lambdakit app's secret cache does); every charged order published to Kafka with a
``confluent_kafka.Producer`` created at module level, with the same configuration, keyed by the
customer (the message group), and flushed after each record (the record fails unless its message
was acknowledged). An order without a ``MessageGroupId`` is rejected, as the example rejects it.

What the lambdakit app does that Powertools has no utility for is written by hand: the filter
(a body that is not JSON or has no ``order_id`` is dropped, as the template's FilterCriteria
drop it) and the per-record flush. The example's back-off and quarantine act only on failures
and the bench sends none, so they have no counterpart here. Records run one after the other
(``SqsFifoPartialProcessor`` is sequential, and Powertools has no concurrent FIFO processor),
where the lambdakit app runs up to 8 at once, one customer's orders in order.

``BENCH_WARM_BY_HAND=1``: at module level, also fetch the secret and wait for the producer's
first metadata, what a Powertools user would write by hand to move that work to INIT (Powertools
has no warm-up utility).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import uuid4

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import (
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from confluent_kafka import KafkaException, Producer

PAYMENTS_SECRET = os.environ.get("PAYMENTS_SECRET", "orders/payments")
ORDERS_TOPIC = os.environ.get("ORDERS_TOPIC", "orders-processed")
SECRET_MAX_AGE_S = 300  # lambdakit's secret cache refreshes after five minutes
FLUSH_TIMEOUT_S = 20.0  # KAFKA_MESSAGE_TIMEOUT_MS's default, as the lambdakit app uses

processor = SqsFifoPartialProcessor(skip_group_on_error=True)
persistence = DynamoDBPersistenceLayer(
    table_name=os.environ.get("IDEMPOTENCY_TABLE", "orders-idempotency")
)
config = IdempotencyConfig(event_key_jmespath="order_id", expires_after_seconds=3600)
producer = Producer(
    {
        "bootstrap.servers": os.environ["KAFKA_BOOTSTRAP"],
        "security.protocol": "plaintext",
        "client.id": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "batch-orders"),
        "enable.idempotence": True,
        "message.timeout.ms": int(os.environ.get("KAFKA_MESSAGE_TIMEOUT_MS", "20000")),
    }
)

PROCESSED: dict[str, Decimal] = {}


class OrderRejected(Exception):
    """An order this function cannot accept."""


def charge(order: dict[str, Any], api_key: str) -> str:
    """The same stand-in for a payments API as the lambdakit app's."""
    if not api_key.startswith("pk_"):
        raise PermissionError("the payments API refused the key")
    try:
        amount = Decimal(str(order["amount"]))
    except (KeyError, InvalidOperation) as exc:
        raise OrderRejected(f"order {order.get('order_id')!r}: no valid amount") from exc
    if amount <= 0:
        raise OrderRejected(f"order {order['order_id']!r}: amount must be positive, got {amount}")
    PROCESSED[order["order_id"]] = amount
    return f"ch_{uuid4().hex[:12]}"


@idempotent_function(
    data_keyword_argument="order",
    persistence_store=persistence,
    config=config,
    key_prefix="orders.charge",
)
def charge_order(order: dict[str, Any], message_id: str, customer: str) -> dict[str, str]:
    secret = parameters.get_secret(PAYMENTS_SECRET, transform="json", max_age=SECRET_MAX_AGE_S)
    charge_id = charge(order, secret["api_key"])
    return {
        "order_id": order["order_id"],
        "customer_id": customer,
        "amount": str(order["amount"]),
        "charge_id": charge_id,
        "message_id": message_id,
    }


def publish(receipt: dict[str, str]) -> None:
    """Produce the receipt and flush: raise unless the broker acknowledged it."""
    errors: list[Any] = []

    def delivered(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(err)

    value = json.dumps(receipt, sort_keys=True, separators=(",", ":"))
    producer.produce(ORDERS_TOPIC, value, key=receipt["customer_id"], on_delivery=delivered)
    if producer.flush(FLUSH_TIMEOUT_S) or errors:
        raise KafkaException(errors[0] if errors else "message not delivered before the timeout")


def record_handler(record: SQSRecord) -> dict[str, str] | None:
    try:
        order = json.loads(record.body)
    except ValueError:
        return None  # what the FilterCriteria drop
    if not isinstance(order, dict) or "order_id" not in order:
        return None
    customer = record.attributes.message_group_id
    if not customer:
        raise OrderRejected(f"order {order['order_id']!r}: no MessageGroupId")
    receipt = charge_order(order=order, message_id=record.message_id, customer=customer)
    publish(receipt)
    return receipt


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


if os.environ.get("BENCH_WARM_BY_HAND") == "1":
    parameters.get_secret(PAYMENTS_SECRET, transform="json", max_age=SECRET_MAX_AGE_S)
    producer.list_topics(ORDERS_TOPIC, timeout=2.0)
