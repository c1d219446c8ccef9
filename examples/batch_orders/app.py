"""An order-processing function fed by an SQS FIFO queue: each customer's orders in the order
they were sent, partial batch failures, poison orders quarantined, idempotent charging, and
every charged order published to Kafka.

Deployed with ``template.yaml``. The producer sends each order with ``MessageGroupId`` = the
customer id and ``MessageDeduplicationId`` = the order id. SQS then hands out one customer's
orders one at a time, in order, while other customers' orders run side by side
(``process_batch(concurrency=8)`` keeps that order inside a batch). The event source mapping has
``ReportBatchItemFailures`` enabled: an order that fails is reported, and so is every later order
*of its customer* in the batch, without running (charging o-2 before o-1 would break the
customer's order). Other customers are not held up.

Poison orders
-------------
In a FIFO queue a message that always fails blocks its group: SQS delivers nothing more of that
customer until it is gone. Two ``process_batch`` options keep that short and bounded:

- ``Backoff``: a failing order comes back later each time (from ``RETRY_BASE_S``, the queue's
  visibility timeout by default, doubling up to 15 minutes, with jitter), so an outage of the
  payments API is not hammered, and a brief one is ridden out without losing the order.
- ``Quarantine``: on its ``QUARANTINE_AFTER``-th receive (5 by default, about half an hour of
  back-off) a still-failing order is sent to the FIFO queue ``QUARANTINE_QUEUE`` with its
  ``MessageGroupId``, the error in a ``lambdakit.failure`` attribute, and deleted from the
  orders queue: the customer's next orders run. The template's ``maxReceiveCount`` is above
  ``QUARANTINE_AFTER``, so the dead-letter queue only gets what the quarantine itself could not
  move (a failed send is reported and retried; nothing turns a failure into a loss).

Quarantined orders were *not* charged. Replay them once fixed; a replayed order comes after the
customer's later orders, which is the price of not blocking the customer forever.

Duplicates
----------
SQS FIFO drops a message whose deduplication id (the order id) it has seen in the last five
minutes. A resend after that window, or with a new deduplication id, is delivered:
``@idempotent`` records each order id in the DynamoDB table ``IDEMPOTENCY_TABLE`` when the
order is charged; a later message for the same order gets the stored receipt instead of a
second charge. Creating the store makes no request, so this module imports without AWS access.

The payments API key lives in Secrets Manager (``PAYMENTS_SECRET``, a JSON secret with an
``api_key`` field). ``@inject_secrets`` reads it from lambdakit's cache for every charge: a
memory hit almost always, refreshed after five minutes, so a rotated key reaches the running
function without a redeploy.

Publishing
----------
Each order that succeeds is published to the Kafka topic ``ORDERS_TOPIC`` (default
``orders-processed``) on the cluster ``KAFKA_BOOTSTRAP``: key = the customer id (the message
group), value = its receipt as JSON with sorted keys. One customer's orders therefore land in one
partition, in the order they were charged: each record is flushed before the next record of its
group runs. The :class:`~lambdakit.kafka.Producer` is created at module level and builds its
client on the first message, so importing this module connects to nothing; the client then
serves every invocation of the execution environment.

How the decorators stack, outermost first, and why::

    filter_records          the template's FilterCriteria: what Lambda drops never runs here
      process_batch         an exception from a record reports it (and the rest of its group);
                            then back-off, and quarantine of orders that failed too often
        flush_kafka         after each record: flush, and raise unless its message was acknowledged
          handle_order      charge_order(record), then produce its receipt
            idempotent      charge_order: the charge, once per order id; duplicates get the receipt
              inject_secrets

Stacked otherwise (``@idempotent`` or ``@flush_kafka`` over ``@process_batch``, ``@filter_records``
under it) the module would refuse to load with ``DecoratorOrderError``. The stack is built by
:func:`build_handler`, so that a test can hand ``process_batch`` the SQS client it quarantines
with (``lambdakit.testing.esm.SQSClient``); the deployed ``handler`` gets boto3's, created on
the first batch that needs it.

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
stored the message, a duplicate delivered after the deduplication window (it replays the
receipt and publishes it again; the demo shows some), a redrive from the dead-letter queue.
Every copy has the same key and the same bytes (the stored receipt), so consumers deduplicate
on ``order_id`` or ``charge_id``. Nothing cheaper removes those duplicates: a second idempotency
record "published" would cost two more DynamoDB writes per order and still leave the window
between the broker's acknowledgement and that write. Within one delivery, the producer runs
with ``enable.idempotence``, so its own retries create no duplicates and keep each partition's
order.

``KAFKA_MESSAGE_TIMEOUT_MS`` (default 20 s, below the 30 s function timeout) bounds how long
librdkafka tries a message. A message it gives up on is reported failed inside the invocation
that produced it and is never sent later; one still queued when ``flush_kafka``'s deadline comes
(near the end of the invocation) fails its record too, but could still reach the broker after
the next thaw: one more duplicate.

An order that fails because Kafka is down was charged: its retries replay the receipt and
publish it while its idempotency record lives (``expires_after``, one hour by default). Quarantine
stops retrying it; replayed from the quarantine queue within that hour it is published without
a second charge. After that, only an idempotency key given to the payments API itself (the order
id) would prevent a second charge; keep ``expires_after`` longer than replays can come.

Without ``KAFKA_BOOTSTRAP`` or ``QUARANTINE_QUEUE`` the module refuses to load (naming the
variable) rather than skip publishing or block customers forever. Downstream systems learn about
orders only from the topic; a function that charged without publishing would lose those orders
silently. An init error fails every invocation instead, loudly: nothing is charged, the messages
stay in the queue and end in the dead-letter queue, from where they can be redriven once the
configuration is fixed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import uuid4

from lambdakit.batch import Backoff, Quarantine, SQSRecord, process_batch
from lambdakit.errors import BatchConfigurationError, WarmUpConfigurationError
from lambdakit.filtering import FilterCriteria, filter_records
from lambdakit.idempotency import DynamoDBStore, idempotent
from lambdakit.kafka import KafkaConfigurationError, Producer, flush_kafka
from lambdakit.secrets import INJECTED, SecretRef, inject_secrets

logger = logging.getLogger(__name__)

store = DynamoDBStore(os.environ.get("IDEMPOTENCY_TABLE", "orders-idempotency"))
PAYMENTS_SECRET = os.environ.get("PAYMENTS_SECRET", "orders/payments")
ORDERS_TOPIC = os.environ.get("ORDERS_TOPIC", "orders-processed")

SECURITY_PROTOCOLS = ("plaintext", "ssl")  # MSK: TLS on port 9094, plaintext on 9092

# The template's queue visibility timeout (6x the 30 s function timeout): a first retry sooner
# than that is not possible anyway, so the back-off starts there.
DEFAULT_RETRY_BASE_S = 180.0
MAX_RETRY_DELAY_S = 900.0
DEFAULT_QUARANTINE_AFTER = 5

Handler = Callable[..., Any]


def number(
    environ: Mapping[str, str],
    name: str,
    default: float,
    *,
    low: float,
    high: float,
    error: type[Exception],
    unit: str,
) -> float:
    """The setting ``name`` from the environment as a number from ``low`` to ``high`` (``default``
    when unset); anything else refuses the load with ``error`` naming the variable, so a typo
    in the template fails the deployment's first invocation instead of changing behaviour."""
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        parsed = float(value)
    except ValueError:
        parsed = float("nan")
    if not low <= parsed <= high:  # NaN fails this too
        raise error(f"{name}={value!r}: expected {unit} from {low:g} to {high:g}")
    return parsed


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
    timeout = number(
        environ,
        "KAFKA_MESSAGE_TIMEOUT_MS",
        20_000,
        low=1,
        high=900_000,
        error=KafkaConfigurationError,
        unit="milliseconds",
    )
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": protocol,
        "client.id": environ.get("AWS_LAMBDA_FUNCTION_NAME", "batch-orders"),
        "enable.idempotence": True,  # acks=all, no duplicates from the client's own retries
        "message.timeout.ms": int(timeout),
    }


def retry_options(environ: Mapping[str, str]) -> tuple[Backoff, Quarantine]:
    """How failing orders come back, and when one leaves its customer's group for the
    quarantine queue, from the function's environment."""
    queue = environ.get("QUARANTINE_QUEUE", "").strip()
    if not queue:
        raise BatchConfigurationError(
            "QUARANTINE_QUEUE is not set: without it an order that always fails blocks its "
            "customer's message group until the dead-letter queue takes it. Set it to the URL "
            "or ARN of a FIFO queue."
        )
    base = number(
        environ,
        "RETRY_BASE_S",
        DEFAULT_RETRY_BASE_S,
        low=1,
        high=MAX_RETRY_DELAY_S,
        error=BatchConfigurationError,
        unit="seconds",
    )
    after = number(
        environ,
        "QUARANTINE_AFTER",
        DEFAULT_QUARANTINE_AFTER,
        low=1,
        high=999,  # below SQS's highest maxReceiveCount (1000)
        error=BatchConfigurationError,
        unit="receives",
    )
    if after != int(after):
        raise BatchConfigurationError(
            f"QUARANTINE_AFTER={environ['QUARANTINE_AFTER']!r}: expected a whole number of receives"
        )
    try:
        quarantine = Quarantine(after=int(after), to=queue)
    except BatchConfigurationError as exc:
        raise BatchConfigurationError(f"QUARANTINE_QUEUE={queue!r}: {exc}") from None
    return Backoff(base=base, factor=2, max_delay=MAX_RETRY_DELAY_S, jitter=True), quarantine


producer = Producer(kafka_config(os.environ))  # no connection until the first order
RETRY, QUARANTINE = retry_options(os.environ)


class OrderRejected(Exception):
    """An order this function cannot accept (it will be retried, then quarantined)."""


# Stands in for a payments API or a database write: every call to charge() is one charge.
PROCESSED: dict[str, Decimal] = {}
CHARGES: list[str] = []  # the order id of each charge made, in order


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
)
@inject_secrets(payments_key=SecretRef(PAYMENTS_SECRET, field="api_key"))
def charge_order(record: SQSRecord, *, payments_key: str = INJECTED) -> dict[str, str]:
    # A body that is not JSON, or has no order_id, is dropped by the filter criteria (Lambda's,
    # and @filter_records in tests): deleted as processed, never run. Called without them,
    # @idempotent finds no key and raises IdempotencyKeyError: the record is reported.
    order = record.json()
    customer = record.message_group_id
    if not customer:  # checked before charging: the receipt's key must exist
        raise OrderRejected(
            f"order {order['order_id']!r}: no MessageGroupId; this function reads a FIFO queue "
            "whose message groups are customers"
        )
    charge_id = charge(order, payments_key)
    logger.info("charged %s for order %s", order["amount"], order["order_id"])
    # The receipt is stored with the order's idempotency record and returned to duplicates.
    return {
        "order_id": order["order_id"],
        "customer_id": customer,
        "amount": str(order["amount"]),
        "charge_id": charge_id,
        "message_id": record.message_id,
    }


# The criteria the template deploys on the queue, read from the template packaged beside this file
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "template.yaml")
CRITERIA = FilterCriteria.from_template(TEMPLATE, "OrdersFunction")


def build_handler(*, sqs_client: Any = None) -> Handler:
    """The Lambda handler: the decorator stack above around :func:`handle_order`.
    ``sqs_client`` is what quarantine and back-off call (``None``: boto3's, created on the first
    batch with a failure); tests pass ``lambdakit.testing.esm.SQSClient``."""

    @filter_records(CRITERIA)  # drops what Lambda drops
    @process_batch(concurrency=8, retry=RETRY, quarantine=QUARANTINE, sqs_client=sqs_client)
    @flush_kafka(producer)  # one ledger per record: only records whose message failed are reported
    def handle_order(record: SQSRecord) -> dict[str, str]:
        receipt = charge_order(record)  # charged now, or the stored receipt of an earlier charge
        # Outside the idempotent call, so a retry after a failed delivery publishes again.
        producer.produce(ORDERS_TOPIC, published_value(receipt), key=receipt["customer_id"])
        return receipt

    return handle_order


def published_value(receipt: Mapping[str, Any]) -> str:
    """The message value: the receipt as JSON with sorted keys, the same bytes every time the
    same receipt is published (a fresh charge's dict and its replay from the store alike)."""
    return json.dumps(receipt, sort_keys=True, separators=(",", ":"))


handler = build_handler()


def warm_up_budget(environ: Mapping[str, str]) -> float:
    """Seconds of INIT to spend warming up (``WARM_UP_BUDGET_S``; 0, the default, warms
    nothing: every dependency connects on the first invocation instead). INIT stops at 10 s."""
    return number(
        environ,
        "WARM_UP_BUDGET_S",
        0,
        low=0,
        high=9,
        error=WarmUpConfigurationError,
        unit="seconds",
    )


# Opt-in: at init, import boto3, open the table's connection, fetch the payments secret and
# connect the producer, so the first invocation is as fast as the second. INIT is billed, so
# this moves the same work from the first request into INIT rather than saving it. charge_order
# is called by the handler, not stacked on it, so it is named too.
if (_budget := warm_up_budget(os.environ)) > 0:
    import lambdakit

    lambdakit.warm_up(handler, charge_order, budget_s=_budget, kafka_topics=[ORDERS_TOPIC])
