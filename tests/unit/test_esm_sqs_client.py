"""``SQSClient``: a boto3-shaped SQS client over in-memory SQSQueue models, with SQS's rules
(API reference of GetQueueUrl, SendMessage(Batch), ChangeMessageVisibility(Batch),
DeleteMessageBatch): current receipt handles only, per-entry failures in ``Failed``, visibility
set from the call, FIFO group and deduplication IDs required and honoured."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdakit.errors import EventSourceMappingError
from lambdakit.testing import FakeClock
from lambdakit.testing.esm import EventSourceMapping, SQSClient, SQSQueue
from lambdakit.testing.esm._summary import DELETED_BY_FUNCTION, FAILED, SUCCEEDED


def receive(queue: SQSQueue) -> list[dict[str, Any]]:
    """Receive every receivable message now, as a consumer would: the records (with their
    receipt handles)."""
    now = queue.clock()
    records = []
    for message in queue._receivable(now):
        record = queue._record(message, now, queue._receipt())
        queue._receive(message, now, record["receiptHandle"])
        records.append(record)
    return records


def url(client: SQSClient, queue: SQSQueue) -> str:
    return str(client.get_queue_url(QueueName=queue.name)["QueueUrl"])


def test_get_queue_url_finds_a_queue_by_name_and_account_and_refuses_an_unknown_one() -> None:
    queue = SQSQueue("orders")
    client = SQSClient(queue)
    found = client.get_queue_url(QueueName="orders", QueueOwnerAWSAccountId=queue.account_id)
    assert found == {
        "QueueUrl": f"https://sqs.{queue.region}.amazonaws.com/{queue.account_id}/orders"
    }
    for kwargs in (
        {"QueueName": "missing"},
        {"QueueName": "orders", "QueueOwnerAWSAccountId": "1"},
    ):
        with pytest.raises(ClientError) as caught:
            client.get_queue_url(**kwargs)
        assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_get_queue_attributes_reports_the_visibility_timeout_and_refuses_unknown_names() -> None:
    queue = SQSQueue("orders.fifo", fifo=True, visibility_timeout=45)
    client = SQSClient(queue)
    answer = client.get_queue_attributes(
        QueueUrl=url(client, queue), AttributeNames=["VisibilityTimeout", "FifoQueue"]
    )
    assert answer == {"Attributes": {"VisibilityTimeout": "45", "FifoQueue": "true"}}
    every = client.get_queue_attributes(QueueUrl=url(client, queue))["Attributes"]
    assert every["QueueArn"] == queue.arn
    with pytest.raises(ClientError) as caught:
        client.get_queue_attributes(QueueUrl=url(client, queue), AttributeNames=["Nope"])
    assert caught.value.response["Error"]["Code"] == "InvalidAttributeName"


def test_a_visibility_change_delays_the_next_receive_on_the_queues_clock() -> None:
    clock = FakeClock()
    queue = SQSQueue("orders", visibility_timeout=30, clock=clock)
    queue.send("a")
    client = SQSClient(queue)
    (record,) = receive(queue)
    clock.advance(10)
    response = client.change_message_visibility_batch(
        QueueUrl=url(client, queue),
        Entries=[{"Id": "0", "ReceiptHandle": record["receiptHandle"], "VisibilityTimeout": 120}],
    )
    assert response == {"Successful": [{"Id": "0"}]}
    clock.advance(119)  # the timeout counts from the call (t=10), not from the receive
    assert receive(queue) == []
    clock.advance(1)
    assert [r["body"] for r in receive(queue)] == ["a"]


def test_a_visibility_of_zero_makes_the_message_receivable_at_once() -> None:
    queue = SQSQueue("orders", visibility_timeout=30)
    queue.send("a")
    client = SQSClient(queue)
    (record,) = receive(queue)
    client.change_message_visibility_batch(
        QueueUrl=url(client, queue),
        Entries=[{"Id": "0", "ReceiptHandle": record["receiptHandle"], "VisibilityTimeout": 0}],
    )
    assert [r["attributes"]["ApproximateReceiveCount"] for r in receive(queue)] == ["2"]


def test_a_bad_receipt_handle_fails_only_its_entry_as_receipt_handle_is_invalid() -> None:
    clock = FakeClock()
    queue = SQSQueue("orders", visibility_timeout=30, clock=clock)
    queue.send_batch(["a", "b", "c"])
    client = SQSClient(queue)
    first = receive(queue)
    clock.advance(31)  # the first receive's visibility is over: its handles have expired
    second = receive(queue)
    entries = [
        {"Id": "expired", "ReceiptHandle": first[0]["receiptHandle"], "VisibilityTimeout": 60},
        {"Id": "unknown", "ReceiptHandle": "AQEBnot-a-handle", "VisibilityTimeout": 60},
        {"Id": "current", "ReceiptHandle": second[1]["receiptHandle"], "VisibilityTimeout": 60},
    ]
    response = client.change_message_visibility_batch(QueueUrl=url(client, queue), Entries=entries)
    assert response["Successful"] == [{"Id": "current"}]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in response["Failed"]] == [
        ("expired", "ReceiptHandleIsInvalid", True),
        ("unknown", "ReceiptHandleIsInvalid", True),
    ]
    deleted = client.delete_message_batch(
        QueueUrl=url(client, queue),
        Entries=[{"Id": "stale", "ReceiptHandle": first[2]["receiptHandle"]}],
    )
    assert [f["Code"] for f in deleted["Failed"]] == ["ReceiptHandleIsInvalid"]
    assert len(queue) == 3  # nothing was deleted by a stale handle


def test_an_expired_handle_cannot_change_visibility_once_the_timeout_is_over() -> None:
    clock = FakeClock()
    queue = SQSQueue("orders", visibility_timeout=30, clock=clock)
    queue.send("a")
    client = SQSClient(queue)
    (record,) = receive(queue)
    clock.advance(30)
    response = client.change_message_visibility_batch(
        QueueUrl=url(client, queue),
        Entries=[{"Id": "0", "ReceiptHandle": record["receiptHandle"], "VisibilityTimeout": 60}],
    )
    assert response["Successful"] == []
    assert response["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"


@pytest.mark.parametrize("timeout", [-1, 43_201, "60", True])
def test_a_visibility_timeout_outside_0_to_12_hours_fails_its_entry(timeout: Any) -> None:
    queue = SQSQueue("orders")
    queue.send("a")
    client = SQSClient(queue)
    (record,) = receive(queue)
    response = client.change_message_visibility_batch(
        QueueUrl=url(client, queue),
        Entries=[
            {"Id": "0", "ReceiptHandle": record["receiptHandle"], "VisibilityTimeout": timeout}
        ],
    )
    assert response["Failed"][0]["Code"] == "InvalidParameterValue"


def test_visibility_cannot_extend_past_12_hours_after_the_receive() -> None:
    clock = FakeClock()
    queue = SQSQueue("orders", visibility_timeout=600, clock=clock)
    queue.send("a")
    client = SQSClient(queue)
    (record,) = receive(queue)
    clock.advance(100)
    entry = {"Id": "0", "ReceiptHandle": record["receiptHandle"]}
    queue_url = url(client, queue)
    too_long = client.change_message_visibility_batch(
        QueueUrl=queue_url, Entries=[{**entry, "VisibilityTimeout": 43_200}]
    )
    assert too_long["Failed"][0]["Code"] == "InvalidParameterValue"
    longest = client.change_message_visibility_batch(
        QueueUrl=queue_url, Entries=[{**entry, "VisibilityTimeout": 43_100}]
    )
    assert longest == {"Successful": [{"Id": "0"}]}


def test_delete_removes_the_message_and_deleting_again_with_its_handle_succeeds() -> None:
    queue = SQSQueue("orders")
    queue.send_batch(["a", "b"])
    client = SQSClient(queue)
    records = receive(queue)
    entries = [{"Id": "a", "ReceiptHandle": records[0]["receiptHandle"]}]
    assert client.delete_message_batch(QueueUrl=url(client, queue), Entries=entries) == {
        "Successful": [{"Id": "a"}]
    }
    assert [m.body for m in queue.messages()] == ["b"]
    again = client.delete_message_batch(QueueUrl=url(client, queue), Entries=entries)
    assert again == {"Successful": [{"Id": "a"}]}


def test_send_message_to_a_fifo_queue_needs_a_group_id_and_dedups_by_deduplication_id() -> None:
    quarantine = SQSQueue("quarantine.fifo", fifo=True)
    client = SQSClient(quarantine)
    quarantine_url = url(client, quarantine)
    with pytest.raises(ClientError) as caught:
        client.send_message(QueueUrl=quarantine_url, MessageBody="x", MessageDeduplicationId="m1")
    assert caught.value.response["Error"]["Code"] == "MissingParameter"
    assert caught.value.operation_name == "SendMessage"
    sent = client.send_message(
        QueueUrl=quarantine_url,
        MessageBody="x",
        MessageGroupId="g",
        MessageDeduplicationId="m1",
        MessageAttributes={"lambdakit.failure": {"DataType": "String", "StringValue": "E: x"}},
    )
    again = client.send_message(
        QueueUrl=quarantine_url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="m1"
    )
    assert again["MessageId"] == sent["MessageId"]
    assert set(sent) == {
        "MessageId",
        "MD5OfMessageBody",
        "MD5OfMessageAttributes",
        "SequenceNumber",
    }
    (message,) = quarantine.messages()
    assert message.attributes["MessageGroupId"] == "g"
    assert message.attributes["MessageDeduplicationId"] == "m1"
    assert message.message_attributes["lambdakit.failure"]["stringValue"] == "E: x"


def test_send_message_batch_fails_invalid_entries_alone_and_refuses_a_bad_request() -> None:
    quarantine = SQSQueue("quarantine.fifo", fifo=True)
    client = SQSClient(quarantine)
    quarantine_url = url(client, quarantine)
    response = client.send_message_batch(
        QueueUrl=quarantine_url,
        Entries=[
            {"Id": "ok", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
            {"Id": "no-group", "MessageBody": "b", "MessageDeduplicationId": "2"},
        ],
    )
    assert [s["Id"] for s in response["Successful"]] == ["ok"]
    assert [(f["Id"], f["Code"]) for f in response["Failed"]] == [("no-group", "MissingParameter")]
    assert [m.body for m in quarantine.messages()] == ["a"]
    refused = {
        "AWS.SimpleQueueService.EmptyBatchRequest": [],
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest": [
            {"Id": str(i), "MessageBody": "a", "MessageGroupId": "g"} for i in range(11)
        ],
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct": [
            {"Id": "1", "MessageBody": "a", "MessageGroupId": "g"},
            {"Id": "1", "MessageBody": "b", "MessageGroupId": "g"},
        ],
    }
    for code, entries in refused.items():
        with pytest.raises(ClientError) as caught:
            client.send_message_batch(QueueUrl=quarantine_url, Entries=entries)
        assert caught.value.response["Error"]["Code"] == code


def test_a_call_to_an_unknown_queue_url_raises_non_existent_queue() -> None:
    client = SQSClient(SQSQueue("orders"))
    with pytest.raises(ClientError) as caught:
        client.send_message(QueueUrl="https://sqs.example/1/missing", MessageBody="x")
    assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert client.calls == [
        ("send_message", {"QueueUrl": "https://sqs.example/1/missing", "MessageBody": "x"})
    ]


def test_a_client_refuses_anything_but_queues_and_a_queue_given_twice() -> None:
    queue = SQSQueue("orders")
    with pytest.raises(EventSourceMappingError, match=r"queues\[0\]"):
        SQSClient("orders")  # type: ignore[arg-type]
    with pytest.raises(EventSourceMappingError, match="given twice"):
        SQSClient(queue, SQSQueue("orders"))


def test_a_handler_using_the_client_in_a_mapping_shows_its_back_off_and_quarantine() -> None:
    """What the client does inside an invocation is what the mapping sees next: a back-off
    delays the redelivery in Summary.history; a quarantined FIFO message unblocks its group."""
    clock = FakeClock()
    queue = SQSQueue(
        "orders.fifo",
        fifo=True,
        visibility_timeout=30,
        content_based_deduplication=True,
        clock=clock,
    )
    quarantine = SQSQueue("quarantine.fifo", fifo=True, clock=clock)
    client = SQSClient(queue, quarantine)
    queue.send_batch(["poison", "next"], group_id="g")
    queue_ids = [m.message_id for m in queue.messages()]
    queue_url, quarantine_url = url(client, queue), url(client, quarantine)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failed = []
        for record in event["Records"]:
            if record["body"] != "poison":
                continue
            count = int(record["attributes"]["ApproximateReceiveCount"])
            handle = record["receiptHandle"]
            if count < 2:
                client.change_message_visibility_batch(
                    QueueUrl=queue_url,
                    Entries=[{"Id": "0", "ReceiptHandle": handle, "VisibilityTimeout": 300}],
                )
                failed.append({"itemIdentifier": record["messageId"]})
            else:
                client.send_message(
                    QueueUrl=quarantine_url,
                    MessageBody=record["body"],
                    MessageGroupId=record["attributes"]["MessageGroupId"],
                    MessageDeduplicationId=record["messageId"],
                )
                client.delete_message_batch(
                    QueueUrl=queue_url, Entries=[{"Id": "0", "ReceiptHandle": handle}]
                )
        return {"batchItemFailures": failed}

    start = clock()
    summary = EventSourceMapping(
        queue, handler, batch_size=1, report_batch_item_failures=True
    ).run()
    poison, after = queue_ids
    assert [(d.time - start, d.outcome) for d in summary.history[poison]] == [
        (0.0, FAILED),
        # the back-off (300 s), not the visibility timeout (30 s); deleted by the handler itself
        (300.0, DELETED_BY_FUNCTION),
    ]
    # The group waited behind the poison message until it was quarantined, then moved on.
    assert [d.time - start for d in summary.history[after]] == [300.0]
    assert len(queue) == 0
    assert [m.body for m in quarantine.messages()] == ["poison"]


def test_process_batch_back_off_and_quarantine_show_in_the_mappings_history() -> None:
    """End to end: process_batch(retry=..., quarantine=..., sqs_client=SQSClient(...)) under
    EventSourceMapping. The poison message comes back after 60 s, then 120 s (the back-off,
    not the 30 s visibility timeout), is quarantined on its third receive (FIFO: group and
    deduplication IDs kept, failure reason attached), and its group then moves on."""
    from lambdakit.batch import Backoff, Quarantine, process_batch

    clock = FakeClock()
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

    @process_batch(
        retry=Backoff(base=60, factor=2, jitter=False),
        quarantine=Quarantine(after=3, to=quarantine.arn),
        sqs_client=SQSClient(queue, quarantine),
        log_failures=False,
    )
    def handle(record: Any) -> None:
        if record.body == "poison":
            raise ValueError("cannot parse the order")

    start = clock()
    summary = EventSourceMapping(queue, handle, report_batch_item_failures=True).run()
    assert [(d.time - start, d.outcome) for d in summary.history[poison]] == [
        (0.0, FAILED),
        (60.0, FAILED),  # back-off after the 1st receive: base
        # after the 2nd: base * factor; quarantined (sent, then deleted by process_batch itself)
        (180.0, DELETED_BY_FUNCTION),
    ]
    # Not run while its group was stopped: reported without a back-off (it returns after the
    # queue's 30 s visibility timeout), then run once the poison message has left the group.
    assert [(d.time - start, d.outcome) for d in summary.history[after]] == [
        (0.0, FAILED),
        (60.0, FAILED),
        (180.0, FAILED),
        (210.0, SUCCEEDED),
    ]
    assert len(queue) == 0
    assert summary.dead_lettered == []
    (moved,) = quarantine.messages()
    assert moved.body == "poison"
    assert moved.attributes["MessageGroupId"] == "g"
    assert moved.attributes["MessageDeduplicationId"] == poison
    assert "cannot parse the order" in moved.message_attributes["lambdakit.failure"]["stringValue"]


# --- fault injection: SQSClient.fail ------------------------------------------------------------


def test_a_whole_request_failure_raises_client_error_is_recorded_and_changes_nothing() -> None:
    """``fail(operation)`` makes the next requests of that operation raise botocore's
    ClientError with the code given (``InternalError`` by default, a 500 as SQS answers it);
    the call is still in ``.calls``, and nothing was sent, deleted or hidden."""
    clock = FakeClock()
    queue, other = SQSQueue("orders", clock=clock), SQSQueue("quarantine", clock=clock)
    client = SQSClient(queue, other)
    queue.send("a")
    (record,) = receive(queue)
    handle = record["receiptHandle"]
    client.fail("send_message_batch")
    client.fail("delete_message_batch", code="ServiceUnavailable")
    client.fail("change_message_visibility_batch", code="RequestThrottled")

    with pytest.raises(ClientError) as sent:
        client.send_message_batch(
            QueueUrl=url(client, other), Entries=[{"Id": "0", "MessageBody": "a"}]
        )
    assert sent.value.response["Error"]["Code"] == "InternalError"
    assert sent.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert sent.value.operation_name == "SendMessageBatch"
    with pytest.raises(ClientError, match="ServiceUnavailable"):
        client.delete_message_batch(
            QueueUrl=url(client, queue), Entries=[{"Id": "0", "ReceiptHandle": handle}]
        )
    with pytest.raises(ClientError, match="RequestThrottled"):
        client.change_message_visibility_batch(
            QueueUrl=url(client, queue),
            Entries=[{"Id": "0", "ReceiptHandle": handle, "VisibilityTimeout": 0}],
        )
    assert [name for name, _ in client.calls if name != "get_queue_url"] == [
        "send_message_batch",
        "delete_message_batch",
        "change_message_visibility_batch",
    ]
    assert len(other) == 0
    assert len(queue) == 1
    assert receive(queue) == []  # still in flight: the visibility change did not happen


def test_a_failure_given_times_fails_that_many_requests_then_the_client_works_again() -> None:
    queue = SQSQueue("orders")
    client = SQSClient(queue)
    client.fail("send_message_batch", times=2)
    entries = [{"Id": "0", "MessageBody": "a"}]
    for _ in range(2):
        with pytest.raises(ClientError):
            client.send_message_batch(QueueUrl=url(client, queue), Entries=entries)
    assert "Failed" not in client.send_message_batch(QueueUrl=url(client, queue), Entries=entries)
    assert [m.body for m in queue.messages()] == ["a"]


def test_heal_removes_the_injected_failures() -> None:
    queue = SQSQueue("orders")
    client = SQSClient(queue)
    client.fail("send_message")
    client.heal()
    client.send_message(QueueUrl=url(client, queue), MessageBody="a")
    assert len(queue) == 1


def test_an_entry_failure_fails_only_the_chosen_entries_as_a_server_fault() -> None:
    """``fail(operation, entries=...)``: the entries chosen (by entry Id, by the message ID a
    receipt handle was issued for, or by a predicate on the entry) are in ``Failed`` with
    ``SenderFault: False`` and the code, as boto3 returns a server-side entry failure; the
    others succeed."""
    clock = FakeClock()
    queue, other = SQSQueue("orders", clock=clock), SQSQueue("quarantine", clock=clock)
    client = SQSClient(queue, other)
    queue.send_batch(["a", "b", "c"])
    a, b, c = receive(queue)
    client.fail("delete_message_batch", entries=[b["messageId"]])
    client.fail("change_message_visibility_batch", entries=["x"], code="ServiceUnavailable")
    client.fail("send_message_batch", entries=lambda entry: entry["MessageBody"] == "b")

    deleted = client.delete_message_batch(
        QueueUrl=url(client, queue),
        Entries=[
            {"Id": "a", "ReceiptHandle": a["receiptHandle"]},
            {"Id": "b", "ReceiptHandle": b["receiptHandle"]},
        ],
    )
    assert deleted["Successful"] == [{"Id": "a"}]
    ((failed),) = deleted["Failed"]
    assert (failed["Id"], failed["SenderFault"], failed["Code"]) == ("b", False, "InternalError")
    assert [m.body for m in queue.messages()] == ["b", "c"]

    changed = client.change_message_visibility_batch(
        QueueUrl=url(client, queue),
        Entries=[
            {"Id": "x", "ReceiptHandle": b["receiptHandle"], "VisibilityTimeout": 0},
            {"Id": "y", "ReceiptHandle": c["receiptHandle"], "VisibilityTimeout": 0},
        ],
    )
    assert changed["Successful"] == [{"Id": "y"}]
    assert [(f["Id"], f["SenderFault"], f["Code"]) for f in changed["Failed"]] == [
        ("x", False, "ServiceUnavailable")
    ]
    assert [r["body"] for r in receive(queue)] == ["c"]  # b stayed hidden

    sent = client.send_message_batch(
        QueueUrl=url(client, other),
        Entries=[{"Id": "0", "MessageBody": "a"}, {"Id": "1", "MessageBody": "b"}],
    )
    assert [s["Id"] for s in sent["Successful"]] == ["0"]
    assert [(f["Id"], f["SenderFault"]) for f in sent["Failed"]] == [("1", False)]
    assert [m.body for m in other.messages()] == ["a"]


def test_fail_refuses_an_unknown_operation_entries_on_a_single_call_and_a_bad_count() -> None:
    client = SQSClient(SQSQueue("orders"))
    with pytest.raises(EventSourceMappingError, match="'receive_message'"):
        client.fail("receive_message")
    with pytest.raises(EventSourceMappingError, match="entries"):
        client.fail("send_message", entries=["0"])
    with pytest.raises(EventSourceMappingError, match="times=0"):
        client.fail("send_message_batch", times=0)
    with pytest.raises(EventSourceMappingError, match="code=''"):
        client.fail("send_message_batch", code="")
