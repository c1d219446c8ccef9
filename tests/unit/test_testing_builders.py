"""Event builders produce events shaped exactly as Lambda delivers them."""

from __future__ import annotations

import base64
import hashlib
import json
from decimal import Decimal

import pytest

from lambdakit.errors import EventBuilderError
from lambdakit.events import DynamoDBRecord
from lambdakit.testing import dynamodb_stream_event, kinesis_event, sqs_event

SQS_RECORD_KEYS = {
    "messageId",
    "receiptHandle",
    "body",
    "attributes",
    "messageAttributes",
    "md5OfBody",
    "eventSource",
    "eventSourceARN",
    "awsRegion",
}


class TestSqsEvent:
    def test_records_have_the_fields_lambda_sends(self) -> None:
        (record,) = sqs_event(["hello"], region="eu-west-1")["Records"]
        assert set(record) == SQS_RECORD_KEYS
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-1:123456789012:test-queue"
        assert record["md5OfBody"] == hashlib.md5(b"hello").hexdigest()
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        assert record["attributes"]["SentTimestamp"].isdigit()

    def test_bodies_are_strings_as_given_or_json(self) -> None:
        records = sqs_event(["plain", {"id": 1}, b"bytes"])["Records"]
        assert [r["body"] for r in records] == ["plain", '{"id":1}', "bytes"]

    def test_message_ids_are_unique(self) -> None:
        records = sqs_event(["a"] * 50)["Records"]
        assert len({r["messageId"] for r in records}) == 50

    def test_fifo_records_carry_group_dedup_and_increasing_sequence(self) -> None:
        records = sqs_event(["a", "b", "c"], group_ids=["g1", "g2", "g1"])["Records"]
        assert records[0]["eventSourceARN"].endswith("test-queue.fifo")
        assert [r["attributes"]["MessageGroupId"] for r in records] == ["g1", "g2", "g1"]
        sequence = [int(r["attributes"]["SequenceNumber"]) for r in records]
        assert sequence == sorted(sequence)
        assert len(set(sequence)) == 3
        assert all(r["attributes"]["MessageDeduplicationId"] for r in records)

    def test_standard_records_have_no_fifo_attributes(self) -> None:
        (record,) = sqs_event(["a"])["Records"]
        assert "MessageGroupId" not in record["attributes"]
        assert "SequenceNumber" not in record["attributes"]

    def test_message_attributes_take_lambdas_shape(self) -> None:
        (record,) = sqs_event(["a"], message_attributes={"tenant": "t1", "n": 3})["Records"]
        assert record["messageAttributes"]["tenant"] == {
            "stringValue": "t1",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
        assert record["messageAttributes"]["n"]["dataType"] == "Number"

    def test_per_record_options_must_match_the_number_of_records(self) -> None:
        with pytest.raises(EventBuilderError, match="group_ids: 1 values given for 2 records"):
            sqs_event(["a", "b"], group_ids=["g1"])


class TestKinesisEvent:
    def test_data_is_base64_encoded(self) -> None:
        records = kinesis_event([b"\x00\x01", "text", {"k": 1}])["Records"]
        decoded = [base64.b64decode(r["kinesis"]["data"]) for r in records]
        assert decoded == [b"\x00\x01", b"text", b'{"k":1}']

    def test_records_have_the_fields_lambda_sends(self) -> None:
        (record,) = kinesis_event(["x"], stream_name="clicks", region="us-west-2")["Records"]
        assert record["eventSource"] == "aws:kinesis"
        assert record["eventName"] == "aws:kinesis:record"
        assert record["eventSourceARN"] == "arn:aws:kinesis:us-west-2:123456789012:stream/clicks"
        assert set(record["kinesis"]) == {
            "kinesisSchemaVersion",
            "partitionKey",
            "sequenceNumber",
            "data",
            "approximateArrivalTimestamp",
        }
        assert record["eventID"] == f"shardId-000000000000:{record['kinesis']['sequenceNumber']}"

    def test_sequence_numbers_increase_per_shard(self) -> None:
        records = kinesis_event(["a", "b", "c", "d"], shard_id=["s1", "s2", "s1", "s2"])["Records"]
        for shard in ("s1", "s2"):
            numbers = [
                int(r["kinesis"]["sequenceNumber"])
                for r in records
                if r["eventID"].startswith(shard + ":")
            ]
            assert numbers == sorted(numbers)
            assert len(set(numbers)) == 2

    def test_partition_keys_one_for_all_or_one_each(self) -> None:
        records = kinesis_event(["a", "b"], partition_keys="user-1")["Records"]
        assert {r["kinesis"]["partitionKey"] for r in records} == {"user-1"}


class TestDynamoDBStreamEvent:
    def test_images_are_typed_attribute_values(self) -> None:
        event = dynamodb_stream_event(
            [{"new_image": {"id": "o-1", "total": 12.5, "tags": {"a"}, "raw": b"\x01"}}]
        )
        (record,) = event["Records"]
        new = record["dynamodb"]["NewImage"]
        assert new["id"] == {"S": "o-1"}
        assert new["total"] == {"N": "12.5"}
        assert new["tags"] == {"SS": ["a"]}
        assert new["raw"] == {"B": base64.b64encode(b"\x01").decode()}
        assert record["dynamodb"]["Keys"] == {"id": {"S": "o-1"}}
        json.dumps(event)  # JSON-serialisable, as a real event is

    def test_event_name_follows_the_images(self) -> None:
        records = dynamodb_stream_event(
            [
                {"new_image": {"id": "1"}},
                {"old_image": {"id": "1"}, "new_image": {"id": "1", "x": 1}},
                {"old_image": {"id": "1"}},
            ]
        )["Records"]
        assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]

    def test_view_type_decides_which_images_are_present(self) -> None:
        change = {"old_image": {"id": "1"}, "new_image": {"id": "1", "x": 1}}
        keys_only = dynamodb_stream_event([change], view_type="KEYS_ONLY")["Records"][0]
        assert "NewImage" not in keys_only["dynamodb"]
        assert "OldImage" not in keys_only["dynamodb"]
        new_only = dynamodb_stream_event([change], view_type="NEW_IMAGE")["Records"][0]
        assert "NewImage" in new_only["dynamodb"]
        assert "OldImage" not in new_only["dynamodb"]

    def test_round_trips_through_the_record_view(self) -> None:
        item = {"id": "1", "n": 3, "price": Decimal("9.99"), "nested": {"l": [1, "two", None]}}
        raw = dynamodb_stream_event([{"new_image": item}])["Records"][0]
        assert DynamoDBRecord(raw).new_image == item

    def test_ttl_removals_carry_the_service_identity(self) -> None:
        raw = dynamodb_stream_event([{"old_image": {"id": "1"}, "ttl": True}])["Records"][0]
        assert raw["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        assert DynamoDBRecord(raw).is_ttl_expiry

    def test_a_missing_key_attribute_is_named(self) -> None:
        with pytest.raises(EventBuilderError, match=r"changes\[0\]: key attribute\(s\) \['pk'\]"):
            dynamodb_stream_event([{"new_image": {"id": "1"}}], key_names=("pk",))

    def test_sequence_numbers_increase(self) -> None:
        records = dynamodb_stream_event([{"new_image": {"id": str(i)}} for i in range(3)])[
            "Records"
        ]
        numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        assert numbers == sorted(numbers)
