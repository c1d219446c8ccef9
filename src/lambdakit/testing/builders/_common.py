"""What every event builder shares: defaults, payload encoding, per-record option spreading."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any, TypeVar

from lambdakit.errors import EventBuilderError

DEFAULT_ACCOUNT = "123456789012"

T = TypeVar("T")


def region_or_default(region: str | None) -> str:
    return (
        region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or ("us-east-1")
    )


def now_ms() -> int:
    return int(time.time() * 1000)


def payload_bytes(payload: Any, where: str) -> bytes:
    """bytes as they are, str as UTF-8, anything else as compact JSON."""
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    try:
        return json.dumps(payload, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise EventBuilderError(f"{where}: cannot be encoded as JSON ({exc})") from None


def payload_text(payload: Any, where: str) -> str:
    """str as it is, bytes decoded as UTF-8, anything else as compact JSON."""
    if isinstance(payload, str):
        return payload
    try:
        return payload_bytes(payload, where).decode()
    except UnicodeDecodeError:
        raise EventBuilderError(f"{where}: bytes are not UTF-8 text") from None


def per_record(value: T | Sequence[T] | None, count: int, name: str, default: T) -> list[T]:
    """Spread an option over ``count`` records: one value for all, or one per record."""
    if value is None:
        return [default] * count
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        return [value] * count
    if len(value) != count:
        raise EventBuilderError(f"{name}: {len(value)} values given for {count} records")
    return list(value)
