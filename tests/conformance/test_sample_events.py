"""``process_batch`` accepts every sample event AWS publishes and reports failures as Lambda
expects them.

Each sample in ``events/`` (cited in ``events/SOURCES.md``) is run three ways: a record handler
that succeeds, one that fails every record, and one that fails a single record (each record in
turn). The expected ``batchItemFailures`` are written here from the rules of docs/batch.md, not
from lambdakit's code:

- SQS: the ``messageId`` of every record that failed; on a FIFO queue the rest of the failed
  record's message group is reported too, without running.
- Kinesis and DynamoDB Streams: one sequence number, the lowest that failed or did not run.
  With every record failing that is the batch's lowest (compared as integers: a sample has
  records out of sequence order); with one record failing, that record's.
- Kafka (MSK, self-managed): ``{"partition": "<topic>-<n>", "offset": n}`` of every record that
  failed; the rest of the failed record's partition is reported too, without running.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from lambdakit.batch import (
    DynamoDBRecord,
    KafkaRecord,
    KinesisRecord,
    SQSRecord,
    process_batch,
)
from lambdakit.testing import LambdaContext
from tests.conformance.samples import (
    DYNAMODB,
    EVENTS,
    KAFKA,
    KINESIS,
    SQS,
    is_fifo,
    load,
    msk_event_with_signed_header,
    records_of,
    sample_names,
    samples,
    source_of,
)

VIEWS = {SQS: SQSRecord, KINESIS: KinesisRecord, DYNAMODB: DynamoDBRecord, KAFKA: KafkaRecord}


class RecordFailed(Exception):
    """What the record handlers below raise for a record chosen to fail."""


def run(event: dict[str, Any], failing: set[int] | None = None) -> tuple[Any, list[Any]]:
    """Run ``event`` through ``process_batch``; the records at positions ``failing`` (all
    when ``None``) raise. Returns the response and the views the handler received."""
    seen: list[Any] = []

    @process_batch(deadline_margin_ms=0, log_failures=False)
    def handler(record: Any) -> None:
        seen.append(record)
        if failing is None or record.index in failing:
            raise RecordFailed(record.index)

    return handler(event, LambdaContext()), seen


def identifier(source: str, record: dict[str, Any]) -> Any:
    """The ``itemIdentifier`` Lambda takes for ``record`` (docs/batch.md, "What each source
    does")."""
    if source == SQS:
        return record["messageId"]
    if source == KINESIS:
        return record["kinesis"]["sequenceNumber"]
    if source == DYNAMODB:
        return record["dynamodb"]["SequenceNumber"]
    return {"partition": f"{record['topic']}-{record['partition']}", "offset": record["offset"]}


def lane(source: str, event: dict[str, Any], record: dict[str, Any]) -> Any:
    """What a failure holds back: the FIFO message group, the Kafka topic-partition; ``None``
    for an SQS standard queue, where every record stands alone."""
    if source == KAFKA:
        return f"{record['topic']}-{record['partition']}"
    if source == SQS and is_fifo(event):
        return record["attributes"]["MessageGroupId"]
    return None


def reported(response: Any) -> list[Any]:
    assert set(response) == {"batchItemFailures"}
    failures = response["batchItemFailures"]
    assert all(set(failure) == {"itemIdentifier"} for failure in failures)
    return [failure["itemIdentifier"] for failure in failures]


def test_every_sample_file_cites_its_origin_in_sources_md() -> None:
    cited = set(re.findall(r"`([\w.-]+)\.json`", (EVENTS / "SOURCES.md").read_text()))
    assert set(sample_names()) <= cited
    assert len(sample_names()) >= 15


def test_the_samples_cover_every_source_lambdakit_batches() -> None:
    found = {source_of(load(name)) for name in sample_names()}
    assert found == {SQS, KINESIS, DYNAMODB, KAFKA}
    fifo = [name for name in sample_names() if source_of(load(name)) == SQS and is_fifo(load(name))]
    assert fifo, "an SQS FIFO sample"


@pytest.mark.parametrize("name", samples())
def test_a_handler_that_succeeds_reports_no_failures(name: str) -> None:
    response, _ = run(load(name), failing=set())
    assert response == {"batchItemFailures": []}


@pytest.mark.parametrize("name", samples())
def test_every_record_reaches_the_handler_once_in_delivery_order_as_its_sources_view(
    name: str,
) -> None:
    event = load(name)
    raw = records_of(event)
    _, seen = run(event, failing=set())
    assert [view.index for view in seen] == list(range(len(raw)))
    # The view class, or the subclass the batch loop instantiates (it only drops __init__).
    assert all(isinstance(view, VIEWS[source_of(event)]) for view in seen)
    assert all(view.raw is record for view, record in zip(seen, raw, strict=True))


@pytest.mark.parametrize("name", samples())
def test_a_handler_that_fails_every_record_reports_what_the_source_documents(name: str) -> None:
    event = load(name)
    source = source_of(event)
    ids = [identifier(source, record) for record in records_of(event)]
    response, _ = run(event)
    if source in (KINESIS, DYNAMODB):
        assert reported(response) == [min(ids, key=int)]
    else:
        assert reported(response) == ids


@pytest.mark.parametrize("name", samples())
def test_one_failing_record_is_reported_with_the_records_its_failure_holds_back(
    name: str,
) -> None:
    event = load(name)
    source = source_of(event)
    raw = records_of(event)
    ids = [identifier(source, record) for record in raw]
    lanes = [lane(source, event, record) for record in raw]
    for failed in range(len(raw)):
        response, seen = run(load(name), failing={failed})
        ran = [view.index for view in seen]
        assert ran[: failed + 1] == list(range(failed + 1)), "records before it all ran"
        if source in (KINESIS, DYNAMODB):
            assert reported(response) == [ids[failed]], f"Records[{failed}] failed"
            later_in_sequence = [
                i for i in range(failed + 1, len(raw)) if int(ids[i]) > int(ids[failed])
            ]
            assert not set(later_in_sequence) & set(ran), "the stream stops at the failure"
            continue
        held_back = [
            i
            for i in range(failed + 1, len(raw))
            if lanes[failed] is not None and lanes[i] == lanes[failed]
        ]
        assert reported(response) == [ids[i] for i in [failed, *held_back]], (
            f"Records[{failed}] failed"
        )
        assert ran == [i for i in range(len(raw)) if i not in held_back]


def test_a_kafka_record_whose_header_bytes_are_signed_is_processed_with_its_header_read() -> None:
    headers: list[dict[str, bytes]] = []

    @process_batch(deadline_margin_ms=0)
    def handler(record: KafkaRecord) -> None:
        headers.append(record.headers)

    assert handler(msk_event_with_signed_header(), LambdaContext()) == {"batchItemFailures": []}
    assert headers == [{"test-header": "hello-worldë".encode()}]
