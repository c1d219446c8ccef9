"""lambdakit.testing's event builders produce events shaped like AWS's own samples.

A builder asked for a sample's content (the same bodies, keys, items, headers) must produce an
event with the sample's shape: the same keys at every level, and values of the same JSON type
(object, array, string, number, boolean, null). Values themselves are ignored: identifiers,
timestamps and ARNs are generated. An empty array matches an array of anything, and arrays of
different lengths are compared by the kinds of element they hold.

Where AWS's samples disagree among themselves, the builder is compared with the samples AWS
publishes in the Lambda Developer Guide and SAM CLI, and the differences are named in the test:

- ``md5OfMessageAttributes``: AWS's Go and Rust event libraries' SQS sample carries it; the
  guide's samples do not, and it is optional in Lambda's event (a message without attributes
  has none). The builder does not produce it.
- Kafka ``keySchemaMetadata``/``valueSchemaMetadata`` (Powertools' MSK sample): present only
  when the event source mapping has a schema registry; the builder does not produce them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from lambdakit.testing import dynamodb_stream_event, kafka_event, kinesis_event, sqs_event
from tests.conformance.samples import SIGNED_HEADER, load, records_of


def kind(value: Any) -> str:
    """The JSON type of ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape(value: Any) -> Any:
    """``value`` with every scalar replaced by its JSON type."""
    if isinstance(value, dict):
        return {name: shape(item) for name, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return kind(value)


def shape_differences(ours: Any, theirs: Any, path: str = "$") -> list[str]:
    """Where ``ours`` (built) and ``theirs`` (AWS's sample) differ in shape, by JSON path."""
    if kind(ours) != kind(theirs):
        return [f"{path}: {kind(ours)} where AWS has {kind(theirs)}"]
    if isinstance(ours, dict):
        found = [f"{path}.{name}: not in AWS's sample" for name in sorted(set(ours) - set(theirs))]
        found += [f"{path}.{name}: missing" for name in sorted(set(theirs) - set(ours))]
        for name in sorted(set(ours) & set(theirs)):
            found += shape_differences(ours[name], theirs[name], f"{path}.{name}")
        return found
    if isinstance(ours, list) and ours and theirs:
        if len(ours) == len(theirs):
            return [
                difference
                for index, (mine, sample) in enumerate(zip(ours, theirs, strict=True))
                for difference in shape_differences(mine, sample, f"{path}[{index}]")
            ]
        known = {json.dumps(shape(item), sort_keys=True) for item in theirs}
        return [
            f"{path}[{index}]: no element of AWS's sample has this shape"
            for index, item in enumerate(ours)
            if json.dumps(shape(item), sort_keys=True) not in known
        ]
    return []


def without(record: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name not in names}


class TestSqsEvent:
    def test_standard_queue_records_are_shaped_as_the_lambda_guides_sample(self) -> None:
        built = sqs_event(["Test message.", "Test message."])
        assert shape_differences(built, load("aws-docs-sqs-standard")) == []

    def test_standard_queue_records_are_shaped_as_sam_clis_generated_event(self) -> None:
        assert shape_differences(sqs_event(["Hello from SQS!"]), load("sam-sqs")) == []

    def test_fifo_queue_records_are_shaped_as_the_lambda_guides_fifo_sample(self) -> None:
        built = sqs_event(["Test message."], group_ids="1", deduplication_ids=["1"])
        assert shape_differences(built, load("aws-docs-sqs-fifo")) == []

    def test_message_attributes_of_each_data_type_are_shaped_as_aws_delivers_them(self) -> None:
        (sample,) = records_of(load("rust-example-sqs-event"))
        (built,) = sqs_event(
            ["Message Body"],
            message_attributes={
                "Attribute1": "AttributeValue1",
                "Attribute2": 123,
                "Attribute3": b"1100",
            },
        )["Records"]
        assert [attribute["dataType"] for attribute in built["messageAttributes"].values()] == [
            "String",
            "Number",
            "Binary",
        ]
        assert shape_differences(built, without(sample, "md5OfMessageAttributes")) == []


class TestKinesisEvent:
    def test_records_are_shaped_as_the_lambda_guides_sample(self) -> None:
        built = kinesis_event(
            [b"Hello, this is a test.", b"This is only a test."], partition_keys="1"
        )
        assert shape_differences(built, load("aws-docs-kinesis")) == []

    def test_records_are_shaped_as_sam_clis_generated_event(self) -> None:
        built = kinesis_event([b"Hello, this is a test 123."], partition_keys="partitionKey-03")
        assert shape_differences(built, load("sam-kinesis")) == []


FIRST = {"Message": "New item!", "Id": 101}
CHANGED = {"Message": "This item has changed", "Id": 101}


class TestDynamoDBStreamEvent:
    def test_insert_modify_and_remove_are_shaped_as_sam_clis_generated_event(self) -> None:
        built = dynamodb_stream_event(
            [
                {"new_image": FIRST},
                {"old_image": FIRST, "new_image": CHANGED},
                {"old_image": CHANGED},
            ],
            key_names=("Id",),
        )
        assert shape_differences(built, load("sam-dynamodb-update")) == []

    def test_every_attribute_type_is_typed_as_in_aws_samples(self) -> None:
        sample = records_of(load("rust-example-dynamodb-event"))[1]
        item = {
            "val": "data",
            "asdf1": b"\x00\x01*A",
            "b2": b"\xb5\xeb-",
            "asdf2": {b"\x00\x01*A", b"A*\x01\x00"},
            "key": "binary",
            "Binary": b"\x00\x01*A",
            "Boolean": True,
            "BinarySet": {b"\x00\x01*A"},
            "List": ["Cookies", "Coffee", Decimal("3.14159")],
            "Map": {"Name": "Joe", "Age": 35},
            "FloatNumber": Decimal("123.45"),
            "IntegerNumber": 123,
            "NumberSet": {1234, Decimal("567.8")},
            "Null": None,
            "String": "Hello",
            "StringSet": {"Giraffe", "Zebra"},
        }
        (built,) = dynamodb_stream_event([{"new_image": item}], key_names=("val", "key"))["Records"]
        # An empty set cannot be written to DynamoDB (boto3 refuses it), so the sample's
        # "EmptyStringSet": {"SS": []} has no counterpart to build.
        theirs = dict(sample["dynamodb"]["NewImage"])
        del theirs["EmptyStringSet"]
        assert shape_differences(built["dynamodb"]["NewImage"], theirs, "$.NewImage") == []
        assert shape_differences(built["dynamodb"]["Keys"], sample["dynamodb"]["Keys"]) == []

    def test_a_ttl_deletion_carries_the_user_identity_aws_adds(self) -> None:
        sample = records_of(load("java-dynamo_event"))[0]["userIdentity"]
        (built,) = dynamodb_stream_event([{"old_image": FIRST, "ttl": True}], key_names=("Id",))[
            "Records"
        ]
        assert shape_differences(built["userIdentity"], sample) == []


class TestKafkaEvent:
    def test_msk_events_are_shaped_as_the_lambda_guides_sample(self) -> None:
        built = kafka_event(
            [b"Hello, this is a test."],
            topic="mytopic",
            keys=b"a key",
            headers={"headerKey": b"headerValue"},
        )
        assert shape_differences(built, load("aws-docs-msk")) == []

    def test_self_managed_events_are_shaped_as_the_self_managed_samples(self) -> None:
        built = kafka_event(
            [{"key": "value"}],
            topic="mytopic",
            keys=b"recordKey",
            headers={"headerKey": b"headerValue"},
            self_managed=True,
        )
        assert shape_differences(built, load("powertools-kafkaEventSelfManaged")) == []

    def test_header_values_are_java_signed_bytes_as_lambda_sends_them(self) -> None:
        built = kafka_event([b"v"], headers={"test-header": "hello-worldë"})
        (record,) = records_of(built)
        assert record["headers"] == [{"test-header": SIGNED_HEADER}]


def test_the_comparison_names_every_difference_in_shape() -> None:
    """The comparison is not vacuous: a FIFO record differs from a standard queue's sample by
    its three FIFO attributes, and a number where AWS has a string is named."""
    fifo = sqs_event(["Test message."], fifo=True)
    assert shape_differences(fifo, load("aws-docs-sqs-fifo")) == []
    assert shape_differences(fifo, {"Records": [records_of(load("aws-docs-sqs-standard"))[0]]}) == [
        "$.Records[0].attributes.MessageDeduplicationId: not in AWS's sample",
        "$.Records[0].attributes.MessageGroupId: not in AWS's sample",
        "$.Records[0].attributes.SequenceNumber: not in AWS's sample",
    ]
    assert shape_differences({"partition": 0}, {"partition": "0"}) == [
        "$.partition: number where AWS has string"
    ]
