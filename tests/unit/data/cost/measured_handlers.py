"""Lambda handlers whose cost per record the cost-measurement tests control: CPU work, waiting,
memory held, failures. Imported by ``module:attr`` spec, as ``lambdakit cost measure`` does."""

from __future__ import annotations

import time
from typing import Any

SPIN = 5_000  # loop iterations of CPU work per record (a fraction of a millisecond)
SLEEP_S = 0.002  # seconds waited per record, the stand-in for a call to another service
HELD_BYTES = 100 * 1024  # bytes held per record until the invocation returns

SETTINGS = {"table": "orders"}  # not a handler


def spin(iterations: int) -> int:
    total = 0
    for i in range(iterations):
        total += i * i
    return total


def cpu_bound(event: dict[str, Any], context: Any) -> None:
    """CPU time proportional to the records, nothing fixed but the call itself."""
    for _ in event["Records"]:
        spin(SPIN)


def waits(event: dict[str, Any], context: Any) -> None:
    """Waits SLEEP_S per record and computes nothing."""
    for _ in event["Records"]:
        time.sleep(SLEEP_S)


def holds_memory(event: dict[str, Any], context: Any) -> int:
    """Holds HELD_BYTES per record at once, freed when it returns."""
    held = [b"x" * HELD_BYTES for _ in event["Records"]]
    return len(held)


def fails_from_five(event: dict[str, Any], context: Any) -> None:
    if len(event["Records"]) >= 5:
        raise ValueError("downstream refused the batch")


def reports_the_first(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reports its first record failed (a partial batch response), processes the rest."""
    return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def remembers_ids(event: dict[str, Any], context: Any) -> None:
    """Records every messageId it is given, so a test can check they are all new."""
    SEEN.extend(record["messageId"] for record in event["Records"])


SEEN: list[str] = []
