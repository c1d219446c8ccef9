"""What a batch leaves in the logs, under Lambda's own logging set-up.

Each test installs the Python runtime's real logging (``awslambdaric.bootstrap._setup_logging``:
the root handler, its JsonFormatter for ``AWS_LAMBDA_LOG_FORMAT=JSON`` or its TEXT format, the
request-id filter, the level from ``AWS_LAMBDA_LOG_LEVEL``) on a sink writing to a StringIO, and
reads the lines back (JSON lines parsed as JSON). The batch's report is one summary line (INFO
when every record succeeded, WARNING otherwise), then the first failures with their tracebacks,
the rest only counted; a level that is not emitted costs no formatting at all.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from awslambdaric import bootstrap
from awslambdaric.lambda_runtime_log_utils import LogFormat, _get_log_level_from_env_var

from lambdakit._internal import logs
from lambdakit._internal.metrics import STALE_SECRETS_SERVED, count
from lambdakit.batch import SQSRecord, process_batch
from lambdakit.batch._outcome import BatchOutcome, Failure, report
from lambdakit.testing import LambdaContext, sqs_event


class StringSink:
    """A log sink as the runtime's (``log(msg, frame_type)``), writing to a StringIO and
    keeping each record's text apart (a TEXT record with a traceback spans several lines)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.messages: list[str] = []

    def log(self, msg: str, frame_type: bytes | None = None) -> None:
        self.stream.write(msg)
        self.messages.append(msg)

    def json_lines(self) -> list[dict[str, Any]]:
        """Every line written, each parsed as one JSON object."""
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


LambdaLogging = Callable[..., StringSink]


@pytest.fixture
def lambda_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaLogging]:
    """``lambda_logging(format="JSON", level=None)``: Lambda's logging as the runtime sets it up
    for these environment variables, then lambdakit following it; everything undone after."""
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    saved_converter = logging.Formatter.converter
    lambdakit_logger = logging.getLogger("lambdakit")

    def setup(format: str = "JSON", level: str | None = None) -> StringSink:
        monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", format)
        if level is None:
            monkeypatch.delenv("AWS_LAMBDA_LOG_LEVEL", raising=False)
        else:
            monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", level)
        sink = StringSink()
        bootstrap._setup_logging(
            LogFormat.from_str(format), _get_log_level_from_env_var(level), sink
        )
        logs.follow_lambda_level()
        return sink

    yield setup
    for handler in root.handlers[:]:
        if handler not in saved_handlers:
            root.removeHandler(handler)
    root.setLevel(saved_level)
    logging.Formatter.converter = saved_converter  # type: ignore[method-assign]
    lambdakit_logger.setLevel(logging.NOTSET)


def failure(
    index: int, error: BaseException | None = None, attempt: int | None = 1, record_id: Any = None
) -> Failure:
    """A failed record as the run keeps it, its error raised for real (it has a traceback)."""
    try:
        raise error if error is not None else ValueError(f"record {index} refused")
    except BaseException as caught:  # any error a record can raise
        raised = caught
    identifier = f"msg-{index}" if record_id is None else record_id
    return Failure(index, f"Records[{index}] ({identifier})", identifier, attempt, raised)


def summaries(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "batchSize" in line]


def failure_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "recordId" in line]


class CountingError(Exception):
    """An error that counts how often it is turned into text."""

    calls = 0

    def __str__(self) -> str:
        CountingError.calls += 1
        return "counted"

    def __repr__(self) -> str:
        CountingError.calls += 1
        return "CountingError()"


class BrokenError(Exception):
    """An error that cannot be turned into text, as a broken third-party class can be."""

    def __str__(self) -> str:
        raise RuntimeError("str is broken")

    def __repr__(self) -> str:
        raise RuntimeError("repr is broken")


class TestTheSummaryLine:
    def test_a_batch_where_every_record_succeeded_is_one_info_line(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging(level="INFO")
        report(BatchOutcome("sqs", 3, succeeded=3), metrics=False)
        (line,) = sink.json_lines()
        assert line["level"] == "INFO"
        assert line["logger"] == "lambdakit.batch"
        assert line["message"] == "Batch of 3 SQS records: 3 succeeded"

    def test_a_batch_with_a_failure_is_a_warning(self, lambda_logging: LambdaLogging) -> None:
        sink = lambda_logging()
        outcome = BatchOutcome("sqs", 3, succeeded=2, failed=1, failures=[failure(1)])
        report(outcome, metrics=False)
        (summary,) = summaries(sink.json_lines())
        assert summary["level"] == "WARNING"
        assert summary["message"] == (
            "Batch of 3 SQS records: 2 succeeded, 1 reported for retry (1 failed)"
        )

    def test_it_counts_every_kind_of_record(self, lambda_logging: LambdaLogging) -> None:
        sink = lambda_logging()
        outcome = BatchOutcome(
            "sqs",
            10,
            succeeded=5,
            failed=1,
            not_run=2,
            deferred=2,
            filtered=4,
            duplicates=3,
            failures=[failure(0)],
        )
        report(outcome, metrics=False)
        (summary,) = summaries(sink.json_lines())
        assert summary["message"] == (
            "Batch of 10 SQS records: 5 succeeded (3 answered from the idempotency store), "
            "5 reported for retry (1 failed, 2 not run after an earlier failure in its group "
            "or shard, 2 deferred by the deadline margin); 4 records filtered out before the "
            "batch"
        )
        counts = {key: summary[key] for key in ("succeeded", "failed", "notRun", "deferred")}
        assert counts == {"succeeded": 5, "failed": 1, "notRun": 2, "deferred": 2}
        assert (summary["filtered"], summary["duplicates"]) == (4, 3)

    def test_records_deferred_by_the_deadline_make_it_a_warning(
        self, lambda_logging: LambdaLogging
    ) -> None:
        # Replaces the separate "Deadline margin of N ms reached" warning: one line per batch.
        sink = lambda_logging()
        report(BatchOutcome("kinesis", 4, succeeded=1, deferred=3), metrics=False)
        (line,) = sink.json_lines()
        assert line["level"] == "WARNING"
        assert line["deferred"] == 3
        assert "3 deferred by the deadline margin" in line["message"]

    def test_records_not_run_make_it_a_warning(self, lambda_logging: LambdaLogging) -> None:
        sink = lambda_logging()
        report(BatchOutcome("sqs", 3, succeeded=1, not_run=2), metrics=False)
        (line,) = sink.json_lines()
        assert line["level"] == "WARNING"
        assert line["notRun"] == 2

    def test_other_counters_of_the_batch_are_reported_when_not_zero(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging(level="INFO")
        counts = {"StaleSecretsServed": 2, "KafkaDeliveryFailures": 0, "DuplicatesAnswered": 1}
        report(BatchOutcome("sqs", 1, succeeded=1, duplicates=1, counts=counts), metrics=False)
        (line,) = sink.json_lines()
        assert line["staleSecretsServed"] == 2
        assert "kafkaDeliveryFailures" not in line
        assert "2 stale secret values served" in line["message"]
        # DuplicatesAnswered is the duplicates field, not counted a second time
        assert "duplicatesAnswered" not in line
        assert line["duplicates"] == 1

    def test_a_failure_is_logged_after_the_summary_line(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging()
        report(BatchOutcome("sqs", 2, succeeded=1, failed=1, failures=[failure(1)]), metrics=False)
        assert ["batchSize" in line for line in sink.json_lines()] == [True, False]


class TestLogLevels:
    def test_by_default_a_successful_batch_logs_nothing(
        self, lambda_logging: LambdaLogging
    ) -> None:
        # Lambda's default: the root logger at WARNING; the summary of a good batch is INFO.
        sink = lambda_logging()
        report(BatchOutcome("sqs", 2, succeeded=2), metrics=False)
        assert sink.messages == []

    def test_log_level_error_silences_the_warning_summary_whatever_the_root_level(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging(level="ERROR")
        # The function's own logging set-up moves the root logger; lambdakit follows Lambda's.
        logging.getLogger().setLevel(logging.INFO)
        outcome = BatchOutcome("sqs", 2, succeeded=1, failed=1, failures=[failure(1)])
        report(outcome, metrics=False)
        assert sink.messages == []

    def test_trace_is_debug(self, lambda_logging: LambdaLogging) -> None:
        sink = lambda_logging(level="TRACE")
        logging.getLogger().setLevel(logging.WARNING)
        assert logging.getLogger("lambdakit.batch").getEffectiveLevel() == logging.DEBUG
        report(BatchOutcome("sqs", 1, succeeded=1), metrics=False)
        assert [line["level"] for line in sink.json_lines()] == ["INFO"]

    def test_warn_and_fatal_are_lambdas_spellings(self) -> None:
        assert logs.lambda_level("WARN") == logging.WARNING
        assert logs.lambda_level("FATAL") == logging.CRITICAL
        assert logs.lambda_level("info") == logging.INFO

    def test_a_level_set_by_the_user_on_the_lambdakit_logger_wins(
        self, lambda_logging: LambdaLogging
    ) -> None:
        logging.getLogger("lambdakit").setLevel(logging.WARNING)
        sink = lambda_logging(level="ERROR")
        report(BatchOutcome("sqs", 1, failed=1), metrics=False)
        assert [line["level"] for line in sink.json_lines()] == ["WARNING"]

    def test_an_unknown_level_is_ignored_as_the_runtime_ignores_it(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging(level="LOUD")
        assert logging.getLogger("lambdakit").level == logging.NOTSET
        report(BatchOutcome("sqs", 1, failed=1), metrics=False)
        assert [line["level"] for line in sink.json_lines()] == ["WARNING"]

    def test_unsetting_the_variable_hands_the_level_back_to_the_root_logger(
        self, lambda_logging: LambdaLogging, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        lambda_logging(level="ERROR")
        assert logging.getLogger("lambdakit").level == logging.ERROR
        monkeypatch.delenv("AWS_LAMBDA_LOG_LEVEL")
        logs.follow_lambda_level()
        assert logging.getLogger("lambdakit").level == logging.NOTSET


class TestJsonFields:
    def test_the_summary_counts_are_top_level_keys(self, lambda_logging: LambdaLogging) -> None:
        sink = lambda_logging()
        outcome = BatchOutcome(
            "dynamodb", 6, succeeded=4, failed=2, failures=[failure(2)], failures_dropped=1
        )
        report(outcome, metrics=False)
        (summary,) = summaries(sink.json_lines())
        assert {key: summary[key] for key in summary if key not in _LAMBDA_KEYS} == {
            "eventSource": "dynamodb",
            "batchSize": 6,
            "succeeded": 4,
            "failed": 2,
            "notRun": 0,
            "deferred": 0,
            "filtered": 0,
            "duplicates": 0,
            "failuresNotLogged": 1,
            "quarantined": 0,
        }
        assert summary["requestId"] == ""  # the runtime's filter ran on the record

    def test_a_failure_line_names_the_record_its_source_attempt_and_error(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging()
        kept = failure(1, KeyError("sku"), attempt=3)
        report(BatchOutcome("sqs", 2, succeeded=1, failed=1, failures=[kept]), metrics=False)
        (line,) = failure_lines(sink.json_lines())
        assert line["level"] == "WARNING"
        assert line["recordId"] == "msg-1"
        assert line["eventSource"] == "sqs"
        assert line["attempt"] == 3
        assert line["errorType"] == "KeyError"
        assert line["errorMessage"] == "'sku'"
        assert any("raise error" in frame for frame in line["stackTrace"])
        assert "_outcome.py:report:" in line["location"]  # where lambdakit logged it
        assert line["message"] == "Records[1] (msg-1) failed and will be retried (attempt 3): " + (
            "KeyError('sku')"
        )

    def test_an_unknown_attempt_is_left_out(self, lambda_logging: LambdaLogging) -> None:
        sink = lambda_logging()
        kept = failure(0, attempt=None)
        report(BatchOutcome("kinesis", 1, failed=1, failures=[kept]), metrics=False)
        (line,) = failure_lines(sink.json_lines())
        assert "attempt" not in line
        assert "(attempt" not in line["message"]

    def test_a_kafka_record_id_is_a_json_object(self, lambda_logging: LambdaLogging) -> None:
        sink = lambda_logging()
        kept = failure(0, record_id={"partition": 0, "offset": 15})
        report(BatchOutcome("kafka", 1, failed=1, failures=[kept]), metrics=False)
        (line,) = failure_lines(sink.json_lines())
        assert line["recordId"] == {"partition": 0, "offset": 15}

    def test_an_error_that_cannot_be_printed_is_still_a_json_line(
        self, lambda_logging: LambdaLogging, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # Lambda's JsonFormatter calls str() on the error; when that raises, logging drops the
        # whole record and prints "--- Logging error ---" instead: the failure would vanish.
        sink = lambda_logging()
        report(
            BatchOutcome("sqs", 1, failed=1, failures=[failure(0, BrokenError())]), metrics=False
        )
        (line,) = failure_lines(sink.json_lines())
        assert line["errorType"] == "BrokenError"
        assert "BrokenError object (its str() raised)" in line["errorMessage"]
        assert any("raise error" in frame for frame in line["stackTrace"])
        assert "Logging error" not in capsys.readouterr().err

    def test_every_record_is_exactly_one_line(self, lambda_logging: LambdaLogging) -> None:
        sink = lambda_logging()
        outcome = BatchOutcome("sqs", 3, failed=3, failures=[failure(i) for i in range(3)])
        report(outcome, metrics=False)
        assert len(sink.messages) == 4
        assert all(message.count("\n") == 1 for message in sink.messages)


# What Lambda's JsonFormatter writes on every line, beside the record's own fields.
_LAMBDA_KEYS = {"timestamp", "level", "message", "logger", "requestId"}


class TestTextFormat:
    def test_the_summary_says_everything_in_words(self, lambda_logging: LambdaLogging) -> None:
        sink = lambda_logging(format="TEXT")
        outcome = BatchOutcome(
            "sqs", 12, succeeded=9, failed=3, failures=[failure(0)], failures_dropped=2
        )
        report(outcome, metrics=False)
        summary = sink.messages[0]
        assert summary.startswith("[WARNING]\t")
        assert summary.endswith(
            "\tBatch of 12 SQS records: 9 succeeded, 3 reported for retry (3 failed); "
            "2 more failures not logged\n"
        )

    def test_a_failure_has_its_record_attempt_error_and_traceback(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging(format="TEXT")
        kept = failure(4, ValueError("no price"), attempt=2)
        report(BatchOutcome("sqs", 5, succeeded=4, failed=1, failures=[kept]), metrics=False)
        text = sink.messages[1]
        assert "Records[4] (msg-4) failed and will be retried (attempt 2): " in text
        assert "ValueError('no price')" in text
        assert "Traceback (most recent call last):" in text
        assert text.rstrip().endswith("ValueError: no price")

    def test_one_record_is_singular(self, lambda_logging: LambdaLogging) -> None:
        sink = lambda_logging(format="TEXT", level="INFO")
        report(BatchOutcome("dynamodb", 1, succeeded=1), metrics=False)
        assert sink.messages[0].endswith("\tBatch of 1 DynamoDB Streams record: 1 succeeded\n")

    def test_an_error_that_cannot_be_printed_is_still_logged(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging(format="TEXT")
        report(
            BatchOutcome("sqs", 1, failed=1, failures=[failure(0, BrokenError())]), metrics=False
        )
        text = sink.messages[1]
        assert "Records[0] (msg-0) failed and will be retried (attempt 1): " in text
        assert "BrokenError object (its repr() raised)" in text


class TestBoundedTracebacks:
    def test_the_kept_failures_have_tracebacks_and_the_rest_are_counted(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging()
        kept = [failure(i) for i in range(10)]
        outcome = BatchOutcome("sqs", 10_000, failed=10_000, failures=kept, failures_dropped=9_990)
        report(outcome, metrics=False)
        lines = sink.json_lines()
        assert len(lines) == 11
        (summary,) = summaries(lines)
        assert summary["failuresNotLogged"] == 9_990
        assert summary["message"].endswith("; 9990 more failures not logged")
        logged = failure_lines(lines)
        assert [line["recordId"] for line in logged] == [f"msg-{i}" for i in range(10)]
        assert all(line["stackTrace"] for line in logged)

    def test_with_no_failure_kept_only_the_summary_is_written(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging()
        report(BatchOutcome("sqs", 50, failed=50, failures_dropped=50), metrics=False)
        (line,) = sink.json_lines()
        assert line["failuresNotLogged"] == 50
        assert line["message"].endswith("; 50 failures not logged")  # not "50 more"
        assert "stackTrace" not in line


class TestNothingIsFormattedForALevelNotEmitted:
    def test_errors_are_not_turned_into_text(self, lambda_logging: LambdaLogging) -> None:
        sink = lambda_logging(level="ERROR")
        CountingError.calls = 0
        kept = [failure(i, CountingError()) for i in range(5)]
        report(BatchOutcome("sqs", 5, failed=5, failures=kept), metrics=False)
        assert CountingError.calls == 0
        assert sink.messages == []

    def test_an_error_that_cannot_be_printed_costs_nothing(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging(level="ERROR")
        report(
            BatchOutcome("sqs", 1, failed=1, failures=[failure(0, BrokenError())]), metrics=False
        )
        assert sink.messages == []

    def test_the_summary_of_a_good_batch_is_not_built_at_warning(
        self, lambda_logging: LambdaLogging, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        lambda_logging()
        built: list[BatchOutcome] = []
        monkeypatch.setattr(BatchOutcome, "summary", lambda self: built.append(self) or "")
        report(BatchOutcome("sqs", 3, succeeded=3), metrics=False)
        assert built == []


class TestThroughProcessBatch:
    """The same report, from a decorated handler: what process_batch hands to it."""

    def test_a_poison_batch_logs_one_summary_and_ten_tracebacks(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging()
        event = sqs_event([f"m{i}" for i in range(40)], receive_count=3)

        @process_batch
        def handler(record: SQSRecord) -> None:
            if record.body != "m0":
                raise ValueError(f"refused {record.body}")

        response = handler(event, LambdaContext())
        assert len(response["batchItemFailures"]) == 39
        lines = sink.json_lines()
        (summary,) = summaries(lines)
        assert summary["level"] == "WARNING"
        assert (summary["succeeded"], summary["failed"]) == (1, 39)
        assert summary["failuresNotLogged"] == 29
        logged = failure_lines(lines)
        assert [line["recordId"] for line in logged] == [
            record["messageId"] for record in event["Records"][1:11]
        ]
        assert all(line["attempt"] == 3 for line in logged)
        assert all(line["errorType"] == "ValueError" for line in logged)
        assert all(line["stackTrace"] for line in logged)

    @pytest.mark.parametrize("concurrency", [1, 4])
    def test_a_failures_traceback_starts_at_the_record_handler_not_in_lambdakit(
        self, lambda_logging: LambdaLogging, concurrency: int
    ) -> None:
        # The reader needs the handler's frames; lambdakit's loop (or worker) frame is noise,
        # and under Lambda's JSON format every frame costs a parse of its source line.
        sink = lambda_logging()

        @process_batch(concurrency=concurrency)
        def handler(record: SQSRecord) -> None:
            raise ValueError("refused")

        handler(sqs_event(["a"]), LambdaContext())
        [line] = failure_lines(sink.json_lines())
        assert "in handler" in line["stackTrace"][0]
        assert not any("lambdakit/batch" in frame for frame in line["stackTrace"])

    def test_at_log_level_error_a_failing_batch_formats_nothing(
        self, lambda_logging: LambdaLogging
    ) -> None:
        sink = lambda_logging(level="ERROR")
        logging.getLogger().setLevel(logging.INFO)
        CountingError.calls = 0

        @process_batch
        def handler(record: SQSRecord) -> None:
            raise CountingError

        response = handler(sqs_event(["a", "b", "c"]), LambdaContext())
        assert len(response["batchItemFailures"]) == 3
        assert sink.messages == []
        assert CountingError.calls == 0

    def test_counts_made_while_records_run_reach_the_summary_and_the_metrics(
        self, lambda_logging: LambdaLogging, capsys: pytest.CaptureFixture[str]
    ) -> None:
        sink = lambda_logging(level="INFO")

        @process_batch(metrics=True)
        def handler(record: SQSRecord) -> None:
            count(STALE_SECRETS_SERVED)

        handler(sqs_event(["a", "b"]), LambdaContext())
        (summary,) = sink.json_lines()
        assert summary["level"] == "INFO"
        assert summary["staleSecretsServed"] == 2
        (document,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert document["StaleSecretsServed"] == 2
        assert document["RecordsSucceeded"] == 2
