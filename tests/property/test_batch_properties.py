"""For random batches and random failure sets, the reported records are exactly those the
semantics name, sequentially and concurrently, for plain and async record handlers.

- SQS standard: exactly the records that raised.
- SQS FIFO: in every message group, the first record that raised and all after it.
- Kinesis: the lowest sequence number among the records that raised (nothing if none did).
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lambdakit.batch import process_batch
from lambdakit.testing import LambdaContext, kinesis_event, sqs_event

CONTEXT = LambdaContext()


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[str], set[int]]:
    """Lane keys (groups / partition keys) for each record, and the indices that raise."""
    keys = draw(st.lists(st.sampled_from("abcd"), min_size=0, max_size=25))
    failing = draw(st.sets(st.integers(0, max(len(keys) - 1, 0)))) if keys else set()
    return keys, failing


def run(event: dict[str, Any], failing: set[int], concurrency: int, use_async: bool) -> list[str]:
    def index_of(record: Any) -> int:
        raw = record.body if hasattr(record, "body") else record.data.decode()
        return int(raw)

    if use_async:

        async def async_handler(record: Any) -> None:
            await asyncio.sleep(0)
            if index_of(record) in failing:
                raise ValueError(index_of(record))

        handler = process_batch(concurrency=concurrency)(async_handler)
    else:

        def sync_handler(record: Any) -> None:
            if index_of(record) in failing:
                raise ValueError(index_of(record))

        handler = process_batch(concurrency=concurrency)(sync_handler)
    response = handler(event, CONTEXT)
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


modes = st.tuples(st.sampled_from([1, 2, 3, 8]), st.booleans())


@settings(max_examples=150, deadline=None)
@given(batches(), modes)
def test_standard_queue_reports_exactly_the_records_that_raised(
    batch: tuple[list[str], set[int]], mode: tuple[int, bool]
) -> None:
    keys, failing = batch
    event = sqs_event([str(i) for i in range(len(keys))])
    ids = [r["messageId"] for r in event["Records"]]
    assert run(event, failing, *mode) == [ids[i] for i in sorted(failing)]


@settings(max_examples=150, deadline=None)
@given(batches(), modes)
def test_fifo_queue_reports_each_group_from_its_first_failure_on(
    batch: tuple[list[str], set[int]], mode: tuple[int, bool]
) -> None:
    groups, failing = batch
    event = sqs_event([str(i) for i in range(len(groups))], fifo=True, group_ids=groups)
    ids = [r["messageId"] for r in event["Records"]]
    first_failure: dict[str, int] = {}
    for i in sorted(failing):
        first_failure.setdefault(groups[i], i)
    expected = [
        ids[i]
        for i, group in enumerate(groups)
        if group in first_failure and i >= first_failure[group]
    ]
    assert run(event, failing, *mode) == expected


@settings(max_examples=150, deadline=None)
@given(batches(), modes)
def test_stream_reports_the_lowest_sequence_number_that_raised(
    batch: tuple[list[str], set[int]], mode: tuple[int, bool]
) -> None:
    keys, failing = batch
    event = kinesis_event([str(i) for i in range(len(keys))], partition_keys=keys)
    sequence = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    expected = [sequence[min(failing)]] if failing else []
    assert run(event, failing, *mode) == expected
