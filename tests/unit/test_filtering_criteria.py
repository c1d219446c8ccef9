"""FilterCriteria as Lambda applies it: limits, per-source record views, templates, the
filter_records decorator (alone and stacked with process_batch) and the `lambdakit filter` CLI."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from lambdakit.batch import process_batch
from lambdakit.cli import main
from lambdakit.errors import (
    DecoratorOrderError,
    FilterPatternError,
    FilterTemplateError,
    LambdakitError,
)
from lambdakit.events import SQSRecord
from lambdakit.filtering import FilterCriteria, filter_records
from lambdakit.testing import LambdaContext, dynamodb_stream_event, kinesis_event, sqs_event


def criteria(*patterns: Any, **options: Any) -> FilterCriteria:
    filters = [{"Pattern": p if isinstance(p, str) else json.dumps(p)} for p in patterns]
    return FilterCriteria.from_dict({"Filters": filters}, **options)


class TestLimits:
    def test_five_filters_by_default(self) -> None:
        patterns = [{"body": {"n": [i]}} for i in range(5)]
        assert len(criteria(*patterns)) == 5
        with pytest.raises(FilterPatternError, match=r"6 filters; Lambda allows 5.*max_filters=10"):
            criteria(*patterns, {"body": {"n": [5]}})

    def test_ten_filters_with_a_raised_quota(self) -> None:
        patterns = [{"body": {"n": [i]}} for i in range(10)]
        assert len(criteria(*patterns, max_filters=10)) == 10
        with pytest.raises(FilterPatternError, match="11 filters; Lambda allows 10"):
            criteria(*patterns, {"body": {"n": [10]}}, max_filters=10)

    def test_a_pattern_is_at_most_4096_characters(self) -> None:
        long_value = "x" * 4096
        with pytest.raises(FilterPatternError, match=r"Filters\[0\]\.Pattern.*4096"):
            criteria({"body": {"k": [long_value]}})

    def test_an_invalid_pattern_names_the_filter_and_the_path(self) -> None:
        with pytest.raises(FilterPatternError, match=r"Filters\[1\]\.Pattern body\.k: Empty arr"):
            criteria({"body": {"k": ["ok"]}}, {"body": {"k": []}})

    def test_errors_are_lambdakit_errors(self) -> None:
        assert issubclass(FilterPatternError, LambdakitError)
        assert issubclass(FilterTemplateError, FilterPatternError)

    def test_no_filters_lets_everything_through(self) -> None:
        record = sqs_event(["anything"])["Records"][0]
        assert FilterCriteria.from_dict({}).matches_record(record)


class TestSQSRecordView:
    def test_filters_are_ored(self) -> None:
        either = criteria({"body": {"kind": ["order"]}}, {"body": {"kind": ["refund"]}})
        records = sqs_event([{"kind": "order"}, {"kind": "refund"}, {"kind": "other"}])["Records"]
        assert [either.matches_record(r) for r in records] == [True, True, False]

    def test_a_json_object_body_is_matched_as_json(self) -> None:
        record = sqs_event([{"order": {"total": 120}}])["Records"][0]
        big = criteria({"body": {"order": {"total": [{"numeric": [">", 100]}]}}})
        assert big.matches_record(record)
        assert big.matches_record(SQSRecord(record))  # record views work too

    def test_a_plain_body_is_matched_as_a_string(self) -> None:
        record = sqs_event(["hello world"])["Records"][0]
        assert criteria({"body": [{"prefix": "hello"}]}).matches_record(record)

    def test_a_json_pattern_drops_a_plain_body_even_with_exists_false(self) -> None:
        record = sqs_event(["not json"])["Records"][0]
        assert not criteria({"body": {"kind": [{"exists": False}]}}).matches_record(record)

    def test_a_plain_string_pattern_drops_a_json_body(self) -> None:
        record = sqs_event([{"kind": "order"}])["Records"][0]
        assert not criteria({"body": [{"anything-but": "x"}]}).matches_record(record)

    def test_a_json_body_that_is_not_an_object_is_a_plain_string(self) -> None:
        record = sqs_event(["[1, 2]"])["Records"][0]
        assert criteria({"body": ["[1, 2]"]}).matches_record(record)

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_a_body_that_only_pythons_json_reads_is_a_plain_string(self, constant: str) -> None:
        # Lambda's parser (Jackson, as event-ruler configures it) refuses these constants, so
        # such a body is not JSON to Lambda: a JSON pattern drops it, a string pattern sees it.
        body = f'{{"kind": "order", "score": {constant}}}'
        record = sqs_event([body])["Records"][0]
        assert not criteria({"body": {"kind": ["order"]}}).matches_record(record)
        assert criteria({"body": [{"prefix": '{"kind"'}]}).matches_record(record)

    def test_metadata_fields_are_matched_as_delivered(self) -> None:
        record = sqs_event(["x"], message_attributes={"tenant": "t1"})["Records"][0]
        tenant = criteria({"messageAttributes": {"tenant": {"stringValue": ["t1"]}}})
        assert tenant.matches_record(record)


class TestStreamRecordViews:
    def test_kinesis_data_is_decoded_and_named_data_at_the_top(self) -> None:
        record = kinesis_event([{"type": "buy"}], partition_keys="p-1")["Records"][0]
        assert criteria({"data": {"type": ["buy"]}}).matches_record(record)
        assert criteria({"partitionKey": ["p-1"], "data": {"type": ["buy"]}}).matches_record(record)
        assert not criteria({"data": {"type": ["sell"]}}).matches_record(record)

    def test_kinesis_data_that_is_not_json_is_dropped_by_a_data_pattern(self) -> None:
        record = kinesis_event([b"\x00raw"])["Records"][0]
        assert not criteria({"data": {"type": [{"exists": False}]}}).matches_record(record)

    def test_kinesis_patterns_must_filter_data_as_json(self) -> None:
        with pytest.raises(FilterPatternError, match="kinesis filter patterns must filter 'data'"):
            criteria({"data": ["x"]}, source="kinesis")

    def test_dynamodb_records_are_matched_with_typed_values(self) -> None:
        image = {"id": "o-1", "status": "shipped", "total": 5}
        event = dynamodb_stream_event([{"new_image": image}])
        record = event["Records"][0]
        assert criteria({"dynamodb": {"NewImage": {"status": {"S": ["shipped"]}}}}).matches_record(
            record
        )
        # Numbers are strings in stream records: numeric operators cannot match them.
        total = {"dynamodb": {"NewImage": {"total": {"N": [{"numeric": [">", 1]}]}}}}
        assert not criteria(total).matches_record(record)
        assert criteria({"dynamodb": {"NewImage": {"total": {"N": ["5"]}}}}).matches_record(record)

    def test_kafka_value_is_decoded_and_a_mismatch_filters_on_metadata_only(self) -> None:
        def kafka(value: bytes) -> dict[str, Any]:
            return {
                "topic": "orders",
                "partition": 0,
                "offset": 1,
                "timestamp": 1,
                "timestampType": "CREATE_TIME",
                "value": base64.b64encode(value).decode(),
                "headers": [],
            }

        json_value = criteria({"topic": ["orders"], "value": {"kind": ["order"]}}, source="kafka")
        assert json_value.matches_record(kafka(b'{"kind": "order"}'))
        assert not json_value.matches_record(kafka(b'{"kind": "refund"}'))
        # A plain value against a JSON pattern: Lambda applies the metadata filters only.
        assert json_value.matches_record(kafka(b"plain text"))
        other_topic = criteria({"topic": ["other"], "value": {"k": ["v"]}}, source="kafka")
        assert not other_topic.matches_record(kafka(b"plain text"))

    def test_an_unknown_source_is_refused(self) -> None:
        with pytest.raises(FilterPatternError, match=r"source.*expected one of"):
            criteria({"a": ["x"]}, source="sns")


SAM = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt OrdersQueue.Arn
            FilterCriteria:
              Filters:
                - Pattern: '{"body": {"kind": ["order"]}}'
                - Pattern: !Sub '{"body": {"kind": ["refund"]}}'
        Stream:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Stream.Arn
            StartingPosition: LATEST
            FilterCriteria:
              Filters:
                - Pattern: '{"data": {"type": ["buy"]}}'
  Audit:
    Type: AWS::Serverless::Function
    Properties:
      Handler: audit.handler
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt OrdersQueue.Arn
  OrdersQueue:
    Type: AWS::SQS::Queue
  Stream:
    Type: AWS::Kinesis::Stream
"""

CLOUDFORMATION = {
    "Resources": {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "app.handler"}},
        "Mapping": {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "FunctionName": {"Ref": "Fn"},
                "EventSourceArn": {"Fn::GetAtt": ["Table", "StreamArn"]},
                "FilterCriteria": {
                    "Filters": [{"Pattern": '{"dynamodb": {"NewImage": {"s": {"S": ["x"]}}}}'}]
                },
            },
        },
        "Table": {"Type": "AWS::DynamoDB::Table"},
    }
}


class TestTemplates:
    @pytest.fixture
    def sam(self, tmp_path: Path) -> Path:
        path = tmp_path / "template.yaml"
        path.write_text(SAM)
        return path

    def test_a_sam_event_sources_criteria_with_its_record_view(self, sam: Path) -> None:
        queue = FilterCriteria.from_template(sam, function="Orders", event="Queue")
        assert queue.source == "sqs"
        assert len(queue) == 2
        orders = sqs_event([{"kind": "order"}, {"kind": "refund"}, {"kind": "x"}])["Records"]
        assert [queue.matches_record(r) for r in orders] == [True, True, False]
        stream = FilterCriteria.from_template(sam, function="Orders", event="Stream")
        assert stream.source == "kinesis"
        assert stream.matches_record(kinesis_event([{"type": "buy"}])["Records"][0])

    def test_an_event_source_without_criteria_lets_everything_through(self, sam: Path) -> None:
        audit = FilterCriteria.from_template(sam, function="Audit")
        assert audit.matches_record(sqs_event(["anything"])["Records"][0])

    def test_ambiguity_and_typos_are_explained_with_what_exists(self, sam: Path) -> None:
        with pytest.raises(FilterTemplateError, match=r"several functions.*Audit, Orders"):
            FilterCriteria.from_template(sam)
        with pytest.raises(FilterTemplateError, match=r"several event sources.*Queue, Stream"):
            FilterCriteria.from_template(sam, function="Orders")
        with pytest.raises(FilterTemplateError, match=r"no function 'Order'.*Audit, Orders"):
            FilterCriteria.from_template(sam, function="Order")
        with pytest.raises(FilterTemplateError, match=r"no event source 'Q'.*Queue, Stream"):
            FilterCriteria.from_template(sam, function="Orders", event="Q")

    def test_a_cloudformation_event_source_mapping_in_json(self, tmp_path: Path) -> None:
        path = tmp_path / "template.json"
        path.write_text(json.dumps(CLOUDFORMATION))
        found = FilterCriteria.from_template(path)
        assert found.source == "dynamodb"
        record = dynamodb_stream_event([{"new_image": {"id": "o-1", "s": "x"}}])["Records"][0]
        assert found.matches_record(record)

    def test_a_file_that_is_not_a_template(self, tmp_path: Path) -> None:
        path = tmp_path / "t.yaml"
        path.write_text("just: text\n")
        with pytest.raises(FilterTemplateError, match="no Resources"):
            FilterCriteria.from_template(path)
        with pytest.raises(FilterTemplateError, match="cannot read"):
            FilterCriteria.from_template(tmp_path / "missing.yaml")


class TestFilterRecordsDecorator:
    def test_records_that_match_no_filter_are_removed_before_the_handler(self) -> None:
        seen: list[list[str]] = []

        @filter_records({"body": {"kind": ["order"]}})
        def handler(event: dict[str, Any], context: Any) -> str:
            seen.append([json.loads(r["body"])["kind"] for r in event["Records"]])
            return "done"

        event = sqs_event([{"kind": "order"}, {"kind": "refund"}, {"kind": "order"}])
        assert handler(event, None) == "done"
        assert seen == [["order", "order"]]
        assert len(event["Records"]) == 3  # the caller's event is untouched

    def test_an_event_without_records_is_matched_whole(self) -> None:
        calls: list[Any] = []

        @filter_records({"source": ["aws.ec2"]})
        def handler(event: dict[str, Any], context: Any) -> str:
            calls.append(event)
            return "handled"

        assert handler({"source": "aws.ec2"}, None) == "handled"
        assert handler({"source": "aws.s3"}, None) is None
        assert len(calls) == 1

    def test_over_process_batch_filtered_records_are_processed_and_never_run(self) -> None:
        pattern = {"body": {"kind": ["order"]}}
        ran: list[str] = []

        def record_handler(record: SQSRecord) -> None:
            body = record.json()
            ran.append(body["id"])
            if body["id"] == "bad":
                raise ValueError("poison")

        handler = filter_records(pattern)(process_batch(record_handler))
        event = sqs_event(
            [
                {"kind": "order", "id": "a"},
                {"kind": "refund", "id": "bad"},  # filtered out: never run, never reported
                {"kind": "order", "id": "bad"},
            ]
        )
        response = handler(event, LambdaContext())
        assert response == {
            "batchItemFailures": [{"itemIdentifier": event["Records"][2]["messageId"]}]
        }
        assert ran == ["a", "bad"]

    def test_under_process_batch_it_is_refused_naming_the_order_that_works(self) -> None:
        with pytest.raises(DecoratorOrderError) as refused:
            process_batch(filter_records({"body": {"kind": ["order"]}})(lambda record: None))
        assert "@process_batch over @filter_records" in str(refused.value)
        assert "The order that works: @filter_records over @process_batch" in str(refused.value)

    def test_async_handlers(self) -> None:
        import asyncio

        @filter_records({"source": ["aws.ec2"]})
        async def handler(event: dict[str, Any], context: Any) -> str:
            return "handled"

        assert asyncio.run(handler({"source": "aws.ec2"}, None)) == "handled"
        assert asyncio.run(handler({"source": "x"}, None)) is None

    def test_invalid_criteria_fail_when_the_decorator_is_applied(self) -> None:
        with pytest.raises(FilterPatternError, match="Empty arrays"):
            filter_records({"source": []})


class TestCommandLine:
    def test_match_no_match_and_invalid_input_exit_codes(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        pattern = '{"detail": {"state": ["running", "stopped"]}}'
        assert (
            main(
                [
                    "filter",
                    "check",
                    "--pattern",
                    pattern,
                    "--event",
                    '{"detail": {"state": "running"}}',
                ]
            )
            == 0
        )
        assert capsys.readouterr().out == "match\n"
        assert (
            main(
                [
                    "filter",
                    "check",
                    "--pattern",
                    pattern,
                    "--event",
                    '{"detail": {"state": "pending"}}',
                ]
            )
            == 1
        )
        out = capsys.readouterr().out
        assert out == 'no match\ndetail.state: "pending" is not one of ["running", "stopped"]\n'
        assert main(["filter", "check", "--pattern", '{"a": "x"}', "--event", "{}"]) == 2
        assert '"a" must be an object or an array' in capsys.readouterr().err
        assert main(["filter", "check", "--pattern", "{not json", "--event", "{}"]) == 2
        assert "not valid JSON" in capsys.readouterr().err

    def test_files_templates_and_record_views(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        template = tmp_path / "template.yaml"
        template.write_text(SAM)
        record = tmp_path / "record.json"
        record.write_text(json.dumps(sqs_event([{"kind": "refund"}])["Records"][0]))
        args = ["filter", "check", "--template", str(template), "--function", "Orders"]
        assert main([*args, "--event-source", "Queue", "--event", str(record)]) == 0
        record.write_text(json.dumps(sqs_event([{"kind": "x"}])["Records"][0]))
        assert main([*args, "--event-source", "Queue", "--event", str(record)]) == 1
        assert 'body.kind: "x" is not one of ["refund"]' in capsys.readouterr().out
        assert main([*args, "--event", str(record)]) == 2
        assert "several event sources" in capsys.readouterr().err
        pattern = tmp_path / "pattern.json"
        pattern.write_text('{"body": {"kind": ["x"]}}')
        assert (
            main(
                [
                    "filter",
                    "check",
                    "--pattern",
                    str(pattern),
                    "--source",
                    "sqs",
                    "--event",
                    str(record),
                ]
            )
            == 0
        )
        assert (
            main(
                [
                    "filter",
                    "check",
                    "--pattern",
                    str(pattern),
                    "--event",
                    str(tmp_path / "nope.json"),
                ]
            )
            == 2
        )

    def test_the_console_script_is_installed(self) -> None:
        import subprocess
        import sys

        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "lambdakit"),
                "filter",
                "check",
                "--pattern",
                '{"a": ["x"]}',
                "--event",
                '{"a": "y"}',
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1
        assert done.stdout.startswith("no match")


class TestKafkaAndMQBatches:
    def kafka_event(self, values: list[bytes]) -> dict[str, Any]:
        records = [
            {
                "topic": "orders",
                "partition": 0,
                "offset": offset,
                "timestamp": 1,
                "timestampType": "CREATE_TIME",
                "value": base64.b64encode(value).decode(),
                "headers": [],
            }
            for offset, value in enumerate(values)
        ]
        return {"eventSource": "aws:kafka", "records": {"orders-0": records}}

    def test_kafka_records_are_filtered_by_topic_partition(self) -> None:
        seen: list[int] = []

        @filter_records({"value": {"kind": ["order"]}})
        def handler(event: dict[str, Any], context: Any) -> None:
            seen.extend(r["offset"] for r in event["records"]["orders-0"])

        handler(self.kafka_event([b'{"kind": "order"}', b'{"kind": "x"}']), None)
        assert seen == [0]

    def test_a_kafka_value_that_is_not_utf8_is_filtered_on_metadata_only(self) -> None:
        record = self.kafka_event([b"\xff\xfe"])["records"]["orders-0"][0]
        both = criteria({"topic": ["orders"], "value": {"kind": ["order"]}}, source="kafka")
        assert both.matches_record(record)


def test_exactly_compares_text_even_for_addresses() -> None:
    from lambdakit.filtering import matches

    assert matches({"ip": ["2001:db8::1"]}, {"ip": "2001:DB8::1"})
    assert not matches({"ip": [{"exactly": "2001:db8::1"}]}, {"ip": "2001:DB8::1"})
