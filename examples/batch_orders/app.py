"""An order-processing function fed by an SQS queue: partial batch failures, idempotent
charging, and every charged order published to Kafka.

Deployed with ``template.yaml``: the event source mapping has ``ReportBatchItemFailures``
enabled, so only the orders that failed are retried (and, after ``maxReceiveCount`` attempts,
moved to the dead-letter queue) while the rest of the batch is deleted.

SQS delivers at least once, and producers retry: the same order can arrive in two messages.
``@idempotent`` records each order id in the DynamoDB table ``IDEMPOTENCY_TABLE`` when the order
is charged; a later message for the same order gets the stored receipt instead of a second
charge. Creating the store makes no request, so this module imports without AWS access.

The payments API key lives in Secrets Manager (``PAYMENTS_SECRET``, a JSON secret with an
``api_key`` field). ``@inject_secrets`` reads it from lambdakit's cache for every charge: a
memory hit almost always, refreshed after five minutes, so a rotated key reaches the running
function without a redeploy.

Publishing
----------
Each order that succeeds is published to the Kafka topic ``ORDERS_TOPIC`` (default
``orders-processed``) on the cluster ``KAFKA_BOOTSTRAP``: key = the order id, value = its
receipt as JSON with sorted keys. The :class:`~lambdakit.kafka.Producer` is created at module
level and builds its client on the first message, so importing this module connects to nothing;
the client then serves every invocation of the execution environment.

How the decorators stack, outermost first, and why::

    filter_records          the template's FilterCriteria: what Lambda drops never runs here
      process_batch         an exception from a record reports that record in batchItemFailures
        flush_kafka         after each record: flush, and raise unless its message was acknowledged
          handler           charge_order(record), then produce its receipt
            idempotent      charge_order: the charge, once per order id; duplicates get the receipt
              inject_secrets

Stacked otherwise (``@idempotent`` or ``@flush_kafka`` over ``@process_batch``, ``@filter_records``
under it) the module would refuse to load with ``DecoratorOrderError``.

The idempotent unit is the charge alone; publishing happens after it, outside it:

- *Publishing inside it* (produce and flush under ``@idempotent``) would turn a failed delivery
  into an exception of the idempotent call. Its lock is then deleted, and the retry that SQS
  makes charges the customer a second time. Refused.
- *Producing inside it, flushing outside* stores the receipt as COMPLETED before the flush. The
  failed delivery still fails the record, but its retry replays the stored receipt without
  running the function, so the order is never published. Refused: silent loss.
- *Producing after it* (this module): a failed delivery fails the record; the retry replays the
  stored receipt (no second charge) and produces it again. The charge always comes first, so
  nothing is published for an order that was not charged.

The honest guarantee is therefore *charged at most once, published at least once*. A receipt can
be published more than once: the retry after a flush that failed although the broker had
stored the message, every duplicate SQS message of an order (it replays the receipt and
publishes it again; the demo shows one), a redrive from the dead-letter queue. Every copy has
the same key and the same bytes (the stored receipt), so consumers deduplicate on the order id
or ``charge_id``. Nothing cheaper removes those duplicates: a second idempotency record
"published" would cost two more DynamoDB writes per order and still leave the window between
the broker's acknowledgement and that write. Within one delivery, the producer runs with
``enable.idempotence``, so its own retries create no duplicates and keep each partition's order.

``KAFKA_MESSAGE_TIMEOUT_MS`` (default 20 s, below the 30 s function timeout) bounds how long
librdkafka tries a message. A message it gives up on is reported failed inside the invocation
that produced it and is never sent later; one still queued when ``flush_kafka``'s deadline comes
(near the end of the invocation) fails its record too, but could still reach the broker after
the next thaw: one more duplicate.

A record that fails keeps failing until ``maxReceiveCount`` and then sits in the dead-letter
queue, charged but unpublished if Kafka was what failed. Redriving it replays the receipt and
publishes it while its idempotency record lives (``expires_after``, one hour by default). After
that, only an idempotency key given to the payments API itself (the order id) would prevent a
second charge; keep ``expires_after`` longer than redrives can come, or pass such a key.

Without ``KAFKA_BOOTSTRAP`` the module refuses to load (``KafkaConfigurationError``, naming the
variable) rather than skip publishing. Downstream systems learn about orders only from the
topic; a function that charged without publishing would lose those orders silently, and
the only trace would be a charge nobody fulfils. An init error fails every invocation instead,
loudly: nothing is charged, the messages stay in the queue and end in the dead-letter queue,
from where they can be redriven once the configuration is fixed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import uuid4

from lambdakit.batch import SQSRecord, process_batch
from lambdakit.filtering import FilterCriteria, filter_records
from lambdakit.idempotency import DynamoDBStore, idempotent
from lambdakit.kafka import KafkaConfigurationError, Producer, flush_kafka
from lambdakit.secrets import INJECTED, SecretRef, inject_secrets

logger = logging.getLogger(__name__)

store = DynamoDBStore(os.environ.get("IDEMPOTENCY_TABLE", "orders-idempotency"))
PAYMENTS_SECRET = os.environ.get("PAYMENTS_SECRET", "orders/payments")
ORDERS_TOPIC = os.environ.get("ORDERS_TOPIC", "orders-processed")

SECURITY_PROTOCOLS = ("plaintext", "ssl")  # MSK: TLS on port 9094, plaintext on 9092


def kafka_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """The producer's configuration (librdkafka's keys) from the function's environment."""
    bootstrap = environ.get("KAFKA_BOOTSTRAP", "").strip()
    if not bootstrap:
        raise KafkaConfigurationError(
            "KAFKA_BOOTSTRAP is not set: this function publishes every order it charges to "
            f"the topic {ORDERS_TOPIC!r} and will not charge orders it cannot publish. Set it "
            "to the cluster's bootstrap brokers (host:port,host:port)."
        )
    protocol = environ.get("KAFKA_SECURITY_PROTOCOL", "plaintext").strip().lower()
    if protocol not in SECURITY_PROTOCOLS:
        raise KafkaConfigurationError(
            f"KAFKA_SECURITY_PROTOCOL={protocol!r}: expected one of {SECURITY_PROTOCOLS}"
        )
    timeout = environ.get("KAFKA_MESSAGE_TIMEOUT_MS", "20000")
    if not timeout.isdigit() or int(timeout) < 1:
        raise KafkaConfigurationError(
            f"KAFKA_MESSAGE_TIMEOUT_MS={timeout!r}: expected a positive number of milliseconds"
        )
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": protocol,
        "client.id": environ.get("AWS_LAMBDA_FUNCTION_NAME", "batch-orders"),
        "enable.idempotence": True,  # acks=all, no duplicates from the client's own retries
        "message.timeout.ms": int(timeout),
    }


producer = Producer(kafka_config(os.environ))  # no connection until the first order


class OrderRejected(Exception):
    """An order this function cannot accept (it will be retried, then dead-lettered)."""


# Stands in for a payments API or a database write: every call to charge() is one charge.
PROCESSED: dict[str, Decimal] = {}
CHARGES: list[str] = []  # the order id of each charge made


def charge(order: dict[str, Any], api_key: str) -> str:
    """Charge the order's amount with the payments API key; return the charge id."""
    if not api_key.startswith("pk_"):
        raise PermissionError("the payments API refused the key")
    try:
        amount = Decimal(str(order["amount"]))
    except (KeyError, InvalidOperation) as exc:
        raise OrderRejected(f"order {order.get('order_id')!r}: no valid amount") from exc
    if amount <= 0:
        raise OrderRejected(f"order {order['order_id']!r}: amount must be positive, got {amount}")
    PROCESSED[order["order_id"]] = amount
    CHARGES.append(order["order_id"])
    return f"ch_{uuid4().hex[:12]}"


@idempotent(
    store,
    key="body.order_id",  # the order, not the message: a resent order has a new messageId
    key_prefix="orders.charge",  # keys survive renaming this function or its stack
    # A missing key raises IdempotencyKeyError (the default): an order without an id is never
    # charged unguarded.
)  # a duplicate in the same batch waits for its original's receipt; it is never reported
@inject_secrets(payments_key=SecretRef(PAYMENTS_SECRET, field="api_key"))
def charge_order(record: SQSRecord, *, payments_key: str = INJECTED) -> dict[str, str]:
    # A body that is not JSON, or has no order_id, is dropped by the filter criteria (Lambda's,
    # and @filter_records in tests): deleted as processed, never run. Called without them,
    # @idempotent finds no key and raises IdempotencyKeyError: the record is reported.
    order = record.json()
    charge_id = charge(order, payments_key)
    logger.info("charged %s for order %s", order["amount"], order["order_id"])
    # The receipt is stored with the order's idempotency record and returned to duplicates.
    return {
        "order_id": order["order_id"],
        "amount": str(order["amount"]),
        "charge_id": charge_id,
        "message_id": record.message_id,
    }


# The criteria the template deploys on the queue, read from the template packaged beside this file
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "template.yaml")


@filter_records(FilterCriteria.from_template(TEMPLATE, "OrdersFunction"))  # drops what Lambda drops
@process_batch(concurrency=8)
@flush_kafka(producer)  # one ledger per record: only records whose message failed are reported
def handler(record: SQSRecord) -> dict[str, str]:
    receipt = charge_order(record)  # charged now, or the stored receipt of an earlier charge
    # Outside the idempotent call, so a retry after a failed delivery publishes again.
    producer.produce(ORDERS_TOPIC, published_value(receipt), key=receipt["order_id"])
    return receipt


def published_value(receipt: Mapping[str, Any]) -> str:
    """The message value: the receipt as JSON with sorted keys, the same bytes every time the
    same receipt is published (a fresh charge's dict and its replay from the store alike)."""
    return json.dumps(receipt, sort_keys=True, separators=(",", ":"))


def warm_up_budget(environ: Mapping[str, str]) -> float:
    """Seconds of INIT to spend warming up (``WARM_UP_BUDGET_S``; 0, the default, warms
    nothing: every dependency connects on the first invocation instead)."""
    value = environ.get("WARM_UP_BUDGET_S", "0")
    try:
        budget = float(value)
    except ValueError:
        raise ValueError(f"WARM_UP_BUDGET_S={value!r}: expected a number of seconds") from None
    if not 0 <= budget <= 9:  # INIT stops at 10 s
        raise ValueError(f"WARM_UP_BUDGET_S={value!r}: expected 0 to 9 seconds")
    return budget


# Opt-in: at init, import boto3, open the table's connection, fetch the payments secret and
# connect the producer, so the first invocation is as fast as the second. INIT is billed, so
# this moves the same work from the first request into INIT rather than saving it. charge_order
# is called by the handler, not stacked on it, so it is named too.
if (_budget := warm_up_budget(os.environ)) > 0:
    import lambdakit

    lambdakit.warm_up(handler, charge_order, budget_s=_budget, kafka_topics=[ORDERS_TOPIC])
