"""The telemetry example behaves as its docstring says, driven the way Lambda drives it.

Every run goes through ``EventSourceMapping.from_template``: the stream, batch size, filter
criteria, partial responses, bisect, retries and on-failure destination are the template's.
The aggregates live in DynamoDB Local (the ``dynamodb_local`` fixture of lambdakit's pytest
plugin), in a fresh table per test. Failures are made on purpose by wrapping the DynamoDB
client (throttling, a call that hangs) or by sending a reading the function refuses.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lambdakit.testing import FakeClock, LambdaContext, kinesis_event
from lambdakit.testing.dynamodb_local import DynamoDBLocal
from lambdakit.testing.esm import EventSourceMapping, KinesisStream, SQSQueue

EXAMPLE = Path(__file__).resolve().parents[1]
TEMPLATE = EXAMPLE / "template.yaml"
FUNCTION = "TelemetryFunction"


@pytest.fixture(scope="module")
def app() -> ModuleType:
    """The example's ``app.py``, imported by path under a name of its own (every example has an
    ``app`` module). Importing it makes no AWS request."""
    name = "kinesis_telemetry_app"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def table(app: ModuleType, dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh aggregates table on DynamoDB Local, which the app writes to for this test."""
    name = f"telemetry-{uuid.uuid4().hex[:8]}"
    dynamodb_local.create_idempotency_table(name, key_attr="device_id")  # the template's keys
    monkeypatch.setattr(app, "aggregates", app.Aggregates(name, client=dynamodb_local.client()))
    return name


def deployed(app: ModuleType, **overrides: Any) -> EventSourceMapping:
    """The mapping ``sam deploy`` creates for the function, on a stream of its own."""
    return EventSourceMapping.from_template(TEMPLATE, FUNCTION, app.handler, **overrides)


def stream_of(mapping: EventSourceMapping) -> KinesisStream:
    stream = mapping.source
    assert isinstance(stream, KinesisStream)
    return stream


def reading(device: str, ts: int, temperature: Any = 20.0, **extra: Any) -> bytes:
    body = {"device_id": device, "kind": "reading", "ts": ts, "temperature": temperature}
    return json.dumps({**body, **extra}).encode()


def heartbeat(device: str, ts: int) -> bytes:
    return json.dumps({"device_id": device, "kind": "heartbeat", "ts": ts}).encode()


def devices_on_one_shard(stream: KinesisStream, count: int) -> list[str]:
    """``count`` fresh device ids whose readings all go to the same shard, so they share
    batches (and one shard's checkpoint)."""
    first = f"d-{uuid.uuid4().hex[:8]}"
    found = [first]
    while len(found) < count:
        device = f"d-{uuid.uuid4().hex[:8]}"
        if stream.shard_id(device) == stream.shard_id(first):
            found.append(device)
    return found


def aggregate(ddb: DynamoDBLocal, table: str, device: str) -> dict[str, Any] | None:
    """The device's item as numbers, or None when nothing was counted for it."""
    item = (
        ddb.client()
        .get_item(TableName=table, Key={"device_id": {"S": device}}, ConsistentRead=True)
        .get("Item")
    )
    if item is None:
        return None
    return {
        "readings": int(item["readings"]["N"]),
        "temperature_sum": Decimal(item["temperature_sum"]["N"]),
        "last_reading_at": int(item["last_reading_at"]["N"]) if "last_reading_at" in item else None,
    }


def counted(readings: int, temperature_sum: str, *, last: int) -> dict[str, Any]:
    """What :func:`aggregate` reads for a device with these aggregates."""
    return {
        "readings": readings,
        "temperature_sum": Decimal(temperature_sum),
        "last_reading_at": last,
    }


def outcomes(mapping: EventSourceMapping, sequence: str) -> list[str]:
    """How each delivery of the record ``sequence`` ended, in order."""
    return [delivery.outcome for delivery in mapping.summary.history[sequence]]


class Interposed:
    """A boto3 DynamoDB client that calls ``before(arguments)`` ahead of every UpdateItem,
    which may raise (as DynamoDB throttling does) or let simulated time pass."""

    def __init__(self, client: Any, before: Callable[[dict[str, Any]], None]) -> None:
        self._client = client
        self._before = before

    def update_item(self, **arguments: Any) -> Any:
        self._before(arguments)
        return self._client.update_item(**arguments)

    def __getattr__(self, name: str) -> Any:  # exceptions, and anything else, from the client
        return getattr(self._client, name)


def throttled() -> Exception:
    """What boto3 raises when DynamoDB throttles a request (after its own retries)."""
    from botocore.exceptions import ClientError

    error = {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}
    exception: Exception = ClientError({"Error": error}, "UpdateItem")
    return exception


def fail_once(device: str, ts: int) -> Callable[[dict[str, Any]], None]:
    """Throttle the first UpdateItem of the reading ``(device, ts)``; every later call passes."""
    failed: list[bool] = []
    lock = threading.Lock()

    def before(arguments: dict[str, Any]) -> None:
        values = arguments["ExpressionAttributeValues"]
        if arguments["Key"]["device_id"]["S"] != device or values.get(":ts") != {"N": str(ts)}:
            return
        with lock:
            if failed:
                return
            failed.append(True)
        raise throttled()

    return before


def _interpose(app: ModuleType, monkeypatch: pytest.MonkeyPatch, before: Any) -> None:
    current = app.aggregates
    client = Interposed(current.client, before)
    monkeypatch.setattr(app, "aggregates", app.Aggregates(current.table, client=client))


# --- what the template deploys, and the filter (no server needed) ------------------------------


def test_the_mapping_is_the_one_the_template_deploys(app: ModuleType) -> None:
    mapping = deployed(app)
    assert mapping.report_batch_item_failures is True
    assert mapping.bisect_batch_on_function_error is True
    assert mapping.maximum_retry_attempts == 3
    assert mapping.starting_position == "TRIM_HORIZON"
    assert str(mapping.on_failure).startswith("arn:aws:sqs:")
    assert str(mapping.on_failure).endswith(":TelemetryFailures")
    assert len(stream_of(mapping).shard_ids) == 2  # the ShardCount parameter's default


def test_heartbeats_and_records_that_are_not_json_never_reach_the_handler(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_write(arguments: dict[str, Any]) -> None:
        raise AssertionError(f"the handler wrote {arguments['Key']}")

    monkeypatch.setattr(
        app, "aggregates", app.Aggregates("unused", client=Interposed(None, no_write))
    )
    mapping = deployed(app)
    stream = stream_of(mapping)
    payloads = [heartbeat("d-1", 1), b"not json", json.dumps({"device_id": "d-1"}).encode()]
    sequences = [stream.put(payload, partition_key="d-1") for payload in payloads]

    summary = mapping.run()

    assert summary.invocations == 0  # Lambda's filter passed over all three
    assert summary.filtered == 3
    assert all(outcomes(mapping, sequence) == ["filtered"] for sequence in sequences)
    # The same criteria, read by @filter_records from the packaged template, drop them when the
    # handler is called with them directly (a test event, or an unfiltered mapping).
    event = kinesis_event(payloads, partition_keys="d-1")
    assert app.handler(event, LambdaContext()) == {"batchItemFailures": []}


# --- DynamoDB Local ------------------------------------------------------------------------------


@pytest.mark.integration
def test_each_device_gets_its_readings_counted_once_even_when_the_batch_comes_again(
    app: ModuleType, table: str, dynamodb_local: DynamoDBLocal
) -> None:
    mapping = deployed(app)
    stream = stream_of(mapping)
    cold, warm = f"d-{uuid.uuid4().hex[:8]}", f"d-{uuid.uuid4().hex[:8]}"
    for device, ts, temperature in [
        (cold, 1_000, 4.5),
        (warm, 1_000, 21.0),
        (cold, 3_000, 5.5),
        (warm, 2_000, 22.5),
        (cold, 2_000, 5.0),  # the device's clock went back: counted, not the latest
    ]:
        stream.put(reading(device, ts, temperature), partition_key=device)
    stream.put(heartbeat(cold, 4_000), partition_key=cold)  # filtered: not a reading

    summary = mapping.run()

    assert summary.failed_attempts == 0
    assert summary.filtered == 1
    expected = {
        cold: counted(3, "15.0", last=3_000),
        warm: counted(2, "43.5", last=2_000),
    }
    assert {d: aggregate(dynamodb_local, table, d) for d in (cold, warm)} == expected

    # Lambda delivers the same records again (a retry after a timeout, a bisected half): each
    # reading is at or below its device's stored position, so nothing is counted twice.
    again = app.handler({"Records": stream.records()}, LambdaContext())
    assert again == {"batchItemFailures": []}
    assert {d: aggregate(dynamodb_local, table, d) for d in (cold, warm)} == expected


@pytest.mark.integration
def test_a_failed_reading_holds_the_checkpoint_and_what_follows_is_redelivered_not_recounted(
    app: ModuleType,
    table: str,
    dynamodb_local: DynamoDBLocal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mapping = deployed(app)
    stream = stream_of(mapping)
    one, two = devices_on_one_shard(stream, 2)
    _interpose(app, monkeypatch, fail_once(one, 2_000))  # DynamoDB throttles that reading once
    puts = [(one, 1_000), (two, 1_000), (one, 2_000), (two, 2_000), (one, 3_000)]
    sequences = [stream.put(reading(d, ts), partition_key=d) for d, ts in puts]

    summary = mapping.run()

    before, failed, after = sequences[:2], sequences[2], sequences[3:]
    assert summary.invocations == 2
    # The response named the throttled reading: Lambda checkpointed before it, so the readings
    # ahead of it ran once, and it and every reading after it in the shard came again (the
    # other device's included, which may already have run beside it with concurrency=8).
    assert all(outcomes(mapping, s) == ["succeeded"] for s in before)
    assert outcomes(mapping, failed) == ["failed", "succeeded"]
    assert all(outcomes(mapping, s) == ["failed", "succeeded"] for s in after)
    assert aggregate(dynamodb_local, table, one) == counted(3, "60.0", last=3_000)
    assert aggregate(dynamodb_local, table, two) == counted(2, "40.0", last=2_000)


@pytest.mark.integration
def test_a_batch_that_timed_out_is_bisected_and_its_halves_count_nothing_twice(
    app: ModuleType,
    table: str,
    dynamodb_local: DynamoDBLocal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mapping = deployed(app)
    stream = stream_of(mapping)
    devices = devices_on_one_shard(stream, 3)
    hung: list[bool] = []

    def hang_once(arguments: dict[str, Any]) -> None:
        # The last reading's write hangs past the 60 s timeout, after the others were counted.
        if arguments["Key"]["device_id"]["S"] == devices[-1] and not hung:
            hung.append(True)
            mapping.clock.advance(61)

    _interpose(app, monkeypatch, hang_once)
    sequences = [
        stream.put(reading(device, ts), partition_key=device)
        for ts in (1_000, 2_000)
        for device in devices
    ]

    summary = mapping.run()

    # The timeout failed the whole batch: Lambda split it in two and retried each half, which
    # redelivered readings that had been counted before the timeout.
    assert summary.invocations == 3
    assert all(outcomes(mapping, s) == ["timed_out", "succeeded"] for s in sequences)
    for device in devices:
        assert aggregate(dynamodb_local, table, device) == counted(2, "40.0", last=2_000)


@pytest.mark.integration
def test_a_poison_reading_is_bisected_down_to_itself_and_only_it_reaches_the_on_failure_queue(
    app: ModuleType, table: str, dynamodb_local: DynamoDBLocal
) -> None:
    clock = FakeClock()
    failures = SQSQueue("TelemetryFailures", clock=clock)  # the template's OnFailure queue
    mapping = deployed(app, clock=clock, on_failure=failures)
    stream = stream_of(mapping)
    device, other = devices_on_one_shard(stream, 2)  # they share every batch
    payloads = [
        (device, reading(device, 1_000)),
        (other, reading(other, 1_000)),
        (device, reading(device, 2_000, temperature="n/a")),  # the poison reading
        (other, reading(other, 2_000)),
        (device, reading(device, 3_000)),
        (other, reading(other, 3_000)),
    ]
    sequences = [stream.put(payload, partition_key=key) for key, payload in payloads]
    poison = sequences[2]

    summary = mapping.run()

    # The first invocation named the poison reading; retried from it, the batch's first reading
    # failed again, so the function raised and Lambda bisected, down to the poison reading
    # alone, retried until MaximumRetryAttempts (3) ran out. Everything else was counted.
    assert outcomes(mapping, sequences[0]) == ["succeeded"]
    assert set(outcomes(mapping, poison)) == {"failed"}
    assert all(outcomes(mapping, s)[-1] == "succeeded" for s in sequences if s != poison)
    [message] = failures.messages()
    record = json.loads(message.body)
    assert record == summary.on_failure[0]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == len(outcomes(mapping, poison))
    assert record["responseContext"]["functionError"] == "Unhandled"
    batch = record["KinesisBatchInfo"]
    assert (batch["batchSize"], batch["startSequenceNumber"], batch["endSequenceNumber"]) == (
        1,
        poison,
        poison,
    )
    assert batch["shardId"] == stream.shard_id(device)
    assert batch["streamArn"] == stream.arn
    assert aggregate(dynamodb_local, table, device) == counted(2, "40.0", last=3_000)
    assert aggregate(dynamodb_local, table, other) == counted(3, "60.0", last=3_000)


@pytest.mark.integration
def test_when_the_first_reading_fails_the_invocation_fails_even_if_others_succeeded(
    app: ModuleType,
    table: str,
    dynamodb_local: DynamoDBLocal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A partial response naming the first reading would checkpoint nowhere; raising lets
    Lambda bisect (raise_on_all_failed would not: another device's reading succeeded)."""
    device, other = f"d-{uuid.uuid4().hex[:8]}", f"d-{uuid.uuid4().hex[:8]}"
    other_ran = threading.Event()

    def before(arguments: dict[str, Any]) -> None:
        if arguments["Key"]["device_id"]["S"] == other:
            other_ran.set()
            return
        # The first reading fails only once the other device's has started beside it.
        assert other_ran.wait(timeout=10)
        raise throttled()

    _interpose(app, monkeypatch, before)
    event = kinesis_event(
        [reading(device, 1_000), reading(other, 1_000)], partition_keys=[device, other]
    )
    with pytest.raises(app.BatchMadeNoProgress, match=r"Records\[0\]"):
        app.handler(event, LambdaContext())
    assert aggregate(dynamodb_local, table, other) == counted(1, "20.0", last=1_000)
    assert aggregate(dynamodb_local, table, device) is None


@pytest.mark.integration
def test_without_bisect_the_readings_behind_a_poison_reading_are_discarded_with_it(
    app: ModuleType, table: str, dynamodb_local: DynamoDBLocal
) -> None:
    """Why the template enables BisectBatchOnFunctionError: the same stream without it."""
    mapping = deployed(app, bisect_batch_on_function_error=False)
    stream = stream_of(mapping)
    device = f"d-{uuid.uuid4().hex[:8]}"
    payloads = [
        reading(device, 1_000),
        reading(device, 2_000, temperature="n/a"),
        reading(device, 3_000),
        reading(device, 4_000),
    ]
    sequences = [stream.put(payload, partition_key=device) for payload in payloads]

    summary = mapping.run()

    [record] = summary.on_failure
    batch = record["KinesisBatchInfo"]
    assert (batch["batchSize"], batch["startSequenceNumber"], batch["endSequenceNumber"]) == (
        3,
        sequences[1],
        sequences[3],
    )
    assert aggregate(dynamodb_local, table, device) == counted(1, "20.0", last=1_000)
