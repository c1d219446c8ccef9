"""Code that runs in child processes for the cross-process idempotency tests.

Children are started with the ``spawn`` method (a fresh interpreter, as separate Lambda
execution environments are), so what they run must be importable: it lives here.
"""

from __future__ import annotations

import os
import time
from typing import Any

PREFIX = "cross-process"


def _handler(table: str, endpoint: str, body: Any) -> Any:
    os.environ.update(
        AWS_ENDPOINT_URL_DYNAMODB=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    from lambdakit.idempotency import DynamoDBStore, idempotent

    return idempotent(DynamoDBStore(table), key="order_id", key_prefix=PREFIX)(body)


def charge_once(table: str, endpoint: str, start: Any, release: Any, outcomes: Any) -> None:
    """Call the idempotent handler when every process is ready; report what happened.

    The body records that it ran, then holds the lock until the parent has heard from every
    other process, so they all meet the lock while it is in progress.
    """
    from lambdakit.errors import IdempotencyAlreadyInProgressError
    from lambdakit.testing import LambdaContext

    def body(event: dict[str, Any], context: Any) -> str:
        outcomes.put(("ran", os.getpid()))
        release.wait(60)
        return "charged"

    handler = _handler(table, endpoint, body)
    start.wait(60)
    try:
        outcomes.put(("returned", handler({"order_id": 1}, LambdaContext(timeout=60))))
    except IdempotencyAlreadyInProgressError:
        outcomes.put(("in progress", os.getpid()))


def crash_in_the_middle(table: str, endpoint: str, entered: Any) -> None:
    """Take the lock (for the 60 s a LambdaContext says remain), then hang until killed."""
    from lambdakit.testing import LambdaContext

    def body(event: dict[str, Any], context: Any) -> None:
        entered.set()
        time.sleep(3600)

    _handler(table, endpoint, body)({"order_id": 1}, LambdaContext(timeout=60))
