"""An order-processing function fed by an SQS queue, with partial batch failures and
idempotent charging.

Deployed with ``template.yaml``: the event source mapping has ``ReportBatchItemFailures``
enabled, so only the orders that failed are retried (and, after ``maxReceiveCount`` attempts,
moved to the dead-letter queue) while the rest of the batch is deleted.

SQS delivers at least once, and producers retry: the same order can arrive in two messages.
``@idempotent`` records each order id in the DynamoDB table ``IDEMPOTENCY_TABLE`` when the order
is charged; a later message for the same order gets the stored receipt instead of a second
charge. Creating the store makes no request, so this module imports without AWS access.

The payments API key lives in Secrets Manager (``PAYMENTS_SECRET``, a JSON secret with an
``api_key`` field). ``@inject_secrets`` reads it from lambdakit's cache for every record: a
memory hit almost always, refreshed after five minutes, so a rotated key reaches the running
function without a redeploy.
"""

from __future__ import annotations

import logging
import os
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import uuid4

from lambdakit.batch import SQSRecord, process_batch
from lambdakit.idempotency import DynamoDBStore, idempotent
from lambdakit.secrets import SecretRef, inject_secrets

logger = logging.getLogger(__name__)

store = DynamoDBStore(os.environ.get("IDEMPOTENCY_TABLE", "orders-idempotency"))
PAYMENTS_SECRET = os.environ.get("PAYMENTS_SECRET", "orders/payments")


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


@process_batch(concurrency=8)
@idempotent(
    store,
    key="body.order_id",  # the order, not the message: a resent order has a new messageId
    key_prefix="orders.charge",  # keys survive renaming this function or its stack
)  # a duplicate in the same batch waits for its original's receipt; it is never reported
@inject_secrets(payments_key=SecretRef(PAYMENTS_SECRET, field="api_key"))
def handler(record: SQSRecord, *, payments_key: str) -> dict[str, str]:
    order = record.json()  # a body that is not JSON raises RecordDecodeError: reported, retried
    charge_id = charge(order, payments_key)
    logger.info("charged %s for order %s", order["amount"], order["order_id"])
    # The receipt is stored with the order's idempotency record and returned to duplicates.
    return {
        "order_id": order["order_id"],
        "amount": str(order["amount"]),
        "charge_id": charge_id,
        "message_id": record.message_id,
    }
