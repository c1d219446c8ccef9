"""``key_format="powertools"``: every key and validation hash equals the one Powertools computes.

The reference is Powertools' own persistence layer (a dev dependency), fed the same payload:
whatever values its JSON encoder accepts must hash to the same bytes here, or records written
by one library are not found by the other. The table collects the values where the two could
plausibly differ: decimals (Powertools' encoder turns every NaN into a float NaN, written as
bare ``NaN``, and every other decimal into its ``str``), floats JSON cannot express, unicode,
nested models and dataclasses, enums, dates, UUIDs and paths.
"""

from __future__ import annotations

import datetime
import enum
import uuid
from copy import deepcopy
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

import pytest

from lambdakit.idempotency._keys import KeyMaker

pytest.importorskip("aws_lambda_powertools")
pydantic = pytest.importorskip("pydantic")


class Colour(enum.Enum):
    RED = "red"
    PAIR = (1, 2)


class Size(enum.IntEnum):
    SMALL = 1


class Price(Decimal, enum.Enum):  # an enum of decimals: Powertools encodes it as a decimal
    LOW = "1.50"


class Money(Decimal):
    pass


@dataclass
class Line:
    sku: str
    amount: Decimal


class Model(pydantic.BaseModel):
    amount: Decimal
    at: datetime.datetime


DECIMALS = [
    "NaN",
    "-NaN",
    "sNaN",
    "-sNaN",
    "NaN123",
    "Infinity",
    "-Infinity",
    "inf",
    "0",
    "-0",
    "0.0",
    "-0.00",
    "0E-7",
    "1E+2",
    "1e2",
    "100",
    "1.10",
    "-1.5",
    "0.000001",
    "1E-7",
    "123456789012345678901234567890.123456789",
    "1E+999999",
]

VALUES: list[tuple[str, Any]] = [
    *((f"Decimal({text!r})", Decimal(text)) for text in DECIMALS),
    ("Decimal subclass NaN", Money("NaN")),
    ("Decimal subclass", Money("2.50")),
    ("Decimal enum", Price.LOW),
    ("decimals nested", {"b": [Decimal("NaN"), {"z": Decimal("-0")}], "a": Decimal("1E+2")}),
    ("decimals in a tuple", (Decimal("NaN"), Decimal("Infinity"))),
    ("float nan", float("nan")),
    ("float inf", float("inf")),
    ("float -inf", float("-inf")),
    ("float -0.0", -0.0),
    ("float 1e300", 1e300),
    ("float 0.1", 0.1),
    ("big int", 10**50),
    ("negative int", -1),
    ("bool", True),
    ("none", None),
    ("accents", "é"),
    ("cjk", "日本"),
    ("line separator", "\u2028"),
    ("emoji", "😀"),
    ("nul", "\x00"),
    ("lone surrogate", "\ud800"),
    ("empty containers", {"a": [], "b": {}}),
    ("int keys", {2: "a", 1: "b"}),
    ("str enum", Colour.RED),
    ("tuple enum", Colour.PAIR),
    ("int enum", Size.SMALL),
    ("date", datetime.date(2026, 1, 2)),
    ("naive datetime", datetime.datetime(2026, 1, 2, 3, 4, 5, 6)),
    ("aware datetime", datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)),
    ("time", datetime.time(3, 4, 5)),
    ("uuid", uuid.UUID(int=1)),
    ("path", PurePosixPath("/a/b")),
    ("nested dataclass", {"line": Line("x", Decimal("NaN"))}),
    ("nested dataclasses in a list", [Line("x", Decimal("1E+2")), Line("y", Decimal("-0"))]),
    (
        "nested pydantic model",
        {"m": Model(amount=Decimal("1E+2"), at=datetime.datetime(2026, 1, 2))},
    ),
]


def powertools_hashes(payload: Any, key: str | None, validate: str) -> tuple[str | None, str]:
    """Powertools' key and validation hash for ``payload`` (prefix ``p``), from its own code."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.base import _prepare_data
    from aws_lambda_powertools.utilities.idempotency.persistence.base import (
        BasePersistenceLayer,
    )

    class Layer(BasePersistenceLayer):
        def _get_record(self, idempotency_key: Any) -> Any:
            raise NotImplementedError

        def _put_record(self, data_record: Any) -> None:
            raise NotImplementedError

        def _update_record(self, data_record: Any) -> None:
            raise NotImplementedError

        def _delete_record(self, data_record: Any) -> None:
            raise NotImplementedError

    layer = Layer()
    layer.configure(
        IdempotencyConfig(event_key_jmespath=key or "", payload_validation_jmespath=validate),
        key_prefix="p",
    )
    data = deepcopy(_prepare_data(payload))
    return layer._get_hashed_idempotency_key(data), layer._get_hashed_payload(data)


def key_maker(key_format: str, key: str | None = None, validate: str | None = None) -> KeyMaker:
    """lambdakit's key maker as the tests compare it: prefix "p", the key format given."""
    return KeyMaker(
        key=key,
        validate=validate,
        key_prefix="p",
        key_format=key_format,
        hash_name=None,
        function=powertools_hashes,
    )


def lambdakit_hashes(payload: Any, key: str | None, validate: str) -> tuple[str | None, str]:
    maker = key_maker("powertools", key, validate)
    documents = maker.documents(payload)
    validation = maker.validation(documents)
    assert validation is not None
    return maker.key(documents, raise_on_missing=False), validation


@pytest.mark.parametrize(("value"), [v for _, v in VALUES], ids=[name for name, _ in VALUES])
class TestPowertoolsHashesEveryValueIdentically:
    def test_the_whole_payload_as_key(self, value: Any) -> None:
        payload = {"order": value, "n": 1}
        assert lambdakit_hashes(payload, None, "order") == powertools_hashes(payload, None, "order")

    def test_a_key_expression_selecting_the_value(self, value: Any) -> None:
        payload = {"order": value, "n": 1}
        assert lambdakit_hashes(payload, "[order, n]", "order") == powertools_hashes(
            payload, "[order, n]", "order"
        )


def test_a_decimal_nan_is_hashed_as_bare_nan_as_powertools_writes_it() -> None:
    import hashlib

    key, _ = lambdakit_hashes({"amount": Decimal("NaN")}, "[amount]", "amount")
    assert key == "p#" + hashlib.md5(b"[NaN]").hexdigest()


def test_the_lambdakit_format_keeps_its_decimal_text() -> None:
    # Keys already stored in the default format must not move: a NaN there stays "NaN" (text).
    import hashlib

    maker = key_maker("lambdakit", "amount")
    made = maker.key(maker.documents({"amount": [Decimal("NaN")]}), raise_on_missing=True)
    assert made == "p#" + hashlib.sha256(b'["NaN"]').hexdigest()


def test_the_lambdakit_format_hashes_nested_dataclasses_and_models_as_their_dicts() -> None:
    maker = key_maker("lambdakit")
    at = datetime.datetime(2026, 1, 2)
    nested = {"line": Line("x", Decimal("1.5")), "m": Model(amount=Decimal("2"), at=at)}
    as_dicts = {
        "line": {"sku": "x", "amount": Decimal("1.5")},
        "m": {"amount": "2", "at": "2026-01-02T00:00:00"},
    }
    made = maker.key(maker.documents(nested), raise_on_missing=True)
    assert made == maker.key(maker.documents(as_dicts), raise_on_missing=True)
