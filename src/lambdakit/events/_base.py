"""What every record view shares: the raw dict, its position, and decoding helpers.

Views are deliberately thin: constructing one stores two references and nothing else, every
property reads the raw dict on demand, and decoded payloads are cached on first access (in
slots left unset until then). A batch of 10,000 records whose handler reads one field per record
pays for that one field only. json and base64 are imported on first decode, not at cold start.
"""

from __future__ import annotations

from lambdakit.errors import RecordDecodeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, SupportsIndex


def where(at: int | RecordView | None, field: str) -> str:
    """The path of ``field`` for error messages: ``Records[3].body``, just ``body`` when the
    record's place is unknown, or whatever the record view calls itself (a Kafka record is
    ``orders-0@15``: a Kafka event has no ``Records``).

    Callers pass the view rather than its name so that the name is only built on the error path.
    """
    if at is None:
        return field
    if isinstance(at, int):
        return f"Records[{at}].{field}"
    return f"{at.location}.{field}"


def parse_json(text: str | bytes, at: int | RecordView | None, field: str) -> Any:
    """Parse JSON, turning a failure into a :class:`RecordDecodeError` naming the field."""
    import json

    try:
        return json.loads(text)
    except (ValueError, TypeError) as exc:
        raise RecordDecodeError(where(at, field), f"not valid JSON ({exc})") from None


def decode_base64(text: Any, at: int | RecordView | None, field: str) -> bytes:
    """Decode standard base64 strictly (AWS never sends anything else)."""
    import base64
    import binascii

    if not isinstance(text, str):
        raise RecordDecodeError(
            where(at, field), f"expected a base64 string, got {type(text).__name__}"
        )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RecordDecodeError(where(at, field), f"not valid base64 ({exc})") from None


class RecordView:
    """Base of the typed record views; ``raw`` is the record exactly as Lambda delivered it.

    ``index`` is the record's position in ``event["Records"]`` when known; it only serves to
    name the record in error messages.
    """

    __slots__ = ("index", "raw")

    def __init__(self, raw: dict[str, Any], index: int | None = None) -> None:
        self.raw = raw
        self.index = index

    @property
    def event_source(self) -> str | None:
        """``aws:sqs``, ``aws:kinesis``, ``aws:dynamodb`` ..."""
        value = self.raw.get("eventSource")
        return value if isinstance(value, str) else None

    @property
    def event_source_arn(self) -> str | None:
        """The ARN of the queue, stream or table the record came from."""
        value = self.raw.get("eventSourceARN")
        return value if isinstance(value, str) else None

    @property
    def aws_region(self) -> str | None:
        value = self.raw.get("awsRegion")
        return value if isinstance(value, str) else None

    @property
    def identifier(self) -> str | None:
        """The value Lambda expects in ``batchItemFailures[].itemIdentifier`` for this record."""
        raise NotImplementedError

    @property
    def location(self) -> str:
        """How messages name this record: ``Records[3]`` (``record`` when its place is
        unknown, for a view built by hand)."""
        return "record" if self.index is None else f"Records[{self.index}]"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index={self.index!r}, id={self.identifier!r})"


_batch_types: dict[type[RecordView], type[RecordView]] = {}


def batch_view_type(view: type[RecordView]) -> type[RecordView]:
    """The class ``process_batch``'s loop instantiates for ``view``: a subclass that only drops
    the Python ``__init__`` (``object.__init__`` instead), so ``batch_type()`` allocates an
    instance at C speed and the loop stores the two slots itself. It is a third of the cost of
    ``object.__new__(view)`` and half of ``view(raw, index)``, per record.

    Nothing else differs: ``isinstance(record, view)`` holds, the subclass is named as ``view``
    (repr), and it pickles and copies as an instance of ``view`` itself. Only
    ``type(record) is view`` tells them apart."""
    found = _batch_types.get(view)
    if found is None:

        def __reduce_ex__(self: RecordView, protocol: SupportsIndex) -> Any:
            # object's own state (the slots, cached values included), rebuilt as the public
            # class: pickle refuses a class it cannot find by its name.
            state = object.__reduce_ex__(self, 2)[2]
            return (object.__new__, (view,), state)

        namespace = {
            "__slots__": (),
            "__init__": object.__init__,
            "__reduce_ex__": __reduce_ex__,
            "__module__": view.__module__,
            "__qualname__": view.__qualname__,
            "__doc__": view.__doc__,
        }
        found = _batch_types[view] = type(view.__name__, (view,), namespace)
    return found
