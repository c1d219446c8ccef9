"""An order-processing function fed by an SQS queue, with partial batch failures.

Deployed with ``template.yaml``: the event source mapping has ``ReportBatchItemFailures``
enabled, so only the orders that failed are retried (and, after ``maxReceiveCount`` attempts,
moved to the dead-letter queue) while the rest of the batch is deleted.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from lambdakit.batch import SQSRecord, process_batch

logger = logging.getLogger(__name__)


class OrderRejected(Exception):
    """An order this function cannot accept (it will be retried, then dead-lettered)."""


# Stands in for a payments API or a database write.
PROCESSED: dict[str, Decimal] = {}


def charge(order: dict[str, Any]) -> Decimal:
    try:
        amount = Decimal(str(order["amount"]))
    except (KeyError, InvalidOperation) as exc:
        raise OrderRejected(f"order {order.get('order_id')!r}: no valid amount") from exc
    if amount <= 0:
        raise OrderRejected(f"order {order['order_id']!r}: amount must be positive, got {amount}")
    PROCESSED[order["order_id"]] = amount
    return amount


@process_batch(concurrency=8)
def handler(record: SQSRecord) -> None:
    order = record.json()  # a body that is not JSON raises RecordDecodeError: reported, retried
    amount = charge(order)
    logger.info("charged %s for order %s", amount, order["order_id"])
