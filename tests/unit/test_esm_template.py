"""EventSourceMapping.from_template: the deployed event source settings, read from a SAM or
CloudFormation template, drive the model, so a test exercises what is deployed.

Defaults where a template says nothing are AWS's:
- BatchSize: SQS 10, Kinesis and DynamoDB Streams 100, Kafka 100
  (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html#lambda-CreateEventSourceMapping-request-BatchSize,
  https://docs.aws.amazon.com/lambda/latest/dg/msk-esm-parameters.html);
- MaximumBatchingWindowInSeconds: 0, but 500 ms for Kafka
  (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html#invocation-eventsourcemapping-batching);
- a function's Timeout: 3 seconds, or the SAM template's Globals.Function.Timeout
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html#cfn-lambda-function-timeout,
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html);
- a queue's VisibilityTimeout: 30 seconds
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queue.html).

The SQS tests need lambdakit.testing.esm._sqs (SQSQueue), the Kinesis and DynamoDB ones
lambdakit.testing.esm._streams; the Kafka ones only KafkaTopic.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from lambdakit.errors import EventSourceMappingError
from lambdakit.testing import FakeClock
from lambdakit.testing.esm import EventSourceMapping
from lambdakit.testing.esm._template import mapping_from_template

EXAMPLE = Path(__file__).parents[2] / "examples" / "batch_orders" / "template.yaml"
SAM_HEADER = 'AWSTemplateFormatVersion: "2010-09-09"\nTransform: AWS::Serverless-2016-10-31\n'


def handler(event: dict[str, Any], context: Any) -> None:
    return None


def write(tmp_path: Path, text: str, name: str = "template.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def from_template(path: Path, function: str = "Fn", **options: Any) -> EventSourceMapping:
    return mapping_from_template(EventSourceMapping, path, function, handler, **options)


SQS_TEMPLATE = (
    SAM_HEADER
    + """
Globals:
  Function:
    Timeout: 20
Resources:
  Dlq:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: orders-dlq
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: orders
      VisibilityTimeout: 120
      DelaySeconds: 5
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dlq.Arn
        maxReceiveCount: 4
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Events:
        Orders:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 25
            MaximumBatchingWindowInSeconds: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig:
              MaximumConcurrency: 5
            FilterCriteria:
              Filters:
                - Pattern: '{"body": {"kind": ["order"]}}'
"""
)


# --- SQS (needs SQSQueue) ------------------------------------------------------------------------


def test_a_sam_sqs_event_gives_the_mapping_its_deployed_settings(tmp_path: Path) -> None:
    mapping = from_template(write(tmp_path, SQS_TEMPLATE))
    assert mapping.batch_size == 25
    assert mapping.maximum_batching_window == 2
    assert mapping.report_batch_item_failures is True
    assert mapping.maximum_concurrency == 5
    assert mapping.function_timeout == 20  # Globals.Function.Timeout
    assert mapping.filter_criteria is not None
    assert mapping.admits({"eventSource": "aws:sqs", "body": '{"kind": "order"}'}, "sqs")
    assert not mapping.admits({"eventSource": "aws:sqs", "body": '{"kind": "ping"}'}, "sqs")


def test_the_queue_is_built_from_its_resource_with_its_dead_letter_queue(tmp_path: Path) -> None:
    queue = from_template(write(tmp_path, SQS_TEMPLATE)).source
    assert queue.name == "orders"
    assert queue.visibility_timeout == 120
    assert queue.delay_seconds == 5
    assert queue.max_receive_count == 4
    assert queue.dlq is not None
    assert queue.dlq.name == "orders-dlq"
    assert queue.dlq.clock is queue.clock


def test_the_example_templates_queue_and_function_are_what_the_model_runs(tmp_path: Path) -> None:
    mapping = mapping_from_template(EventSourceMapping, EXAMPLE, "OrdersFunction", handler)
    assert (mapping.batch_size, mapping.report_batch_item_failures) == (10, True)
    assert mapping.function_timeout == 30
    queue = mapping.source
    assert queue.fifo is True  # each customer is a message group
    assert (queue.visibility_timeout, queue.max_receive_count) == (180, 10)
    # the logical id with the suffix CloudFormation gives a FIFO queue: no QueueName
    assert queue.dlq.name == "OrdersDeadLetterQueue.fifo"
    # its FilterCriteria: only JSON objects with an order_id reach the function
    assert mapping.admits({"eventSource": "aws:sqs", "body": '{"order_id": "o-1"}'}, "sqs")
    assert not mapping.admits({"eventSource": "aws:sqs", "body": "not json"}, "sqs")


def test_the_example_template_drives_a_run(tmp_path: Path) -> None:
    received: list[str] = []

    def count(event: dict[str, Any], context: Any) -> dict[str, Any]:
        received.extend(record["body"] for record in event["Records"])
        return {"batchItemFailures": []}

    mapping = mapping_from_template(EventSourceMapping, EXAMPLE, "OrdersFunction", count)
    # A FIFO queue without content-based deduplication: each message names its group and id.
    mapping.source.send(json.dumps({"order_id": "o-1"}), group_id="c-1", deduplication_id="o-1")
    mapping.source.send("ping", group_id="c-1", deduplication_id="ping-1")
    summary = mapping.run()
    assert received == ['{"order_id": "o-1"}']
    assert summary.filtered == 1
    assert len(mapping.source) == 0


def test_a_queue_without_settings_gets_sqs_and_lambda_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        SAM_HEADER
        + """
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Orders:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
""",
    )
    mapping = from_template(path)
    assert (mapping.batch_size, mapping.maximum_batching_window) == (10, 0)
    assert mapping.function_timeout == 3
    assert mapping.report_batch_item_failures is False
    queue = mapping.source
    assert (queue.name, queue.visibility_timeout, queue.dlq) == ("Queue", 30, None)


def test_a_fifo_queue_keeps_its_fifo_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        SAM_HEADER
        + """
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
      ContentBasedDeduplication: "true"
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 10
      Events:
        Orders:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
""",
    )
    queue = from_template(path).source
    assert queue.fifo is True
    assert queue.content_based_deduplication is True
    assert queue.name == "Queue.fifo"  # CloudFormation names a FIFO queue with the suffix


def test_a_cloudformation_event_source_mapping_resource_is_read_too(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Handler": "app.handler", "Timeout": 15},
            },
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Fn"},
                    "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
                    "BatchSize": 5,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                },
            },
        }
    }
    mapping = from_template(write(tmp_path, json.dumps(template), "template.json"))
    assert (mapping.batch_size, mapping.function_timeout) == (5, 15)
    assert mapping.report_batch_item_failures is True
    assert mapping.source.visibility_timeout == 60


def test_a_redrive_policy_written_as_json_text_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        SAM_HEADER
        + """
Resources:
  Dlq:
    Type: AWS::SQS::Queue
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: >-
        {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:parked",
        "maxReceiveCount": "2"}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Orders:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
""",
    )
    queue = from_template(path).source
    assert queue.max_receive_count == 2
    assert queue.dlq.name == "parked"  # not in the template: named from its ARN


def test_a_clock_passed_in_is_shared_by_queue_dlq_and_mapping(tmp_path: Path) -> None:
    clock = FakeClock(start=0)
    mapping = from_template(write(tmp_path, SQS_TEMPLATE), clock=clock)
    assert mapping.clock is clock
    assert mapping.source.clock is clock
    assert mapping.source.dlq.clock is clock


# --- Kafka ----------------------------------------------------------------------------------------

MSK_TEMPLATE = (
    SAM_HEADER
    + """
Parameters:
  Topic:
    Type: String
    Default: orders
Resources:
  Cluster:
    Type: AWS::MSK::Cluster
    Properties:
      ClusterName: payments
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 60
      Events:
        Orders:
          Type: MSK
          Properties:
            Stream: !Ref Cluster
            Topics: [!Ref Topic]
            StartingPosition: TRIM_HORIZON
            MaximumRetryAttempts: 3
            BisectBatchOnFunctionError: true
            FunctionResponseTypes: [ReportBatchItemFailures]
            ProvisionedPollerConfig:
              MinimumPollers: 1
            DestinationConfig:
              OnFailure:
                Destination: kafka://orders-failed
"""
)


def test_an_msk_event_builds_a_topic_and_a_provisioned_mapping(tmp_path: Path) -> None:
    mapping = from_template(write(tmp_path, MSK_TEMPLATE))
    topic = mapping.source
    assert (topic.name, topic.partitions, topic.self_managed) == ("orders", 1, False)
    assert mapping.provisioned_mode is True
    assert mapping.starting_position == "TRIM_HORIZON"
    assert mapping.batch_size == 100  # Kafka's default
    assert mapping.maximum_batching_window == 0.5  # Kafka's default window, 500 ms
    assert (mapping.maximum_retry_attempts, mapping.bisect_batch_on_function_error) == (3, True)
    assert mapping.report_batch_item_failures is True
    assert mapping.on_failure == "kafka://orders-failed"
    assert mapping.function_timeout == 60


def test_the_msk_events_name_the_cluster(tmp_path: Path) -> None:
    mapping = from_template(write(tmp_path, MSK_TEMPLATE))
    mapping.source.produce({"id": 1})
    seen: list[dict[str, Any]] = []
    mapping.handler = lambda event, context: seen.append(event)
    mapping.run()
    assert "cluster/payments/" in seen[0]["eventSourceArn"]


def test_a_self_managed_kafka_event_reads_its_bootstrap_servers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        SAM_HEADER
        + """
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Stream:
          Type: SelfManagedKafka
          Properties:
            KafkaBootstrapServers: ["kafka-1:9092", "kafka-2:9092"]
            Topics: [payments]
            BatchSize: 50
            MaximumBatchingWindowInSeconds: 0
""",
    )
    mapping = from_template(path)
    seen: list[dict[str, Any]] = []
    mapping.handler = lambda event, context: seen.append(event)
    mapping.source.produce(b"x")
    mapping.run()
    assert (mapping.batch_size, mapping.maximum_batching_window) == (50, 0)
    assert seen[0]["eventSource"] == "SelfManagedKafka"
    assert seen[0]["bootstrapServers"] == "kafka-1:9092,kafka-2:9092"
    assert base64.b64decode(seen[0]["records"]["payments-0"][0]["value"]) == b"x"


def test_overrides_win_over_the_template(tmp_path: Path) -> None:
    mapping = from_template(write(tmp_path, MSK_TEMPLATE), batch_size=7, function_timeout=5)
    assert (mapping.batch_size, mapping.function_timeout) == (7, 5)


def test_a_source_given_replaces_the_one_the_template_describes(tmp_path: Path) -> None:
    from lambdakit.testing.esm._kafka import KafkaTopic

    topic = KafkaTopic("orders", partitions=3)
    mapping = from_template(write(tmp_path, MSK_TEMPLATE), source=topic)
    assert mapping.source is topic
    assert mapping.maximum_retry_attempts == 3


def test_an_unknown_override_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EventSourceMappingError, match="batchsize"):
        from_template(write(tmp_path, MSK_TEMPLATE), batchsize=7)


# --- Kinesis and DynamoDB Streams (need the stream models) ---------------------------------------

STREAMS_TEMPLATE = (
    SAM_HEADER
    + """
Resources:
  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      Name: clicks
      ShardCount: 4
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: carts
      StreamSpecification:
        StreamViewType: NEW_AND_OLD_IMAGES
  Failures:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Clicks:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Stream.Arn
            StartingPosition: TRIM_HORIZON
            ParallelizationFactor: 2
            MaximumRecordAgeInSeconds: 3600
            MaximumRetryAttempts: 5
            DestinationConfig:
              OnFailure:
                Type: SQS
                Destination: !GetAtt Failures.Arn
        Carts:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: LATEST
            BatchSize: 10
"""
)


def test_a_kinesis_event_builds_the_stream_with_its_shards(tmp_path: Path) -> None:
    mapping = from_template(write(tmp_path, STREAMS_TEMPLATE), event_name="Clicks")
    stream = mapping.source
    assert (stream.name, len(stream.shard_ids)) == ("clicks", 4)
    assert mapping.batch_size == 100
    assert (mapping.parallelization_factor, mapping.maximum_record_age) == (2, 3600)
    assert mapping.maximum_retry_attempts == 5
    assert mapping.starting_position == "TRIM_HORIZON"
    # the queue's ARN, in the models' region and account
    assert mapping.on_failure.startswith("arn:aws:sqs:")
    assert mapping.on_failure.endswith(":123456789012:Failures")


def test_a_dynamodb_event_builds_the_tables_stream(tmp_path: Path) -> None:
    mapping = from_template(write(tmp_path, STREAMS_TEMPLATE), event_name="Carts")
    assert mapping.source.table == "carts"
    assert (mapping.batch_size, mapping.starting_position) == (10, "LATEST")


# --- choosing, and what cannot be read ----------------------------------------------------------


def test_several_event_sources_need_event_name(tmp_path: Path) -> None:
    with pytest.raises(EventSourceMappingError, match=r"several event sources.*Clicks, Carts"):
        from_template(write(tmp_path, STREAMS_TEMPLATE))


def test_an_unknown_event_name_lists_the_ones_there_are(tmp_path: Path) -> None:
    with pytest.raises(EventSourceMappingError, match=r"no event source 'Nope'.*Clicks, Carts"):
        from_template(write(tmp_path, STREAMS_TEMPLATE), event_name="Nope")


def test_an_unknown_function_lists_the_functions(tmp_path: Path) -> None:
    with pytest.raises(EventSourceMappingError, match=r"no function 'Other'.*Fn"):
        from_template(write(tmp_path, MSK_TEMPLATE), "Other")


def test_a_function_without_a_modelled_event_source_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        SAM_HEADER
        + """
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Api:
          Type: Api
          Properties: {Path: /, Method: get}
""",
    )
    with pytest.raises(EventSourceMappingError, match="no SQS, Kinesis, DynamoDB, MSK"):
        from_template(path)


def test_a_setting_the_template_computes_must_be_overridden(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        SAM_HEADER
        + """
Conditions:
  Big: !Equals [a, a]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: !If [Big, 60, 30]
      Events:
        Orders:
          Type: MSK
          Properties:
            Stream: arn:aws:kafka:us-east-1:123456789012:cluster/c/abc
            Topics: [orders]
            StartingPosition: LATEST
""",
    )
    with pytest.raises(EventSourceMappingError, match=r"Fn.Properties.Timeout.*function_timeout="):
        from_template(path)
    assert from_template(path, function_timeout=30).function_timeout == 30


def test_an_unreadable_template_is_an_event_source_mapping_error(tmp_path: Path) -> None:
    with pytest.raises(EventSourceMappingError, match="cannot read the template"):
        from_template(tmp_path / "missing.yaml")


def test_the_classmethod_builds_the_examples_deployed_mapping() -> None:
    from lambdakit.testing import EventSourceMapping as Reexported

    example = Path(__file__).parents[2] / "examples" / "batch_orders" / "template.yaml"
    mapping = Reexported.from_template(example, "OrdersFunction", handler)
    assert mapping.report_batch_item_failures
    assert mapping.filter_criteria is not None
    assert type(mapping.source).__name__ == "SQSQueue"
