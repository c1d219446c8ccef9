"""`lambdakit check TEMPLATE` on the command line: the exit status (0 clean, 1 findings, 2 could
not read, never a traceback), what each --format prints (text blocks naming template, resource,
path, rule, message and fix; JSON that json.loads reads back with stable keys; SARIF 2.1.0 with
the structure its schema requires), and that the options reach the check (--ignore, --function,
--import, --batch-function).

The report is tested on findings built here, so that it does not depend on any rule; the CLI's
plumbing runs with `lambdakit.check.check_template` replaced by a recorder; the end-to-end tests
at the bottom run the real rules on the templates under tests/templates/.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import lambdakit.check
from lambdakit.check._findings import Finding, Rule
from lambdakit.check._report import render, resource_line, sarif_report
from lambdakit.cli import main

VISIBILITY = Rule(
    id="LK201",
    title="queue visibility timeout shorter than 6x the function timeout",
    why="A record still being processed becomes visible again and runs twice.",
    source="https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html",
)
REPORT = Rule(
    id="LK101",
    title="ReportBatchItemFailures missing",
    why="Without it one failed record retries the whole batch.",
    source="https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html",
)
RULES = {rule.id: rule for rule in (REPORT, VISIBILITY)}

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Timeout: 30
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt OrdersQueue.Arn
  OrdersQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 30
"""


@pytest.fixture
def template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A template in the working directory, named relatively as a user would name it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "template.yaml").write_text(TEMPLATE, encoding="utf-8")
    return "template.yaml"


def findings_in(template: str) -> list[Finding]:
    return [
        Finding(
            rule=REPORT,
            severity="error",
            resource="Orders",
            path="Properties.Events.Queue.Properties.FunctionResponseTypes",
            message="the SQS event source of Orders does not report batch item failures",
            fix="add FunctionResponseTypes: [ReportBatchItemFailures]",
            template=template,
        ),
        Finding(
            rule=VISIBILITY,
            severity="warning",
            resource="OrdersQueue",
            path="Properties.VisibilityTimeout",
            message="VisibilityTimeout 30 is less than 6 x Orders' Timeout 30 (180)",
            fix="set VisibilityTimeout to 180 or more",
            template=template,
        ),
    ]


class Recorder:
    """Stands in for check_template: records its arguments and returns the given findings."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, path: str, **options: Any) -> list[Finding]:
        self.calls.append((path, options))
        ignored = set(options.get("ignore", ()))
        return [finding for finding in self.findings if finding.rule.id not in ignored]


@pytest.fixture
def fake_check(monkeypatch: pytest.MonkeyPatch, template: str) -> Recorder:
    recorder = Recorder(findings_in(template))
    monkeypatch.setattr(lambdakit.check, "check_template", recorder, raising=False)
    monkeypatch.setattr(lambdakit.check, "RULES", RULES, raising=False)
    return recorder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- the report, on findings built here ---------------------------------------------------


def test_text_report_has_one_block_per_finding_with_every_fact(template: str) -> None:
    findings = findings_in(template)
    text = render(findings, "text", RULES)
    blocks = text.strip().split("\n\n")
    assert len(blocks) == 3  # two findings and the count
    first, second, summary = blocks
    assert first.splitlines()[0] == (
        "template.yaml:4: LK101 error: ReportBatchItemFailures missing"
    )
    for fact in (
        "resource: Orders",
        "path:     Properties.Events.Queue.Properties.FunctionResponseTypes",
        "problem:  the SQS event source of Orders does not report batch item failures",
        "fix:      add FunctionResponseTypes: [ReportBatchItemFailures]",
        f"see:      {REPORT.source}",
    ):
        assert fact in first
    assert second.startswith("template.yaml:14: LK201 warning: ")
    assert summary == "2 findings (1 error, 1 other)"


def test_text_report_without_findings_says_so(template: str) -> None:
    assert render([], "text", RULES) == "no findings\n"


def test_json_report_parses_back_with_the_same_keys_for_every_finding(template: str) -> None:
    loaded = json.loads(render(findings_in(template), "json", RULES))
    assert list(loaded) == ["findings"]
    keys = [
        "rule",
        "severity",
        "title",
        "template",
        "line",
        "resource",
        "path",
        "message",
        "fix",
        "source",
    ]
    assert [list(finding) for finding in loaded["findings"]] == [keys, keys]
    first = loaded["findings"][0]
    assert first["rule"] == "LK101"
    assert first["template"] == "template.yaml"
    assert first["line"] == 4
    assert first["resource"] == "Orders"
    assert first["fix"] == "add FunctionResponseTypes: [ReportBatchItemFailures]"
    assert json.loads(render([], "json", RULES)) == {"findings": []}


def test_sarif_report_has_the_structure_sarif_2_1_0_requires(template: str) -> None:
    log = json.loads(render(findings_in(template), "sarif", RULES))
    assert log["version"] == "2.1.0"
    assert "sarif-schema-2.1.0.json" in log["$schema"]
    (run_,) = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "lambdakit"
    assert [rule["id"] for rule in driver["rules"]] == ["LK101", "LK201"]
    described = driver["rules"][1]
    assert described["shortDescription"]["text"] == VISIBILITY.title
    assert described["fullDescription"]["text"] == VISIBILITY.why
    assert described["helpUri"] == VISIBILITY.source
    first, second = run_["results"]
    assert first["ruleId"] == "LK101"
    assert driver["rules"][first["ruleIndex"]]["id"] == "LK101"
    assert (first["level"], second["level"]) == ("error", "warning")
    assert "does not report batch item failures" in first["message"]["text"]
    assert "ReportBatchItemFailures]" in first["message"]["text"]  # the fix is in the message
    (location,) = second["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "template.yaml"
    assert physical["region"]["startLine"] == 14
    assert location["logicalLocations"][0]["fullyQualifiedName"] == (
        "OrdersQueue.Properties.VisibilityTimeout"
    )


def test_sarif_report_validates_against_the_sarif_2_1_0_schema_subset(template: str) -> None:
    """The schema's own required properties and enums, for every object the log holds (the
    full schema is not vendored; these are its "required" lists and the result level enum)."""
    jsonschema = pytest.importorskip("jsonschema")
    message = {"type": "object", "anyOf": [{"required": ["text"]}, {"required": ["id"]}]}
    schema = {
        "type": "object",
        "required": ["version", "runs"],
        "properties": {
            "version": {"enum": ["2.1.0"]},
            "runs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["tool"],
                    "properties": {
                        "tool": {
                            "type": "object",
                            "required": ["driver"],
                            "properties": {
                                "driver": {
                                    "type": "object",
                                    "required": ["name"],
                                    "properties": {
                                        "rules": {
                                            "type": "array",
                                            "items": {"type": "object", "required": ["id"]},
                                        }
                                    },
                                }
                            },
                        },
                        "results": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["message"],
                                "properties": {
                                    "message": message,
                                    "level": {"enum": ["none", "note", "warning", "error"]},
                                    "locations": {"type": "array"},
                                },
                            },
                        },
                    },
                },
            },
        },
    }
    jsonschema.validate(sarif_report(findings_in(template), RULES), schema)
    jsonschema.validate(sarif_report([], RULES), schema)


def test_sarif_uri_of_an_absolute_template_is_a_file_uri(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    (finding, _) = findings_in(str(path))
    log = sarif_report([finding], RULES)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == path.as_uri()


def test_a_resource_line_is_found_in_yaml_and_json_under_resources() -> None:
    yaml_lines = ["Parameters:", "  Orders:", "    Type: String", "Resources:", "  Orders:"]
    assert resource_line(yaml_lines, "Orders") == 5
    json_lines = ["{", '  "Resources": {', '    "OrdersQueue": {', '    "Orders": {']
    assert resource_line(json_lines, "Orders") == 4
    assert resource_line(["Resources:", "  Other:"], "Orders") is None


def test_a_finding_on_an_unreadable_template_is_reported_without_a_line(tmp_path: Path) -> None:
    (finding, _) = findings_in(str(tmp_path / "gone.yaml"))
    assert json.loads(render([finding], "json", RULES))["findings"][0]["line"] is None
    log = sarif_report([finding], RULES)
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 1
    }


# --- the command's plumbing, with check_template recorded ---------------------------------


def test_findings_exit_1_and_print_the_text_report(
    capsys: pytest.CaptureFixture[str], fake_check: Recorder, template: str
) -> None:
    code, out, err = run(capsys, template)
    assert code == 1
    assert err == ""
    assert out == render(findings_in(template), "text", RULES)


def test_a_clean_template_exits_0(
    capsys: pytest.CaptureFixture[str], fake_check: Recorder, template: str
) -> None:
    fake_check.findings = []
    code, out, _ = run(capsys, template, "--format", "json")
    assert code == 0
    assert json.loads(out) == {"findings": []}


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_print_only_json_on_stdout(
    capsys: pytest.CaptureFixture[str], fake_check: Recorder, template: str, fmt: str
) -> None:
    code, out, _ = run(capsys, template, "--format", fmt)
    assert code == 1
    assert json.loads(out) == json.loads(render(findings_in(template), fmt, RULES))


def test_ignored_rules_reach_the_check_and_their_findings_go(
    capsys: pytest.CaptureFixture[str], fake_check: Recorder, template: str
) -> None:
    code, out, _ = run(capsys, template, "--ignore", "LK101", "--ignore", "LK201")
    assert code == 0
    assert out == "no findings\n"
    assert set(fake_check.calls[0][1]["ignore"]) == {"LK101", "LK201"}


def test_options_reach_the_check(
    capsys: pytest.CaptureFixture[str], fake_check: Recorder, template: str
) -> None:
    run(capsys, template)
    run(
        capsys,
        template,
        "--function",
        "Orders",
        "--import",
        "--batch-function",
        "Orders",
        "--batch-function",
        "Refunds",
    )
    (_, defaults), (path, given) = fake_check.calls
    assert defaults == {
        "function": None,
        "batch_functions": None,
        "import_handlers": False,
        "ignore": [],
    }
    assert path == template
    assert given == {
        "function": "Orders",
        "batch_functions": ["Orders", "Refunds"],
        "import_handlers": True,
        "ignore": [],
    }


def test_an_error_from_the_check_exits_2_with_its_message_and_no_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, template: str
) -> None:
    from lambdakit.errors import CheckError

    def refuse(path: str, **options: Any) -> list[Finding]:
        raise CheckError(f"{path}: not a template (no Resources mapping)")

    monkeypatch.setattr(lambdakit.check, "check_template", refuse, raising=False)
    monkeypatch.setattr(lambdakit.check, "RULES", RULES, raising=False)
    code, out, err = run(capsys, template)
    assert (code, out) == (2, "")
    assert err == "lambdakit check: template.yaml: not a template (no Resources mapping)\n"


def test_an_unknown_format_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], fake_check: Recorder, template: str
) -> None:
    code, _, err = run(capsys, template, "--format", "xml")
    assert code == 2
    assert "invalid choice: 'xml'" in err
    assert fake_check.calls == []


def test_help_names_the_options_and_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for word in ("--function", "--format", "--import", "--batch-function", "--ignore"):
        assert word in out
    assert "0 with no findings, 1 with findings, 2 when the template cannot" in out
    assert "``" not in out  # plain text, not reST


# --- end to end: the real rules ------------------------------------------------------------


def test_a_missing_file_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    """In a fresh interpreter, as a user runs it: stderr is one line naming the file."""
    missing = tmp_path / "nope.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "lambdakit.cli", "check", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("lambdakit check: ")
    assert str(missing) in done.stderr
    assert done.stderr.count("\n") == 1


REPOSITORY = Path(__file__).parents[2]
FINDINGS_TEMPLATE = REPOSITORY / "tests" / "templates" / "cli_findings.yaml"
EXAMPLE_TEMPLATE = REPOSITORY / "examples" / "batch_orders" / "template.yaml"


def test_the_example_template_passes_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(EXAMPLE_TEMPLATE))
    assert (code, out, err) == (0, "no findings\n", "")


def test_a_template_with_findings_exits_1_and_every_format_names_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = ["LK101", "LK201", "LK203"]
    code, out, _ = run(capsys, str(FINDINGS_TEMPLATE), "--format", "json")
    assert code == 1
    findings = json.loads(out)["findings"]
    assert [finding["rule"] for finding in findings] == expected
    assert findings[0]["resource"] == "OrdersFunction"
    assert findings[0]["path"] == "Properties.Events.Orders.Properties.FunctionResponseTypes"
    assert (
        findings[0]["line"]
        == FINDINGS_TEMPLATE.read_text().splitlines().index("  OrdersFunction:") + 1
    )

    code, out, _ = run(capsys, str(FINDINGS_TEMPLATE), "--format", "sarif")
    assert code == 1
    (sarif_run,) = json.loads(out)["runs"]
    assert [result["ruleId"] for result in sarif_run["results"]] == expected
    described = [rule["id"] for rule in sarif_run["tool"]["driver"]["rules"]]
    assert described == sorted(lambdakit.check.RULES)

    code, out, _ = run(capsys, str(FINDINGS_TEMPLATE))
    assert code == 1
    assert [line.split(": ")[1].split()[0] for line in out.splitlines() if ": LK" in line] == (
        expected
    )


def test_ignoring_every_rule_that_fires_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    ignores = ("--ignore", "LK101", "--ignore", "LK201", "--ignore", "LK203")
    code, out, _ = run(capsys, str(FINDINGS_TEMPLATE), *ignores)
    assert (code, out) == (0, "no findings\n")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--ignore", "LK999"), "LK999"),
        (("--function", "Nobody"), "Nobody"),
    ],
)
def test_an_option_naming_nothing_exits_2_with_a_message_naming_it(
    capsys: pytest.CaptureFixture[str], options: tuple[str, ...], named: str
) -> None:
    code, out, err = run(capsys, str(FINDINGS_TEMPLATE), *options)
    assert (code, out) == (2, "")
    assert err.startswith("lambdakit check: ")
    assert named in err
    assert "Traceback" not in err


def test_a_file_that_is_not_a_template_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name, text in (("list.yaml", "- a\n- b\n"), ("broken.json", '{"Resources": ')):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        code, out, err = run(capsys, str(path))
        assert (code, out) == (2, "")
        assert err.startswith(f"lambdakit check: {path}")


def test_the_docs_list_every_rule_with_its_title_and_aws_source() -> None:
    page = (REPOSITORY / "docs" / "check.md").read_text(encoding="utf-8")
    for rule in lambdakit.check.RULES.values():
        row = next((line for line in page.splitlines() if line.startswith(f"| `{rule.id}` |")), "")
        assert rule.title in row, rule.id
        assert f"({rule.source})" in row, rule.id
