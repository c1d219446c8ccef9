"""Back-off schedule and quarantine options of process_batch: the schedule's arithmetic, its cap
and jitter bounds, validation at construction and decoration, and what is asked of the SQS
client (a fake one here; the real SQS API is exercised in tests/integration)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from lambdakit.batch import Backoff, Quarantine, SQSRecord, process_batch
from lambdakit.errors import BatchConfigurationError
from lambdakit.testing import LambdaContext

ARN = "arn:aws:sqs:us-east-1:123456789012:orders"
URL = "https://sqs.us-east-1.amazonaws.com/123456789012/orders"


def test_the_delay_doubles_per_receive_from_the_base_up_to_max_delay() -> None:
    backoff = Backoff(base=2, factor=2, max_delay=60, jitter=False)
    assert [backoff.delay(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


def test_the_delay_never_exceeds_sqs_twelve_hour_visibility_limit() -> None:
    backoff = Backoff(base=1, factor=10, max_delay=10**9, jitter=False)
    assert backoff.delay(30) == 43_200
    assert backoff.delay(100_000) == 43_200  # no overflow for absurd receive counts


def test_jittered_delays_stay_between_half_and_all_of_the_delay() -> None:
    backoff = Backoff(base=10, factor=3, max_delay=5000)
    rng = random.Random(7)
    for n in range(1, 12):
        full = Backoff(base=10, factor=3, max_delay=5000, jitter=False).delay(n)
        delays = [backoff.delay(n, rng.random) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays), (n, full, min(delays), max(delays))
        assert max(delays) - min(delays) > full / 4  # actually spread, not constant


def test_visibility_is_whole_seconds_rounded_up_and_capped() -> None:
    backoff = Backoff(base=1.5, factor=1, max_delay=100, jitter=False)
    assert backoff.visibility(3) == 2
    assert Backoff(base=50_000, max_delay=50_000, jitter=False).visibility(1) == 43_200


@pytest.mark.parametrize(
    "options",
    [
        {"base": 0},
        {"base": -1},
        {"base": float("nan")},
        {"base": "1"},
        {"base": True},
        {"factor": 0.5},
        {"factor": float("inf")},
        {"max_delay": 0},
        {"base": 10, "max_delay": 5},
        {"jitter": "yes"},
    ],
)
def test_a_bad_backoff_is_refused_when_constructed(options: dict[str, Any]) -> None:
    with pytest.raises(BatchConfigurationError, match="Backoff"):
        Backoff(**options)


@pytest.mark.parametrize(
    "options",
    [
        {"after": 0, "to": URL},
        {"after": True, "to": URL},
        {"after": 1.5, "to": URL},
        {"after": 3, "to": ""},
        {"after": 3, "to": "orders-dlq"},
        {"after": 3, "to": None},
    ],
)
def test_a_bad_quarantine_is_refused_when_constructed(options: dict[str, Any]) -> None:
    with pytest.raises(BatchConfigurationError, match="Quarantine"):
        Quarantine(**options)


def test_options_are_frozen() -> None:
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        Backoff().base = 3  # type: ignore[misc]


def test_retry_and_quarantine_are_refused_at_decoration_for_another_explicit_source() -> None:
    with pytest.raises(BatchConfigurationError, match="kinesis"):
        process_batch(source="kinesis", retry=Backoff())
    with pytest.raises(BatchConfigurationError, match="retry"):
        process_batch(retry=3)  # type: ignore[call-overload]
    with pytest.raises(BatchConfigurationError, match="quarantine"):
        process_batch(quarantine="dlq")  # type: ignore[call-overload]


def test_retry_on_a_stream_batch_is_refused_at_runtime_naming_the_source() -> None:
    @process_batch(retry=Backoff())
    def handler(record: Any) -> None:
        raise ValueError("no")

    event = {
        "Records": [
            {
                "eventSource": "aws:kinesis",
                "kinesis": {"sequenceNumber": "1", "partitionKey": "k", "data": ""},
                "eventSourceARN": "arn:aws:kinesis:us-east-1:1:stream/s",
            }
        ]
    }
    with pytest.raises(BatchConfigurationError, match="kinesis"):
        handler(event, None)


class FakeSQS:
    """Answers every call with success and records what was asked."""

    def __init__(self, visibility: int = 0) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.visibility = visibility

    def get_queue_url(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("get_queue_url", kw))
        return {"QueueUrl": f"https://sqs.local/{kw['QueueOwnerAWSAccountId']}/{kw['QueueName']}"}

    def get_queue_attributes(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(("get_queue_attributes", kw))
        return {"Attributes": {"VisibilityTimeout": str(self.visibility)}}

    def _batch(self, name: str, kw: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, kw))
        return {"Successful": [{"Id": e["Id"]} for e in kw["Entries"]], "Failed": []}

    def change_message_visibility_batch(self, **kw: Any) -> dict[str, Any]:
        return self._batch("change_message_visibility_batch", kw)

    def send_message_batch(self, **kw: Any) -> dict[str, Any]:
        return self._batch("send_message_batch", kw)

    def delete_message_batch(self, **kw: Any) -> dict[str, Any]:
        return self._batch("delete_message_batch", kw)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [kw for call, kw in self.calls if call == name]


def sqs_record(i: int, receives: int, fifo: bool = False, group: str = "g") -> dict[str, Any]:
    attributes = {"ApproximateReceiveCount": str(receives)}
    if fifo:
        attributes["MessageGroupId"] = group
    return {
        "messageId": f"m{i}",
        "receiptHandle": f"rh{i}",
        "body": f"body {i}",
        "attributes": attributes,
        "messageAttributes": {
            "kind": {"stringValue": "order", "dataType": "String", "stringListValues": []}
        },
        "eventSource": "aws:sqs",
        "eventSourceARN": ARN + (".fifo" if fifo else ""),
    }


def test_failed_records_get_their_scheduled_visibility_in_batches_of_ten() -> None:
    sqs = FakeSQS()

    @process_batch(retry=Backoff(base=10, jitter=False), sqs_client=sqs)
    def handler(record: SQSRecord) -> None:
        if record.message_id != "m0":
            raise ValueError("down")

    event = {"Records": [sqs_record(i, receives=1 + i % 3) for i in range(23)]}
    response = handler(event, LambdaContext())

    assert len(response["batchItemFailures"]) == 22
    requests = sqs.named("change_message_visibility_batch")
    assert [len(r["Entries"]) for r in requests] == [10, 10, 2]
    entries = {e["ReceiptHandle"]: e["VisibilityTimeout"] for r in requests for e in r["Entries"]}
    assert (entries["rh1"], entries["rh2"], entries["rh3"]) == (20, 40, 10)
    assert "rh0" not in entries
    assert len(sqs.named("get_queue_url")) == 1  # cached per ARN


def test_a_backoff_shorter_than_the_queue_visibility_timeout_is_not_applied() -> None:
    sqs = FakeSQS(visibility=30)

    @process_batch(retry=Backoff(base=10, jitter=False), sqs_client=sqs)
    def handler(record: SQSRecord) -> None:
        raise ValueError("down")

    handler({"Records": [sqs_record(1, receives=1), sqs_record(2, receives=3)]}, None)
    entries = [e for r in sqs.named("change_message_visibility_batch") for e in r["Entries"]]
    assert [(e["ReceiptHandle"], e["VisibilityTimeout"]) for e in entries] == [("rh2", 40)]


def test_records_not_run_behind_a_failure_in_their_fifo_group_are_not_penalised() -> None:
    sqs = FakeSQS()

    @process_batch(
        retry=Backoff(base=10, jitter=False),
        quarantine=Quarantine(after=2, to=URL + "-q.fifo"),
        sqs_client=sqs,
    )
    def handler(record: SQSRecord) -> None:
        raise ValueError("poison")

    records = [sqs_record(i, receives=5, fifo=True) for i in range(3)]
    response = handler({"Records": records}, None)

    assert response["batchItemFailures"] == [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]
    (sent,) = sqs.named("send_message_batch")
    (entry,) = sent["Entries"]
    assert entry["MessageBody"] == "body 0"
    assert (entry["MessageGroupId"], entry["MessageDeduplicationId"]) == ("g", "m0")
    assert entry["MessageAttributes"]["kind"] == {"DataType": "String", "StringValue": "order"}
    assert "ValueError: poison" in entry["MessageAttributes"]["lambdakit.failure"]["StringValue"]
    (deleted,) = sqs.named("delete_message_batch")
    assert [e["ReceiptHandle"] for e in deleted["Entries"]] == ["rh0"]
    assert sqs.named("change_message_visibility_batch") == []  # m1, m2 never ran


def test_without_retry_or_quarantine_no_client_is_touched() -> None:
    class Untouchable:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"called {name}")

    @process_batch(sqs_client=Untouchable())
    def handler(record: SQSRecord) -> None:
        raise ValueError("down")

    assert len(handler({"Records": [sqs_record(1, 9)]}, None)["batchItemFailures"]) == 1


def test_out_of_time_nothing_is_sent_and_unsent_quarantines_stay_reported() -> None:
    sqs = FakeSQS()

    @process_batch(
        retry=Backoff(),
        quarantine=Quarantine(after=1, to=URL + "-q"),
        sqs_client=sqs,
        deadline_margin_ms=0,
    )
    def handler(record: SQSRecord) -> None:
        raise ValueError("down")

    context = LambdaContext(timeout=0.1)  # less than the time kept for a request
    response = handler({"Records": [sqs_record(1, 3)]}, context)
    assert response["batchItemFailures"] == [{"itemIdentifier": "m1"}]
    assert [name for name, _ in sqs.calls] == []


def test_a_quarantined_record_is_logged_as_moved_away_and_not_counted_as_retried(
    caplog: Any,
) -> None:
    # m1 has been received 3 times: quarantined; m2 (first receive) is reported for retry.
    sqs = FakeSQS()

    @process_batch(quarantine=Quarantine(after=3, to=URL + "-q"), sqs_client=sqs)
    def handler(record: SQSRecord) -> None:
        raise ValueError("down")

    with caplog.at_level("WARNING", logger="lambdakit.batch"):
        response = handler({"Records": [sqs_record(1, 3), sqs_record(2, 1)]}, LambdaContext())
    assert response["batchItemFailures"] == [{"itemIdentifier": "m2"}]
    messages = [record.getMessage() for record in caplog.records]
    [summary] = [m for m in messages if m.startswith("Batch of 2")]
    assert (
        "1 reported for retry (2 failed), 1 of the failed moved to the quarantine queue" in summary
    )
    [m1] = [m for m in messages if "m1" in m and not m.startswith("Batch")]
    assert "failed and was moved to the quarantine queue (attempt 3)" in m1
    [m2] = [m for m in messages if "m2" in m and not m.startswith("Batch")]
    assert "failed and will be retried (attempt 1)" in m2
