"""What users' code sees of each public decorator's signature, checked by ``mypy --strict``
(``make typecheck``) with ``assert_type``; pytest runs the same calls, so every line here is
also valid at run time.

A decorator that keeps its function's signature keeps it exactly (sync and async); the ones
that change it say so: ``process_batch`` returns a Lambda handler taking the event and a
:class:`lambdakit.typing.LambdaContext`, ``filter_records`` may answer ``None`` for an event
it filters out (a batch handler keeps its type: it always runs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from typing_extensions import assert_type

from lambdakit.batch import BatchResponse, KinesisRecord, SQSRecord, process_batch
from lambdakit.filtering import filter_records
from lambdakit.idempotency import InMemoryStore, idempotent
from lambdakit.kafka import flush_kafka
from lambdakit.secrets import INJECTED, inject_secrets
from lambdakit.testing import LambdaContext as ContextForTests
from lambdakit.testing import RecordingProducer, fake_secrets, sqs_event
from lambdakit.typing import LambdaContext

Handler = Callable[[Mapping[str, Any], LambdaContext | None], BatchResponse]
PRODUCER = RecordingProducer()


def test_the_test_context_is_a_lambda_context() -> None:
    context: LambdaContext = ContextForTests()
    assert_type(context.get_remaining_time_in_millis(), int)
    assert_type(context.memory_limit_in_mb, str)


def test_process_batch_returns_a_lambda_handler() -> None:
    def record_handler(record: SQSRecord) -> None: ...

    async def async_record_handler(record: KinesisRecord, context: LambdaContext) -> str:
        return context.aws_request_id

    handler = process_batch(record_handler)
    assert_type(handler, Handler)
    assert_type(process_batch(concurrency=4)(async_record_handler), Handler)
    answer = handler(sqs_event(["x"]), ContextForTests())
    assert_type(answer, BatchResponse)
    assert answer == {"batchItemFailures": []}


def test_idempotent_keeps_the_signature() -> None:
    @idempotent(InMemoryStore(), key="order_id")
    def charge(event: dict[str, str], context: LambdaContext | None = None) -> int:
        return 1

    @idempotent(InMemoryStore(), key="order_id")
    async def async_charge(event: dict[str, str]) -> int:
        return 1

    assert_type(charge({"order_id": "a"}), int)
    coroutine = async_charge({"order_id": "a"})
    _ = assert_type(coroutine, Coroutine[Any, Any, int])
    assert asyncio.run(coroutine) == 1


def test_inject_secrets_functions_are_called_without_the_injected_keywords() -> None:
    @inject_secrets(api_key="payments")
    def charge(record: SQSRecord, *, api_key: str = INJECTED) -> str:
        return api_key

    @inject_secrets(api_key="payments")
    async def async_charge(event: dict[str, str], *, api_key: str = INJECTED) -> str:
        return api_key

    with fake_secrets({"payments": "pk"}):
        [record] = [SQSRecord(r) for r in sqs_event(["x"])["Records"]]
        assert_type(charge(record), str)
        coroutine = async_charge({})
        _ = assert_type(coroutine, Coroutine[Any, Any, str])
        assert charge(record) == "pk"
        assert asyncio.run(coroutine) == "pk"


def test_flush_kafka_keeps_the_signature() -> None:
    @flush_kafka(PRODUCER)
    def publish(record: SQSRecord) -> int:
        return 1

    @flush_kafka(PRODUCER)
    async def async_publish(event: dict[str, str]) -> int:
        return 1

    [record] = [SQSRecord(r) for r in sqs_event(["x"])["Records"]]
    assert_type(publish(record), int)
    coroutine = async_publish({})
    _ = assert_type(coroutine, Coroutine[Any, Any, int])
    assert asyncio.run(coroutine) == 1
    assert_type(flush_kafka(PRODUCER, scope="invocation")(process_batch(publish)), Handler)


def test_filter_records_may_answer_none_except_for_a_batch_handler() -> None:
    @filter_records({"source": ["aws.ec2"]})
    def on_event(event: dict[str, str], context: LambdaContext) -> str:
        return "ran"

    @filter_records({"source": ["aws.ec2"]})
    async def async_on_event(event: dict[str, str], context: LambdaContext) -> str:
        return "ran"

    @filter_records({"body": {"kind": ["order"]}})
    @process_batch
    def batch(record: SQSRecord) -> None: ...

    assert_type(on_event({"source": "aws.s3"}, ContextForTests()), str | None)
    coroutine = async_on_event({"source": "aws.ec2"}, ContextForTests())
    _ = assert_type(coroutine, Coroutine[Any, Any, str | None])
    assert asyncio.run(coroutine) == "ran"
    assert_type(batch, Handler)
    assert batch(sqs_event([{"kind": "refund"}]), ContextForTests()) == {"batchItemFailures": []}


def test_the_full_stack_of_the_docs_type_checks() -> None:
    store = InMemoryStore()

    @idempotent(store, key="body.order_id", key_prefix="orders.charge")
    @inject_secrets(payments_key="payments")
    def charge_order(record: SQSRecord, *, payments_key: str = INJECTED) -> dict[str, str]:
        return {"order_id": record.json()["order_id"]}

    @filter_records({"body": {"order_id": [{"exists": True}]}})
    @process_batch(concurrency=8)
    @flush_kafka(PRODUCER)
    def handler(record: SQSRecord) -> None:
        receipt = charge_order(record)
        assert_type(receipt, dict[str, str])
        PRODUCER.produce("orders", receipt["order_id"])

    with fake_secrets({"payments": "pk"}):
        answer = handler(sqs_event([{"order_id": "o-1"}]), ContextForTests())
    assert_type(answer, BatchResponse)
    assert answer == {"batchItemFailures": []}
