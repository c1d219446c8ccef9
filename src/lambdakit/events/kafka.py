"""Typed, lazy view of a Kafka record as Lambda delivers it (Amazon MSK, self-managed Kafka).

Lambda groups Kafka records by ``"<topic>-<partition>"`` under the event's ``records``; each
record carries ``topic``, ``partition``, ``offset``, ``timestamp`` (ms), ``timestampType``,
``key`` and ``value`` base64-encoded (``key`` may be absent), and ``headers`` as a list of
one-entry objects whose value is a list of byte values. Those are Java's signed bytes: Lambda
serialises a ``byte[]``, so a byte of 0x80 or more arrives as -128..-1.
"""

from __future__ import annotations

from lambdakit.errors import RecordDecodeError
from lambdakit.events._base import RecordView, decode_base64, parse_json, where

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class KafkaRecord(RecordView):
    """One Kafka record. ``value`` and ``key`` are the decoded bytes; ``json()`` parses the
    value; ``headers`` is a dict of bytes (a header repeated keeps its last value)."""

    __slots__ = ("_headers", "_json", "_key", "_value")

    @property
    def identifier(self) -> str | None:
        """``<topic>-<partition>@<offset>``: names the record in messages."""
        raw = self.raw
        topic = raw.get("topic")
        partition, offset = whole_number(raw.get("partition")), whole_number(raw.get("offset"))
        if not isinstance(topic, str) or partition is None or offset is None:
            return None
        return f"{topic}-{partition}@{offset}"

    @property
    def location(self) -> str:
        """How messages name this record: ``orders-0@15``, as Kafka tooling does (a Kafka
        event groups records by topic-partition and has no ``Records`` list)."""
        identifier = self.identifier
        if identifier is not None:
            return identifier
        return "record" if self.index is None else f"record #{self.index}"

    @property
    def topic(self) -> str:
        return str(self.raw["topic"])

    @property
    def partition(self) -> int:
        """The partition number (AWS's own sample of a self-managed event spells it ``"0"``)."""
        return int(self.raw["partition"])

    @property
    def offset(self) -> int:
        return int(self.raw["offset"])

    @property
    def timestamp(self) -> int | None:
        """Milliseconds since the epoch (``timestamp_type`` says whose clock)."""
        value = self.raw.get("timestamp")
        return int(value) if isinstance(value, (int, float)) else None

    @property
    def timestamp_type(self) -> str | None:
        value = self.raw.get("timestampType")
        return value if isinstance(value, str) else None

    @property
    def value(self) -> bytes:
        """The payload, base64-decoded once and cached (``b""`` for a record with none)."""
        try:
            return self._value
        except AttributeError:
            raw = self.raw.get("value")
            self._value: bytes = b"" if raw is None else decode_base64(raw, self, "value")
            return self._value

    @property
    def key(self) -> bytes | None:
        """The record key, decoded, or ``None`` when the record has none."""
        try:
            return self._key
        except AttributeError:
            raw = self.raw.get("key")
            self._key: bytes | None = None if raw is None else decode_base64(raw, self, "key")
            return self._key

    def json(self) -> Any:
        """The value parsed as JSON (cached); :class:`RecordDecodeError` if it is not JSON."""
        try:
            return self._json
        except AttributeError:
            self._json: Any = parse_json(self.value, self, "value")
            return self._json

    @property
    def headers(self) -> dict[str, bytes]:
        """Headers by name, values as bytes. Lambda sends each as a list of Java's signed bytes
        (-128..127); unsigned values (0..255), as hand-written events have them, are read too."""
        try:
            cached: dict[str, bytes] = self._headers
            return cached
        except AttributeError:
            pass
        self._headers: dict[str, bytes] = _headers(self.raw.get("headers"), self)
        return self._headers


def whole_number(value: Any) -> int | None:
    """A partition or offset as an ``int``: a JSON number, or a string of ASCII digits (the
    Lambda guide's self-managed Kafka sample has ``"partition": "0"``); ``None`` otherwise."""
    if type(value) is int:
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    return None


def _headers(entries: Any, record: KafkaRecord) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    if entries is None:
        return found
    if not isinstance(entries, list):
        raise RecordDecodeError(where(record, "headers"), "expected a list")
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise RecordDecodeError(where(record, f"headers[{position}]"), "expected an object")
        for name, octets in entry.items():
            value = _octets(octets)
            if value is None:
                raise RecordDecodeError(
                    where(record, f"headers[{position}].{name}"),
                    "expected a list of byte values (-128..127 as Lambda sends them, or 0..255)",
                )
            found[str(name)] = value
    return found


def _octets(octets: Any) -> bytes | None:
    """A header's list of byte values as bytes, or ``None`` when it is not one.

    ``bytes()`` takes the unsigned form at C speed; only a list holding negative (signed) values
    takes the slower path, which checks every value before folding it into 0..255.
    """
    if not isinstance(octets, list):
        return None
    try:
        value = bytes(octets)
    except (TypeError, ValueError):
        pass
    else:
        return None if bool in map(type, octets) else value  # bytes() takes True as 1
    if all(type(b) is int and -128 <= b <= 255 for b in octets):
        return bytes([b & 0xFF for b in octets])
    return None
