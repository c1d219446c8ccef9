"""DynamoDB Streams events as Lambda's event source mapping delivers them."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from lambdakit.errors import EventBuilderError
from lambdakit.testing.builders._common import DEFAULT_ACCOUNT, region_or_default

_SEQUENCE_BASE = 4_421_584_500_000_000_017_450_439_091
_VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")


def _plain(value: Any) -> Any:
    """Make a Python value acceptable to boto3's TypeSerializer (floats become Decimals)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return {_plain(v) for v in value}
    return value


def _wire(value: Any) -> Any:
    """TypeSerializer output to the JSON shape of a stream record (binary base64-encoded)."""
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    raw = getattr(value, "value", value)  # boto3's Binary wrapper
    if isinstance(raw, bytes | bytearray):
        return base64.b64encode(raw).decode()
    return value


def _serialize(image: Mapping[str, Any], where: str) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer  # the test kit may pay for boto3

    serializer = TypeSerializer()
    try:
        return {name: _wire(serializer.serialize(_plain(value))) for name, value in image.items()}
    except (TypeError, ValueError) as exc:
        raise EventBuilderError(f"{where}: not a DynamoDB item ({exc})") from None


def _get(change: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in change:
            return change[name]
    return None


def dynamodb_stream_event(
    changes: Iterable[Mapping[str, Any]],
    *,
    key_names: Sequence[str] = ("id",),
    view_type: str = "NEW_AND_OLD_IMAGES",
    table_name: str = "test-table",
    first_sequence_number: int | None = None,
    region: str | None = None,
    account_id: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """A DynamoDB Streams event with one record per change.

    A change is a mapping with ``new_image`` and/or ``old_image`` (plain Python items), and
    optionally ``keys`` (else taken from the image by ``key_names``), ``event_name`` (else
    INSERT, MODIFY or REMOVE from which images are given) and ``ttl=True`` (a REMOVE made by
    DynamoDB's TTL, with the ``userIdentity`` AWS adds). Values are typed with boto3's
    ``TypeSerializer``; images are included as ``view_type`` says.
    """
    if view_type not in _VIEW_TYPES:
        raise EventBuilderError(f"view_type: {view_type!r} is not one of {list(_VIEW_TYPES)}")
    region = region_or_default(region)
    arn = (
        f"arn:aws:dynamodb:{region}:{account_id}:table/{table_name}/stream/2026-01-01T00:00:00.000"
    )
    sequence = _SEQUENCE_BASE if first_sequence_number is None else first_sequence_number
    records = []
    for i, change in enumerate(changes):
        where = f"changes[{i}]"
        new = _get(change, "new_image", "new", "NewImage")
        old = _get(change, "old_image", "old", "OldImage")
        if new is None and old is None and _get(change, "keys", "Keys") is None:
            raise EventBuilderError(f"{where}: give new_image, old_image or keys")
        keys = _get(change, "keys", "Keys")
        if keys is None:
            source = new if new is not None else old
            missing = [k for k in key_names if k not in source]
            if missing:
                raise EventBuilderError(
                    f"{where}: key attribute(s) {missing} not in the image; "
                    "pass keys= or key_names="
                )
            keys = {k: source[k] for k in key_names}
        event_name = _get(change, "event_name", "eventName") or (
            "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        )
        body: dict[str, Any] = {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": _serialize(keys, f"{where}.keys"),
        }
        if new is not None and view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            body["NewImage"] = _serialize(new, f"{where}.new_image")
        if old is not None and view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
            body["OldImage"] = _serialize(old, f"{where}.old_image")
        body["SequenceNumber"] = str(sequence + i * 100)
        body["SizeBytes"] = len(json.dumps(body, separators=(",", ":")))
        body["StreamViewType"] = view_type
        record: dict[str, Any] = {
            "eventID": uuid.uuid4().hex,
            "eventName": event_name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": region,
            "dynamodb": body,
            "eventSourceARN": arn,
        }
        if change.get("ttl"):
            record["userIdentity"] = {
                "type": "Service",
                "principalId": "dynamodb.amazonaws.com",
            }
        records.append(record)
    return {"Records": records}
