"""The `lambdakit` command: version, help, and `lambdakit filter check` on whole Lambda events,
on templates without filter criteria, and with a --source the template contradicts.

The command runs in-process through `main(argv)`; one test runs the installed console script.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import lambdakit
from lambdakit import cli
from lambdakit.cli import main
from lambdakit.testing import kafka_event, kinesis_event, sqs_event

ORDERS = '{"body": {"kind": ["order"]}}'


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run(capsys, "filter", "check", *argv)


def sam_template(tmp_path: Path, event: dict[str, Any], name: str = "template.json") -> str:
    """A JSON SAM template with one function, Orders, and one event source, Queue."""
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "OrdersQueue": {"Type": "AWS::SQS::Queue"},
            "Orders": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Handler": "app.handler", "Events": {"Queue": event}},
            },
        },
    }
    path = tmp_path / name
    path.write_text(json.dumps(template))
    return str(path)


def sqs_source(**properties: Any) -> dict[str, Any]:
    return {
        "Type": "SQS",
        "Properties": {"Queue": {"Fn::GetAtt": ["OrdersQueue", "Arn"]}, **properties},
    }


def b64(value: Any) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


class TestVersion:
    def test_version_prints_the_package_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(capsys, "--version")
        assert code == 0
        assert out == f"lambdakit {lambdakit.__version__}\n"

    def test_the_installed_metadata_agrees_with_the_package_version(self) -> None:
        from importlib.metadata import version

        assert version("lambdakit") == lambdakit.__version__

    def test_the_console_script_prints_the_version(self) -> None:
        script = Path(sys.executable).parent / "lambdakit"
        done = subprocess.run([str(script), "--version"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"lambdakit {lambdakit.__version__}\n"


def command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[Any]:
    """Every command of the parser, subcommands included, as the words that reach it."""
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.extend(command_paths(child, (*path, name)))
    return found


COMMANDS = command_paths(cli._parser())
REST_MARKUP = re.compile(r"``|:[a-z]+:`|`[^`]+`_")


class TestHelp:
    def test_the_filter_check_command_is_among_those_tested(self) -> None:
        assert ("filter", "check") in COMMANDS

    @pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(("lambdakit", *p)))
    def test_help_has_no_rest_markup(
        self, path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(capsys, *path, "--help")
        assert code == 0
        assert out.startswith("usage: lambdakit")
        assert REST_MARKUP.search(out) is None, out


class TestWholeEvents:
    def test_each_record_of_an_sqs_event_is_checked_and_reported(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        event = sqs_event([{"kind": "order"}, {"kind": "refund"}, "plain text"])
        code, out, _ = check(capsys, "--pattern", ORDERS, "--event", json.dumps(event))
        lines = out.splitlines()
        assert lines[0] == "Records[0]: match"
        assert (
            lines[1]
            == 'Records[1]: no match: filter 0: body.kind: "refund" is not one of ["order"]'
        )
        assert lines[2].startswith("Records[2]: no match: filter 0: body: the record's body is a")
        assert lines[3] == "1 of 3 records match"
        assert code == 1

    def test_a_batch_whose_records_all_match_exits_0(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        event = sqs_event([{"kind": "order"}, {"kind": "order"}])
        code, out, _ = check(capsys, "--pattern", ORDERS, "--event", json.dumps(event))
        assert out.splitlines() == [
            "Records[0]: match",
            "Records[1]: match",
            "2 of 2 records match",
        ]
        assert code == 0

    def test_a_batch_checked_against_a_template_uses_the_template_source(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        criteria = {"Filters": [{"Pattern": ORDERS}]}
        template = sam_template(tmp_path, sqs_source(FilterCriteria=criteria))
        event = tmp_path / "event.json"
        event.write_text(json.dumps(sqs_event([{"kind": "refund"}, {"kind": "order"}])))
        code, out, _ = check(capsys, "--template", template, "--event", str(event))
        assert out.splitlines()[0].startswith("Records[0]: no match: filter 0: body.kind:")
        assert out.splitlines()[1:] == ["Records[1]: match", "1 of 2 records match"]
        assert code == 1

    def test_kafka_records_are_checked_by_topic_partition(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        event = kafka_event([{"kind": "order"}, {"kind": "x"}], topic="orders", partitions=[0, 1])
        pattern = '{"value": {"kind": ["order"]}}'
        code, out, _ = check(capsys, "--pattern", pattern, "--event", json.dumps(event))
        assert out.splitlines() == [
            "records['orders-0'][0]: match",
            'records[\'orders-1\'][0]: no match: filter 0: value.kind: "x" is not one of ["order"]',
            "1 of 2 records match",
        ]
        assert code == 1

    def test_amazon_mq_messages_are_checked_one_by_one(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        active = {
            "eventSource": "aws:mq",
            "messages": [{"messageID": "1", "data": b64({"kind": "order"})}],
        }
        rabbit = {
            "eventSource": "aws:rmq",
            "rmqMessagesByQueue": {
                "orders::/": [{"data": b64({"kind": "order"})}, {"data": b64({"kind": "x"})}]
            },
        }
        pattern = '{"data": {"kind": ["order"]}}'
        code, out, _ = check(capsys, "--pattern", pattern, "--event", json.dumps(active))
        assert (code, out) == (0, "messages[0]: match\n1 of 1 records match\n")
        code, out, _ = check(capsys, "--pattern", pattern, "--event", json.dumps(rabbit))
        assert out.splitlines()[:2] == [
            "rmqMessagesByQueue['orders::/'][0]: match",
            "rmqMessagesByQueue['orders::/'][1]: no match: filter 0: data.kind: \"x\" is not "
            'one of ["order"]',
        ]
        assert code == 1

    def test_an_event_with_no_records_is_invalid_input(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = check(capsys, "--pattern", ORDERS, "--event", '{"Records": []}')
        assert code == 2
        assert out == ""
        assert "--event: Records is empty" in err

    def test_a_single_record_still_prints_match_or_no_match_alone(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        record = sqs_event([{"kind": "order"}])["Records"][0]
        code, out, _ = check(
            capsys, "--pattern", ORDERS, "--source", "sqs", "--event", json.dumps(record)
        )
        assert (code, out) == (0, "match\n")

    def test_a_record_is_seen_through_the_view_of_the_source_it_names(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """As Lambda (and FilterCriteria.matches_record) does: an SQS record's JSON body is
        matched as JSON without --source, because the record says it comes from SQS."""
        record = sqs_event([{"kind": "order"}])["Records"][0]
        code, out, _ = check(capsys, "--pattern", ORDERS, "--event", json.dumps(record))
        assert (code, out) == (0, "match\n")

    def test_a_record_without_a_source_is_matched_as_given(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = check(
            capsys, "--pattern", '{"Records": {"a": [1]}}', "--event", '{"Records": {"a": 1}}'
        )
        assert (code, out) == (0, "match\n")


class TestTemplatesWithoutCriteria:
    def test_an_event_source_without_filter_criteria_filters_nothing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        template = sam_template(tmp_path, sqs_source())
        record = json.dumps(sqs_event(["anything"])["Records"][0])
        code, out, err = check(capsys, "--template", template, "--event", record)
        assert code == 0
        assert err == ""
        first, *rest = out.splitlines()
        assert "no FilterCriteria" in first
        assert "nothing is filtered: every record reaches the handler" in first
        assert rest == ["match"]

    def test_empty_filters_filter_nothing_either(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        template = sam_template(tmp_path, sqs_source(FilterCriteria={"Filters": []}))
        event = json.dumps(sqs_event(["a", "b"]))
        code, out, _ = check(
            capsys, "--template", template, "--function", "Orders", "--event", event
        )
        assert code == 0
        assert "function Orders" in out.splitlines()[0]
        assert "nothing is filtered" in out.splitlines()[0]
        assert out.splitlines()[1:] == [
            "Records[0]: match",
            "Records[1]: match",
            "2 of 2 records match",
        ]


class TestContradictingSources:
    def test_a_source_the_template_contradicts_is_refused_naming_both(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        criteria = {"Filters": [{"Pattern": ORDERS}]}
        template = sam_template(tmp_path, sqs_source(FilterCriteria=criteria))
        record = json.dumps(sqs_event([{"kind": "order"}])["Records"][0])
        code, out, err = check(
            capsys, "--template", template, "--source", "kinesis", "--event", record
        )
        assert code == 2
        assert out == ""
        assert "--source kinesis contradicts" in err
        assert "template.json" in err
        assert "is sqs" in err

    def test_the_source_the_template_declares_may_be_repeated(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        criteria = {"Filters": [{"Pattern": ORDERS}]}
        template = sam_template(tmp_path, sqs_source(FilterCriteria=criteria))
        record = json.dumps(sqs_event([{"kind": "order"}])["Records"][0])
        code, out, _ = check(capsys, "--template", template, "--source", "sqs", "--event", record)
        assert (code, out) == (0, "match\n")

    def test_records_from_another_source_than_the_template_are_refused(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        criteria = {"Filters": [{"Pattern": ORDERS}]}
        template = sam_template(tmp_path, sqs_source(FilterCriteria=criteria))
        event = json.dumps(kinesis_event([{"kind": "order"}]))
        code, out, err = check(capsys, "--template", template, "--event", event)
        assert (code, out) == (2, "")
        assert "Records[0].eventSource: 'aws:kinesis'" in err
        assert "sqs" in err

    def test_records_from_another_source_than_given_are_refused(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        event = json.dumps(kafka_event([{"kind": "order"}]))
        code, _, err = check(capsys, "--pattern", ORDERS, "--source", "sqs", "--event", event)
        assert code == 2
        assert "event.eventSource: 'aws:kafka'" in err
        assert "--source sqs" in err

    def test_a_batch_mixing_sources_is_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        records = [*sqs_event(["a"])["Records"], *kinesis_event(["b"])["Records"]]
        event = json.dumps({"Records": records})
        code, _, err = check(capsys, "--pattern", ORDERS, "--event", event)
        assert code == 2
        assert "Records[1].eventSource: 'aws:kinesis'" in err
        assert "Records[0]" in err

    def test_a_source_given_for_a_template_without_one_applies_lambdas_rules(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An event source mapping whose ARN names no known service: --source gives its view,
        and Lambda's create-time rules for that source (Kinesis data filtered as JSON)."""
        template = {
            "Resources": {
                "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
                "Mapping": {
                    "Type": "AWS::Lambda::EventSourceMapping",
                    "Properties": {
                        "FunctionName": {"Ref": "Fn"},
                        "EventSourceArn": {"Ref": "StreamArnParameter"},
                        "FilterCriteria": {"Filters": [{"Pattern": '{"data": ["x"]}'}]},
                    },
                },
            }
        }
        path = tmp_path / "stack.json"
        path.write_text(json.dumps(template))
        event = json.dumps(kinesis_event(["x"]))
        code, _, err = check(
            capsys, "--template", str(path), "--source", "kinesis", "--event", event
        )
        assert code == 2
        assert "Filters[0].Pattern.data" in err
        assert "as JSON" in err


class TestArguments:
    def test_inline_json_longer_than_a_file_name_is_read_as_json(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """It used to crash with OSError (File name too long) while looking for such a file."""
        event = json.dumps({"detail": {"state": "running", "padding": "x" * 5000}})
        code, out, _ = check(
            capsys, "--pattern", '{"detail": {"state": ["running"]}}', "--event", event
        )
        assert (code, out) == (0, "match\n")


def test_a_reader_that_stops_reading_early_gets_no_traceback() -> None:
    # `lambdakit cost plan --json | head -c 100`: the pipe closes while the JSON is written
    reader = subprocess.Popen(
        [sys.executable, "-m", "lambdakit.cli", "cost", "plan", "--per-day", "1000000", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None
    assert reader.stdout.read(100)
    reader.stdout.close()
    _, errors = reader.communicate(timeout=60)
    assert b"Traceback" not in errors
    assert reader.returncode == cli.EXIT_BROKEN_PIPE
