"""Reading a partial batch response as Lambda does (``ReportBatchItemFailures``).

AWS documents the rules on each source's page (SQS: "Handling errors for an SQS event source",
Kinesis and DynamoDB Streams: "Configuring partial batch response"): an empty or null
``batchItemFailures``, an empty or null response are a complete success; an empty or null
``itemIdentifier``, an item without that key, or an identifier that names no record of the
batch make the whole batch a failure. A response that is not an object cannot be read as the
response type, which Lambda treats as an invalid response: a complete failure too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EVERY_RECORD = None  # reported_failures(): the whole batch failed


def reported_failures(response: Any, identifiers: Sequence[Any]) -> list[Any] | None:
    """The identifiers the response reports as failed, in the order given, or
    :data:`EVERY_RECORD` when the response makes the whole batch a failure."""
    if response is None:
        return []
    if not isinstance(response, dict):
        return EVERY_RECORD
    failures = response.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        return EVERY_RECORD
    reported: list[Any] = []
    for item in failures:
        if not isinstance(item, dict) or "itemIdentifier" not in item:
            return EVERY_RECORD
        identifier = item["itemIdentifier"]
        if identifier is None or identifier == "" or identifier not in identifiers:
            return EVERY_RECORD
        if identifier not in reported:
            reported.append(identifier)
    return [identifier for identifier in identifiers if identifier in reported]
