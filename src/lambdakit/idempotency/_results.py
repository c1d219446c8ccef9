"""Results to JSON text and back.

Every JSON value is a result, falsy ones included: ``None`` is stored as ``null`` and replayed
as ``None``, not mistaken for "nothing stored". Dataclasses and objects with ``model_dump()``
(pydantic) or ``to_dict()`` are stored as their dicts; ``output_type=`` rebuilds them on
replay. Decimals (what boto3 returns for DynamoDB numbers) are stored as JSON numbers. Anything
else is refused before the call is marked complete, and so is a result whose own conversion
raises (it is user code: any exception, not only ``TypeError``): every failure is one
:class:`IdempotencySerializationError`, with the original as its cause, so that the decorator
can release the lock instead of leaving it INPROGRESS.
"""

from __future__ import annotations

import json

from lambdakit.errors import IdempotencySerializationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def _jsonable(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return int(value) if value == value.to_integral_value() else float(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):

        def json_mode() -> Any:
            try:
                return dump(mode="json")
            except TypeError:  # a model_dump() that takes no mode
                return dump()

        return _converted(f"{type(value).__name__}.model_dump()", json_mode)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return _converted(f"{type(value).__name__}.to_dict()", to_dict)
    from dataclasses import asdict, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        what = f"dataclasses.asdict() of {type(value).__name__}"
        return _converted(what, lambda: asdict(value))
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _converted(what: str, convert: Callable[[], Any]) -> Any:
    """``convert()``, the result's own conversion (user code): whatever it raises becomes an
    error saying ``what`` failed, with the original as its cause."""
    try:
        return convert()
    except Exception as exc:
        raise IdempotencySerializationError(
            f"the result cannot be converted to JSON: {what} raised {type(exc).__name__}: {exc}"
        ) from exc


def dump_result(result: Any) -> str:
    """The JSON text stored for ``result``, else :class:`IdempotencySerializationError` (with
    the original exception as its cause) whatever the failure: the result's own conversion
    method raising, a value JSON cannot hold, or a structure too deep."""
    try:
        return json.dumps(result, default=_jsonable, separators=(",", ":"), allow_nan=False)
    except IdempotencySerializationError:
        raise
    except Exception as exc:
        raise IdempotencySerializationError(
            f"the result ({type(result).__name__}) cannot be stored as JSON: {exc}; return "
            "JSON values, a dataclass, or an object with model_dump() or to_dict()"
        ) from exc


def load_result(data: str | None, output_type: Any = None) -> Any:
    """The replayed result: the stored JSON, rebuilt as ``output_type`` when one is given."""
    value = None if data is None else json.loads(data)
    if output_type is None or value is None:
        return value
    return rebuild(value, output_type)


def rebuild(value: Any, output_type: Any) -> Any:
    """``output_type`` from its stored dict: pydantic's ``model_validate``, a ``from_dict``
    class method, or the constructor with the dict's keys as keyword arguments."""
    for method in ("model_validate", "from_dict"):
        build = getattr(output_type, method, None)
        if callable(build):
            return build(value)
    if isinstance(value, dict):
        return output_type(**value)
    return output_type(value)
