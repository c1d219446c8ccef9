"""Kafka events in: the KafkaRecord view and the kafka_event builder (MSK, self-managed)."""

from __future__ import annotations

import base64

import pytest

from lambdakit.errors import EventBuilderError, RecordDecodeError
from lambdakit.events import KafkaRecord
from lambdakit.testing import kafka_event


class TestKafkaEventBuilder:
    def test_an_msk_event_groups_records_by_topic_partition_with_increasing_offsets(self) -> None:
        event = kafka_event(["a", "b", "c"], topic="orders", partitions=[0, 1, 0])
        assert event["eventSource"] == "aws:kafka"
        assert event["eventSourceArn"].startswith("arn:aws:kafka:")
        assert set(event["records"]) == {"orders-0", "orders-1"}
        assert [r["offset"] for r in event["records"]["orders-0"]] == [0, 1]
        assert [r["offset"] for r in event["records"]["orders-1"]] == [0]
        record = event["records"]["orders-0"][1]
        assert base64.b64decode(record["value"]) == b"c"
        assert record["timestampType"] == "CREATE_TIME"
        assert isinstance(record["timestamp"], int)
        assert "key" not in record  # no key given: Lambda sends none

    def test_a_self_managed_event_has_no_arn(self) -> None:
        event = kafka_event(["a"], self_managed=True)
        assert event["eventSource"] == "SelfManagedKafka"
        assert "eventSourceArn" not in event

    def test_keys_and_headers_are_encoded_as_lambda_sends_them(self) -> None:
        event = kafka_event([{"n": 1}], keys="k-1", headers={"trace": "abc"})
        record = event["records"]["test-topic-0"][0]
        assert base64.b64decode(record["key"]) == b"k-1"
        assert record["headers"] == [{"trace": [97, 98, 99]}]

    def test_a_bad_partition_is_refused(self) -> None:
        with pytest.raises(EventBuilderError, match=r"partitions\[0\]"):
            kafka_event(["a"], partitions=[-1])


class TestKafkaRecord:
    def test_exposes_position_key_value_json_and_headers(self) -> None:
        raw = kafka_event([{"order": 7}], keys=b"\x00k", headers={"h": b"\x01\x02"})["records"][
            "test-topic-0"
        ][0]
        record = KafkaRecord(raw, 0)
        assert (record.topic, record.partition, record.offset) == ("test-topic", 0, 0)
        assert record.key == b"\x00k"
        assert record.value == b'{"order":7}'
        assert record.json() == {"order": 7}
        assert record.headers == {"h": b"\x01\x02"}
        assert record.identifier == "test-topic-0@0"
        assert record.raw is raw

    def test_a_record_without_key_or_value(self) -> None:
        record = KafkaRecord({"topic": "t", "partition": 0, "offset": 5})
        assert record.key is None
        assert record.value == b""
        assert record.headers == {}

    def test_decoding_errors_name_the_field(self) -> None:
        record = KafkaRecord({"topic": "t", "partition": 0, "offset": 0, "value": "%%%"}, 3)
        with pytest.raises(RecordDecodeError, match=r"Records\[3\]\.value: not valid base64"):
            _ = record.value
        not_json = KafkaRecord(
            {"topic": "t", "partition": 0, "offset": 0, "value": base64.b64encode(b"x").decode()}
        )
        with pytest.raises(RecordDecodeError, match="value: not valid JSON"):
            not_json.json()
        bad_headers = KafkaRecord({"headers": [{"h": [300]}]}, 1)
        with pytest.raises(RecordDecodeError, match=r"headers\[0\]\.h: expected a list of byte"):
            _ = bad_headers.headers


class TestProcessBatchOnKafka:
    def test_failures_are_reported_as_partition_and_offset_and_stop_their_partition(
        self,
    ) -> None:
        from lambdakit.batch import process_batch
        from lambdakit.testing import LambdaContext

        ran: list[tuple[int, int]] = []

        @process_batch(concurrency=2)
        def handler(record: KafkaRecord) -> None:
            ran.append((record.partition, record.offset))
            if record.json().get("bad"):
                raise ValueError("poison")

        event = kafka_event(
            [{"n": 0}, {"bad": 1}, {"n": 2}, {"n": 3}, {"n": 4}],
            topic="orders",
            partitions=[0, 0, 0, 1, 1],
        )
        response = handler(event, LambdaContext())
        # The failed record and the records after it in its partition (not run) are reported,
        # in the shape Lambda's partial batch response for Kafka takes.
        assert response == {
            "batchItemFailures": [
                {"itemIdentifier": {"partition": "orders-0", "offset": 1}},
                {"itemIdentifier": {"partition": "orders-0", "offset": 2}},
            ]
        }
        assert sorted(ran) == [(0, 0), (0, 1), (1, 0), (1, 1)]

    def test_self_managed_events_and_explicit_source(self) -> None:
        from lambdakit.batch import process_batch

        seen: list[bytes] = []
        handler = process_batch(source="kafka")(lambda record: seen.append(record.value))
        assert handler(kafka_event(["a", "b"], self_managed=True), None) == {
            "batchItemFailures": []
        }
        assert seen == [b"a", b"b"]

    def test_a_record_without_an_offset_fails_the_invocation_before_any_runs(self) -> None:
        from lambdakit.batch import process_batch
        from lambdakit.errors import InvalidRecordError

        event = kafka_event(["a", "b"])
        del event["records"]["test-topic-0"][1]["offset"]
        ran: list[object] = []
        with pytest.raises(InvalidRecordError, match=r"Records\[1\]\.offset: missing"):
            process_batch(ran.append)(event, None)
        assert ran == []

    def test_idempotency_keys_see_the_decoded_value(self) -> None:
        from lambdakit.batch import process_batch
        from lambdakit.idempotency import InMemoryStore, idempotent

        charged: list[int] = []

        @process_batch
        @idempotent(InMemoryStore(), key="value.order_id")
        def handler(record: KafkaRecord) -> None:
            charged.append(record.json()["order_id"])

        handler(kafka_event([{"order_id": 1}, {"order_id": 1}, {"order_id": 2}]), None)
        assert charged == [1, 2]
