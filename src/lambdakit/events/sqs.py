"""Typed, lazy view of an SQS record as Lambda delivers it."""

from __future__ import annotations

from lambdakit._internal.invocation import parsed_payloads
from lambdakit.events._base import RecordView, parse_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


_UNPARSED = object()


class SQSRecord(RecordView):
    """One SQS message. ``body`` is the text; ``json()`` parses it once and caches the result."""

    __slots__ = ("_json",)

    @property
    def identifier(self) -> str | None:
        value = self.raw.get("messageId")
        return value if isinstance(value, str) else None

    @property
    def message_id(self) -> str:
        return str(self.raw["messageId"])

    @property
    def receipt_handle(self) -> str:
        return str(self.raw["receiptHandle"])

    @property
    def body(self) -> str:
        try:
            return self.raw["body"]  # type: ignore[no-any-return]
        except KeyError:
            return ""

    def json(self) -> Any:
        """The body parsed as JSON (cached); :class:`RecordDecodeError` if it is not JSON.

        Under ``@filter_records``, the parse the filter made to match the record is taken
        instead of parsing the body again (``_internal.invocation.parsed_payloads``)."""
        try:
            return self._json
        except AttributeError:
            shared = parsed_payloads.get()
            if shared is not None:
                found = shared.get(id(self.raw), _UNPARSED)
                if found is not _UNPARSED:
                    self._json: Any = found
                    return found
            self._json = parse_json(self.body, self.index, "body")
            return self._json

    @property
    def attributes(self) -> dict[str, str]:
        """System attributes (``ApproximateReceiveCount``, ``MessageGroupId`` ...), as strings."""
        value = self.raw.get("attributes")
        return value if isinstance(value, dict) else {}

    @property
    def message_attributes(self) -> dict[str, Any]:
        """User message attributes in Lambda's shape: ``{"stringValue": ..., "dataType": ...}``."""
        value = self.raw.get("messageAttributes")
        return value if isinstance(value, dict) else {}

    @property
    def message_group_id(self) -> str | None:
        """The FIFO message group, or ``None`` on a standard queue."""
        return self.attributes.get("MessageGroupId")

    @property
    def message_deduplication_id(self) -> str | None:
        return self.attributes.get("MessageDeduplicationId")

    @property
    def sequence_number(self) -> str | None:
        """The FIFO sequence number, or ``None`` on a standard queue."""
        return self.attributes.get("SequenceNumber")

    @property
    def approximate_receive_count(self) -> int:
        return int(self.attributes.get("ApproximateReceiveCount", "1"))

    @property
    def sent_timestamp(self) -> int | None:
        """Milliseconds since the epoch at which the message was sent."""
        value = self.attributes.get("SentTimestamp")
        return int(value) if value is not None else None

    @property
    def md5_of_body(self) -> str | None:
        return self.raw.get("md5OfBody")

    @property
    def queue_name(self) -> str | None:
        """The queue's name, taken from ``eventSourceARN``."""
        arn = self.event_source_arn
        return arn.rsplit(":", 1)[-1] if arn else None
