"""The prices the planner uses: a dated table for us-east-1, overridable from a JSON file.

Prices change and differ by region, so every report prints :attr:`Prices.date` and
:attr:`Prices.region`, and ``--prices prices.json`` replaces any of them. The file has the shape
of :data:`US_EAST_1` (every key optional: what it leaves out keeps the table's value).

Sources (checked on the date below):
- Lambda: https://aws.amazon.com/lambda/pricing/ (duration tiers per architecture, requests,
  free tier shared by both architectures, per account and month);
- SQS: https://aws.amazon.com/sqs/pricing/ (request tiers for standard and FIFO queues, the free
  tier, and "each 64 KB chunk of a payload is billed as 1 request");
- provisioned mode for SQS event source mappings is billed in Event Poller Units; its rate is
  not in the table (``None``): give it with ``--prices`` when you plan provisioned pollers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lambdakit.cost._types import ARCHITECTURES, Architecture, check_number, read_json_file
from lambdakit.errors import CostInputError

if TYPE_CHECKING:
    from pathlib import Path

US_EAST_1: dict[str, Any] = {
    "date": "2026-12-06",
    "region": "us-east-1",
    # USD per GB-second; each tier is [up to this many GB-s per month (null: no limit), price].
    "lambda_gb_second": {
        "x86_64": [[6e9, 0.0000166667], [15e9, 0.0000150000], [None, 0.0000133334]],
        "arm64": [[7.5e9, 0.0000133334], [18.75e9, 0.0000120001], [None, 0.0000106667]],
    },
    "lambda_request": 0.20 / 1e6,
    "lambda_free_requests": 1_000_000,
    "lambda_free_gb_seconds": 400_000,
    # USD per request; tiers by requests per month.
    "sqs_standard_request": [[100e9, 0.40 / 1e6], [200e9, 0.30 / 1e6], [None, 0.24 / 1e6]],
    "sqs_fifo_request": [[100e9, 0.50 / 1e6], [200e9, 0.40 / 1e6], [None, 0.35 / 1e6]],
    "sqs_free_requests": 1_000_000,
    "sqs_chunk_bytes": 65_536,
    # USD per event poller per hour (provisioned mode); no published default here.
    "provisioned_poller_hour": None,
}


@dataclass(frozen=True)
class Tier:
    """One price tier: ``usd`` per unit for usage up to ``up_to`` units in the month (``None``:
    everything above the previous tier)."""

    up_to: float | None
    usd: float


def tiered_cost(tiers: tuple[Tier, ...], start: float, amount: float) -> float:
    """The price of ``amount`` units used after ``start`` units were already used this month
    (so the account's other usage moves this function into the tier it really pays)."""
    total, low = 0.0, 0.0
    end = start + amount
    for tier in tiers:
        high = float("inf") if tier.up_to is None else tier.up_to
        used = max(0.0, min(end, high) - max(start, low))
        total += used * tier.usd
        low = high
    return total


@dataclass(frozen=True)
class Prices:
    """Unit prices for one region on one date (see the module's sources)."""

    date: str
    region: str
    lambda_gb_second: dict[Architecture, tuple[Tier, ...]]
    lambda_request: float
    lambda_free_requests: float
    lambda_free_gb_seconds: float
    sqs_standard_request: tuple[Tier, ...]
    sqs_fifo_request: tuple[Tier, ...]
    sqs_free_requests: float
    sqs_chunk_bytes: int
    provisioned_poller_hour: float | None = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any], *, source: str = "prices") -> Prices:
        """Prices from a mapping shaped like :data:`US_EAST_1`; keys it lacks keep the table's
        values. ``source`` names the file in error messages."""
        if not isinstance(data, dict):
            raise CostInputError("must be a JSON object", source=source)
        unknown = sorted(set(data) - set(US_EAST_1))
        if unknown:
            raise CostInputError(
                f"unknown price {unknown[0]!r} (known: {', '.join(sorted(US_EAST_1))})",
                source=source,
            )
        merged = {**US_EAST_1, **data}
        gbs = merged["lambda_gb_second"]
        if not isinstance(gbs, dict) or set(gbs) - set(ARCHITECTURES):
            raise CostInputError(
                "needs a tier list for x86_64 and arm64", field="lambda_gb_second", source=source
            )
        gbs = {**US_EAST_1["lambda_gb_second"], **gbs}
        poller = merged["provisioned_poller_hour"]
        if poller is not None:
            _number(poller, "provisioned_poller_hour", source)
        return cls(
            date=str(merged["date"]),
            region=str(merged["region"]),
            lambda_gb_second={
                arch: _tiers(gbs[arch], f"lambda_gb_second.{arch}", source)
                for arch in ARCHITECTURES
            },
            lambda_request=_number(merged["lambda_request"], "lambda_request", source),
            lambda_free_requests=_number(
                merged["lambda_free_requests"], "lambda_free_requests", source
            ),
            lambda_free_gb_seconds=_number(
                merged["lambda_free_gb_seconds"], "lambda_free_gb_seconds", source
            ),
            sqs_standard_request=_tiers(
                merged["sqs_standard_request"], "sqs_standard_request", source
            ),
            sqs_fifo_request=_tiers(merged["sqs_fifo_request"], "sqs_fifo_request", source),
            sqs_free_requests=_number(merged["sqs_free_requests"], "sqs_free_requests", source),
            sqs_chunk_bytes=_bytes(merged["sqs_chunk_bytes"], "sqs_chunk_bytes", source),
            provisioned_poller_hour=poller,
        )

    @classmethod
    def from_file(cls, path: str | Path) -> Prices:
        """Prices from a JSON file (``--prices``); errors name the file and the key."""
        return cls.from_mapping(read_json_file(path), source=str(path))

    def with_poller_rate(self, usd_per_hour: float) -> Prices:
        """These prices with the provisioned-mode poller rate set."""
        check_number(usd_per_hour, "provisioned_poller_hour", low=0)
        return replace(self, provisioned_poller_hour=usd_per_hour)


def _number(value: Any, name: str, source: str) -> float:
    """A price: JSON admits NaN and Infinity, which no price is."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise CostInputError(
            f"must be a non-negative number, got {value!r}", field=name, source=source
        )
    return float(value)


def _bytes(value: Any, name: str, source: str) -> int:
    """A size in bytes: a whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CostInputError(
            f"must be a whole number of bytes >= 1, got {value!r}", field=name, source=source
        )
    return value


def _tiers(value: Any, name: str, source: str) -> tuple[Tier, ...]:
    """Tiers from ``[[up_to or null, usd], ...]``: rising limits, the last one unlimited."""
    if not isinstance(value, list) or not value:
        raise CostInputError("must be a list of [up_to, usd] tiers", field=name, source=source)
    tiers: list[Tier] = []
    previous = 0.0
    for index, tier in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(tier, list) or len(tier) != 2:
            raise CostInputError("must be [up_to, usd]", field=where, source=source)
        up_to, usd = tier
        last = index == len(value) - 1
        if up_to is None and not last:
            raise CostInputError("only the last tier may be unlimited", field=where, source=source)
        if up_to is not None:
            if _number(up_to, where, source) <= previous:
                raise CostInputError("tier limits must rise", field=where, source=source)
            previous = float(up_to)
        if last and up_to is not None:
            raise CostInputError(
                "the last tier must be unlimited (null)", field=where, source=source
            )
        tiers.append(Tier(None if up_to is None else float(up_to), _number(usd, where, source)))
    return tuple(tiers)


DEFAULT_PRICES = Prices.from_mapping({})
