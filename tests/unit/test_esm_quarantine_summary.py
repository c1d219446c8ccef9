"""What the simulator says about messages the function moved or deleted itself.

``process_batch(quarantine=..., sqs_client=SQSClient(...))`` sends a poison message to the
quarantine queue and deletes it from the source queue itself, then leaves it out of
``batchItemFailures``. The mapping must not count that as a success it deleted: the delivery's
outcome is ``DELETED_BY_FUNCTION`` (counted in ``Summary.deleted_by_function``, not in
``succeeded`` nor ``deleted``), and the copy is in the history as ``SENT`` to the quarantine
queue, each entry naming the other. ``SQSClient.fail`` lets a test break the quarantine's
requests and see the at-least-once outcomes _retry.py documents.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lambdakit.batch import Backoff, Quarantine, process_batch
from lambdakit.testing import FakeClock
from lambdakit.testing.esm import Delivery, EventSourceMapping, SQSClient, SQSQueue, Summary
from lambdakit.testing.esm._summary import DELETED_BY_FUNCTION, FAILED, SENT, SUCCEEDED


def poison_handler(client: SQSClient, quarantine: SQSQueue, after: int = 2, **options: Any) -> Any:
    @process_batch(
        quarantine=Quarantine(after=after, to=quarantine.arn),
        sqs_client=client,
        log_failures=False,
        **options,
    )
    def handle(record: Any) -> None:
        if record.body.startswith("poison"):
            raise ValueError("cannot parse the order")

    return handle


def history(summary: Summary, key: str, start: float) -> list[Delivery]:
    """``summary.history[key]`` with times from ``start`` (the clock does not start at 0)."""
    return [replace(d, time=d.time - start) for d in summary.history[key]]


def outcomes(summary: Summary, key: str, start: float) -> list[tuple[float, str]]:
    return [(d.time, d.outcome) for d in history(summary, key, start)]


def copy_of(quarantine: SQSQueue, index: int = 0) -> str:
    return quarantine.messages()[index].message_id


def after_invocations(count: int) -> Any:
    return lambda summary: summary.invocations >= count


def test_a_quarantined_standard_message_is_deleted_by_the_function_and_sent_to_quarantine() -> None:
    clock = FakeClock()
    start = clock()
    queue = SQSQueue("orders", visibility_timeout=30, clock=clock)
    quarantine = SQSQueue("quarantine", clock=clock)
    queue.send_batch(["poison", "ok"])
    poison, ok = [m.message_id for m in queue.messages()]

    summary = EventSourceMapping(
        queue,
        poison_handler(SQSClient(queue, quarantine), quarantine),
        report_batch_item_failures=True,
    ).run()

    copy = copy_of(quarantine)
    assert history(summary, poison, start) == [
        Delivery(0.0, 1, FAILED),
        Delivery(30.0, 2, DELETED_BY_FUNCTION, to="quarantine", counterpart=copy),
    ]
    assert history(summary, copy, start) == [
        Delivery(30.0, 2, SENT, to="quarantine", counterpart=poison)
    ]
    assert outcomes(summary, ok, start) == [(0.0, SUCCEEDED)]
    # Counts: the mapping deleted "ok" only; the function deleted the poison message itself.
    assert (summary.delivered, summary.succeeded, summary.failed_attempts) == (3, 1, 1)
    assert (summary.deleted, summary.deleted_by_function, summary.sent_by_function) == (1, 1, 1)
    assert len(queue) == 0
    assert [m.body for m in quarantine.messages()] == ["poison"]


def test_a_quarantined_fifo_message_is_deleted_by_the_function_and_its_group_moves_on() -> None:
    clock = FakeClock()
    start = clock()
    queue = SQSQueue(
        "orders.fifo",
        fifo=True,
        visibility_timeout=30,
        content_based_deduplication=True,
        clock=clock,
    )
    quarantine = SQSQueue("quarantine.fifo", fifo=True, clock=clock)
    queue.send_batch(["poison", "next"], group_id="g")
    poison, after = [m.message_id for m in queue.messages()]

    summary = EventSourceMapping(
        queue,
        poison_handler(SQSClient(queue, quarantine), quarantine),
        batch_size=1,
        report_batch_item_failures=True,
    ).run()

    copy = copy_of(quarantine)
    assert history(summary, poison, start) == [
        Delivery(0.0, 1, FAILED),
        Delivery(30.0, 2, DELETED_BY_FUNCTION, to="quarantine.fifo", counterpart=copy),
    ]
    assert history(summary, copy, start) == [
        Delivery(30.0, 2, SENT, to="quarantine.fifo", counterpart=poison)
    ]
    assert outcomes(summary, after, start) == [(30.0, SUCCEEDED)]  # right after the quarantine
    assert (summary.succeeded, summary.deleted, summary.deleted_by_function) == (1, 1, 1)


def test_a_failed_quarantine_send_leaves_the_message_reported_undeleted_and_retried() -> None:
    clock = FakeClock()
    start = clock()
    queue = SQSQueue("orders", visibility_timeout=30, clock=clock)
    quarantine = SQSQueue("quarantine", clock=clock)
    client = SQSClient(queue, quarantine)
    client.fail("send_message_batch", times=1)
    queue.send("poison")
    (poison,) = [m.message_id for m in queue.messages()]
    mapping = EventSourceMapping(
        queue, poison_handler(client, quarantine, after=1), report_batch_item_failures=True
    )

    summary = mapping.run(until=after_invocations(1))
    assert outcomes(summary, poison, start) == [(0.0, FAILED)]
    assert len(queue) == 1
    assert len(quarantine) == 0
    assert not [name for name, _ in client.calls if name == "delete_message_batch"]
    assert (summary.deleted, summary.deleted_by_function, summary.sent_by_function) == (0, 0, 0)

    summary = mapping.run()  # retried after the visibility timeout; the send works this time
    assert outcomes(summary, poison, start) == [(0.0, FAILED), (30.0, DELETED_BY_FUNCTION)]
    assert len(queue) == 0
    assert [m.body for m in quarantine.messages()] == ["poison"]


def test_a_failed_delete_after_the_send_leaves_the_message_in_both_queues_and_reported() -> None:
    """The at-least-once outcome _retry.py documents: the copy is in the quarantine queue, the
    message stays in the source queue, reported in batchItemFailures; redelivered, it is
    quarantined again (a standard quarantine queue then holds two copies: a duplicate, never a
    loss)."""
    clock = FakeClock()
    start = clock()
    queue = SQSQueue("orders", visibility_timeout=30, clock=clock)
    quarantine = SQSQueue("quarantine", clock=clock)
    client = SQSClient(queue, quarantine)
    client.fail("delete_message_batch", times=1)
    queue.send("poison")
    (poison,) = [m.message_id for m in queue.messages()]
    responses: list[Any] = []
    handle = poison_handler(client, quarantine, after=1)

    def handler(event: dict[str, Any], context: Any) -> Any:
        responses.append(handle(event, context))
        return responses[-1]

    mapping = EventSourceMapping(queue, handler, report_batch_item_failures=True)
    summary = mapping.run(until=after_invocations(1))
    first_copy = copy_of(quarantine)
    assert responses == [{"batchItemFailures": [{"itemIdentifier": poison}]}]
    assert history(summary, poison, start) == [
        Delivery(0.0, 1, FAILED, to="quarantine", counterpart=first_copy)
    ]
    assert history(summary, first_copy, start) == [
        Delivery(0.0, 1, SENT, to="quarantine", counterpart=poison)
    ]
    assert len(queue) == 1
    assert len(quarantine) == 1

    summary = mapping.run()
    second_copy = copy_of(quarantine, 1)
    assert history(summary, poison, start)[-1] == Delivery(
        30.0, 2, DELETED_BY_FUNCTION, to="quarantine", counterpart=second_copy
    )
    assert len(queue) == 0
    assert [m.body for m in quarantine.messages()] == ["poison", "poison"]
    assert (summary.deleted_by_function, summary.sent_by_function) == (1, 2)


def test_a_partly_failed_visibility_change_loses_only_that_messages_back_off() -> None:
    clock = FakeClock()
    start = clock()
    queue = SQSQueue("orders", visibility_timeout=30, clock=clock)
    client = SQSClient(queue)
    queue.send_batch(["poison-a", "poison-b"])
    a, b = [m.message_id for m in queue.messages()]
    client.fail("change_message_visibility_batch", entries=[a])

    @process_batch(
        retry=Backoff(base=60, factor=1, jitter=False), sqs_client=client, log_failures=False
    )
    def handle(record: Any) -> None:
        raise ValueError("always")

    summary = EventSourceMapping(queue, handle, report_batch_item_failures=True).run(max_time=60)
    assert [t for t, _ in outcomes(summary, a, start)] == [0.0, 30.0, 60.0]  # visibility timeout
    assert [t for t, _ in outcomes(summary, b, start)] == [0.0, 60.0]  # the back-off
