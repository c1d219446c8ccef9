"""`make demo`: run the order function on a generated SQS batch and show what Lambda would do.

Builds a real-shaped SQS event with lambdakit.testing, invokes the handler the way the Lambda
runtime does, and prints which orders succeeded (deleted from the queue) and which are reported
in ``batchItemFailures`` (made visible again and retried).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import app

from lambdakit.testing import LambdaContext, sqs_event

ORDERS = [
    {"order_id": "o-1001", "amount": "19.99"},
    {"order_id": "o-1002", "amount": "5.00"},
    {"order_id": "o-1003", "amount": "-3"},  # rejected: negative amount
    {"order_id": "o-1004", "amount": "120.50"},
    "this body is not JSON",  # rejected: undecodable
    {"order_id": "o-1006"},  # rejected: no amount
    {"order_id": "o-1007", "amount": "42"},
]


def main() -> int:
    logging.basicConfig(level=logging.ERROR, format="  log: %(message)s")
    event = sqs_event(ORDERS, queue_name="orders")
    context = LambdaContext(function_name="orders", timeout=30)
    response = app.handler(event, context)

    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    print(f"Processed a batch of {len(event['Records'])} SQS messages from queue 'orders'\n")
    for record in event["Records"]:
        verdict = "RETRY    " if record["messageId"] in failed else "succeeded"
        print(f"  {verdict}  {record['messageId'][:8]}  {record['body']}")
    print("\nHandler response (what Lambda receives):")
    print(json.dumps(response, indent=2))
    print(
        f"\n{len(event['Records']) - len(failed)} succeeded and will be deleted; "
        f"{len(failed)} will be retried by SQS (then dead-lettered after maxReceiveCount)."
    )
    charged = ", ".join(f"{k}={v}" for k, v in sorted(app.PROCESSED.items()))
    print(f"Charged: {charged}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
