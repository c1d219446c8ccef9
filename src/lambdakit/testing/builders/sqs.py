"""SQS events as Lambda's event source mapping delivers them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lambdakit.testing.builders._common import (
    DEFAULT_ACCOUNT,
    now_ms,
    payload_text,
    per_record,
    region_or_default,
)

# FIFO sequence numbers are 20-digit decimal strings that only grow.
_FIFO_SEQUENCE_BASE = 18_849_496_460_467_696_128


def _message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """``{"k": "v"}`` shorthand to Lambda's shape; already-shaped values pass through."""
    shaped: dict[str, Any] = {}
    for name, value in attributes.items():
        if isinstance(value, Mapping) and "dataType" in value:
            shaped[name] = dict(value)
        elif isinstance(value, bytes | bytearray):
            import base64

            shaped[name] = {
                "binaryValue": base64.b64encode(value).decode(),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            }
        else:
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            shaped[name] = {
                "stringValue": str(value),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Number" if is_number else "String",
            }
    return shaped


def sqs_event(
    bodies: Iterable[Any],
    *,
    fifo: bool = False,
    group_ids: str | Sequence[str] | None = None,
    deduplication_ids: Sequence[str] | None = None,
    message_attributes: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    receive_count: int | Sequence[int] = 1,
    queue_name: str | None = None,
    region: str | None = None,
    account_id: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """An SQS event with one record per body.

    A body that is a ``str`` is sent as it is; ``bytes`` are decoded as UTF-8; anything else is
    encoded as JSON. Giving ``group_ids`` (one for all records, or one per record) implies a FIFO
    queue. FIFO records carry ``MessageGroupId``, ``MessageDeduplicationId`` (content-based by
    default) and increasing ``SequenceNumber`` attributes, and the queue name ends in ``.fifo``.
    """
    texts = [payload_text(body, f"bodies[{i}]") for i, body in enumerate(bodies)]
    count = len(texts)
    fifo = fifo or group_ids is not None
    region = region_or_default(region)
    queue = queue_name or ("test-queue.fifo" if fifo else "test-queue")
    if fifo and not queue.endswith(".fifo"):
        queue += ".fifo"
    arn = f"arn:aws:sqs:{region}:{account_id}:{queue}"
    groups = per_record(group_ids, count, "group_ids", "group-1")
    dedup = per_record(deduplication_ids, count, "deduplication_ids", "")
    receives = per_record(receive_count, count, "receive_count", 1)
    if message_attributes is None or isinstance(message_attributes, Mapping):
        attrs_per_record = [message_attributes or {}] * count
    else:
        attrs_per_record = per_record(message_attributes, count, "message_attributes", {})
    sent = now_ms()
    records = []
    for i, text in enumerate(texts):
        attributes = {
            "ApproximateReceiveCount": str(receives[i]),
            "SentTimestamp": str(sent + i),
            "SenderId": f"AIDAIENQZJOLO23YVJ4VO{account_id[-3:]}",
            "ApproximateFirstReceiveTimestamp": str(sent + i + 5),
        }
        if fifo:
            attributes["SequenceNumber"] = str(_FIFO_SEQUENCE_BASE + i)
            attributes["MessageGroupId"] = groups[i]
            attributes["MessageDeduplicationId"] = (
                dedup[i] or hashlib.sha256(text.encode()).hexdigest()
            )
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "AQEB" + uuid.uuid4().hex + uuid.uuid4().hex,
                "body": text,
                "attributes": attributes,
                "messageAttributes": _message_attributes(attrs_per_record[i]),
                "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}
