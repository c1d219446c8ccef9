"""process_batch against a real SQS API (moto server): failed messages are retried and then
dead-lettered by SQS's redrive policy, successful ones are deleted and never run again, and a
FIFO group never runs a message before an earlier one of its group is resolved."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from lambdakit._internal.clients import client
from lambdakit.batch import SQSRecord, process_batch
from lambdakit.testing import LambdaContext

from .sqs_lambda import drain

pytestmark = pytest.mark.integration

MAX_RECEIVES = 2


def queue_with_dlq(sqs: Any, name: str, fifo: bool = False) -> tuple[str, str]:
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true"} if fifo else {}
    dlq = sqs.create_queue(QueueName=f"{name}-dlq{suffix}", Attributes=extra)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES})
    queue = sqs.create_queue(
        QueueName=f"{name}{suffix}", Attributes={**extra, "RedrivePolicy": redrive}
    )["QueueUrl"]
    return queue, dlq


def bodies_in(sqs: Any, queue_url: str) -> list[str]:
    found: list[str] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        found += [m["Body"] for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return found


@pytest.mark.parametrize("concurrency", [1, 4])
def test_only_poison_messages_are_retried_and_dead_lettered(moto: str, concurrency: int) -> None:
    sqs = client("sqs")
    queue, dlq = queue_with_dlq(sqs, f"orders-{concurrency}")
    bodies = [f"order-{i}" for i in range(25)] + ["poison-1", "poison-2"]
    for body in bodies:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    runs: Counter[str] = Counter()

    @process_batch(concurrency=concurrency)
    def handler(record: SQSRecord) -> None:
        runs[record.body] += 1
        if record.body.startswith("poison"):
            raise ValueError("cannot process")

    drain(sqs, queue, handler, LambdaContext())

    assert all(runs[f"order-{i}"] == 1 for i in range(25)), runs  # deleted after one success
    assert runs["poison-1"] == runs["poison-2"] == MAX_RECEIVES  # retried, then given up on
    assert sorted(bodies_in(sqs, dlq)) == ["poison-1", "poison-2"]
    assert bodies_in(sqs, queue) == []


def test_a_fifo_group_never_runs_past_its_failed_message(moto: str) -> None:
    # Messages reported without running are received too, so SQS counts them towards
    # maxReceiveCount: a3 is dead-lettered with a2 and never runs out of order.
    sqs = client("sqs")
    queue, dlq = queue_with_dlq(sqs, "ledger", fifo=True)
    messages = [("a", "a1"), ("b", "b1"), ("a", "a2-poison"), ("b", "b2"), ("a", "a3")]
    for number, (group, body) in enumerate(messages):
        sqs.send_message(
            QueueUrl=queue,
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=str(number),
        )
    ran: list[str] = []

    @process_batch
    def handler(record: SQSRecord) -> None:
        ran.append(record.body)
        if "poison" in record.body:
            raise ValueError("cannot process")

    drain(sqs, queue, handler, LambdaContext())

    group_a = [body for body in ran if body.startswith("a")]
    assert group_a == ["a1"] + ["a2-poison"] * MAX_RECEIVES
    assert [body for body in ran if body.startswith("b")] == ["b1", "b2"]
    assert bodies_in(sqs, dlq) == ["a2-poison", "a3"]
