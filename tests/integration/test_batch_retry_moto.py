"""process_batch(retry=..., quarantine=...) against a real SQS API (moto server): a backed-off
message is not received again before its back-off, a poison message moves to the quarantine
queue with its attributes and lets its FIFO group move on, and no failure of these calls ever
turns a failed message into a deleted one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from lambdakit._internal.clients import client
from lambdakit.batch import Backoff, Quarantine, SQSRecord, process_batch
from lambdakit.testing import LambdaContext

pytestmark = pytest.mark.integration


def make_queue(sqs: Any, name: str, fifo: bool = False, visibility: int = 0) -> tuple[str, str]:
    """A queue (URL, ARN) whose visibility timeout is ``visibility`` seconds."""
    attributes = {"VisibilityTimeout": str(visibility)}
    if fifo:
        attributes["FifoQueue"] = "true"
    url = sqs.create_queue(QueueName=name + (".fifo" if fifo else ""), Attributes=attributes)[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def lambda_attributes(message: dict[str, Any]) -> dict[str, Any]:
    """SQS API message attributes in the shape Lambda delivers them."""
    found = {}
    for name, value in message.get("MessageAttributes", {}).items():
        found[name] = {
            "stringValue": value.get("StringValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
    return found


def poll(
    sqs: Any,
    url: str,
    arn: str,
    handler: Callable[[Any, Any], Any],
    break_handles: bool = False,
    visibility: int = 0,
) -> tuple[int, list[str]]:
    """One receive and invocation as Lambda's event source mapping makes them: messages not
    reported are deleted. Received with ``visibility`` 0 by default, so that only a back-off
    keeps a reported message invisible; with a longer one (FIFO: moto, like SQS, keeps a group
    locked while a message of it is in flight), reported messages are made visible again, as
    the end of their visibility would. Returns how many were delivered and the ids reported."""
    messages = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        VisibilityTimeout=visibility,
    ).get("Messages", [])
    if not messages:
        return 0, []
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": "not-a-handle" if break_handles and i == 0 else m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": lambda_attributes(m),
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": "us-east-1",
        }
        for i, m in enumerate(messages)
    ]
    reported = [
        item["itemIdentifier"]
        for item in handler({"Records": records}, LambdaContext())["batchItemFailures"]
    ]
    for message in messages:
        if message["MessageId"] not in reported:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        elif visibility:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return len(messages), reported


def bodies(sqs: Any, url: str) -> list[dict[str, Any]]:
    return sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        VisibilityTimeout=0,
    ).get("Messages", [])


def failing(record: SQSRecord) -> None:
    if record.body.startswith("poison"):
        raise ValueError(f"cannot process {record.body}")


def test_a_backed_off_message_is_not_received_before_its_backoff(moto: str) -> None:
    sqs = client("sqs")
    url, arn = make_queue(sqs, "backoff")
    sqs.send_message(QueueUrl=url, MessageBody="poison-1")
    sqs.send_message(QueueUrl=url, MessageBody="fine")
    plain = process_batch(failing)
    backed_off = process_batch(retry=Backoff(base=600, jitter=False))(failing)

    delivered, reported = poll(sqs, url, arn, plain)
    assert (delivered, len(reported)) == (2, 1)
    assert [m["Body"] for m in bodies(sqs, url)] == ["poison-1"]  # back at once without it

    assert poll(sqs, url, arn, backed_off)[0] == 1
    assert bodies(sqs, url) == []  # invisible for its back-off


def test_a_poison_message_is_quarantined_with_its_attributes_and_its_fifo_group_moves_on(
    moto: str,
) -> None:
    sqs = client("sqs")
    url, arn = make_queue(sqs, "ledger", fifo=True)
    quarantine_url, quarantine_arn = make_queue(sqs, "ledger-quarantine", fifo=True)
    for number, body in enumerate(["poison-a1", "a2", "a3"]):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageGroupId="a",
            MessageDeduplicationId=str(number),
            MessageAttributes={"tenant": {"DataType": "String", "StringValue": "t-7"}},
        )
    ran: list[str] = []

    @process_batch(quarantine=Quarantine(after=2, to=quarantine_arn))
    def handler(record: SQSRecord) -> None:
        ran.append(record.body)
        failing(record)

    for _ in range(10):  # bounded: a bug cannot loop forever
        if poll(sqs, url, arn, handler, visibility=30)[0] == 0:
            break
    # Received twice, then quarantined: its group moved on, in order, with no DLQ involved.
    assert ran == ["poison-a1", "poison-a1", "a2", "a3"]
    assert bodies(sqs, url) == []

    (moved,) = bodies(sqs, quarantine_url)
    assert moved["Body"] == "poison-a1"
    assert moved["Attributes"]["MessageGroupId"] == "a"
    assert moved["MessageAttributes"]["tenant"]["StringValue"] == "t-7"
    reason = moved["MessageAttributes"]["lambdakit.failure"]["StringValue"]
    assert reason == "ValueError: cannot process poison-a1"


def test_a_failed_quarantine_send_leaves_the_message_reported_and_undeleted(
    moto: str, caplog: pytest.LogCaptureFixture
) -> None:
    sqs = client("sqs")
    url, arn = make_queue(sqs, "orders")
    sqs.send_message(QueueUrl=url, MessageBody="poison-1")
    missing = url + "-quarantine-that-does-not-exist"
    handler = process_batch(quarantine=Quarantine(after=1, to=missing))(failing)

    with caplog.at_level(logging.WARNING, logger="lambdakit.batch"):
        delivered, reported = poll(sqs, url, arn, handler)

    assert (delivered, len(reported)) == (1, 1)
    assert [m["Body"] for m in bodies(sqs, url)] == ["poison-1"]  # still there
    assert any("send_message_batch" in r.getMessage() for r in caplog.records)


def test_a_failed_visibility_change_only_loses_the_backoff(
    moto: str, caplog: pytest.LogCaptureFixture
) -> None:
    sqs = client("sqs")
    url, arn = make_queue(sqs, "payments")
    for body in ("poison-1", "poison-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    handler = process_batch(retry=Backoff(base=600))(failing)

    with caplog.at_level(logging.WARNING, logger="lambdakit.batch"):
        delivered, reported = poll(sqs, url, arn, handler, break_handles=True)

    assert (delivered, len(reported)) == (2, 2)  # both still reported for retry
    assert len(bodies(sqs, url)) == 1  # the one with a bad handle was not backed off
    assert any("ReceiptHandleIsInvalid" in r.getMessage() for r in caplog.records)


def test_sqs_requests_that_hang_are_abandoned_within_the_invocations_remaining_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An SQS endpoint that accepts connections and never answers (botocore would wait 60 s
    and retry) must not hold the batch response past the function's timeout, or Lambda would
    retry the whole batch, successes included: the failed message stays reported."""
    import socket
    import time

    from lambdakit._internal.clients import endpoint_env_var, reset_clients
    from lambdakit.testing import sqs_event

    silent = socket.create_server(("127.0.0.1", 0))
    silent.listen(16)
    try:
        monkeypatch.setenv(endpoint_env_var("sqs"), f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        reset_clients()
        handler = process_batch(
            retry=Backoff(base=60), quarantine=Quarantine(after=1, to="https://q/poison")
        )(failing)
        event = sqs_event(["poison-1", "fine"], receive_count=[3, 1])
        started = time.monotonic()
        answer = handler(event, LambdaContext(timeout=1.5))
        elapsed = time.monotonic() - started
    finally:
        silent.close()
        reset_clients()
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert elapsed < 1.5
