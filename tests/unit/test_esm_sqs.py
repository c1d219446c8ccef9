"""SQSQueue, the in-memory SQS model of lambdakit.testing.esm: what SQS accepts and refuses on
send, FIFO deduplication and ordering attributes, redrive to a DLQ, clocks, and which event
source mapping options Lambda accepts for a queue. Each rule cites the AWS page it follows.
The delivery semantics (visibility, partial responses, batching) are in test_esm_sqs_poller.py.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from lambdakit.errors import EventSourceMappingError
from lambdakit.testing import FakeClock
from lambdakit.testing.esm import EventSourceMapping
from lambdakit.testing.esm._mapping import epoch_ms
from lambdakit.testing.esm._sqs import SQSMessage, SQSQueue


def ok(event: dict[str, Any], context: Any) -> None:
    """A handler that processes every batch."""


def refuses(match: str) -> Any:
    return pytest.raises(EventSourceMappingError, match=match)


# --- sending ----------------------------------------------------------------------------------


def test_a_sent_message_waits_in_the_queue_with_its_sent_timestamp_and_sender() -> None:
    """SentTimestamp is set at send (ReceiveMessage attributes, [1]); a message not yet received
    reports a receive count of 0 and no first-receive timestamp.

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    message_id = queue.send({"order": 1})
    assert len(queue) == 1
    [message] = queue.messages()
    assert isinstance(message, SQSMessage)
    assert message.message_id == message_id
    assert message.body == '{"order":1}'
    assert message.attributes["SentTimestamp"] == str(epoch_ms(clock()))
    assert message.attributes["ApproximateReceiveCount"] == "0"
    assert message.receive_count == 0
    assert "ApproximateFirstReceiveTimestamp" not in message.attributes
    assert message.attributes["SenderId"]


def test_bodies_are_sent_as_str_utf8_bytes_or_json() -> None:
    queue = SQSQueue("orders")
    queue.send("plain text")
    queue.send("é".encode())
    queue.send([1, {"a": None}])
    assert [m.body for m in queue.messages()] == ["plain text", "é", '[1,{"a":null}]']


def test_message_ids_are_uuids_and_reproducible_run_to_run() -> None:
    first = [SQSQueue("orders").send(i) for i in range(1)] + [SQSQueue("other").send(0)]
    again = [SQSQueue("orders").send(i) for i in range(1)] + [SQSQueue("other").send(0)]
    assert first == again
    assert first[0] != first[1]
    assert len(first[0]) == 36
    assert first[0][14] == "4"


def test_a_body_that_is_not_json_serialisable_is_refused() -> None:
    with refuses("cannot be encoded as JSON"):
        SQSQueue("orders").send(object())


def test_an_empty_body_is_refused() -> None:
    """ "The minimum size is one character" (SendMessage MessageBody, [1]).

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    """
    with refuses("body is empty"):
        SQSQueue("orders").send("")


@pytest.mark.parametrize("char", ["\x00", "\x08", "\ufffe", "\ud800"])
def test_characters_outside_the_xml_set_are_refused(char: str) -> None:
    """Only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF; otherwise
    InvalidMessageContents [1].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    """
    with refuses("InvalidMessageContents"):
        SQSQueue("orders").send(f"ab{char}")


def test_a_message_of_1_mib_is_accepted_and_one_byte_more_is_refused() -> None:
    """The maximum message size is 1 MiB, 1,048,576 bytes, since 2025 ([1]; [2]), counting the
    message attributes' names, types and values [3].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    [2] https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-payloads-up-to-1-mb
    [3] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
    """
    queue = SQSQueue("orders")
    queue.send("x" * 1_048_576)
    with refuses("1048577 bytes"):
        queue.send("x" * 1_048_577)
    # "n" + "String" + "v" = 8 bytes of attribute
    queue.send("x" * (1_048_576 - 8), attributes={"n": "v"})
    with refuses("1048577 bytes"):
        queue.send("x" * (1_048_576 - 7), attributes={"n": "v"})


def test_message_attributes_take_shorthand_sendmessage_and_event_shapes() -> None:
    """Message attributes reach the handler in the event's shape [1]; String, Number and Binary data
    types, with custom suffixes [2].

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
    """
    queue = SQSQueue("orders")
    queue.send(
        "b",
        attributes={
            "text": "hello",
            "count": 3,
            "raw": b"\x00\x01",
            "api": {"DataType": "Number.int", "StringValue": "42"},
            "api_binary": {"DataType": "Binary", "BinaryValue": b"\xff"},
            "event": {
                "stringValue": "x",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String.custom",
            },
        },
    )
    attributes = queue.messages()[0].message_attributes
    assert attributes["text"] == {
        "stringValue": "hello",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert attributes["count"]["dataType"] == "Number"
    assert attributes["raw"]["binaryValue"] == base64.b64encode(b"\x00\x01").decode()
    assert attributes["api"]["stringValue"] == "42"
    assert attributes["api"]["dataType"] == "Number.int"
    assert attributes["api_binary"]["binaryValue"] == base64.b64encode(b"\xff").decode()
    assert attributes["event"]["dataType"] == "String.custom"


@pytest.mark.parametrize(
    ("attributes", "match"),
    [
        ({f"a{i}": "v" for i in range(11)}, "11 message attributes"),
        ({"AWS.trace": "v"}, "attribute name"),
        ({"amazon.x": "v"}, "attribute name"),
        ({".lead": "v"}, "attribute name"),
        ({"a..b": "v"}, "attribute name"),
        ({"sp ace": "v"}, "attribute name"),
        ({"n": {"DataType": "Number", "StringValue": "twelve"}}, "not a number"),
        ({"n": {"DataType": "Decimal", "StringValue": "1"}}, "String, Number or Binary"),
        ({"n": {"DataType": "String", "StringValue": ""}}, "needs a value"),
    ],
    ids=[
        "more than 10",
        "AWS. prefix",
        "Amazon. prefix",
        "leading period",
        "repeated periods",
        "space",
        "Number not numeric",
        "unknown type",
        "empty value",
    ],
)
def test_message_attributes_sqs_refuses_are_refused(attributes: Any, match: str) -> None:
    """Up to 10 attributes; the name, type and value rules of [1].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
    """
    with refuses(match):
        SQSQueue("orders").send("b", attributes=attributes)


def test_the_per_queue_delay_and_a_per_message_timer_hide_new_messages() -> None:
    """Delay queues hide new messages for DelaySeconds [1]; a message timer overrides the queue's
    delay [2]. Both 0-900 seconds.

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-timers.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", delay_seconds=60, clock=clock)
    delivered: list[tuple[float, str]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        delivered.extend((clock(), r["body"]) for r in event["Records"])

    start = clock()
    queue.send("queue delay")
    queue.send("timer", delay_seconds=5)
    queue.send("no delay", delay_seconds=0)
    EventSourceMapping(queue, handler, batch_size=1).run()
    assert delivered == [(start, "no delay"), (start + 5, "timer"), (start + 60, "queue delay")]
    with refuses("delay_seconds=901"):
        queue.send("x", delay_seconds=901)
    with refuses("delay_seconds=901"):
        SQSQueue("q", delay_seconds=901)


# --- FIFO -------------------------------------------------------------------------------------


def test_a_fifo_queue_name_ends_in_fifo_and_only_a_fifo_queues_does() -> None:
    """ "A FIFO queue name must end with the .fifo suffix"; names are up to 80 letters, digits,
    hyphens and underscores (CreateQueue QueueName, [1]).

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
    """
    SQSQueue("orders.fifo", fifo=True)
    with refuses("must end with .fifo"):
        SQSQueue("orders", fifo=True)
    with refuses("only a FIFO queue"):
        SQSQueue("orders.fifo")
    with refuses("1 to 80"):
        SQSQueue("x" * 81)
    with refuses("1 to 80"):
        SQSQueue("orders!")
    SQSQueue("x" * 80)
    SQSQueue("x" * 75 + ".fifo", fifo=True)


def test_a_fifo_message_needs_a_group_id() -> None:
    """ "If you don't provide a message group ID, the action fails" [1].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html
    """
    queue = SQSQueue("orders.fifo", fifo=True, content_based_deduplication=True)
    with refuses("requires group_id"):
        queue.send("a")


def test_a_fifo_message_needs_a_deduplication_id_unless_content_based() -> None:
    """ "If you don't provide a MessageDeduplicationId and the queue doesn't have
    ContentBasedDeduplication set, the action fails with an error" [1].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    """
    queue = SQSQueue("orders.fifo", fifo=True)
    with refuses("requires deduplication_id"):
        queue.send("a", group_id="g")
    queue.send("a", group_id="g", deduplication_id="d-1")
    assert queue.messages()[0].attributes["MessageDeduplicationId"] == "d-1"


def test_content_based_deduplication_uses_the_sha256_of_the_body() -> None:
    """ "Amazon SQS uses a SHA-256 hash to generate the MessageDeduplicationId using the body of the
    message (but not the attributes of the message)" ([1], [2]).

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-exactly-once-processing.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    """
    queue = SQSQueue("orders.fifo", fifo=True, content_based_deduplication=True)
    first = queue.send("same body", group_id="g", attributes={"a": "1"})
    second = queue.send("same body", group_id="g", attributes={"a": "2"})
    assert second == first
    assert len(queue) == 1
    [message] = queue.messages()
    assert message.attributes["MessageDeduplicationId"] == hashlib.sha256(b"same body").hexdigest()


def test_a_duplicate_within_5_minutes_is_accepted_not_enqueued_and_gets_the_first_id() -> None:
    """Messages with a deduplication ID already sent "are accepted successfully but aren't delivered
    during the 5-minute deduplication interval", which applies to the whole queue and outlives the
    deletion of the message [1].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders.fifo", fifo=True, clock=clock)
    first = queue.send("a", group_id="g1", deduplication_id="d")
    clock.advance(299)
    assert queue.send("b", group_id="g2", deduplication_id="d") == first  # other group too
    assert [m.body for m in queue.messages()] == ["a"]
    EventSourceMapping(queue, ok).run()  # delivered and deleted
    assert queue.send("c", group_id="g1", deduplication_id="d") == first
    assert len(queue) == 0
    clock.advance(1)  # 300 s after the first send: the interval is over
    third = queue.send("c", group_id="g1", deduplication_id="d")
    assert third != first
    assert [m.body for m in queue.messages()] == ["c"]


def test_an_explicit_deduplication_id_overrides_the_content_based_one() -> None:
    """ "If the queue has ContentBasedDeduplication set, your MessageDeduplicationId overrides the
    generated one" [1].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    """
    queue = SQSQueue("orders.fifo", fifo=True, content_based_deduplication=True)
    queue.send("same", group_id="g", deduplication_id="one")
    queue.send("same", group_id="g", deduplication_id="two")
    assert [m.attributes["MessageDeduplicationId"] for m in queue.messages()] == ["one", "two"]


def test_fifo_messages_carry_group_and_increasing_sequence_numbers() -> None:
    """SequenceNumber: "The large, non-consecutive number that Amazon SQS assigns to each message
    ... continues to increase for a particular MessageGroupId" [1].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    """
    queue = SQSQueue("orders.fifo", fifo=True, content_based_deduplication=True)
    for body in ("a", "b", "c"):
        queue.send(body, group_id="g")
    messages = queue.messages()
    numbers = [int(m.attributes["SequenceNumber"]) for m in messages]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3
    assert all(len(m.attributes["SequenceNumber"]) == 20 for m in messages)
    assert {m.attributes["MessageGroupId"] for m in messages} == {"g"}


def test_fifo_queues_refuse_a_per_message_delay() -> None:
    """ "FIFO queues don't support timers on individual messages" [1]; "When you set FifoQueue, you
    can't set DelaySeconds per message" [2].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-timers.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    """
    queue = SQSQueue("orders.fifo", fifo=True, content_based_deduplication=True)
    with refuses("per-message delays"):
        queue.send("a", group_id="g", delay_seconds=5)


def test_fifo_only_options_are_refused_on_a_standard_queue() -> None:
    """MessageDeduplicationId "applies only to FIFO queues" [1]; so does ContentBasedDeduplication
    [2].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
    """
    with refuses("only to FIFO"):
        SQSQueue("orders", content_based_deduplication=True)
    with refuses("only to FIFO"):
        SQSQueue("orders").send("a", deduplication_id="d")


def test_a_standard_queue_takes_a_group_id_for_fair_queues() -> None:
    """ "In standard queues, using MessageGroupId enables fair queues" [1]; it does not order or
    block delivery.

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
    """
    queue = SQSQueue("orders")
    queue.send("a", group_id="tenant-1")
    [message] = queue.messages()
    assert message.attributes["MessageGroupId"] == "tenant-1"
    assert "SequenceNumber" not in message.attributes


@pytest.mark.parametrize("token", ["", "x" * 129, "with space", "é"])
def test_group_and_deduplication_ids_are_up_to_128_ascii_characters(token: str) -> None:
    """ "The length of MessageGroupId is 128 characters. Valid values: alphanumeric characters and
    punctuation" ([1]; the same for MessageDeduplicationId, [2]).

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
    """
    queue = SQSQueue("orders.fifo", fifo=True)
    with refuses("group_id"):
        queue.send("a", group_id=token, deduplication_id="d")
    with refuses("deduplication_id"):
        queue.send("a", group_id="g", deduplication_id=token)


# --- send_batch -------------------------------------------------------------------------------


def test_send_batch_takes_bodies_or_sendmessagebatch_entries_in_order() -> None:
    """SendMessageBatch sends up to 10 messages; "For a FIFO queue, multiple messages within a
    single batch are enqueued in the order they are sent" [1].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
    """
    queue = SQSQueue("orders.fifo", fifo=True, content_based_deduplication=True)
    ids = queue.send_batch(
        [
            "first",
            {"Id": "2", "MessageBody": {"n": 2}, "MessageGroupId": "other"},
            {"MessageBody": "third", "MessageAttributes": {"k": "v"}},
        ],
        group_id="g",
    )
    messages = queue.messages()
    assert [m.message_id for m in messages] == ids
    assert [m.body for m in messages] == ["first", '{"n":2}', "third"]
    assert [m.attributes["MessageGroupId"] for m in messages] == ["g", "other", "g"]
    assert messages[2].message_attributes["k"]["stringValue"] == "v"


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ([], "EmptyBatchRequest"),
        ([str(i) for i in range(11)], "TooManyEntriesInBatchRequest"),
        ([{"Id": "a", "MessageBody": "1"}, {"Id": "a", "MessageBody": "2"}], "NotDistinct"),
        ([{"Id": "a b", "MessageBody": "1"}], "InvalidBatchEntryId"),
        ([{"MessageBody": "1", "Delay": 3}], "unknown key"),
        (["x" * 600_000, "y" * 600_000], "BatchRequestTooLong"),
        ("one body", "list of entries"),
    ],
    ids=["empty", "11 entries", "repeated Id", "bad Id", "unknown key", "over 1 MiB", "a str"],
)
def test_send_batch_refuses_what_sendmessagebatch_refuses(entries: Any, match: str) -> None:
    """At most 10 entries, distinct Ids, and "the maximum total payload size (the sum of the
    individual lengths of all of the batched messages)" of 1 MiB [1].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
    """
    with refuses(match):
        SQSQueue("orders").send_batch(entries)


def test_send_batch_sends_nothing_when_one_entry_is_invalid() -> None:
    queue = SQSQueue("orders")
    with refuses(r"entries\[1\]: the body is empty"):
        queue.send_batch(["fine", ""])
    assert len(queue) == 0


# --- queue options, redrive policy ------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"visibility_timeout": 43_201}, "visibility_timeout"),
        ({"visibility_timeout": -1}, "visibility_timeout"),
        ({"max_receive_count": 3}, "without a dlq"),
        ({"dlq": SQSQueue("dlq"), "max_receive_count": 0}, "from 1 to 1000"),
        ({"dlq": SQSQueue("dlq"), "max_receive_count": 1001}, "from 1 to 1000"),
        ({"dlq": "dlq"}, "expected an SQSQueue"),
    ],
)
def test_queue_options_sqs_refuses_are_refused(options: dict[str, Any], match: str) -> None:
    """VisibilityTimeout 0 to 43,200 s; RedrivePolicy names the DLQ (deadLetterTargetArn) and a
    maxReceiveCount ([1]; 1 to 1,000, [2]).

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    """
    with refuses(match):
        SQSQueue("orders", **options)


def test_a_dlq_must_be_of_the_same_kind_as_its_queue() -> None:
    """ "The dead-letter queue of a FIFO queue must also be a FIFO queue. Similarly, the dead-letter
    queue of a standard queue must also be a standard queue" [1].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
    """
    with refuses("must also be a FIFO queue"):
        SQSQueue("orders.fifo", fifo=True, dlq=SQSQueue("dlq"))
    with refuses("must also be a standard queue"):
        SQSQueue("orders", dlq=SQSQueue("dlq.fifo", fifo=True))


def test_a_dlq_without_max_receive_count_uses_sqs_default_of_10() -> None:
    """RedrivePolicy maxReceiveCount: "Default: 10" [1].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
    """
    assert SQSQueue("orders", dlq=SQSQueue("dlq")).max_receive_count == 10


def test_redriven_messages_keep_id_body_attributes_and_name_their_source() -> None:
    """When the receive count exceeds maxReceiveCount "Amazon SQS moves the message to the
    dead-letter-queue" [1] with its body and message attributes; ReceiveMessage reports
    ``DeadLetterQueueSourceArn`` and counts receives "across all queues" [2].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
    """
    dlq = SQSQueue("orders-dlq")
    queue = SQSQueue("orders", dlq=dlq, max_receive_count=2)
    sent = queue.send("poison", attributes={"k": "v"})

    def fails(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("poison")

    summary = EventSourceMapping(queue, fails).run()
    assert len(queue) == 0
    [moved] = dlq.messages()
    assert moved.message_id == sent
    assert moved.body == "poison"
    assert moved.message_attributes["k"]["stringValue"] == "v"
    assert moved.attributes["DeadLetterQueueSourceArn"] == queue.arn
    assert moved.receive_count == 2
    [snapshot] = summary.dead_lettered
    assert snapshot.message_id == sent
    assert snapshot.receive_count == 2
    assert "DeadLetterQueueSourceArn" not in snapshot.attributes  # as it was in the source


def test_a_fifo_dlq_replaces_the_deduplication_id_with_the_message_id() -> None:
    """ "When a message is moved from a FIFO queue to a FIFO DLQ, the original message's
    deduplication ID will be replaced with the original message's ID" [1].

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    """
    dlq = SQSQueue("orders-dlq.fifo", fifo=True)
    queue = SQSQueue("orders.fifo", fifo=True, dlq=dlq, max_receive_count=1)
    sent = queue.send("poison", group_id="g", deduplication_id="d-1")

    def fails(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("poison")

    EventSourceMapping(queue, fails).run()
    [moved] = dlq.messages()
    assert moved.attributes["MessageDeduplicationId"] == sent
    assert moved.attributes["MessageGroupId"] == "g"
    assert "SequenceNumber" in moved.attributes


# --- clocks, repr -----------------------------------------------------------------------------


def test_a_queue_without_a_clock_adopts_its_mappings_and_keeps_pending_delays() -> None:
    queue = SQSQueue("orders", delay_seconds=10)
    queue.send("a")
    clock = FakeClock(start=5_000)
    mapping = EventSourceMapping(queue, ok, clock=clock)
    assert queue.clock is clock
    mapping.run()
    assert clock() == 5_010  # the 10 s delay survived the move to the mapping's clock


def test_a_queue_and_its_dlq_share_one_clock() -> None:
    clock = FakeClock()
    dlq = SQSQueue("dlq", clock=clock)
    assert SQSQueue("q", dlq=dlq).clock is clock
    plain = SQSQueue("dlq2")
    assert SQSQueue("q2", dlq=plain, clock=clock).clock is plain.clock is clock
    with refuses("different clocks"):
        SQSQueue("q3", dlq=SQSQueue("dlq3", clock=FakeClock()), clock=FakeClock())


def test_the_repr_says_what_is_in_the_queue() -> None:
    queue = SQSQueue("orders", dlq=SQSQueue("orders-dlq"))
    queue.send("a")
    queue.send("b", delay_seconds=5)
    assert repr(queue) == (
        "SQSQueue('orders', fifo=False, messages=2, in_flight=0, delayed=1, dlq='orders-dlq')"
    )


# --- event source mapping options Lambda refuses for SQS --------------------------------------


@pytest.mark.parametrize(
    ("queue", "options", "match"),
    [
        (SQSQueue("q"), {"batch_size": 0}, "from 1 to 10000"),
        (SQSQueue("q"), {"batch_size": 10_001, "maximum_batching_window": 1}, "1 to 10000"),
        (SQSQueue("q.fifo", fifo=True), {"batch_size": 11}, "from 1 to 10 for a FIFO"),
        (SQSQueue("q"), {"batch_size": 11}, "greater than 0 if maximum batch size"),
        (
            SQSQueue("q.fifo", fifo=True),
            {"maximum_batching_window": 1},
            "Batching window is not supported for FIFO queues",
        ),
        (SQSQueue("q"), {"maximum_batching_window": 0.5}, "whole seconds"),
        (SQSQueue("q"), {"maximum_concurrency": 1}, "2 to 1000"),
        (SQSQueue("q"), {"maximum_concurrency": 1001}, "2 to 1000"),
        (
            SQSQueue("q", visibility_timeout=30),
            {"function_timeout": 60},
            "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds",
        ),
        (SQSQueue("q"), {"bisect_batch_on_function_error": True}, "streams and Kafka only"),
        (SQSQueue("q"), {"maximum_retry_attempts": 2}, "streams and Kafka only"),
        (SQSQueue("q"), {"maximum_record_age": 60}, "streams and Kafka only"),
        (SQSQueue("q"), {"parallelization_factor": 2}, "streams and Kafka only"),
        (SQSQueue("q"), {"on_failure": "arn:aws:sqs:x"}, "streams and Kafka only"),
        (SQSQueue("q"), {"starting_position": "TRIM_HORIZON"}, "streams and Kafka only"),
    ],
)
def test_mapping_options_lambda_refuses_for_a_queue_are_refused(
    queue: SQSQueue, options: dict[str, Any], match: str
) -> None:
    """BatchSize: standard up to 10,000, FIFO up to 10; over 10 needs a batching window of at least
    1 s; the window in whole seconds; stream-only options [1]. "Batching window is not supported for
    FIFO queues" and "Queue visibility timeout: 30 seconds is less than Function timeout: 60
    seconds" are Lambda's own messages ([2]: the window "applies only to standard queues").
    MaximumConcurrency 2 to 1,000 [3].

    [1] https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
    [2] https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
    [3] https://docs.aws.amazon.com/lambda/latest/api/API_ScalingConfig.html
    """
    with refuses(match):
        EventSourceMapping(queue, ok, **options)


def test_the_options_lambda_accepts_for_a_queue_are_accepted() -> None:
    """Provisioned mode exists for SQS event source mappings too [1].

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    EventSourceMapping(
        SQSQueue("q", visibility_timeout=900),
        ok,
        batch_size=10_000,
        maximum_batching_window=300,
        maximum_concurrency=2,
        function_timeout=900,
        report_batch_item_failures=True,
        provisioned_mode=True,
    )
    EventSourceMapping(SQSQueue("q.fifo", fifo=True), ok, batch_size=10)
