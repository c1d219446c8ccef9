"""Kinesis and DynamoDB Streams mappings driving the real lambdakit stack: process_batch with
ReportBatchItemFailures. The checkpoint restarts at the record process_batch reports, records
before it are not processed again, and records of one partition key (or one item) are
processed in order, across retries and parallelized shards. Process_batch's deadline awareness
turns what would be a timeout of the whole batch into a checkpoint."""

from __future__ import annotations

from typing import Any

import pytest

from lambdakit.batch import DynamoDBRecord, KinesisRecord, process_batch
from lambdakit.testing import FakeClock
from lambdakit.testing.esm._mapping import EventSourceMapping
from lambdakit.testing.esm._streams import DynamoDBStream, KinesisStream
from lambdakit.testing.esm._summary import FAILED, SUCCEEDED, TIMED_OUT

KINESIS_PARTIAL = (
    "https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html"
)
DDB_PARTIAL = "https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html"
WITH_KINESIS = "https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html"
WITH_DDB = "https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html"
KINESIS_ON_FAILURE = (
    "https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html"
)


def test_kinesis_checkpoint_restarts_at_the_record_process_batch_reports() -> None:
    # KINESIS_PARTIAL: Lambda checkpoints at the lowest reported sequence number and "retries
    # all records starting from that checkpoint"; process_batch reports exactly that record.
    clock = FakeClock(start=0)
    stream = KinesisStream("orders", clock=clock)
    sequences = [stream.put(f"{i}".encode(), partition_key="customer-1") for i in range(6)]
    processed: list[str] = []
    failures = {"3": 2}  # record 3 fails twice, then succeeds

    @process_batch
    def handler(record: KinesisRecord) -> None:
        value = record.data.decode()
        if failures.get(value):
            failures[value] -= 1
            raise RuntimeError(f"record {value} failed")
        processed.append(value)

    summary = EventSourceMapping(
        stream, handler, report_batch_item_failures=True, starting_position="TRIM_HORIZON"
    ).run()
    assert processed == ["0", "1", "2", "3", "4", "5"]  # each once, in order
    assert summary.invocations == 3
    assert [d.outcome for d in summary.history[sequences[2]]] == [SUCCEEDED]
    assert [d.outcome for d in summary.history[sequences[3]]] == [FAILED, FAILED, SUCCEEDED]
    assert [d.outcome for d in summary.history[sequences[5]]] == [FAILED, FAILED, SUCCEEDED]
    assert (summary.deleted, summary.succeeded) == (6, 6)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_records_of_a_partition_key_stay_in_order_across_retries_and_parallel_shards(
    concurrency: int,
) -> None:
    # WITH_KINESIS: "When you increase the number of concurrent batches per shard, Lambda still
    # ensures in-order processing at the partition-key level"; KINESIS_PARTIAL for the retries.
    # With records run concurrently, later records of other keys may have succeeded before the
    # reported one failed: Lambda redelivers them from the checkpoint ("it doesn't entirely
    # prevent the possibility of retries in a successful record", KINESIS_PARTIAL; "Records are
    # always processed in order the first time", WITH_KINESIS): idempotency's job.
    clock = FakeClock(start=0)
    stream = KinesisStream("orders", shards=2, clock=clock)
    customers = [f"customer-{i}" for i in range(8)]
    for step in range(5):
        for customer in customers:
            stream.put(f"{customer}/{step}".encode(), partition_key=customer)
    seen: dict[str, list[int]] = {}
    flaky = {"customer-3/2": 1, "customer-6/0": 3, "customer-1/4": 1}

    @process_batch(concurrency=concurrency)
    def handler(record: KinesisRecord) -> None:
        value = record.data.decode()
        if flaky.get(value):
            flaky[value] -= 1
            raise RuntimeError(value)
        customer, step = value.split("/")
        seen.setdefault(customer, []).append(int(step))

    summary = EventSourceMapping(
        stream,
        handler,
        batch_size=7,
        parallelization_factor=3,
        report_batch_item_failures=True,
        starting_position="TRIM_HORIZON",
    ).run()
    first_times = {customer: list(dict.fromkeys(steps)) for customer, steps in seen.items()}
    assert first_times == {customer: [0, 1, 2, 3, 4] for customer in customers}
    if concurrency == 1:  # sequential: nothing after the failed record ran, nothing repeats
        assert seen == first_times
    assert summary.deleted == 40


def test_dynamodb_checkpoint_restarts_at_the_reported_record_and_items_stay_in_order() -> None:
    # DDB_PARTIAL: the same checkpoint rule for DynamoDB Streams; WITH_DDB: in-order processing
    # at the item (partition and sort key) level with a parallelization factor.
    clock = FakeClock(start=0)
    stream = DynamoDBStream("orders", clock=clock)
    for version in range(4):
        for item in ("a", "b", "c"):
            stream.put(
                {"id": item, "v": version}, {"id": item, "v": version - 1}, keys={"id": item}
            )
    applied: list[tuple[str, int]] = []
    fail_once = {("b", 1)}

    @process_batch
    def handler(record: DynamoDBRecord) -> None:
        image = record.new_image
        change = (image["id"], int(image["v"]))
        if change in fail_once:
            fail_once.discard(change)
            raise RuntimeError(change)
        applied.append(change)

    summary = EventSourceMapping(
        stream,
        handler,
        batch_size=5,
        parallelization_factor=2,
        report_batch_item_failures=True,
        starting_position="TRIM_HORIZON",
    ).run()
    for item in "abc":
        assert [v for i, v in applied if i == item] == [0, 1, 2, 3]
    assert len(applied) == 12
    assert summary.deleted == 12


def test_process_batch_deadline_turns_a_timeout_into_a_checkpoint() -> None:
    # A handler running past the function timeout fails the whole batch (KINESIS_PARTIAL: all
    # but a complete success is a complete failure); with maximum_retry_attempts the records are
    # then discarded (KINESIS_ON_FAILURE). process_batch stops starting records when the time
    # left is under its margin and reports the first one not run: Lambda checkpoints there.
    def run(margin_ms: float) -> tuple[Any, list[str]]:
        clock = FakeClock(start=0)
        stream = KinesisStream("orders", clock=clock)
        for i in range(5):
            stream.put(f"{i}".encode(), partition_key="k")
        done: list[str] = []

        @process_batch(deadline_margin_ms=margin_ms)
        def handler(record: KinesisRecord) -> None:
            clock.advance(1)  # a second of work per record
            done.append(record.data.decode())

        summary = EventSourceMapping(
            stream,
            handler,
            function_timeout=3,
            report_batch_item_failures=True,
            maximum_retry_attempts=1,
            on_failure=[],
            starting_position="TRIM_HORIZON",
        ).run()
        return summary, done

    without, _ = run(0)
    assert {d.outcome for history in without.history.values() for d in history} == {TIMED_OUT}
    assert without.succeeded == 0
    assert without.on_failure[0]["KinesisBatchInfo"]["batchSize"] == 5

    with_deadline, done = run(1000)
    assert with_deadline.succeeded == 5
    assert with_deadline.on_failure == []
    assert done == ["0", "1", "2", "3", "4"]
