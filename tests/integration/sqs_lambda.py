"""How Lambda's SQS event source mapping drives a handler, played against a real SQS API.

Receive up to ten messages, hand them to the handler as a Lambda SQS event, delete the ones not
listed in ``batchItemFailures`` and make the listed ones visible again (Lambda waits for the
visibility timeout; here the timeout is ended at once so tests need no sleeps).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS API message in the shape Lambda delivers it."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def poll_once(sqs: Any, queue_url: str, handler: Callable[[Any, Any], Any], context: Any) -> int:
    """One poll and invocation; returns how many messages were delivered."""
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=30
    ).get("Messages", [])
    if not messages:
        return 0
    event = {"Records": [lambda_record(m, arn, sqs.meta.region_name) for m in messages]}
    failed = {item["itemIdentifier"] for item in handler(event, context)["batchItemFailures"]}
    for message in messages:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages)


def drain(
    sqs: Any, queue_url: str, handler: Callable[[Any, Any], Any], context: Any, polls: int = 30
) -> None:
    """Poll until the queue yields nothing (bounded, so a bug cannot loop forever)."""
    for _ in range(polls):
        if poll_once(sqs, queue_url, handler, context) == 0:
            return
    raise AssertionError(f"queue {queue_url} still delivering after {polls} polls")
