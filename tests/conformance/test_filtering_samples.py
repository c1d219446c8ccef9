"""Filter criteria see AWS's sample records as Lambda's event filtering sees them.

Lambda does not match a record as delivered: it decodes the payload first, and what it does
when payload and pattern disagree on the payload's format depends on the source. The rules
are the Lambda Developer Guide's ("Lambda event filtering", the tables under "Properly
filtering ... messages"), summed up in docs/filtering.md:

- SQS ``body``: a JSON body is matched as an object, plain text as a string; a pattern that
  treats the body in the other format drops the message.
- Kinesis ``data``: base64-decoded JSON, named ``data`` beside the record's metadata
  (``partitionKey`` ...); data that is not JSON is dropped by any pattern naming ``data``; a
  pattern filtering ``data`` as a string is refused when the mapping is created.
- DynamoDB ``dynamodb``: matched as delivered, attribute values typed; numbers are strings.
- Kafka (MSK, self-managed) ``value``: base64-decoded UTF-8, parsed when JSON; when a pattern
  treats it in the other format, only the pattern's other (metadata) fields apply. (The current
  guide's Kafka filtering pages say only ``value`` can be filtered; an older revision also
  named ``key``, so no case here filters on ``key``.)

Each case is ``(sample, pattern, which records pass)``; the records are the sample's own.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdakit.filtering import FilterCriteria, FilterPatternError, filter_records
from tests.conformance.samples import KAFKA, load, records_of, source_of


def case(name: str, sample: str, pattern: dict[str, Any], passing: list[bool]) -> Any:
    return pytest.param(sample, pattern, passing, id=name)


CASES = [
    # SQS: body
    case(
        "sqs-json-body-field-compared-as-a-number",
        "java-sqs_event",
        {"body": {"price": [{"numeric": [">", 100]}]}},
        [True],
    ),
    case(
        "sqs-json-body-field-prefix",
        "java-sqs_event",
        {"body": {"name": [{"prefix": "FooBar"}]}},
        [True],
    ),
    case(
        "sqs-object-pattern-drops-the-plain-text-body-and-matches-the-json-one",
        "powertools-sqsEvent",
        {"body": {"message": ["foo1"]}},
        [False, True],
    ),
    case(
        "sqs-string-pattern-matches-the-plain-text-body-and-drops-the-json-one",
        "powertools-sqsEvent",
        {"body": [{"prefix": "Test"}]},
        [True, False],
    ),
    case(
        "sqs-json-body-is-not-matched-as-its-text",
        "powertools-sqsEvent",
        {"body": [{"prefix": "{"}]},
        [False, False],
    ),
    case(
        "sqs-metadata-only-pattern-on-a-fifo-message-group",
        "aws-docs-sqs-fifo",
        {"attributes": {"MessageGroupId": ["1"]}},
        [True],
    ),
    # Kinesis: data beside the metadata
    case(
        "kinesis-json-data-field",
        "powertools-kinesisStreamEventOneRecord",
        {"data": {"username": ["test"]}},
        [True],
    ),
    case(
        "kinesis-partition-key-beside-data",
        "powertools-kinesisStreamEventOneRecord",
        {"partitionKey": ["1"], "data": {"message": [{"prefix": "test"}]}},
        [True],
    ),
    case(
        "kinesis-partition-key-beside-data-other-key",
        "powertools-kinesisStreamEventOneRecord",
        {"partitionKey": ["2"], "data": {"message": [{"prefix": "test"}]}},
        [False],
    ),
    case(
        "kinesis-pattern-naming-data-drops-data-that-is-not-json",
        "aws-docs-kinesis",
        {"data": {"message": [{"exists": False}]}},
        [False, False],
    ),
    case(
        "kinesis-metadata-only-pattern-passes-data-that-is-not-json",
        "aws-docs-kinesis",
        {"partitionKey": ["1"]},
        [True, True],
    ),
    case(
        "kinesis-gzip-data-is-not-json",
        "powertools-kinesisStreamCloudWatchLogsEvent",
        {"data": {"messageType": ["DATA_MESSAGE"]}},
        [False, False],
    ),
    # DynamoDB Streams: the record as delivered, attribute values typed
    case(
        "dynamodb-new-image-string-attribute",
        "aws-docs-dynamodb",
        {"dynamodb": {"NewImage": {"Message": {"S": ["New item!"]}}}},
        [True, False],
    ),
    case(
        "dynamodb-keys-the-guides-own-example",
        "aws-docs-dynamodb",
        {"dynamodb": {"Keys": {"Id": {"N": ["101"]}}}},
        [True, True],
    ),
    case(
        "dynamodb-numbers-are-strings-so-numeric-never-matches",
        "aws-docs-dynamodb",
        {"dynamodb": {"Keys": {"Id": {"N": [{"numeric": ["=", 101]}]}}}},
        [False, False],
    ),
    case(
        "dynamodb-event-name",
        "sam-dynamodb-update",
        {"eventName": ["REMOVE"]},
        [False, False, True],
    ),
    case(
        "dynamodb-old-image-attribute-exists",
        "sam-dynamodb-update",
        {"dynamodb": {"OldImage": {"Message": {"S": [{"exists": True}]}}}},
        [False, True, True],
    ),
    case(
        "dynamodb-boolean-and-map-attributes",
        "rust-example-dynamodb-event",
        {
            "dynamodb": {
                "NewImage": {"Boolean": {"BOOL": [True]}, "Map": {"M": {"Age": {"N": ["35"]}}}}
            }
        },
        [False, True],
    ),
    # Kafka: value (and key) decoded
    case(
        "kafka-json-value-field",
        "powertools-kafkaEventMsk",
        {"value": {"key": ["value"]}},
        [True, True, True],
    ),
    case(
        "kafka-plain-text-value-prefix",
        "aws-docs-msk",
        {"value": [{"prefix": "Hello"}]},
        [True],
    ),
    case(
        "kafka-object-pattern-on-plain-text-keeps-only-the-metadata-filters-none-left",
        "aws-docs-msk",
        {"value": {"key": ["value"]}},
        [True],
    ),
    case(
        "kafka-object-pattern-on-plain-text-keeps-only-the-metadata-filters-topic-differs",
        "aws-docs-msk",
        {"topic": ["othertopic"], "value": {"key": ["value"]}},
        [False],
    ),
    case(
        "kafka-string-pattern-on-json-value-keeps-only-the-metadata-filters",
        "powertools-kafkaEventMsk",
        {"partition": [0], "value": [{"prefix": "{"}]},
        [True, True, True],
    ),
]


def criteria_of(pattern: dict[str, Any], source: str | None = None) -> FilterCriteria:
    return FilterCriteria.from_dict({"Filters": [{"Pattern": json.dumps(pattern)}]}, source=source)


@pytest.mark.parametrize(("sample", "pattern", "passing"), CASES)
def test_a_record_passes_the_criteria_as_lambda_documents(
    sample: str, pattern: dict[str, Any], passing: list[bool]
) -> None:
    event = load(sample)
    source = "kafka" if source_of(event) == KAFKA else None  # Kafka records name no source
    criteria = criteria_of(pattern, source)
    found = [criteria.matches_record(record, source) for record in records_of(event)]
    assert found == passing, [criteria.explain_record(r, source) for r in records_of(event)]


@pytest.mark.parametrize(("sample", "pattern", "passing"), CASES)
def test_filter_records_hands_the_function_only_the_records_that_pass(
    sample: str, pattern: dict[str, Any], passing: list[bool]
) -> None:
    event = load(sample)
    received: list[Any] = []

    @filter_records({"Filters": [{"Pattern": json.dumps(pattern)}]})
    def handler(event: dict[str, Any], context: Any) -> None:
        received.extend(records_of(event))

    handler(event, None)
    kept = [
        record for record, passes in zip(records_of(load(sample)), passing, strict=True) if passes
    ]
    assert received == kept


def test_a_kinesis_pattern_filtering_data_as_a_string_is_refused_as_lambda_refuses_it() -> None:
    with pytest.raises(FilterPatternError, match=r"Filters\[0\]\.Pattern\.data"):
        criteria_of({"data": [{"prefix": "Hello"}]}, "kinesis")
