"""@idempotent: configuration checked when applied, keys, payload documents, results as JSON."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pytest

from lambdakit.errors import LambdakitError
from lambdakit.events import KinesisRecord, SQSRecord
from lambdakit.idempotency import (
    IdempotencyConfigurationError,
    IdempotencyKeyError,
    IdempotencySerializationError,
    InMemoryStore,
    idempotent,
)
from lambdakit.idempotency._keys import KeyMaker, is_missing
from lambdakit.idempotency._payload import document_of
from lambdakit.idempotency._results import dump_result, load_result
from lambdakit.testing import kinesis_event, sqs_event


def handler(event: Any, context: Any = None) -> Any:
    return event


def keys(**options: Any) -> KeyMaker:
    settings: dict[str, Any] = {
        "key": None,
        "validate": None,
        "key_prefix": None,
        "key_format": "lambdakit",
        "hash_name": None,
        "function": handler,
    }
    settings.update(options)
    return KeyMaker(**settings)


def key_of(maker: KeyMaker, payload: Any, *, raise_on_missing: bool = False) -> str | None:
    return maker.key(maker.documents(payload), raise_on_missing=raise_on_missing)


class TestConfigurationIsCheckedWhenApplied:
    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"key": "order_id["}, "key='order_id\\['"),
            ({"validate": ""}, "validate=''"),
            ({"expires_after": 0}, "expires_after=0"),
            ({"expires_after": True}, "expires_after=True"),
            ({"in_progress_expires_after": -1}, "in_progress_expires_after=-1"),
            ({"local_cache": 0}, "local_cache=0"),
            ({"local_cache": "yes"}, "local_cache='yes'"),
            ({"on_duplicate": "ignore"}, "on_duplicate='ignore'"),
            ({"hash": "no-such-hash"}, "hash='no-such-hash'"),
            ({"key_format": "md5"}, "key_format='md5'"),
            ({"key_prefix": ""}, "key_prefix=''"),
        ],
    )
    def test_bad_options_raise_a_typed_error_naming_the_option(
        self, options: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(IdempotencyConfigurationError, match=message) as caught:
            idempotent(InMemoryStore(), **options)(handler)
        assert isinstance(caught.value, LambdakitError)

    def test_a_store_must_implement_the_protocol(self) -> None:
        with pytest.raises(IdempotencyConfigurationError, match="missing now, acquire"):
            idempotent(object())(handler)  # type: ignore[arg-type]

    def test_forgetting_the_store_is_explained(self) -> None:
        with pytest.raises(IdempotencyConfigurationError, match=r"@idempotent\(store"):
            idempotent(handler)  # type: ignore[arg-type]


class TestKeys:
    def test_default_prefix_is_function_name_module_and_qualname(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders")
        made = key_of(keys(), {"a": 1})
        assert made is not None
        assert made.startswith(f"orders.{__name__}.handler#")

    def test_key_prefix_keeps_keys_stable_when_code_moves(self) -> None:
        def moved(event: Any) -> Any:
            return event

        one = key_of(keys(key="id", key_prefix="orders"), {"id": 7})
        two = key_of(
            keys(key="id", key_prefix="orders", function=moved), {"id": 7}, raise_on_missing=False
        )
        default_one = key_of(keys(key="id"), {"id": 7})
        default_two = key_of(keys(key="id", function=moved), {"id": 7})
        assert one == two
        assert default_one != default_two

    def test_default_key_is_sha256_of_canonical_json(self) -> None:
        made = key_of(
            keys(key="[order_id, customer]", key_prefix="p"),
            {"customer": "c", "order_id": 1, "noise": 2},
            raise_on_missing=False,
        )
        digest = hashlib.sha256(b'[1,"c"]').hexdigest()
        assert made == f"p#{digest}"

    def test_key_order_of_object_fields_does_not_matter(self) -> None:
        maker = keys(key_prefix="p")
        a = key_of(maker, {"a": 1, "b": {"x": 1, "y": 2}})
        b = key_of(maker, {"b": {"y": 2, "x": 1}, "a": 1})
        assert a == b

    def test_powertools_format_is_md5_of_powertools_json(self) -> None:
        made = key_of(
            keys(key="order_id", key_format="powertools", key_prefix="p"),
            {"order_id": {"b": 1, "a": "é"}},
            raise_on_missing=False,
        )
        text = json.dumps({"b": 1, "a": "é"}, sort_keys=True)
        assert made == f"p#{hashlib.md5(text.encode()).hexdigest()}"

    def test_powertools_format_knows_powertools_jmespath_functions(self) -> None:
        maker = keys(key="powertools_json(body).order_id", key_format="powertools")
        raw = sqs_event([{"order_id": 9}])["Records"][0]
        made = key_of(maker, SQSRecord(raw))
        assert made is not None
        assert made.endswith("#" + hashlib.md5(b"9").hexdigest())

    def test_hashes_work_where_fips_refuses_md5_for_security(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A FIPS build of OpenSSL refuses MD5 (and other non-approved hashes) unless the caller
        # declares the use is not for security.
        real_new = hashlib.new

        def fips_new(name: str, data: bytes = b"", **kwargs: Any) -> Any:
            if name.lower() == "md5" and kwargs.get("usedforsecurity", True):
                raise ValueError("[digital envelope routines] unsupported")
            return real_new(name, data, **kwargs)

        monkeypatch.setattr(hashlib, "new", fips_new)
        monkeypatch.setattr(hashlib, "md5", lambda *a, **k: fips_new("md5", *a, **k))
        assert key_of(keys(key_format="powertools"), {"a": 1})
        assert key_of(keys(), {"a": 1})

    def test_powertools_format_reads_the_lambda_function_name_when_the_key_is_made(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        maker = keys(key_format="powertools")
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders-fn")
        made = key_of(maker, {"a": 1})
        assert made is not None
        assert made.startswith(f"orders-fn.{__name__}.handler#")

    def test_powertools_format_finds_body_fields_of_a_json_body(self) -> None:
        # Powertools needs powertools_json(body).order_id; the plain path hashes the same value.
        raw = sqs_event([{"order_id": 9}])["Records"][0]
        plain = keys(key="body.order_id", key_format="powertools", key_prefix="p")
        wrapped = keys(
            key="powertools_json(body).order_id", key_format="powertools", key_prefix="p"
        )
        made = key_of(plain, SQSRecord(raw))
        assert made is not None
        assert made == key_of(wrapped, SQSRecord(raw))

    def test_models_are_hashed_in_their_json_form_as_powertools_does(self) -> None:
        import datetime

        class Model:
            def model_dump(self, mode: str = "python") -> dict[str, Any]:
                at = datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)
                return {"at": "2026-01-02T00:00:00Z" if mode == "json" else at}

        made = key_of(keys(key_format="powertools", key_prefix="p"), Model())
        text = json.dumps({"at": "2026-01-02T00:00:00Z"}, sort_keys=True)
        assert made == f"p#{hashlib.md5(text.encode()).hexdigest()}"

    def test_uuids_enums_paths_and_dates_in_payloads_are_hashed(self) -> None:
        import datetime
        import enum
        import uuid
        from pathlib import PurePosixPath

        class Kind(enum.Enum):
            CARD = "card"

        payload = {
            "id": uuid.UUID(int=1),
            "kind": Kind.CARD,
            "path": PurePosixPath("/a"),
            "day": datetime.date(2026, 1, 2),
        }
        expected = {"id": str(uuid.UUID(int=1)), "kind": "card", "path": "/a", "day": "2026-01-02"}
        assert key_of(keys(key_prefix="p"), payload) == key_of(keys(key_prefix="p"), expected)

    def test_a_payload_that_cannot_be_hashed_is_a_key_error_naming_the_option(self) -> None:
        with pytest.raises(IdempotencyKeyError, match=r"key='order'.*cannot be hashed"):
            key_of(keys(key="order"), {"order": object()})

    def test_hash_may_be_a_hashlib_constructor(self) -> None:
        by_name = keys(key_prefix="p", hash_name="sha512")
        by_constructor = keys(key_prefix="p", hash_name=hashlib.sha512)
        assert key_of(by_name, {"a": 1}) == key_of(by_constructor, {"a": 1})

    @pytest.mark.parametrize("value", [None, "", [], {}, [None, None], {"a": None, "b": None}])
    def test_missing_keys(self, value: Any) -> None:
        assert is_missing(value)

    @pytest.mark.parametrize("value", [0, False, 0.0, "x", [None, 1], {"a": 0}])
    def test_present_keys_include_falsy_numbers(self, value: Any) -> None:
        assert not is_missing(value)

    def test_a_missing_key_raises_when_asked(self) -> None:
        with pytest.raises(IdempotencyKeyError, match="key='order_id': found nothing"):
            key_of(keys(key="order_id"), {"other": 1}, raise_on_missing=True)


class TestPayloadDocuments:
    def test_sqs_body_is_parsed_when_it_is_json(self) -> None:
        raw = sqs_event([{"order_id": 3}])["Records"][0]
        document = document_of(SQSRecord(raw))
        assert document["body"] == {"order_id": 3}
        assert document["messageId"] == raw["messageId"]
        assert raw["body"] == '{"order_id":3}'  # the record itself is untouched

    def test_sqs_body_that_is_not_json_stays_a_string(self) -> None:
        raw = sqs_event(["plain text"])["Records"][0]
        assert document_of(SQSRecord(raw))["body"] == "plain text"

    def test_kinesis_data_is_decoded_and_parsed(self) -> None:
        raw = kinesis_event([{"order_id": 5}])["Records"][0]
        document = document_of(KinesisRecord(raw))
        assert document["kinesis"]["data"] == {"order_id": 5}
        assert document["kinesis"]["sequenceNumber"] == raw["kinesis"]["sequenceNumber"]

    def test_powertools_format_sees_the_record_as_delivered(self) -> None:
        raw = sqs_event([{"order_id": 3}])["Records"][0]
        assert document_of(SQSRecord(raw), raw=True) is raw

    def test_dataclasses_and_models_become_dicts(self) -> None:
        @dataclass
        class Order:
            order_id: int

        class Model:
            def model_dump(self) -> dict[str, Any]:
                return {"order_id": 2}

        assert document_of(Order(1)) == {"order_id": 1}
        assert document_of(Model()) == {"order_id": 2}


@dataclass
class Receipt:
    order_id: int
    total: float


class Model:
    def __init__(self, order_id: int) -> None:
        self.order_id = order_id

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return {"order_id": self.order_id}

    @classmethod
    def model_validate(cls, value: dict[str, Any]) -> Model:
        return cls(value["order_id"])


class TestResults:
    @pytest.mark.parametrize("result", [None, 0, False, "", [], {}, 0.5, "é", [1, {"a": None}]])
    def test_every_json_value_round_trips(self, result: Any) -> None:
        assert load_result(dump_result(result)) == result
        assert type(load_result(dump_result(result))) is type(result)

    def test_dataclasses_round_trip_with_output_type(self) -> None:
        stored = dump_result(Receipt(1, 9.5))
        assert load_result(stored) == {"order_id": 1, "total": 9.5}
        assert load_result(stored, Receipt) == Receipt(1, 9.5)

    def test_models_round_trip_with_output_type(self) -> None:
        replayed = load_result(dump_result(Model(4)), Model)
        assert isinstance(replayed, Model)
        assert replayed.order_id == 4

    def test_decimals_are_numbers(self) -> None:
        from decimal import Decimal

        assert load_result(dump_result({"n": Decimal("3"), "x": Decimal("1.5")})) == {
            "n": 3,
            "x": 1.5,
        }

    @pytest.mark.parametrize("result", [object(), {"a": {1, 2}.__iter__()}, float("nan")])
    def test_what_is_not_json_is_refused(self, result: Any) -> None:
        with pytest.raises(IdempotencySerializationError, match="cannot be stored as JSON"):
            dump_result(result)


def test_a_missing_key_under_process_batch_names_the_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from lambdakit.batch import process_batch
    from lambdakit.testing import LambdaContext

    @process_batch
    @idempotent(InMemoryStore(), key="body.order_id", raise_on_missing_key=True)
    def record_handler(record: SQSRecord) -> None:
        return None

    event = sqs_event([{"order_id": "o-1"}, {"no": "id"}])
    with caplog.at_level(logging.WARNING, logger="lambdakit.batch"):
        response = record_handler(event, LambdaContext(timeout=10))
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    [failure] = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert isinstance(failure, IdempotencyKeyError)
    assert str(failure).startswith(
        "Records[1]: key='body.order_id': found nothing to build the key from"
    )


def test_a_missing_key_of_a_kafka_record_names_it_by_topic_partition_and_offset(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from lambdakit.batch import KafkaRecord, process_batch
    from lambdakit.testing import LambdaContext, kafka_event

    @process_batch
    @idempotent(InMemoryStore(), key="value.order_id", raise_on_missing_key=True)
    def record_handler(record: KafkaRecord) -> None:
        return None

    event = kafka_event([{"order_id": "o-1"}, {"no": "id"}], topic="orders", first_offset=40)
    with caplog.at_level(logging.WARNING, logger="lambdakit.batch"):
        response = record_handler(event, LambdaContext(timeout=10))
    assert response == {
        "batchItemFailures": [{"itemIdentifier": {"partition": "orders-0", "offset": 41}}]
    }
    [failure] = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert str(failure).startswith(
        "orders-0@41: key='value.order_id': found nothing to build the key from"
    )
