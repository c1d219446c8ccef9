"""Record views: typed, lazy, raw dict always reachable, decoding errors name the field."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from lambdakit.errors import RecordDecodeError
from lambdakit.events import DynamoDBRecord, KafkaRecord, KinesisRecord, SQSRecord, deserialize
from lambdakit.testing import dynamodb_stream_event, kinesis_event, sqs_event


class TestSQSRecord:
    def test_exposes_body_json_and_ids(self) -> None:
        raw = sqs_event([{"order": 7}], message_attributes={"tenant": "t1"})["Records"][0]
        record = SQSRecord(raw)
        assert record.raw is raw
        assert record.message_id == raw["messageId"]
        assert record.identifier == raw["messageId"]
        assert record.body == '{"order":7}'
        assert record.json() == {"order": 7}
        assert record.message_attributes["tenant"]["stringValue"] == "t1"
        assert record.approximate_receive_count == 1
        assert record.queue_name == "test-queue"
        assert record.message_group_id is None

    def test_fifo_attributes(self) -> None:
        raw = sqs_event(["x"], group_ids="g-9")["Records"][0]
        record = SQSRecord(raw)
        assert record.message_group_id == "g-9"
        assert record.sequence_number is not None
        assert record.message_deduplication_id

    def test_json_is_parsed_once(self) -> None:
        record = SQSRecord(sqs_event([{"a": 1}])["Records"][0])
        assert record.json() is record.json()

    def test_invalid_json_names_the_record_and_field(self) -> None:
        record = SQSRecord(sqs_event(["not json"])["Records"][0], index=3)
        with pytest.raises(RecordDecodeError, match=r"Records\[3\]\.body: not valid JSON"):
            record.json()


class TestKinesisRecord:
    def test_data_is_decoded_bytes(self) -> None:
        raw = kinesis_event([{"temp": 21.5}], partition_keys="sensor-1")["Records"][0]
        record = KinesisRecord(raw)
        assert record.data == b'{"temp":21.5}'
        assert record.json() == {"temp": 21.5}
        assert record.partition_key == "sensor-1"
        assert record.sequence_number == raw["kinesis"]["sequenceNumber"]
        assert record.shard_id == "shardId-000000000000"

    def test_bad_base64_names_the_field(self) -> None:
        raw = kinesis_event(["x"])["Records"][0]
        raw["kinesis"]["data"] = "@@@"
        with pytest.raises(
            RecordDecodeError, match=r"Records\[0\]\.kinesis\.data: not valid base64"
        ):
            _ = KinesisRecord(raw, index=0).data

    def test_binary_payload_that_is_not_json(self) -> None:
        record = KinesisRecord(kinesis_event([b"\xff\x00"])["Records"][0], index=1)
        assert record.data == b"\xff\x00"
        with pytest.raises(RecordDecodeError, match=r"Records\[1\]\.kinesis\.data"):
            record.json()


class TestDynamoDBRecord:
    def test_images_are_plain_python(self) -> None:
        raw = dynamodb_stream_event(
            [{"old_image": {"id": "1", "qty": 1}, "new_image": {"id": "1", "qty": 2}}]
        )["Records"][0]
        record = DynamoDBRecord(raw)
        assert record.event_name == "MODIFY"
        assert record.keys == {"id": "1"}
        assert record.old_image == {"id": "1", "qty": Decimal(1)}
        assert record.new_image == {"id": "1", "qty": Decimal(2)}
        assert record.sequence_number == raw["dynamodb"]["SequenceNumber"]

    def test_missing_images_are_none(self) -> None:
        raw = dynamodb_stream_event([{"new_image": {"id": "1"}}])["Records"][0]
        assert DynamoDBRecord(raw).old_image is None

    def test_every_attribute_type_deserializes_like_boto3(self) -> None:
        from boto3.dynamodb.types import TypeDeserializer

        blob = base64.b64encode(b"\x01\x02").decode()
        values = [
            {"S": "x"},
            {"N": "12.50"},
            {"BOOL": True},
            {"NULL": True},
            {"L": [{"S": "a"}, {"N": "1"}]},
            {"M": {"k": {"SS": ["a", "b"]}}},
            {"NS": ["1", "2.5"]},
        ]
        boto3_deserializer = TypeDeserializer()
        for value in values:
            assert deserialize(value) == boto3_deserializer.deserialize(value), value
        assert deserialize({"B": blob}) == b"\x01\x02"
        assert deserialize({"BS": [blob]}) == {b"\x01\x02"}

    def test_a_malformed_attribute_value_names_its_path(self) -> None:
        raw = dynamodb_stream_event([{"new_image": {"id": "1"}}])["Records"][0]
        raw["dynamodb"]["NewImage"]["bad"] = {"Q": "?"}
        with pytest.raises(
            RecordDecodeError, match=r"Records\[2\]\.dynamodb\.NewImage\.bad: unknown DynamoDB type"
        ):
            _ = DynamoDBRecord(raw, index=2).new_image


class TestViewConstruction:
    @pytest.mark.parametrize("view_type", [SQSRecord, KinesisRecord, DynamoDBRecord, KafkaRecord])
    def test_views_hold_only_raw_and_index_at_construction(self, view_type: type) -> None:
        # The batch loop builds views without calling __init__ (it sets the two slots inline);
        # a view that grew its own __init__ would silently lose that work there.
        from lambdakit.events import RecordView

        assert view_type.__init__ is RecordView.__init__
        assert RecordView.__slots__ == ("index", "raw")

    def test_the_batch_loop_hands_out_views_equal_to_constructed_ones(self) -> None:
        from lambdakit.batch import process_batch

        event = sqs_event(["a", "b"])
        seen: list[SQSRecord] = []
        process_batch(seen.append)(event, None)
        for index, record in enumerate(seen):
            # The loop's own subclass (see the next test), named as the view.
            assert isinstance(record, SQSRecord)
            assert type(record).__bases__ == (SQSRecord,)
            assert repr(record).startswith("SQSRecord(")
            assert record.raw is event["Records"][index]
            assert record.index == index
            assert record.body == SQSRecord(event["Records"][index], index).body

    @pytest.mark.parametrize("view_type", [SQSRecord, KinesisRecord, DynamoDBRecord, KafkaRecord])
    def test_the_batch_loops_view_class_only_drops_the_python_init(self, view_type: type) -> None:
        # process_batch instantiates a subclass without __init__ (allocation at C speed): it
        # must add no slot, property or method, so a record behaves exactly as a view.
        from lambdakit.events._base import batch_view_type

        batch_type = batch_view_type(view_type)
        assert batch_type.__bases__ == (view_type,)
        assert batch_type.__slots__ == ()
        assert set(vars(batch_type)) <= {
            "__slots__",
            "__init__",
            "__reduce_ex__",
            "__module__",
            "__qualname__",
            "__doc__",
        }
        assert batch_type.__init__ is object.__init__
        assert (batch_type.__name__, batch_type.__qualname__, batch_type.__module__) == (
            view_type.__name__,
            view_type.__qualname__,
            view_type.__module__,
        )
        assert batch_view_type(view_type) is batch_type

    def test_a_record_from_the_batch_loop_pickles_and_copies_as_its_view(self) -> None:
        import copy
        import pickle

        from lambdakit.batch import process_batch

        seen: list[SQSRecord] = []
        process_batch(seen.append)(sqs_event([{"a": 1}]), None)
        record = seen[0]
        record.json()  # cached values travel too
        for clone in (pickle.loads(pickle.dumps(record)), copy.copy(record)):
            assert type(clone) is SQSRecord
            assert (clone.raw, clone.index, clone.json()) == (record.raw, 0, {"a": 1})
