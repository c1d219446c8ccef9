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

    def test_header_bytes_are_written_signed_as_lambda_serialises_java_byte_arrays(self) -> None:
        # Lambda serialises a Java byte[]: bytes >= 0x80 arrive as -128..-1, never 128..255.
        event = kafka_event(["v"], headers={"h": b"\x00\x7f\x80\xff", "n": "é"})
        record = event["records"]["test-topic-0"][0]
        assert record["headers"] == [{"h": [0, 127, -128, -1]}, {"n": [-61, -87]}]

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

    def test_header_bytes_are_read_whether_signed_or_unsigned(self) -> None:
        # AWS sends Java's signed bytes (-128..127); hand-written events often use 0..255.
        signed = KafkaRecord({"headers": [{"h": [0, 127, -128, -1]}, {"n": [-61, -87]}]})
        assert signed.headers == {"h": b"\x00\x7f\x80\xff", "n": "é".encode()}
        unsigned = KafkaRecord({"headers": [{"h": [0, 127, 128, 255]}]})
        assert unsigned.headers == {"h": b"\x00\x7f\x80\xff"}

    @pytest.mark.parametrize(
        "octets", [[-129], [256], [1.5], ["a"], "ab", [None], 7, [True, False]]
    )
    def test_header_values_outside_a_byte_are_refused(self, octets: object) -> None:
        record = KafkaRecord(
            {"topic": "t", "partition": 2, "offset": 9, "headers": [{"h": octets}]}
        )
        with pytest.raises(RecordDecodeError, match=r"^t-2@9\.headers\[0\]\.h: expected a list"):
            _ = record.headers

    def test_the_builder_round_trips_every_byte_through_the_view(self) -> None:
        every = bytes(range(256))
        raw = kafka_event(["v"], headers={"all": every})["records"]["test-topic-0"][0]
        assert KafkaRecord(raw).headers == {"all": every}

    def test_decoding_errors_name_the_record_by_topic_partition_and_offset(self) -> None:
        # A Kafka event has no "Records": a record is named as Lambda's own errors name it.
        record = KafkaRecord({"topic": "t", "partition": 0, "offset": 5, "value": "%%%"}, 3)
        with pytest.raises(RecordDecodeError, match=r"^t-0@5\.value: not valid base64"):
            _ = record.value
        bad_key = KafkaRecord({"topic": "t", "partition": 1, "offset": 2, "key": 5}, 0)
        with pytest.raises(RecordDecodeError, match=r"^t-1@2\.key: expected a base64 string"):
            _ = bad_key.key
        not_json = KafkaRecord(
            {"topic": "t", "partition": 0, "offset": 0, "value": base64.b64encode(b"x").decode()}
        )
        with pytest.raises(RecordDecodeError, match=r"^t-0@0\.value: not valid JSON"):
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
        with pytest.raises(
            InvalidRecordError, match=r"^records\['test-topic-0'\]\[1\]\.offset: missing"
        ):
            process_batch(ran.append)(event, None)
        assert ran == []

    def test_a_record_that_is_not_an_object_is_named_by_its_place_in_the_event(self) -> None:
        from lambdakit.batch import process_batch
        from lambdakit.errors import InvalidRecordError

        event = kafka_event(["a"], topic="orders", partitions=[3])
        event["records"]["orders-3"].append("junk")
        with pytest.raises(
            InvalidRecordError, match=r"^records\['orders-3'\]\[1\]: expected an object"
        ):
            process_batch(lambda record: None)(event, None)

    @pytest.mark.parametrize("source", ["aws:kafka", "SelfManagedKafka", "aws:SelfManagedKafka"])
    def test_every_kafka_event_source_lambda_has_used_is_detected(self, source: str) -> None:
        from lambdakit.batch import process_batch

        event = kafka_event(["a", "b"], self_managed=True)
        event["eventSource"] = source
        seen: list[bytes] = []
        assert process_batch(lambda record: seen.append(record.value))(event, None) == {
            "batchItemFailures": []
        }
        assert seen == [b"a", b"b"]

    def test_a_record_with_a_non_ascii_header_is_processed_not_failed(self) -> None:
        from lambdakit.batch import process_batch

        event = kafka_event(["a"], headers={"name": "Zoë", "raw": b"\x80\xff"})
        seen: list[dict[str, bytes]] = []
        assert process_batch(lambda record: seen.append(record.headers))(event, None) == {
            "batchItemFailures": []
        }
        assert seen == [{"name": "Zoë".encode(), "raw": b"\x80\xff"}]

    def test_a_failed_record_is_logged_by_topic_partition_and_offset(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        from lambdakit.batch import process_batch

        def handler(record: KafkaRecord) -> None:
            raise ValueError("poison")

        process_batch(handler)(kafka_event(["a"], topic="orders", first_offset=41), None)
        assert "orders-0@41 failed" in caplog.text
        assert "Records[" not in caplog.text

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


class TestKafkaPartitionsAndOffsetsAsAWSWritesThem:
    def test_a_partition_given_as_a_digit_string_is_read_as_a_number(self) -> None:
        # The Lambda developer guide's sample of a self-managed Kafka event has "partition": "0".
        from lambdakit.batch import process_batch

        event = kafka_event(["a", "b"], topic="mytopic", self_managed=True)
        for record in event["records"]["mytopic-0"]:
            record["partition"] = "0"
        event["records"]["mytopic-0"][1]["offset"] = "1"

        def handler(record: KafkaRecord) -> None:
            assert (record.partition, record.identifier) == (0, f"mytopic-0@{record.offset}")
            raise ValueError("fails")

        assert process_batch(handler)(event, None) == {
            "batchItemFailures": [
                {"itemIdentifier": {"partition": "mytopic-0", "offset": 0}},
                {"itemIdentifier": {"partition": "mytopic-0", "offset": 1}},
            ]
        }

    @pytest.mark.parametrize("value", [-1, "-1", "x", "1.5", 1.5, True, "\u0661"])
    def test_a_partition_that_is_no_whole_number_is_refused(self, value: object) -> None:
        from lambdakit.batch import process_batch
        from lambdakit.errors import InvalidRecordError

        event = kafka_event(["a"])
        event["records"]["test-topic-0"][0]["partition"] = value
        with pytest.raises(
            InvalidRecordError,
            match=r"^records\['test-topic-0'\]\[0\]\.partition: expected a whole number",
        ):
            process_batch(lambda record: None)(event, None)
