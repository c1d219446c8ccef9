"""How Lambda's event source mapping drives a handler from an SQSQueue: the event's shape,
visibility timeouts, receive counts, partial batch responses, redrive, filtering, batching,
the 6 MB payload limit, FIFO group blocking, function timeouts. Each rule cites its AWS page.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from lambdakit.testing import FakeClock
from lambdakit.testing.esm import EventSourceMapping
from lambdakit.testing.esm._mapping import epoch_ms
from lambdakit.testing.esm._sqs import SQSQueue
from lambdakit.testing.esm._summary import FAILED, FILTERED, SUCCEEDED, TIMED_OUT


class Recorder:
    """A handler that keeps every event it gets and can be told how to answer."""

    def __init__(self, clock: FakeClock, answer: Any = None) -> None:
        self.clock = clock
        self.answer = answer
        self.events: list[tuple[float, dict[str, Any]]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append((self.clock(), event))
        return self.answer(event) if callable(self.answer) else self.answer

    def bodies(self) -> list[list[str]]:
        return [[r["body"] for r in event["Records"]] for _, event in self.events]

    def times(self) -> list[float]:
        return [t for t, _ in self.events]


def raising(event: dict[str, Any]) -> None:
    raise RuntimeError("the downstream service is down")


def in_turn(*answers: Any) -> Any:
    """An answer that is ``answers[n]`` on the n-th invocation (the last one from then on);
    each is a value to return or a function of the event."""
    calls = iter(range(len(answers)))

    def answer(event: dict[str, Any]) -> Any:
        chosen = answers[next(calls, len(answers) - 1)]
        return chosen(event) if callable(chosen) else chosen

    return answer


def report(*bodies: str) -> Any:
    """An answer reporting the records with these bodies as failed."""

    def answer(event: dict[str, Any]) -> dict[str, Any]:
        failed = [r["messageId"] for r in event["Records"] if r["body"] in bodies]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    return answer


# --- the event --------------------------------------------------------------------------------


def test_the_event_has_exactly_the_shape_lambda_sends() -> None:
    """The standard queue message event of [1], attribute for attribute; md5OfBody is the body's
    MD5; md5OfMessageAttributes (present when the message has attributes) is computed as SQS does (a
    real event's value for this attribute: 7c8152...).

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    clock = FakeClock()
    queue = SQSQueue("my-queue", clock=clock)
    sent_at = clock()
    queue.send("Test message.")
    queue.send("with attributes", attributes={"sample-attribute": "sample-value"})
    clock.advance(2)
    handler = Recorder(clock)
    EventSourceMapping(queue, handler).run()
    [(_, event)] = handler.events
    first, second = event["Records"]
    assert list(event) == ["Records"]
    assert list(first) == [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ]
    assert first["attributes"] == {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": str(epoch_ms(sent_at)),
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": str(epoch_ms(sent_at + 2)),
    }
    assert first["messageAttributes"] == {}
    assert first["md5OfBody"] == "e4e68fb7bd0e697a0ae8f1bb342846b3"  # AWS's sample's value
    assert first["eventSource"] == "aws:sqs"
    assert first["eventSourceARN"] == f"arn:aws:sqs:{first['awsRegion']}:123456789012:my-queue"
    assert first["receiptHandle"].startswith("AQEB")
    assert second["md5OfMessageAttributes"] == "7c815262be77a62f56671125069ca888"
    assert second["md5OfBody"] == hashlib.md5(b"with attributes").hexdigest()
    json.dumps(event)


def test_a_fifo_event_carries_sequence_group_and_deduplication_attributes() -> None:
    """The FIFO queue message event of [1]: SequenceNumber, MessageGroupId, MessageDeduplicationId,
    and an ARN ending in .fifo.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    clock = FakeClock()
    queue = SQSQueue("fifo.fifo", fifo=True, clock=clock)
    queue.send("Test message.", group_id="1", deduplication_id="1")
    handler = Recorder(clock)
    EventSourceMapping(queue, handler).run()
    [record] = handler.events[0][1]["Records"]
    assert list(record["attributes"]) == [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SequenceNumber",
        "MessageGroupId",
        "SenderId",
        "MessageDeduplicationId",
        "ApproximateFirstReceiveTimestamp",
    ]
    assert record["attributes"]["MessageGroupId"] == "1"
    assert record["attributes"]["MessageDeduplicationId"] == "1"
    assert record["eventSourceARN"].endswith(":fifo.fifo")


def test_a_handler_mutating_its_event_does_not_change_what_is_redelivered() -> None:
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    queue.send("original")
    seen: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        record = event["Records"][0]
        seen.append(record["body"])
        record["body"] = "mutated"
        if len(seen) == 1:
            raise RuntimeError("retry")

    EventSourceMapping(queue, handler).run()
    assert seen == ["original", "original"]


# --- success, failure, visibility -------------------------------------------------------------


def test_a_successful_batch_is_deleted() -> None:
    """ "When your function successfully processes a batch, Lambda deletes its messages from the
    queue" [1].

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    for i in range(3):
        queue.send(str(i))
    summary = EventSourceMapping(queue, Recorder(clock)).run()
    assert len(queue) == 0
    assert (summary.invocations, summary.delivered, summary.succeeded, summary.deleted) == (
        1,
        3,
        3,
        3,
    )
    assert summary.failed_attempts == 0
    assert summary.max_receive_count == 1
    assert all(h[0].outcome == SUCCEEDED for h in summary.history.values())


def test_a_failed_batch_comes_back_whole_after_the_visibility_timeout() -> None:
    """ "By default, if your function encounters an error while processing a batch, all messages in
    that batch become visible in the queue again after the visibility timeout" [1]; a received
    message stays hidden for the visibility timeout [2]; ApproximateReceiveCount counts receives and
    ApproximateFirstReceiveTimestamp stays the first's [3].

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
    [3] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", visibility_timeout=45, clock=clock)
    queue.send("a")
    queue.send("b")
    handler = Recorder(clock, in_turn(raising, None))
    start = clock()
    summary = EventSourceMapping(queue, handler).run()
    assert handler.times() == [start, start + 45]
    assert handler.bodies() == [["a", "b"], ["a", "b"]]
    second = handler.events[1][1]["Records"][0]["attributes"]
    assert second["ApproximateReceiveCount"] == "2"
    assert second["ApproximateFirstReceiveTimestamp"] == str(epoch_ms(start))
    assert summary.failed_attempts == 2
    assert summary.succeeded == 2
    assert summary.deleted == 2
    assert summary.max_receive_count == 2
    first_id = handler.events[0][1]["Records"][0]["messageId"]
    assert [(d.time, d.invocation, d.outcome) for d in summary.history[first_id]] == [
        (start, 1, FAILED),
        (start + 45, 2, SUCCEEDED),
    ]


def test_without_report_batch_item_failures_a_returned_response_is_ignored() -> None:
    """Partial batch responses are read only with ReportBatchItemFailures in FunctionResponseTypes
    [1]: otherwise a returned invocation is a success and the whole batch is deleted.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    queue.send("a")
    queue.send("b")
    summary = EventSourceMapping(queue, Recorder(clock, report("a"))).run()
    assert len(queue) == 0
    assert summary.invocations == 1
    assert summary.deleted == 2


def test_with_report_batch_item_failures_only_the_reported_messages_come_back() -> None:
    """ "configure your event source mapping to make only the failed messages visible again" [1],
    after the visibility timeout.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    for body in "abc":
        queue.send(body)
    handler = Recorder(clock, in_turn(report("b"), None))
    start = clock()
    summary = EventSourceMapping(queue, handler, report_batch_item_failures=True).run()
    assert handler.bodies() == [["a", "b", "c"], ["b"]]
    assert handler.times() == [start, start + 30]
    assert (summary.delivered, summary.succeeded, summary.failed_attempts) == (4, 3, 1)


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-a-message-id"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"messageId": "x"}]},
        "not an object",
    ],
    ids=["unknown id", "empty id", "null id", "bad key name", "invalid JSON object"],
)
def test_an_invalid_partial_response_fails_the_whole_batch(response: Any) -> None:
    """ "Lambda treats a batch as a complete failure if your function returns": invalid JSON, an
    empty or null itemIdentifier, a bad key name, an unknown message ID ([1], "Success and failure
    conditions").

    [1] https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    queue.send("a")
    queue.send("b")
    summary = EventSourceMapping(
        queue, Recorder(clock, response), report_batch_item_failures=True
    ).run(max_time=31)
    assert summary.invocations == 2
    assert summary.failed_attempts == 4
    assert summary.deleted == 0
    assert len(queue) == 2


def test_a_batch_whose_handler_returns_nothing_or_an_empty_list_is_a_success() -> None:
    """ "Lambda treats a batch as a complete success if your function returns" an empty or null
    batchItemFailures list, an empty or null response [1].

    [1] https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """
    answers: list[Any] = [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}]
    for answer in answers:
        clock = FakeClock()
        queue = SQSQueue("orders", clock=clock)
        queue.send("a")
        summary = EventSourceMapping(
            queue, Recorder(clock, answer), report_batch_item_failures=True
        ).run()
        assert summary.deleted == 1, answer


# --- redrive ----------------------------------------------------------------------------------


def test_a_message_is_dead_lettered_on_the_receive_that_would_exceed_max_receive_count() -> None:
    """ "When the ReceiveCount for a message exceeds the maxReceiveCount for a queue, Amazon SQS
    moves the message to the dead-letter-queue" (RedrivePolicy, [2]); Lambda's part: "If a message
    fails processing multiple times, Amazon SQS can send it to a dead-letter queue" [1]. The move
    happens on the next receive attempt, not when the visibility timeout ends.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
    """
    clock = FakeClock()
    dlq = SQSQueue("orders-dlq", clock=clock)
    queue = SQSQueue("orders", dlq=dlq, max_receive_count=3, clock=clock)
    poison = queue.send("poison")
    handler = Recorder(clock, report("poison"))
    start = clock()
    summary = EventSourceMapping(queue, handler, report_batch_item_failures=True).run()
    assert handler.times() == [start, start + 30, start + 60]
    assert [d.outcome for d in summary.history[poison]] == [FAILED] * 3
    assert summary.max_receive_count == 3
    assert [m.message_id for m in summary.dead_lettered] == [poison]
    assert [m.message_id for m in dlq.messages()] == [poison]
    assert len(queue) == 0
    assert clock() == start + 90  # moved when Lambda tried to receive it a fourth time


def test_until_it_is_received_again_a_message_past_its_count_stays_in_the_queue() -> None:
    clock = FakeClock()
    queue = SQSQueue("orders", dlq=SQSQueue("dlq"), max_receive_count=1, clock=clock)
    queue.send("poison")
    mapping = EventSourceMapping(queue, Recorder(clock, raising))
    mapping.run(max_time=29)
    assert len(queue) == 1
    assert len(queue.dlq or []) == 0
    mapping.run(max_time=1)
    assert len(queue) == 0
    assert len(queue.dlq or []) == 1


# --- filtering --------------------------------------------------------------------------------


def test_filtered_out_messages_are_deleted_without_invoking_and_never_come_back() -> None:
    """ "If an Amazon SQS message doesn't satisfy your filter criteria, Lambda automatically removes
    the message from the queue" [1]. They count as deleted (Lambda deletes them) and as filtered,
    never as delivered.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    queue.send({"kind": "order", "n": 1})
    dropped = queue.send({"kind": "noise"})
    queue.send("not json")
    handler = Recorder(clock)
    summary = EventSourceMapping(
        queue, handler, filter_criteria={"body": {"kind": ["order"]}}
    ).run()
    assert handler.bodies() == [['{"kind":"order","n":1}']]
    assert (summary.filtered, summary.delivered, summary.deleted) == (2, 1, 3)
    assert [(d.invocation, d.outcome) for d in summary.history[dropped]] == [(0, FILTERED)]
    assert len(queue) == 0


def test_filtered_out_messages_do_not_count_toward_the_batch() -> None:
    """ "If you're using batching windows, Lambda applies your filter criteria to each new event to
    determine whether to add it to the current batch" [1].

    [1] https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    for i in range(4):
        queue.send({"keep": i % 2 == 0, "i": i})
    handler = Recorder(clock)
    start = clock()
    EventSourceMapping(
        queue,
        handler,
        batch_size=3,
        maximum_batching_window=20,
        filter_criteria={"body": {"keep": [True]}},
    ).run()
    assert handler.times() == [start + 20]  # two matching messages: the window had to close
    assert len(handler.bodies()[0]) == 2


# --- batching ---------------------------------------------------------------------------------


def test_batch_size_caps_each_batch_and_no_window_means_invoke_with_what_is_there() -> None:
    """ "Lambda reads messages in batches and invokes your function once for each batch"; the batch
    size is the most per batch, and with the default batching window of 0 Lambda invokes as soon as
    messages are available [1].

    [1] https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    for i in range(7):
        queue.send(str(i))
    handler = Recorder(clock)
    EventSourceMapping(queue, handler, batch_size=3).run()
    assert handler.bodies() == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert len(set(handler.times())) == 1


def test_the_batching_window_gathers_until_the_batch_is_full_or_the_window_ends() -> None:
    """ "Lambda continues to poll messages from the SQS standard queue until the batch window
    expires, the invocation payload size quota is reached, or the configured maximum batch size is
    reached" [1].

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    start = clock()
    queue.send("a")
    queue.send("b", delay_seconds=10)
    queue.send("c", delay_seconds=12)
    queue.send("d", delay_seconds=100)
    handler = Recorder(clock)
    EventSourceMapping(queue, handler, batch_size=3, maximum_batching_window=30).run()
    assert handler.bodies() == [["a", "b", "c"], ["d"]]
    assert handler.times() == [start + 12, start + 130]  # full at 12; "d" waits its window


def test_a_batch_never_exceeds_the_6_mb_invocation_payload() -> None:
    """The invocation payload quota is 6 MB ([1]; Invoke refuses "Request must be smaller than
    6291456 bytes"); a batch stops at the payload limit even before the batch size or the window
    [2].

    [1] https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    [2] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    for i in range(13):
        queue.send(f"{i:02}" + "x" * 999_998)  # 1,000,000 bytes: six fit in 6,291,456, not seven
    handler = Recorder(clock)
    start = clock()
    EventSourceMapping(queue, handler, batch_size=100, maximum_batching_window=60).run()
    assert [len(batch) for batch in handler.bodies()] == [6, 6, 1]
    for _, event in handler.events:
        assert len(json.dumps(event, separators=(",", ":")).encode()) <= 6_291_456
    # the payload limit closed the first two batches at once; the last one waited its window
    assert handler.times() == [start, start, start + 60]


# --- FIFO -------------------------------------------------------------------------------------


def fifo_queue(clock: FakeClock, **options: Any) -> SQSQueue:
    return SQSQueue(
        "orders.fifo", fifo=True, content_based_deduplication=True, clock=clock, **options
    )


def test_fifo_messages_are_delivered_in_send_order_within_each_group() -> None:
    """ "Lambda sends messages to your function in the order that it receives them ... messages in
    the same group are delivered to Lambda in order" [1]; SQS "first attempts to return as many
    messages with the same message group ID as possible" [2].

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html
    """
    clock = FakeClock()
    queue = fifo_queue(clock)
    for body, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a")]:
        queue.send(body, group_id=group)
    handler = Recorder(clock)
    EventSourceMapping(queue, handler).run()
    assert handler.bodies() == [["a1", "a2", "a3", "b1", "b2"]]


def test_a_fifo_group_is_blocked_while_one_of_its_messages_is_in_flight() -> None:
    """ "When you receive a message with a message group ID, no more messages for the same message
    group ID are returned unless you delete the message or it becomes visible" [2]; "If your
    function returns an error, the function attempts all retries on the affected messages before
    Lambda receives additional messages from the same group" [1]. Other groups go on.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html
    """
    clock = FakeClock()
    queue = fifo_queue(clock)
    queue.send("a1", group_id="a")
    handler = Recorder(clock, in_turn(raising, None))
    mapping = EventSourceMapping(queue, handler, batch_size=1)
    start = clock()
    mapping.run(max_time=1)  # a1 fails and is in flight for 30 s
    queue.send("a2", group_id="a")
    queue.send("b1", group_id="b")
    mapping.run()
    assert handler.bodies() == [["a1"], ["b1"], ["a1"], ["a2"]]
    assert handler.times() == [start, start + 1, start + 30, start + 30]


def test_fifo_with_partial_responses_returns_the_failed_message_and_the_rest_of_its_group() -> None:
    """ "If you're using this feature with a FIFO queue, your function should stop processing
    messages after the first failure and return all failed and unprocessed messages in
    batchItemFailures" [1]: those come back, in order, after the visibility timeout; the others are
    deleted.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """
    clock = FakeClock()
    queue = fifo_queue(clock)
    for body, group in [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b")]:
        queue.send(body, group_id=group)
    handler = Recorder(clock, in_turn(report("a2", "a3"), None))
    start = clock()
    summary = EventSourceMapping(queue, handler, report_batch_item_failures=True).run()
    assert handler.bodies() == [["a1", "a2", "a3", "b1"], ["a2", "a3"]]
    assert handler.times() == [start, start + 30]
    assert summary.deleted == 4


def test_fifo_deletes_what_a_partial_response_leaves_out_even_if_it_breaks_the_order() -> None:
    """Lambda deletes every message not reported [1]: a handler reporting only the failed message of
    a group loses the group's order; the model shows it.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """
    clock = FakeClock()
    queue = fifo_queue(clock)
    for body in ("a1", "a2", "a3"):
        queue.send(body, group_id="a")
    handler = Recorder(clock, in_turn(report("a2"), None))
    EventSourceMapping(queue, handler, report_batch_item_failures=True).run()
    assert handler.bodies() == [["a1", "a2", "a3"], ["a2"]]  # a3 was done before a2


# --- function timeout -------------------------------------------------------------------------


def test_a_handler_running_past_the_function_timeout_fails_the_whole_batch() -> None:
    """A function that doesn't finish "before the queue's visibility timeout" or its own timeout
    fails the batch, which becomes visible again after the visibility timeout counted from the
    receive [1].

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", visibility_timeout=30, clock=clock)
    for i in range(5):
        queue.send(str(i))

    def slow(event: dict[str, Any], context: Any) -> None:
        for _ in event["Records"]:
            clock.advance(1)

    start = clock()
    mapping = EventSourceMapping(queue, slow, function_timeout=3)
    summary = mapping.run(max_time=29)
    assert summary.invocations == 1
    assert all([d.outcome for d in h] == [TIMED_OUT] for h in summary.history.values())
    assert len(queue) == 5
    assert summary.deleted == 0
    assert clock() == start + 29
    mapping.run(max_time=1)
    assert summary.invocations == 2  # back exactly 30 s after the first receive


def test_duplicates_delivered_counts_deliveries_of_a_body_already_delivered_under_another_id() -> (
    None
):
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    queue.send("same")
    queue.send("same")
    queue.send("other")
    summary = EventSourceMapping(queue, Recorder(clock), batch_size=1).run()
    assert summary.duplicates_delivered == 1


def test_a_dead_lettered_fifo_message_unblocks_its_group() -> None:
    """A FIFO group "remains unavailable until the message blocking the queue is processed
    successfully" [1], or moved to the dead-letter queue on the receive that exceeds
    maxReceiveCount [2]; the group's next message follows.

    [1] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    [2] https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
    """
    clock = FakeClock()
    dlq = SQSQueue("orders-dlq.fifo", fifo=True, clock=clock)
    queue = fifo_queue(clock, dlq=dlq, max_receive_count=2)
    queue.send("poison", group_id="a")
    queue.send("next", group_id="a")
    handler = Recorder(clock, report("poison"))
    start = clock()
    summary = EventSourceMapping(
        queue, handler, batch_size=1, report_batch_item_failures=True
    ).run()
    assert handler.bodies() == [["poison"], ["poison"], ["next"]]
    assert handler.times() == [start, start + 30, start + 60]
    assert [m.body for m in summary.dead_lettered] == ["poison"]
