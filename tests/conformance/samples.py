"""AWS's published sample events, as the conformance tests read them.

The JSON files in ``events/`` are copied from AWS's documentation and from AWS's own libraries
and tools (``events/SOURCES.md`` cites each one). This module loads them once and says which
event source each belongs to, so that every conformance test iterates over the same samples
and a new file is picked up by all of them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).parent / "events"

SQS, KINESIS, DYNAMODB, KAFKA = "sqs", "kinesis", "dynamodb", "kafka"

_RECORD_SOURCES = {"aws:sqs": SQS, "aws:kinesis": KINESIS, "aws:dynamodb": DYNAMODB}


def sample_names() -> list[str]:
    """Every sample file, sorted, without its ``.json`` suffix."""
    return sorted(path.stem for path in EVENTS.glob("*.json"))


@cache
def _text(name: str) -> str:
    return (EVENTS / f"{name}.json").read_text(encoding="utf-8")


def load(name: str) -> dict[str, Any]:
    """A fresh copy of sample ``name``: tests may mutate what they get."""
    event: dict[str, Any] = json.loads(_text(name))
    return event


def source_of(event: dict[str, Any]) -> str:
    """The event source a sample comes from, read from the sample itself.

    Kafka events carry ``records`` grouped by topic-partition (MSK and self-managed Kafka
    alike, whatever their ``eventSource`` says); the others carry ``Records`` whose
    ``eventSource`` names the service.
    """
    if isinstance(event.get("records"), dict):
        return KAFKA
    return _RECORD_SOURCES[event["Records"][0]["eventSource"]]


def records_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event's records in delivery order (Kafka: partition after partition)."""
    if isinstance(event.get("records"), dict):
        return [record for batch in event["records"].values() for record in batch]
    records: list[dict[str, Any]] = event["Records"]
    return records


def is_fifo(event: dict[str, Any]) -> bool:
    """An SQS sample from a FIFO queue (its ARN ends in ``.fifo``, as SQS requires)."""
    return str(event["Records"][0].get("eventSourceARN", "")).endswith(".fifo")


def samples(*sources: str) -> list[Any]:
    """``pytest.param(name, id=name)`` for every sample of ``sources`` (all when none given)."""
    return [
        pytest.param(name, id=name)
        for name in sample_names()
        if not sources or source_of(load(name)) in sources
    ]


# Lambda sends Kafka header values as Java bytes, -128..127: a header "hello-worldë" arrives
# with the two UTF-8 bytes of "ë" as -61, -85. The values are those reported in
# aws-powertools/powertools-lambda-python#6862; AWS's .NET (aws/aws-lambda-dotnet#1476) and Rust
# (awslabs/aws-lambda-rust-runtime#688) event libraries changed their header types to signed
# bytes for the same reason. The event is AWS's MSK sample with that header in place of its own.
SIGNED_HEADER = [104, 101, 108, 108, 111, 45, 119, 111, 114, 108, 100, -61, -85]


def msk_event_with_signed_header() -> dict[str, Any]:
    """Not a published sample: written here, from the facts above, to pin signed header bytes."""
    event = load("aws-docs-msk")
    records_of(event)[0]["headers"] = [{"test-header": SIGNED_HEADER}]
    return event
