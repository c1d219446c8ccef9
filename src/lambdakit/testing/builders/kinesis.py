"""Kinesis Data Streams events as Lambda's event source mapping delivers them."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import Any

from lambdakit.testing.builders._common import (
    DEFAULT_ACCOUNT,
    now_ms,
    payload_bytes,
    per_record,
    region_or_default,
)

# Real Kinesis sequence numbers are 56-digit decimals; using the real magnitude catches code that
# compares them as strings or squeezes them into a float.
_SEQUENCE_BASE = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898
_SEQUENCE_STEP = 1_000_000_000_000_000


def kinesis_event(
    payloads: Iterable[Any],
    *,
    partition_keys: str | Sequence[str] | None = None,
    shard_id: str | Sequence[str] = "shardId-000000000000",
    stream_name: str = "test-stream",
    first_sequence_number: int | None = None,
    region: str | None = None,
    account_id: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """A Kinesis event with one record per payload.

    ``bytes`` payloads are sent as they are, ``str`` as UTF-8, anything else as JSON; ``data``
    is base64-encoded as Lambda delivers it. Sequence numbers increase per shard in record
    order. Without ``partition_keys`` every record gets its own key (``key-0``, ``key-1`` ...).
    """
    blobs = [payload_bytes(p, f"payloads[{i}]") for i, p in enumerate(payloads)]
    count = len(blobs)
    region = region_or_default(region)
    keys = (
        [f"key-{i}" for i in range(count)]
        if partition_keys is None
        else per_record(partition_keys, count, "partition_keys", "")
    )
    shards = per_record(shard_id, count, "shard_id", "shardId-000000000000")
    base = _SEQUENCE_BASE if first_sequence_number is None else first_sequence_number
    next_in_shard: dict[str, int] = {}
    arrival = now_ms()
    records = []
    for i, blob in enumerate(blobs):
        shard = shards[i]
        sequence = next_in_shard.get(shard, base)
        next_in_shard[shard] = sequence + _SEQUENCE_STEP
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": keys[i],
                    "sequenceNumber": str(sequence),
                    "data": base64.b64encode(blob).decode(),
                    "approximateArrivalTimestamp": (arrival + i) / 1000,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{shard}:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{account_id}:role/lambda-role",
                "awsRegion": region,
                "eventSourceARN": f"arn:aws:kinesis:{region}:{account_id}:stream/{stream_name}",
            }
        )
    return {"Records": records}
