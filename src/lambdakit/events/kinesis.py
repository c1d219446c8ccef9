"""Typed, lazy view of a Kinesis Data Streams record as Lambda delivers it."""

from __future__ import annotations

from lambdakit.events._base import RecordView, decode_base64, parse_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class KinesisRecord(RecordView):
    """One Kinesis record. ``data`` is the decoded payload (bytes); ``json()`` parses it."""

    __slots__ = ("_data", "_json")

    @property
    def _kinesis(self) -> dict[str, Any]:
        value = self.raw.get("kinesis")
        return value if isinstance(value, dict) else {}

    @property
    def identifier(self) -> str | None:
        value = self._kinesis.get("sequenceNumber")
        return value if isinstance(value, str) else None

    @property
    def sequence_number(self) -> str:
        return str(self._kinesis["sequenceNumber"])

    @property
    def partition_key(self) -> str:
        return str(self._kinesis.get("partitionKey", ""))

    @property
    def data(self) -> bytes:
        """The record's payload, base64-decoded once and cached."""
        try:
            return self._data
        except AttributeError:
            self._data: bytes = decode_base64(self._kinesis.get("data"), self.index, "kinesis.data")
            return self._data

    def json(self) -> Any:
        """The payload parsed as JSON (cached); :class:`RecordDecodeError` if it is not JSON."""
        try:
            return self._json
        except AttributeError:
            self._json: Any = parse_json(self.data, self.index, "kinesis.data")
            return self._json

    @property
    def approximate_arrival_timestamp(self) -> float | None:
        value = self._kinesis.get("approximateArrivalTimestamp")
        return float(value) if value is not None else None

    @property
    def event_id(self) -> str | None:
        return self.raw.get("eventID")

    @property
    def shard_id(self) -> str | None:
        """The shard, taken from ``eventID`` (``shardId-000000000000:<sequence number>``)."""
        event_id = self.event_id
        return event_id.split(":", 1)[0] if event_id else None
