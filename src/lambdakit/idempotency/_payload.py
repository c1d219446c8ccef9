"""The JSON-like document that key and validation expressions are evaluated over.

A Lambda handler's payload is its event, as is. A record handler's payload is a record view;
expressions see the record's raw dict with its payload decoded, so that ``body.order_id`` works
on an SQS record whose body is JSON and ``kinesis.data.order_id`` on a Kinesis record, without
the ``powertools_json(...)`` wrapping (Kafka: ``value.order_id``). A body that is not JSON
stays the string it is (Kinesis data, Kafka value: the decoded text, or the base64 text when it
is not UTF-8). Dataclasses and models
(``model_dump()`` / ``to_dict()``) are turned into dicts first.

With ``raw=True`` (the Powertools key format) nothing is decoded: Powertools hashes the record
exactly as delivered, and its ``powertools_json(body)`` functions do the decoding.
"""

from __future__ import annotations

import json

from lambdakit.errors import RecordDecodeError
from lambdakit.events import KafkaRecord, KinesisRecord, RecordView, SQSRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def document_of(payload: Any, *, raw: bool = False) -> Any:
    """What expressions see; ``raw=True``: a record exactly as delivered."""
    if isinstance(payload, RecordView):
        if raw:
            return payload.raw
        return decoded_record(payload)
    return _plain(payload)


def decoded_record(payload: RecordView) -> Any:
    """The record's raw dict with its payload decoded (SQS body, Kinesis data)."""
    if isinstance(payload, SQSRecord):
        return _with(payload.raw, ("body",), _parsed(payload.body))
    if isinstance(payload, KinesisRecord):
        return _with(payload.raw, ("kinesis", "data"), _parsed(_text(payload)))
    if isinstance(payload, KafkaRecord):
        try:
            text: Any = payload.value.decode("utf-8")
        except (RecordDecodeError, UnicodeDecodeError):
            text = payload.raw.get("value")
        return _with(payload.raw, ("value",), _parsed(text))
    return payload.raw


def _plain(payload: Any) -> Any:
    """Dataclasses and models as dicts, in Powertools' order (dataclass, pydantic's
    ``model_dump(mode="json")``, ``dict()``, ``to_dict()``, an event's ``raw_event``), so that
    both key formats see what Powertools would hash; everything else unchanged."""
    if isinstance(payload, (dict, list, str, int, float, bool)) or payload is None:
        return payload
    if hasattr(payload, "__dataclass_fields__") and not isinstance(payload, type):
        from dataclasses import asdict

        return asdict(payload)
    dump = getattr(payload, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json")
        except TypeError:  # not pydantic's signature
            return dump()
    for method in ("dict", "to_dict"):
        convert = getattr(payload, method, None)
        if callable(convert):
            return convert()
    return getattr(payload, "raw_event", payload)


def _parsed(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _text(record: KinesisRecord) -> Any:
    """The decoded data as text; the raw value when it is not base64 of UTF-8 text."""
    try:
        return record.data.decode("utf-8")
    except (RecordDecodeError, UnicodeDecodeError):
        kinesis = record.raw.get("kinesis")
        return kinesis.get("data") if isinstance(kinesis, dict) else None


def _with(raw: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A shallow copy of ``raw`` with ``value`` at ``path`` (the record itself is untouched)."""
    head, *rest = path
    if not rest:
        return {**raw, head: value}
    inner = raw.get(head)
    return {**raw, head: _with(inner if isinstance(inner, dict) else {}, tuple(rest), value)}
