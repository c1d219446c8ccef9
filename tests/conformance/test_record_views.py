"""lambdakit's record views read every sample event as Powertools' data classes read it.

Powertools for AWS Lambda (Python) is the reference most users compare with. For every record
of every sample in ``events/``, each field that both libraries expose must hold the same value.
The tables below are the specification: ``(lambdakit member, Powertools member, how both are
read)``. Where the two libraries differ by design the table says so and the comparison bridges
it, rather than skipping the field:

- DynamoDB binary (``B``, ``BS``): lambdakit decodes the base64 of the stream record to bytes,
  Powertools returns the base64 text as delivered; lambdakit's bytes are re-encoded to compare.
- DynamoDB images absent from a record: lambdakit ``None``, Powertools ``{}``; likewise
  ``userIdentity``.
- DynamoDB ``ApproximateCreationDateTime``: lambdakit keeps fractions of a second, Powertools
  truncates to whole seconds; compared in whole seconds.
- Kafka header names: Powertools lower-cases them (a case-insensitive dict); compared
  lower-cased. A record without ``headers`` (AWS's Java library's sample has none): lambdakit
  reads no headers, Powertools raises ``KeyError``; compared as no headers.
- A payload that does not decode (not JSON, not UTF-8): both must fail; lambdakit raises
  ``RecordDecodeError``, Powertools whatever ``json``/``base64`` raise.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import (
    DynamoDBStreamEvent,
    KafkaEvent,
    KinesisStreamEvent,
    SQSEvent,
)

from lambdakit.errors import LambdakitError, RecordDecodeError
from lambdakit.events import DynamoDBRecord, KafkaRecord, KinesisRecord, SQSRecord
from tests.conformance.samples import (
    DYNAMODB,
    KAFKA,
    KINESIS,
    SQS,
    load,
    msk_event_with_signed_header,
    records_of,
    samples,
    source_of,
)

Reader = Callable[[Any], Any]


def pair(lambdakit: str, powertools: str, lk: Reader, pt: Reader) -> Any:
    """One row of a field table: the two members, and how each library's value is read."""
    return (f"{lambdakit} <-> {powertools}", lk, pt)


def _sqs_attribute(name: str) -> Reader:
    return lambda pt: getattr(pt.attributes, name)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


# What every record view of SQS, Kinesis and DynamoDB Streams shares (RecordView's own fields).
RECORD_FIELDS = [
    pair("event_source", "event_source", lambda v: v.event_source, lambda p: p.event_source),
    pair(
        "event_source_arn",
        "event_source_arn",
        lambda v: v.event_source_arn,
        lambda p: p.event_source_arn,
    ),
    pair("aws_region", "aws_region", lambda v: v.aws_region, lambda p: p.aws_region),
]

SQS_FIELDS = [
    pair("message_id", "message_id", lambda v: v.message_id, lambda p: p.message_id),
    pair(
        "receipt_handle", "receipt_handle", lambda v: v.receipt_handle, lambda p: p.receipt_handle
    ),
    pair("body", "body", lambda v: v.body, lambda p: p.body),
    pair("json()", "json_body", lambda v: v.json(), lambda p: p.json_body),
    pair("attributes", "attributes", lambda v: v.attributes, lambda p: p.attributes.raw_event),
    pair(
        "message_attributes",
        "message_attributes",
        lambda v: v.message_attributes,
        lambda p: {name: value.raw_event for name, value in p.message_attributes.items()},
    ),
    pair(
        "approximate_receive_count",
        "attributes.approximate_receive_count",
        lambda v: v.approximate_receive_count,
        lambda p: int(p.attributes.approximate_receive_count),
    ),
    pair(
        "sent_timestamp",
        "attributes.sent_timestamp",
        lambda v: v.sent_timestamp,
        lambda p: _int_or_none(p.attributes.sent_timestamp),
    ),
    pair(
        "message_group_id",
        "attributes.message_group_id",
        lambda v: v.message_group_id,
        _sqs_attribute("message_group_id"),
    ),
    pair(
        "message_deduplication_id",
        "attributes.message_deduplication_id",
        lambda v: v.message_deduplication_id,
        _sqs_attribute("message_deduplication_id"),
    ),
    pair(
        "sequence_number",
        "attributes.sequence_number",
        lambda v: v.sequence_number,
        _sqs_attribute("sequence_number"),
    ),
    pair("md5_of_body", "md5_of_body", lambda v: v.md5_of_body, lambda p: p.md5_of_body),
    pair(
        "queue_name",
        "queue_url (last segment)",
        lambda v: v.queue_name,
        lambda p: p.queue_url.rsplit("/", 1)[-1],
    ),
    *RECORD_FIELDS,
]

KINESIS_FIELDS = [
    pair(
        "sequence_number",
        "kinesis.sequence_number",
        lambda v: v.sequence_number,
        lambda p: p.kinesis.sequence_number,
    ),
    pair(
        "partition_key",
        "kinesis.partition_key",
        lambda v: v.partition_key,
        lambda p: p.kinesis.partition_key,
    ),
    pair("data", "kinesis.data_as_bytes()", lambda v: v.data, lambda p: p.kinesis.data_as_bytes()),
    pair(
        "json()", "kinesis.data_as_json()", lambda v: v.json(), lambda p: p.kinesis.data_as_json()
    ),
    pair(
        "approximate_arrival_timestamp",
        "kinesis.approximate_arrival_timestamp",
        lambda v: v.approximate_arrival_timestamp,
        lambda p: p.kinesis.approximate_arrival_timestamp,
    ),
    pair("event_id", "event_id", lambda v: v.event_id, lambda p: p.event_id),
    *RECORD_FIELDS,
]


def as_delivered(value: Any) -> Any:
    """lambdakit's decoded DynamoDB value with binary re-encoded as base64 text, the form in
    which Powertools returns it."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {name: as_delivered(item) for name, item in value.items()}
    if isinstance(value, list):
        return [as_delivered(item) for item in value]
    if isinstance(value, set):
        return {as_delivered(item) for item in value}
    return value


DYNAMODB_FIELDS = [
    pair(
        "sequence_number",
        "dynamodb.sequence_number",
        lambda v: v.sequence_number,
        lambda p: p.dynamodb.sequence_number,
    ),
    pair("event_name", "event_name.name", lambda v: v.event_name, lambda p: p.event_name.name),
    pair("event_id", "event_id", lambda v: v.event_id, lambda p: p.event_id),
    pair("keys", "dynamodb.keys", lambda v: as_delivered(v.keys), lambda p: p.dynamodb.keys),
    pair(
        "new_image",
        "dynamodb.new_image",
        lambda v: as_delivered(v.new_image or {}),
        lambda p: p.dynamodb.new_image,
    ),
    pair(
        "old_image",
        "dynamodb.old_image",
        lambda v: as_delivered(v.old_image or {}),
        lambda p: p.dynamodb.old_image,
    ),
    pair(
        "stream_view_type",
        "dynamodb.stream_view_type.name",
        lambda v: v.stream_view_type,
        lambda p: p.dynamodb.stream_view_type.name,
    ),
    pair(
        "size_bytes", "dynamodb.size_bytes", lambda v: v.size_bytes, lambda p: p.dynamodb.size_bytes
    ),
    pair(
        "approximate_creation_date_time",
        "dynamodb.approximate_creation_date_time",
        lambda v: _int_or_none(v.approximate_creation_date_time),
        lambda p: p.dynamodb.approximate_creation_date_time,
    ),
    pair(
        "user_identity",
        "user_identity",
        lambda v: v.user_identity or {},
        lambda p: p.user_identity,
    ),
    *RECORD_FIELDS,
]

KAFKA_FIELDS = [
    pair("topic", "topic", lambda v: v.topic, lambda p: p.topic),
    pair("partition", "partition (as a number)", lambda v: v.partition, lambda p: int(p.partition)),
    pair("offset", "offset", lambda v: v.offset, lambda p: p.offset),
    pair("timestamp", "timestamp", lambda v: v.timestamp, lambda p: p.timestamp),
    pair(
        "timestamp_type", "timestamp_type", lambda v: v.timestamp_type, lambda p: p.timestamp_type
    ),
    pair("key", "decoded_key", lambda v: v.key, lambda p: p.decoded_key),
    pair("value", "decoded_value", lambda v: v.value, lambda p: p.decoded_value),
    pair("json()", "json_value", lambda v: v.json(), lambda p: p.json_value),
    pair(
        "headers",
        "decoded_headers (names lower-cased)",
        lambda v: {name.lower(): value for name, value in v.headers.items()},
        lambda p: dict(p.decoded_headers) if "headers" in p.raw_event else {},
    ),
]

FIELDS = {SQS: SQS_FIELDS, KINESIS: KINESIS_FIELDS, DYNAMODB: DYNAMODB_FIELDS, KAFKA: KAFKA_FIELDS}
VIEWS = {SQS: SQSRecord, KINESIS: KinesisRecord, DYNAMODB: DynamoDBRecord, KAFKA: KafkaRecord}
POWERTOOLS = {
    SQS: SQSEvent,
    KINESIS: KinesisStreamEvent,
    DYNAMODB: DynamoDBStreamEvent,
    KAFKA: KafkaEvent,
}


def outcome(read: Reader, record: Any, fails_with: type[Exception]) -> tuple[str, Any]:
    """``("value", v)``, or ``("fails", None)`` when reading raises ``fails_with``: a payload
    that one library cannot decode, the other must not decode either. lambdakit must fail with
    its own typed error; any other exception escapes and fails the test."""
    try:
        return ("value", read(record))
    except fails_with:
        return ("fails", None)


def differences(event: dict[str, Any]) -> list[str]:
    """Every ``Records[i] <field pair>: lambdakit ... != Powertools ...`` of ``event``."""
    source = source_of(event)
    raw = records_of(event)
    theirs = list(POWERTOOLS[source](copy.deepcopy(event)).records)
    assert len(theirs) == len(raw)
    found = []
    for index, (record, their_record) in enumerate(zip(raw, theirs, strict=True)):
        view = VIEWS[source](record, index)
        for label, lk, pt in FIELDS[source]:
            ours = outcome(lk, view, LambdakitError)
            reference = outcome(pt, their_record, Exception)
            if ours != reference:
                found.append(
                    f"Records[{index}] {label}: lambdakit {ours} != Powertools {reference}"
                )
    return found


@pytest.mark.parametrize("name", samples())
def test_every_field_both_libraries_expose_reads_the_same(name: str) -> None:
    assert differences(load(name)) == []


def test_the_samples_exercise_every_dynamodb_attribute_type() -> None:
    """The comparison above means something for every type only if some sample holds each."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for tag, inner in value.items():
                found.add(tag)
                walk(inner)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for param in samples(DYNAMODB):
        for record in records_of(load(param.values[0])):
            for image in ("Keys", "NewImage", "OldImage"):
                walk(list(record["dynamodb"].get(image, {}).values()))
    assert {"S", "N", "B", "BOOL", "NULL", "L", "M", "SS", "NS", "BS"} <= found


def test_payloads_that_are_not_json_fail_to_parse_in_both_libraries() -> None:
    """The comparison counts a failure on both sides as agreement; this pins down that the
    samples do hold such payloads, and that lambdakit's failure is its own typed error."""
    view = KinesisRecord(records_of(load("powertools-kinesisStreamCloudWatchLogsEvent"))[0], 0)
    with pytest.raises(RecordDecodeError, match=r"Records\[0\]\.kinesis\.data"):
        view.json()
    sqs = SQSRecord(records_of(load("aws-docs-sqs-standard"))[0], 0)
    with pytest.raises(RecordDecodeError, match=r"Records\[0\]\.body"):
        sqs.json()


def test_the_tumbling_window_shard_id_is_the_shard_each_kinesis_record_names() -> None:
    event = load("powertools-kinesisStreamEvent")
    shard = KinesisStreamEvent(event).shard_id
    assert shard == "shardId-000000000006"
    assert {KinesisRecord(record).shard_id for record in event["Records"]} == {shard}


def test_kafka_headers_sent_as_signed_bytes_decode_to_their_utf8_bytes() -> None:
    event = msk_event_with_signed_header()
    view = KafkaRecord(records_of(event)[0], 0)
    assert view.headers == {"test-header": "hello-worldë".encode()}
    assert differences(event) == []
