"""DynamoDB attribute values (``{"S": "x"}``, ``{"N": "1"}`` ...) to plain Python.

The mapping is boto3's ``TypeDeserializer``'s, so values read here compare equal to values read
with boto3: numbers become :class:`~decimal.Decimal` (exact, as DynamoDB stores them), sets become
``set``, binary becomes ``bytes``. It is reimplemented rather than imported because importing
``boto3.dynamodb`` imports boto3, which a stream handler should not pay for at cold start; and
because stream events carry binary values base64-encoded, which ``TypeDeserializer`` does not
decode.
"""

from __future__ import annotations

from lambdakit.errors import RecordDecodeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from decimal import Context, Decimal
    from typing import Any

_number_context: Context | None = None


def _number(value: Any, path: str) -> Decimal:
    global _number_context
    import decimal  # loaded when the first number is read, not at cold start

    if _number_context is None:
        # DynamoDB numbers have up to 38 digits of precision; boto3 uses the same context.
        _number_context = decimal.Context(Emin=-128, Emax=126, prec=38)
    try:
        return _number_context.create_decimal(str(value))
    except (decimal.InvalidOperation, ValueError):
        raise RecordDecodeError(path, f"not a DynamoDB number: {value!r}") from None


def _binary(value: Any, path: str) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    import base64
    import binascii

    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise RecordDecodeError(path, "not valid base64 binary") from None


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise RecordDecodeError(path, f"expected a string, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise RecordDecodeError(path, f"expected a list, got {type(value).__name__}")
    return [deserialize(item, f"{path}[{i}]") for i, item in enumerate(value)]


def _map(value: Any, path: str) -> dict[str, Any]:
    return deserialize_image(value, path)


_DECODERS: dict[str, Callable[[Any, str], Any]] = {
    "S": _string,
    "N": _number,
    "B": _binary,
    "BOOL": lambda value, path: bool(value),
    "NULL": lambda value, path: None,
    "L": _list,
    "M": _map,
    "SS": lambda value, path: {_string(v, path) for v in value},
    "NS": lambda value, path: {_number(v, path) for v in value},
    "BS": lambda value, path: {_binary(v, path) for v in value},
}


def deserialize(value: Any, path: str = "value") -> Any:
    """One attribute value to Python; ``path`` names it in errors."""
    if not isinstance(value, dict) or len(value) != 1:
        raise RecordDecodeError(path, f"not a DynamoDB attribute value: {value!r:.80}")
    ((tag, inner),) = value.items()
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise RecordDecodeError(path, f"unknown DynamoDB type {tag!r}")
    return decoder(inner, path)


def deserialize_image(image: Any, path: str = "image") -> dict[str, Any]:
    """A whole item (``{"name": {"S": ...}, ...}``) to a plain dict."""
    if not isinstance(image, dict):
        raise RecordDecodeError(path, f"expected a map of attributes, got {type(image).__name__}")
    return {name: deserialize(value, f"{path}.{name}") for name, value in image.items()}
