"""The SQS model driving the real lambdakit stack, as users will write these tests:
``process_batch`` (partial batch responses, FIFO group handling, deadline awareness) and
``idempotent`` on an ``InMemoryStore``, against what Lambda and SQS do with the answers."""

from __future__ import annotations

from collections import Counter
from typing import Any

from lambdakit.batch import SQSRecord, process_batch
from lambdakit.idempotency import InMemoryStore, idempotent
from lambdakit.testing import FakeClock
from lambdakit.testing.esm import EventSourceMapping
from lambdakit.testing.esm._sqs import SQSQueue
from lambdakit.testing.esm._summary import SUCCEEDED, TIMED_OUT


def test_process_batch_reports_the_poison_message_and_the_dlq_takes_it() -> None:
    """With ReportBatchItemFailures only the failed message returns [1]; after maxReceiveCount
    receives SQS moves it to the DLQ; every good order takes effect once.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """
    clock = FakeClock()
    dlq = SQSQueue("orders-dlq", clock=clock)
    queue = SQSQueue("orders", dlq=dlq, max_receive_count=3, clock=clock)
    for order in ("1", "poison", "2", "3"):
        queue.send({"order_id": order})
    charged: list[str] = []

    @process_batch
    def charge(record: SQSRecord) -> None:
        order = record.json()["order_id"]
        if order == "poison":
            raise ValueError("cannot charge")
        charged.append(order)

    summary = EventSourceMapping(queue, charge, report_batch_item_failures=True).run()
    assert charged == ["1", "2", "3"]
    assert [m.body for m in summary.dead_lettered] == ['{"order_id":"poison"}']
    assert [m.body for m in dlq.messages()] == ['{"order_id":"poison"}']
    assert (summary.invocations, summary.deleted, summary.failed_attempts) == (3, 3, 3)
    assert len(queue) == 0


def test_a_partial_response_without_report_batch_item_failures_loses_the_failed_message() -> None:
    """Partial batch responses count only with ReportBatchItemFailures [1]: without it,
    process_batch's response is ignored and Lambda deletes the whole batch, the failed message
    included. The model makes the misconfiguration visible in a unit test.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """
    clock = FakeClock()
    dlq = SQSQueue("orders-dlq", clock=clock)
    queue = SQSQueue("orders", dlq=dlq, max_receive_count=2, clock=clock)
    for order in ("1", "poison"):
        queue.send({"order_id": order})

    @process_batch
    def charge(record: SQSRecord) -> None:
        if record.json()["order_id"] == "poison":
            raise ValueError("cannot charge")

    summary = EventSourceMapping(queue, charge).run()
    assert summary.invocations == 1
    assert summary.deleted == 2
    assert summary.dead_lettered == []
    assert len(dlq) == 0


def test_a_handler_that_raises_retries_the_whole_batch_until_the_dlq_takes_it() -> None:
    """ "By default, if your function encounters an error while processing a batch, all messages in
    that batch become visible in the queue again" [1]: the good order is charged on every attempt,
    and both messages end in the DLQ.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    clock = FakeClock()
    dlq = SQSQueue("orders-dlq", clock=clock)
    queue = SQSQueue("orders", dlq=dlq, max_receive_count=2, clock=clock)
    for order in ("1", "poison"):
        queue.send({"order_id": order})
    charged: list[str] = []

    def charge(event: dict[str, Any], context: Any) -> None:
        for record in event["Records"]:
            order = SQSRecord(record).json()["order_id"]
            if order == "poison":
                raise ValueError("cannot charge")
            charged.append(order)

    summary = EventSourceMapping(queue, charge).run()
    assert charged == ["1", "1"]
    assert len(summary.dead_lettered) == 2
    assert len(dlq) == 2


def test_idempotent_charges_each_order_once_across_duplicates_and_redeliveries() -> None:
    """At-least-once delivery ([1]: "Lambda event source mappings process each event at least once")
    meets @idempotent: a producer's duplicate and a retried batch charge once.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    clock = FakeClock()
    queue = SQSQueue("orders", clock=clock)
    store = InMemoryStore(clock=clock)
    for order in ("1", "2", "1", "3"):  # the producer sent order 1 twice
        queue.send({"order_id": order})
    effects: Counter[str] = Counter()
    flaky = {"3": 1}  # order 3's downstream call fails once

    @process_batch
    @idempotent(store, key="body.order_id")
    def charge(record: SQSRecord) -> str:
        order = record.json()["order_id"]
        if flaky.get(order):
            flaky[order] -= 1
            raise ConnectionError("downstream timeout")
        effects[order] += 1
        return f"charged {order}"

    summary = EventSourceMapping(queue, charge, batch_size=2, report_batch_item_failures=True).run()
    assert effects == {"1": 1, "2": 1, "3": 1}
    assert summary.duplicates_delivered == 1
    assert summary.max_receive_count == 2
    assert summary.deleted == 4
    assert len(queue) == 0


def test_process_batch_keeps_fifo_groups_in_order_across_a_failure() -> None:
    """FIFO with partial responses: the handler "should stop processing messages after the first
    failure and return all failed and unprocessed messages" [1]; process_batch does so per group,
    other groups proceed, and the group resumes in order after the visibility timeout.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """
    clock = FakeClock()
    queue = SQSQueue("payments.fifo", fifo=True, content_based_deduplication=True, clock=clock)
    for account, step in [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3)]:
        queue.send({"account": account, "step": step}, group_id=account)
    applied: list[tuple[str, int]] = []
    failing = {("a", 2)}

    @process_batch
    def apply(record: SQSRecord) -> None:
        payment = record.json()
        key = (payment["account"], payment["step"])
        if key in failing:
            failing.discard(key)
            raise RuntimeError("ledger locked")
        applied.append(key)

    start = clock()
    summary = EventSourceMapping(queue, apply, report_batch_item_failures=True).run()
    assert applied == [("a", 1), ("b", 1), ("b", 2), ("a", 2), ("a", 3)]
    assert [s for a, s in applied if a == "a"] == [1, 2, 3]
    assert summary.invocations == 2
    assert clock() == start + 30


def test_process_batch_deadline_awareness_turns_a_timeout_into_a_partial_response() -> None:
    """A handler that runs past the function timeout fails the whole batch: every message comes back
    after the visibility timeout, counted from the receive [1]. process_batch stops starting records
    ``deadline_margin_ms`` before the deadline and reports the rest, so the handled messages are
    deleted and only the others come back.

    [1] https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
    """
    records = 10

    def run(margin_ms: float) -> tuple[Any, SQSQueue, FakeClock, list[str]]:
        clock = FakeClock()
        queue = SQSQueue("orders", visibility_timeout=30, clock=clock)
        for i in range(records):
            queue.send(str(i))
        handled: list[str] = []

        @process_batch(deadline_margin_ms=margin_ms)
        def slow(record: SQSRecord) -> None:
            clock.advance(1)  # one simulated second per record
            handled.append(record.body)

        mapping = EventSourceMapping(
            queue, slow, function_timeout=5, report_batch_item_failures=True
        )
        return mapping, queue, clock, handled

    # No margin: the 10-second batch times out; all ten come back 30 s after the receive.
    mapping, queue, clock, _ = run(0)
    start = clock()
    summary = mapping.run(max_time=29)
    assert summary.invocations == 1
    assert summary.deleted == 0
    assert len(queue) == records
    assert {h[0].outcome for h in summary.history.values()} == {TIMED_OUT}
    mapping.run(max_time=1)
    assert summary.invocations == 2
    assert {tuple(d.time for d in h) for h in summary.history.values()} == {(start, start + 30)}

    # A 1.5 s margin: four records fit before 3.5 s, the other six are reported and retried.
    mapping, queue, clock, handled = run(1500)
    start = clock()
    summary = mapping.run(max_time=29)
    assert summary.invocations == 1
    assert handled == ["0", "1", "2", "3"]
    assert summary.deleted == 4
    assert len(queue) == 6
    summary = mapping.run()
    assert handled == [str(i) for i in range(records)]  # each handled once, in order
    assert all([d.outcome for d in h][-1] == SUCCEEDED for h in summary.history.values())
    assert summary.succeeded == records
    assert summary.invocations == 3
    assert clock() == start + 60 + 2  # two retries 30 s apart; the last batch took 2 s
