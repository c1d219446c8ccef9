"""Batch metrics in CloudWatch Embedded Metric Format: one JSON line on stdout per batch, opt-in.

Every line is parsed back as JSON and checked against the structure the specification requires
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
``_aws.Timestamp`` (milliseconds), ``_aws.CloudWatchMetrics`` directives with ``Namespace``,
``Dimensions`` (sets of top-level member names, each naming a string) and ``Metrics``
(``Name`` naming a numeric top-level member, a valid ``Unit``), at most 100 metrics and 30
dimensions per set.
"""

from __future__ import annotations

import io
import json
import logging
import time
from typing import Any

import pytest

from lambdakit._internal import emf
from lambdakit.batch._outcome import BatchOutcome, report
from lambdakit.errors import BatchConfigurationError

_UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
}  # fmt: skip


def assert_valid_emf(document: Any) -> None:
    """The specification's required structure, member by member."""
    assert isinstance(document, dict)
    metadata = document["_aws"]
    assert isinstance(metadata, dict)
    timestamp = metadata["Timestamp"]
    assert isinstance(timestamp, int)
    assert not isinstance(timestamp, bool)
    directives = metadata["CloudWatchMetrics"]
    assert isinstance(directives, list)
    assert directives
    for directive in directives:
        assert set(directive) <= {"Namespace", "Dimensions", "Metrics"}
        namespace = directive["Namespace"]
        assert isinstance(namespace, str)
        assert 1 <= len(namespace) <= 255
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list)
            assert len(dimension_set) <= 30
            for name in dimension_set:
                value = document[name]
                assert isinstance(value, str), name
                assert 1 <= len(value) <= 1024, name
        metrics = directive["Metrics"]
        assert isinstance(metrics, list)
        assert 1 <= len(metrics) <= 100
        for definition in metrics:
            assert set(definition) <= {"Name", "Unit", "StorageResolution"}
            value = document[definition["Name"]]
            assert isinstance(value, int | float)
            assert not isinstance(value, bool)
            assert definition.get("Unit", "None") in _UNITS


def emf_lines(text: str) -> list[dict[str, Any]]:
    """Every line written, each parsed as one JSON object and checked against the spec."""
    documents = [json.loads(line) for line in text.splitlines()]
    for document in documents:
        assert_valid_emf(document)
    return documents


def metric_names(document: dict[str, Any]) -> list[str]:
    return [
        definition["Name"]
        for directive in document["_aws"]["CloudWatchMetrics"]
        for definition in directive["Metrics"]
    ]


@pytest.fixture(autouse=True)
def _metrics_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LAMBDAKIT_METRICS", "LAMBDAKIT_METRICS_NAMESPACE", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)


class TestOneLinePerBatch:
    def test_a_batch_with_metrics_on_writes_one_valid_emf_line(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders")
        before = int(time.time() * 1000)
        report(BatchOutcome("sqs", 5, succeeded=3, failed=1, not_run=1), metrics=True)
        after = int(time.time() * 1000)
        (document,) = emf_lines(capsys.readouterr().out)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "lambdakit"
        assert directive["Dimensions"] == [["FunctionName", "EventSource"]]
        assert (document["FunctionName"], document["EventSource"]) == ("orders", "sqs")
        assert before <= document["_aws"]["Timestamp"] <= after
        assert {name: document[name] for name in metric_names(document)} == {
            "RecordsSucceeded": 3,
            "RecordsFailed": 1,
            "RecordsNotRun": 1,
            "RecordsDeferred": 0,
        }
        assert all(d["Unit"] == "Count" for d in directive["Metrics"])

    def test_metrics_off_writes_nothing(self, capsys: pytest.CaptureFixture[str]) -> None:
        report(BatchOutcome("sqs", 2, succeeded=2), metrics=False)
        assert capsys.readouterr().out == ""

    def test_the_other_counts_are_metrics_when_not_zero(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        outcome = BatchOutcome(
            "kinesis",
            4,
            succeeded=4,
            filtered=6,
            duplicates=2,
            counts={"DuplicatesAnswered": 2, "StaleSecretsServed": 1, "KafkaDeliveryFailures": 3},
        )
        report(outcome, metrics=True)
        (document,) = emf_lines(capsys.readouterr().out)
        assert {name: document[name] for name in metric_names(document)} == {
            "RecordsSucceeded": 4,
            "RecordsFailed": 0,
            "RecordsNotRun": 0,
            "RecordsDeferred": 0,
            "RecordsFilteredOut": 6,
            "DuplicatesAnswered": 2,
            "StaleSecretsServed": 1,
            "KafkaDeliveryFailures": 3,
        }

    def test_counts_that_are_zero_create_no_metric(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # Each metric name is a billed custom metric: one a function never uses is not created.
        counts = {"StaleSecretsServed": 0, "KafkaDeliveryFailures": 0}
        report(BatchOutcome("sqs", 1, succeeded=1, counts=counts), metrics=True)
        (document,) = emf_lines(capsys.readouterr().out)
        assert metric_names(document) == [
            "RecordsSucceeded",
            "RecordsFailed",
            "RecordsNotRun",
            "RecordsDeferred",
        ]

    def test_the_function_name_is_unknown_outside_lambda(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        report(BatchOutcome("dynamodb", 1, succeeded=1), metrics=True)
        (document,) = emf_lines(capsys.readouterr().out)
        assert document["FunctionName"] == "unknown"

    def test_the_namespace_comes_from_the_environment(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LAMBDAKIT_METRICS_NAMESPACE", "Shop/Orders")
        report(BatchOutcome("sqs", 1, succeeded=1), metrics=True)
        (document,) = emf_lines(capsys.readouterr().out)
        assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Shop/Orders"

    def test_the_line_is_written_even_when_logging_is_silenced(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(logging.getLogger("lambdakit.batch"), "disabled", True)
        report(BatchOutcome("sqs", 1, failed=1), metrics=True)
        (document,) = emf_lines(capsys.readouterr().out)
        assert document["RecordsFailed"] == 1

    def test_a_metrics_line_that_cannot_be_written_does_not_fail_the_batch(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        closed = io.StringIO()
        closed.close()
        monkeypatch.setattr("sys.stdout", closed)
        with caplog.at_level(logging.WARNING, logger="lambdakit.batch"):
            report(BatchOutcome("sqs", 1, succeeded=1), metrics=True)
        assert "Batch metrics not written" in caplog.text


class TestTheDocument:
    def test_more_than_100_metrics_go_to_several_directives(self) -> None:
        values = {f"Metric{i}": i for i in range(150)}
        document = emf.document(
            values, {"FunctionName": "f"}, namespace="ns", timestamp_ms=1_700_000_000_000
        )
        assert_valid_emf(document)
        assert [len(d["Metrics"]) for d in document["_aws"]["CloudWatchMetrics"]] == [100, 50]
        assert metric_names(document) == list(values)

    def test_it_is_one_line_of_compact_json(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders")
        emf.emit({"RecordsFailed": 1}, {"FunctionName": "orders"})
        out = capsys.readouterr().out
        assert out.count("\n") == 1
        assert out.endswith("\n")
        assert ", " not in out
        assert ": " not in out
        assert_valid_emf(json.loads(out))


class TestOptingIn:
    def test_the_option_wins_over_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LAMBDAKIT_METRICS", "1")
        assert emf.metrics_enabled(False) is False
        monkeypatch.setenv("LAMBDAKIT_METRICS", "0")
        assert emf.metrics_enabled(True) is True

    @pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", " True "])
    def test_the_environment_turns_metrics_on(
        self, monkeypatch: pytest.MonkeyPatch, value: str
    ) -> None:
        monkeypatch.setenv("LAMBDAKIT_METRICS", value)
        assert emf.metrics_enabled(None) is True

    @pytest.mark.parametrize("value", ["", "0", "false", "no", "off", "False"])
    def test_the_environment_turns_metrics_off(
        self, monkeypatch: pytest.MonkeyPatch, value: str
    ) -> None:
        monkeypatch.setenv("LAMBDAKIT_METRICS", value)
        assert emf.metrics_enabled(None) is False

    def test_metrics_are_off_by_default(self) -> None:
        assert emf.metrics_enabled(None) is False

    def test_an_unrecognised_value_is_refused_naming_the_variable(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LAMBDAKIT_METRICS", "maybe")
        with pytest.raises(BatchConfigurationError, match="LAMBDAKIT_METRICS='maybe'"):
            emf.metrics_enabled(None)

    @pytest.mark.parametrize("namespace", ["AWS/Lambda", "   ", "orders{prod}", "x" * 256])
    def test_a_namespace_cloudwatch_would_refuse_is_refused_when_metrics_are_on(
        self, monkeypatch: pytest.MonkeyPatch, namespace: str
    ) -> None:
        monkeypatch.setenv("LAMBDAKIT_METRICS_NAMESPACE", namespace)
        with pytest.raises(BatchConfigurationError, match="LAMBDAKIT_METRICS_NAMESPACE"):
            emf.metrics_enabled(True)
        assert emf.metrics_enabled(False) is False  # not read when metrics are off

    def test_a_namespace_may_use_every_character_cloudwatch_allows(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LAMBDAKIT_METRICS_NAMESPACE", "Shop #1/orders-eu_west.2:prod")
        assert emf.metrics_enabled(True) is True
        assert emf.namespace() == "Shop #1/orders-eu_west.2:prod"


def test_an_invocation_scope_flush_reports_its_delivery_failures_in_a_line_of_its_own(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # flush_kafka(scope="invocation") flushes after process_batch wrote the batch's line: the
    # failures it finds would be in no metric without a line of their own.
    from lambdakit.batch import process_batch
    from lambdakit.errors import KafkaDeliveryError
    from lambdakit.kafka import flush_kafka
    from lambdakit.testing import LambdaContext, RecordingProducer, sqs_event

    monkeypatch.setenv("LAMBDAKIT_METRICS", "1")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders")
    producer = RecordingProducer()
    producer.fail_topic("refused")

    @flush_kafka(producer, scope="invocation")
    @process_batch
    def handler(record: Any) -> None:
        producer.produce("refused", {"n": 1})

    with pytest.raises(KafkaDeliveryError):
        handler(sqs_event(["a", "b"]), LambdaContext())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert lines[0]["RecordsSucceeded"] == 2  # the batch's own line, written first
    [failures] = [line for line in lines if "KafkaDeliveryFailures" in line]
    assert failures["KafkaDeliveryFailures"] == 2
    assert failures["FunctionName"] == "orders"
    [directive] = failures["_aws"]["CloudWatchMetrics"]
    assert directive["Metrics"] == [{"Name": "KafkaDeliveryFailures", "Unit": "Count"}]
    assert directive["Dimensions"] == [["FunctionName"]]


def test_an_invocation_scope_flush_follows_the_batchs_own_metrics_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lambdakit.batch import process_batch
    from lambdakit.errors import KafkaDeliveryError
    from lambdakit.kafka import flush_kafka
    from lambdakit.testing import LambdaContext, RecordingProducer, sqs_event

    producer = RecordingProducer()
    producer.fail_topic("refused")

    def handler_with(metrics: bool) -> Any:
        @flush_kafka(producer, scope="invocation")
        @process_batch(metrics=metrics)
        def handler(record: Any) -> None:
            producer.produce("refused", {"n": 1})

        return handler

    for metrics, expected in ((True, [2]), (False, [])):
        with pytest.raises(KafkaDeliveryError):
            handler_with(metrics)(sqs_event(["a", "b"]), LambdaContext())
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
        assert [ln["KafkaDeliveryFailures"] for ln in lines if "KafkaDeliveryFailures" in ln] == (
            expected
        )


def test_one_flush_kafka_over_two_batches_follows_each_batchs_own_metrics_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The option is decided per decorated handler: the second application of the same
    # flush_kafka(...) object must not change what the first handler writes.
    from lambdakit.batch import process_batch
    from lambdakit.errors import KafkaDeliveryError
    from lambdakit.kafka import flush_kafka
    from lambdakit.testing import LambdaContext, RecordingProducer, sqs_event

    producer = RecordingProducer()
    producer.fail_topic("refused")
    flush = flush_kafka(producer, scope="invocation")

    def produce(record: Any) -> None:
        producer.produce("refused", {"n": 1})

    with_metrics = flush(process_batch(metrics=True)(produce))
    flush(process_batch(metrics=False)(produce))  # applied second, to another handler
    with pytest.raises(KafkaDeliveryError):
        with_metrics(sqs_event(["a", "b"]), LambdaContext())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert [ln["KafkaDeliveryFailures"] for ln in lines if "KafkaDeliveryFailures" in ln] == [2]
