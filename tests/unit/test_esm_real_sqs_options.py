"""SQSEventSource without a server: the options it refuses before any request, the event records
it builds from ReceiveMessage answers (exactly the model's), and the requests it makes (at most
10 per request, every attribute asked for, visibility around a batching window, the 6 MB limit),
checked with a scripted stand-in for the boto3 client. The behaviour against a real SQS API is
in tests/integration/test_esm_sqs_behaviour.py."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from lambdakit.errors import EventSourceMappingError, FilterPatternError
from lambdakit.testing import FakeClock
from lambdakit.testing.esm import EventSourceMapping
from lambdakit.testing.esm._real_sqs import SQSEventSource, lambda_record
from lambdakit.testing.esm._sqs import SQSQueue
from tests.unit.test_esm_sqs_poller import Recorder

URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
FIFO_URL = URL + ".fifo"
ARN = "arn:aws:sqs:eu-west-1:123456789012:orders"


class NoNetwork:
    """A client that fails the test on any request."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected request: {name}")


def ok(event: dict[str, Any], context: Any) -> None:
    """A handler that processes every batch."""


def refuses(match: str) -> Any:
    return pytest.raises(EventSourceMappingError, match=match)


# --- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "options", "match"),
    [
        (URL, {"batch_size": 0}, "batch_size=0: expected an integer from 1 to 10000"),
        (URL, {"batch_size": 10_001}, "from 1 to 10000"),
        (FIFO_URL, {"batch_size": 11}, "from 1 to 10 for a FIFO queue"),
        (URL, {"batch_size": 11}, "Maximum batch window in seconds must be greater than 0"),
        (FIFO_URL, {"maximum_batching_window": 1}, "not supported for FIFO queues"),
        (URL, {"maximum_batching_window": 301}, "from 0 to 300"),
        (URL, {"maximum_batching_window": 0.5}, "whole seconds"),
        (URL, {"maximum_concurrency": 1}, "from 2 to 1000"),
        (URL, {"function_timeout": 901}, "from 1 to 900"),
    ],
    ids=[
        "batch 0",
        "batch over 10000",
        "FIFO batch over 10",
        "batch over 10 without window",
        "FIFO window",
        "window over 300",
        "fractional window",
        "concurrency 1",
        "timeout over 900",
    ],
)
def test_options_aws_refuses_are_refused_when_the_source_is_made_without_a_request(
    url: str, options: dict[str, Any], match: str
) -> None:
    """The same checks as the model's (CreateEventSourceMapping's limits [1]); a queue whose URL
    ends in .fifo is a FIFO queue (its name must [2]), so no request is needed.

    [1] https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
    """
    with refuses(match):
        SQSEventSource(url, ok, client=NoNetwork(), **options)


def test_filter_criteria_lambda_refuses_are_refused_when_the_source_is_made() -> None:
    with pytest.raises(FilterPatternError, match="must be an object or an array"):
        SQSEventSource(URL, ok, client=NoNetwork(), filter_criteria={"body": "not a list"})


def test_options_only_streams_and_kafka_have_are_not_taken() -> None:
    with pytest.raises(TypeError, match="bisect_batch_on_function_error"):
        SQSEventSource(URL, ok, bisect_batch_on_function_error=True)  # type: ignore[call-arg]


@pytest.mark.parametrize("url", ["", "orders", None])
def test_a_queue_url_is_required(url: Any) -> None:
    with refuses("queue_url"):
        SQSEventSource(url, ok)


def test_a_handler_that_is_not_callable_is_refused() -> None:
    with refuses("expected a Lambda handler"):
        SQSEventSource(URL, "handler.main")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"until": "empty"}, "until='empty'"),
        ({"max_time": -1}, "max_time=-1"),
        ({"on_progress": "bar"}, "on_progress='bar'"),
    ],
)
def test_run_arguments_are_checked_before_any_request(
    arguments: dict[str, Any], match: str
) -> None:
    with refuses(match):
        SQSEventSource(URL, ok, client=NoNetwork()).run(**arguments)


def test_no_client_is_made_until_the_source_runs() -> None:
    source = SQSEventSource(URL, ok, endpoint_url="http://127.0.0.1:9", region_name="eu-west-1")
    assert source._client is None


# --- the event records --------------------------------------------------------------------------


def api_message(record: dict[str, Any]) -> dict[str, Any]:
    """What ReceiveMessage (through boto3) answers for the message behind ``record``: PascalCase,
    attributes in another order, binary values as bytes."""
    attributes: dict[str, Any] = {}
    for name, value in record["messageAttributes"].items():
        shaped = {"DataType": value["dataType"]}
        if "binaryValue" in value:
            shaped["BinaryValue"] = base64.b64decode(value["binaryValue"])
        else:
            shaped["StringValue"] = value["stringValue"]
        attributes[name] = shaped
    message = {
        "MessageId": record["messageId"],
        "ReceiptHandle": record["receiptHandle"],
        "MD5OfBody": record["md5OfBody"],
        "Body": record["body"],
        "Attributes": dict(sorted(record["attributes"].items())),
    }
    if attributes:
        message["MD5OfMessageAttributes"] = record["md5OfMessageAttributes"]
        message["MessageAttributes"] = attributes
    return message


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "FIFO"])
def test_records_are_built_exactly_as_the_model_builds_them(fifo: bool) -> None:
    """Both drivers hand the handler the event of [1]: the same keys, in the same order, with
    message attributes in the event's shape (binary values base64-encoded).

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    clock = FakeClock()
    name = "orders.fifo" if fifo else "orders"
    queue = SQSQueue(name, fifo=fifo, content_based_deduplication=fifo, clock=clock)
    group = {"group_id": "g"} if fifo else {}
    queue.send("plain", **group)
    queue.send(
        "with attributes",
        attributes={"text": "hello", "count": 3, "raw": b"\x00\xff"},
        **group,
    )
    handler = Recorder(clock)
    EventSourceMapping(queue, handler).run()
    for record in handler.events[0][1]["Records"]:
        built = lambda_record(api_message(record), record["eventSourceARN"])
        assert built == record
        assert list(built) == list(record)
        assert list(built["attributes"]) == list(record["attributes"])
        assert list(built["messageAttributes"]) == list(record["messageAttributes"])


# --- the requests -------------------------------------------------------------------------------


def message(number: int, body: str | None = None) -> dict[str, Any]:
    text = body if body is not None else f"m{number}"
    return {
        "MessageId": f"id-{number}",
        "ReceiptHandle": f"handle-{number}",
        "MD5OfBody": hashlib.md5(text.encode()).hexdigest(),
        "Body": text,
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000"},
    }


class ScriptedSQS:
    """A boto3 SQS client stand-in: ReceiveMessage answers from ``receives`` (one list of
    messages per call, then nothing); the queue then reports itself empty; every request is
    recorded, with the number of invocations made before it."""

    def __init__(self, receives: list[list[dict[str, Any]]], visibility: int = 30) -> None:
        self.receives = list(receives)
        self.visibility = visibility
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.counts = [{"ApproximateNumberOfMessages": "0"}]

    def get_queue_attributes(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("GetQueueAttributes", request))
        if request["AttributeNames"] == ["All"]:
            return {"Attributes": {"QueueArn": ARN, "VisibilityTimeout": str(self.visibility)}}
        counts = self.counts.pop(0) if len(self.counts) > 1 else self.counts[0]
        return {"Attributes": counts}

    def receive_message(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("ReceiveMessage", request))
        return {"Messages": self.receives.pop(0)} if self.receives else {}

    def delete_message_batch(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("DeleteMessageBatch", request))
        return {"Successful": [{"Id": e["Id"]} for e in request["Entries"]], "Failed": []}

    def change_message_visibility_batch(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("ChangeMessageVisibilityBatch", request))
        return {"Successful": [{"Id": e["Id"]} for e in request["Entries"]], "Failed": []}

    def made(self, action: str) -> list[dict[str, Any]]:
        return [request for name, request in self.requests if name == action]


class Invocations:
    """A handler that notes, at each invocation, its batch and how many requests came before."""

    def __init__(self, client: ScriptedSQS) -> None:
        self.client = client
        self.batches: list[list[str]] = []
        self.requests_before: list[int] = []

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        self.batches.append([r["messageId"] for r in event["Records"]])
        self.requests_before.append(len(self.client.requests))


def test_each_receive_asks_for_at_most_ten_messages_and_every_attribute() -> None:
    """ReceiveMessage takes MaxNumberOfMessages 1-10 and returns the system attributes and message
    attributes asked for [1]; Lambda's event carries all of them [2]. Without a batching window
    the queue's own visibility timeout applies, and nothing changes it.

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
    [2] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    client = ScriptedSQS([[message(i) for i in range(3)]])
    handler = Invocations(client)
    SQSEventSource(URL, handler, client=client, batch_size=5).run()
    first = client.made("ReceiveMessage")[0]
    assert first["QueueUrl"] == URL
    assert first["MaxNumberOfMessages"] == 5
    assert first["MessageSystemAttributeNames"] == ["All"]
    assert first["MessageAttributeNames"] == ["All"]
    assert "VisibilityTimeout" not in first
    assert handler.batches == [["id-0", "id-1", "id-2"]]
    assert client.made("ChangeMessageVisibilityBatch") == []


def test_a_batch_over_ten_is_received_ten_at_a_time_and_deleted_ten_at_a_time() -> None:
    """A batch of up to 10,000 is gathered over several ReceiveMessage calls of at most 10
    within the batching window [1]; DeleteMessageBatch takes at most 10 entries [2].

    [1] https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessageBatch.html
    """
    receives = [[message(i) for i in range(n, n + 10)] for n in (0, 10)] + [
        [message(i) for i in range(20, 25)]
    ]
    client = ScriptedSQS(receives)
    handler = Invocations(client)
    summary = SQSEventSource(
        URL, handler, client=client, batch_size=25, maximum_batching_window=5
    ).run()
    assert [r["MaxNumberOfMessages"] for r in client.made("ReceiveMessage")[:3]] == [10, 10, 5]
    assert [len(batch) for batch in handler.batches] == [25]
    assert [len(r["Entries"]) for r in client.made("DeleteMessageBatch")] == [10, 10, 5]
    assert summary.deleted == 25


def test_messages_held_through_a_window_get_the_queues_visibility_from_the_invocation() -> None:
    """While Lambda gathers a batch the messages it holds must not reappear: they are received
    with the queue's visibility timeout plus the window; just before the invocation each one's is
    set to the queue's (ChangeMessageVisibility [1] counts from that call), so a failed batch
    comes back one visibility timeout after its invocation, as in the model.

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
    """
    client = ScriptedSQS([[message(0), message(1)]], visibility=30)
    handler = Invocations(client)
    SQSEventSource(URL, handler, client=client, batch_size=2, maximum_batching_window=5).run()
    assert client.made("ReceiveMessage")[0]["VisibilityTimeout"] == 35
    [change] = client.made("ChangeMessageVisibilityBatch")
    assert [(e["ReceiptHandle"], e["VisibilityTimeout"]) for e in change["Entries"]] == [
        ("handle-0", 30),
        ("handle-1", 30),
    ]
    changed_at = client.requests.index(("ChangeMessageVisibilityBatch", change))
    assert handler.requests_before == [changed_at + 1]


def test_a_message_past_the_6_mb_payload_waits_for_the_next_batch() -> None:
    """The invocation payload is at most 6 MB [1]: a received message that would exceed it goes
    into the next batch, its visibility timeout renewed first (it was held meanwhile).

    [1] https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    """
    big = [message(i, f"{i:02}" + "x" * 999_998) for i in range(7)]  # six fit in 6 MB
    client = ScriptedSQS([big])
    handler = Invocations(client)
    summary = SQSEventSource(URL, handler, client=client).run()
    assert [len(batch) for batch in handler.batches] == [6, 1]
    [change] = client.made("ChangeMessageVisibilityBatch")
    assert [e["ReceiptHandle"] for e in change["Entries"]] == ["handle-6"]
    assert summary.deleted == 7


def test_the_run_waits_with_a_long_poll_while_the_queue_reports_messages_in_flight() -> None:
    """Drained means a receive returned nothing and the queue reports no message visible, in
    flight or delayed (GetQueueAttributes [1]); until then the driver long-polls.

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html
    """
    client = ScriptedSQS([[], [message(0)]])
    client.counts = [
        {"ApproximateNumberOfMessagesNotVisible": "1"},
        {"ApproximateNumberOfMessages": "0"},
    ]
    handler = Invocations(client)
    SQSEventSource(URL, handler, client=client).run()
    waits = [r["WaitTimeSeconds"] for r in client.made("ReceiveMessage")]
    assert waits == [0, 1, 0]
    assert handler.batches == [["id-0"]]
    counts = client.made("GetQueueAttributes")[1]["AttributeNames"]
    assert sorted(counts) == [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesDelayed",
        "ApproximateNumberOfMessagesNotVisible",
    ]
