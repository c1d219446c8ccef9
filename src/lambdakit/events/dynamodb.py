"""Typed, lazy view of a DynamoDB Streams record as Lambda delivers it."""

from __future__ import annotations

from lambdakit.events._attributes import deserialize_image
from lambdakit.events._base import RecordView, where

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class DynamoDBRecord(RecordView):
    """One item-level change. Images are deserialized to plain Python on first access."""

    __slots__ = ("_images",)
    _images: dict[str, dict[str, Any] | None]

    @property
    def _dynamodb(self) -> dict[str, Any]:
        value = self.raw.get("dynamodb")
        return value if isinstance(value, dict) else {}

    def _image(self, field: str) -> dict[str, Any] | None:
        try:
            images = self._images
        except AttributeError:
            images = self._images = {}  # decoded images, filled on first access
        if field not in images:
            image = self._dynamodb.get(field)
            images[field] = (
                None
                if image is None
                else deserialize_image(image, where(self.index, f"dynamodb.{field}"))
            )
        return images[field]

    @property
    def identifier(self) -> str | None:
        value = self._dynamodb.get("SequenceNumber")
        return value if isinstance(value, str) else None

    @property
    def sequence_number(self) -> str:
        return str(self._dynamodb["SequenceNumber"])

    @property
    def event_name(self) -> str | None:
        """``INSERT``, ``MODIFY`` or ``REMOVE``."""
        return self.raw.get("eventName")

    @property
    def event_id(self) -> str | None:
        return self.raw.get("eventID")

    @property
    def keys(self) -> dict[str, Any]:
        """The item's primary key attributes, as plain Python."""
        return self._image("Keys") or {}

    @property
    def new_image(self) -> dict[str, Any] | None:
        """The item after the change (``None`` for REMOVE or when the view type omits it)."""
        return self._image("NewImage")

    @property
    def old_image(self) -> dict[str, Any] | None:
        """The item before the change (``None`` for INSERT or when the view type omits it)."""
        return self._image("OldImage")

    @property
    def stream_view_type(self) -> str | None:
        return self._dynamodb.get("StreamViewType")

    @property
    def size_bytes(self) -> int | None:
        value = self._dynamodb.get("SizeBytes")
        return int(value) if value is not None else None

    @property
    def approximate_creation_date_time(self) -> float | None:
        value = self._dynamodb.get("ApproximateCreationDateTime")
        return float(value) if value is not None else None

    @property
    def user_identity(self) -> dict[str, Any] | None:
        """Present on deletions made by DynamoDB's TTL (``principalId: dynamodb.amazonaws.com``)."""
        return self.raw.get("userIdentity")

    @property
    def is_ttl_expiry(self) -> bool:
        identity = self.user_identity or {}
        return (
            self.event_name == "REMOVE"
            and identity.get("type") == "Service"
            and identity.get("principalId") == "dynamodb.amazonaws.com"
        )
