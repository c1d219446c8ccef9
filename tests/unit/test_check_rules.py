"""``lambdakit check``'s rules engine: each rule fires on its template in tests/templates/ with
the right resource, property path and fix, and every rule stays quiet on the clean templates
and on the repository's example."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lambdakit.check import RULES, CheckError, Finding, check_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "tests" / "templates"
EVENT = "Properties.Events.{}.Properties"

# template, rule, severity, resource, path, words the fix must contain
CASES = [
    ("lk101_no_report_batch_item_failures.yaml", "LK101", "error", "Worker",
     EVENT.format("Jobs") + ".FunctionResponseTypes", "ReportBatchItemFailures"),
    ("lk102_kafka_without_provisioned_mode.yaml", "LK102", "error", "Consumer",
     EVENT.format("Orders") + ".ProvisionedPollerConfig", "ProvisionedPollerConfig"),
    ("lk103_sqs_batch_without_window.yaml", "LK103", "error", "Worker",
     EVENT.format("Jobs") + ".MaximumBatchingWindowInSeconds", "at least 1"),
    ("lk104_window_over_300.yaml", "LK104", "error", "Reader",
     EVENT.format("Clicks") + ".MaximumBatchingWindowInSeconds", "300 or less"),
    ("lk105_fifo_batch_size.yaml", "LK105", "error", "Worker",
     EVENT.format("Jobs") + ".BatchSize", "10 or less"),
    ("lk106_fifo_max_concurrency.yaml", "LK106", "error", "Worker",
     EVENT.format("Jobs") + ".ScalingConfig.MaximumConcurrency", "2 or more"),
    ("lk107_fifo_batching_window.yaml", "LK107", "error", "Worker",
     EVENT.format("Jobs") + ".MaximumBatchingWindowInSeconds", "remove"),
    ("lk201_visibility_below_6x.yaml", "LK201", "warning", "Queue",
     "Properties.VisibilityTimeout", "at least 120"),
    ("lk202_visibility_below_timeout.json", "LK202", "error", "Queue",
     "Properties.VisibilityTimeout", "at least 360"),
    ("lk203_no_dlq.yaml", "LK203", "warning", "Queue", "Properties.RedrivePolicy",
     "deadLetterTargetArn"),
    ("lk204_max_receive_count_1.yaml", "LK204", "warning", "Queue",
     "Properties.RedrivePolicy.maxReceiveCount", "3 or more"),
    ("lk301_invalid_pattern.yaml", "LK301", "error", "Reader",
     EVENT.format("Clicks") + ".FilterCriteria.Filters[0].Pattern", "correct the pattern"),
    ("lk302_too_many_filters.yaml", "LK302", "error", "Worker",
     EVENT.format("Jobs") + ".FilterCriteria.Filters", "$or"),
    ("lk303_never_matches.yaml", "LK303", "warning", "Worker",
     EVENT.format("Jobs") + ".FilterCriteria.Filters[1].Pattern", "body"),
    ("lk304_wildcard_too_complex.yaml", "LK304", "warning", "Worker",
     EVENT.format("Jobs") + ".FilterCriteria.Filters[1].Pattern", "fewer wildcards"),
    ("lk401_idempotency_table_without_ttl.yaml", "LK401", "warning", "Idempotency",
     "Properties.TimeToLiveSpecification", "AttributeName: expiration"),
]  # fmt: skip
CLEAN = [
    "clean_sam.yaml",
    "clean_cfn.json",
    str(ROOT / "examples" / "batch_orders" / "template.yaml"),
]


def findings(name: str, **options: object) -> list[Finding]:
    return check_template(TEMPLATES / name, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(("template", "rule", "severity", "resource", "path", "fix"), CASES)
def test_each_rule_fires_on_its_template_naming_resource_path_and_fix(
    template: str, rule: str, severity: str, resource: str, path: str, fix: str
) -> None:
    found = findings(template)
    assert {f.rule.id for f in found} == {rule}, [(f.rule.id, f.message) for f in found]
    finding = found[0]
    assert (finding.severity, finding.resource, finding.path) == (severity, resource, path)
    assert fix in finding.fix
    assert finding.template == str(TEMPLATES / template)
    assert finding.message


def test_every_rule_has_a_template_that_makes_it_fire() -> None:
    assert {case[1] for case in CASES} == set(RULES)


def test_every_rule_says_why_and_cites_an_aws_page() -> None:
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id
        assert rule.title
        assert rule.why
        assert rule.source.startswith("https://docs.aws.amazon.com/")


@pytest.mark.parametrize("template", CLEAN)
def test_clean_templates_and_the_example_pass_clean(template: str) -> None:
    assert findings(template) == []


def test_every_invalid_pattern_of_a_source_is_reported_with_the_reason() -> None:
    found = findings("lk301_invalid_pattern.yaml")
    assert [f.path.rsplit(".", 2)[-2] for f in found] == ["Filters[0]", "Filters[1]"]
    assert "as JSON" in found[0].message
    assert "not valid JSON" in found[1].message


def test_lk101_says_when_the_function_is_only_assumed_to_use_partial_batches() -> None:
    (assumed,) = findings("lk101_no_report_batch_item_failures.yaml")
    assert "assumed" in assumed.message
    (known,) = findings("lk101_no_report_batch_item_failures.yaml", batch_functions=["Worker"])
    assert "assumed" not in known.message


def test_functions_not_using_partial_batches_skip_the_partial_batch_rules() -> None:
    assert findings("lk101_no_report_batch_item_failures.yaml", batch_functions=[]) == []
    assert findings("lk203_no_dlq.yaml", batch_functions=[]) == []


def test_ignored_rules_are_left_out_and_unknown_ids_are_refused() -> None:
    assert findings("lk203_no_dlq.yaml", ignore=["LK203"]) == []
    with pytest.raises(CheckError, match="LK999"):
        findings("lk203_no_dlq.yaml", ignore=["LK999"])


def test_function_option_checks_only_that_function(tmp_path: Path) -> None:
    text = (TEMPLATES / "lk203_no_dlq.yaml").read_text()
    other = text.replace("  Worker:", "  Other:\n    Type: AWS::Serverless::Function\n  Worker:")
    (tmp_path / "t.yaml").write_text(other)
    assert check_template(tmp_path / "t.yaml", function="Other") == []
    assert [f.rule.id for f in check_template(tmp_path / "t.yaml", function="Worker")] == ["LK203"]
    with pytest.raises(CheckError, match=r"'Nope'.*Other, Worker"):
        check_template(tmp_path / "t.yaml", function="Nope")


def test_values_the_template_computes_stay_quiet(tmp_path: Path) -> None:
    text = (TEMPLATES / "lk201_visibility_below_6x.yaml").read_text()
    computed = text.replace("Timeout: !Ref FunctionTimeout", "Timeout: !If [Big, 60, 20]")
    (tmp_path / "t.yaml").write_text(computed)
    assert check_template(tmp_path / "t.yaml") == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cannot read"), ("{not json", "not valid JSON"), ("a: [b", "not valid YAML")],
)
def test_unreadable_templates_raise_check_error(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    path = tmp_path / "template.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CheckError, match=problem):
        check_template(path)


def test_import_handlers_finds_process_batch_behind_other_decorators(tmp_path: Path) -> None:
    template = (TEMPLATES / "lk101_no_report_batch_item_failures.yaml").read_text()
    (tmp_path / "template.yaml").write_text(template.replace("CodeUri: .", "CodeUri: src"))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(
        textwrap.dedent(
            """
            import functools
            from lambdakit.batch import process_batch

            def logged(function):
                @functools.wraps(function)
                def wrapper(event, context):
                    return function(event, context)
                return wrapper

            @logged
            @process_batch
            def handler(record):
                pass
            """
        )
    )
    (found,) = check_template(tmp_path / "template.yaml", import_handlers=True)
    assert found.rule.id == "LK101"
    assert "assumed" not in found.message
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return None\n")
    assert check_template(tmp_path / "template.yaml", import_handlers=True) == []


def test_import_handlers_names_the_function_whose_module_is_missing(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        (TEMPLATES / "lk101_no_report_batch_item_failures.yaml").read_text()
    )
    with pytest.raises(CheckError, match="Worker: handler module 'app' not in"):
        check_template(tmp_path / "template.yaml", import_handlers=True)


# --- mappings whose EventSourceArn is not a plain !GetAtt -----------------------------------

MAPPING_TEMPLATE = """
Parameters:
  QueueArn:
    Type: String
    Default: {default}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 30
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: arn:aws:iam::123456789012:role/r
      Code: {{ZipFile: "x"}}
      Timeout: 20
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref Fn
      EventSourceArn: {arn}
{extra}
"""


def mapping_findings(tmp_path: Path, arn: str, extra: str = "", default: str = "x") -> set[str]:
    path = tmp_path / "template.yaml"
    path.write_text(MAPPING_TEMPLATE.format(arn=arn, extra=extra, default=default))
    return {finding.rule.id for finding in check_template(path)}


def test_a_mapping_whose_arn_is_a_parameter_default_is_checked(tmp_path: Path) -> None:
    # found by the acceptance pass: the source was unknown, so every rule stayed silent
    rules = mapping_findings(
        tmp_path, "!Ref QueueArn", default="arn:aws:sqs:us-east-1:123456789012:orders"
    )
    assert "LK101" in rules


def test_a_mapping_whose_arn_is_a_sub_of_the_queue_arn_is_followed_to_the_queue(
    tmp_path: Path,
) -> None:
    # !Sub "${Queue.Arn}": visibility 30 s under 6 x the function's 20 s timeout
    assert "LK201" in mapping_findings(tmp_path, '!Sub "${Queue.Arn}"')


def test_a_queue_in_another_stack_is_fifo_when_its_static_arn_ends_in_fifo(
    tmp_path: Path,
) -> None:
    extra = "      BatchSize: 11\n      MaximumBatchingWindowInSeconds: 5"
    rules = mapping_findings(tmp_path, "arn:aws:sqs:us-east-1:123456789012:orders.fifo", extra)
    assert {"LK105", "LK107"} <= rules


def test_an_assumed_partial_batch_function_is_told_the_cli_options_too(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(MAPPING_TEMPLATE.format(arn="!GetAtt Queue.Arn", extra="", default="x"))
    [lk101] = [f for f in check_template(path) if f.rule.id == "LK101"]
    assert "--batch-function" in lk101.message
    assert "--import" in lk101.message


def test_ignoring_the_timeout_rule_still_reports_the_6x_recommendation(tmp_path: Path) -> None:
    # Visibility 40 s, timeout 30 s, window 20 s: below timeout + window (LK202) and below 6x the
    # timeout (LK201); one finding says both, and --ignore leaves out only the rule named.
    template = textwrap.dedent(
        """
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Dlq: {Type: AWS::SQS::Queue}
          Queue:
            Type: AWS::SQS::Queue
            Properties:
              VisibilityTimeout: 40
              RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 5}
          Worker:
            Type: AWS::Serverless::Function
            Properties:
              Runtime: python3.12
              Handler: app.handler
              Timeout: 30
              Events:
                Jobs:
                  Type: SQS
                  Properties:
                    Queue: !GetAtt Queue.Arn
                    FunctionResponseTypes: [ReportBatchItemFailures]
                    MaximumBatchingWindowInSeconds: 20
        """
    )
    path = tmp_path / "template.yaml"
    path.write_text(template)
    assert [f.rule.id for f in check_template(path)] == ["LK202"]
    assert [f.rule.id for f in check_template(path, ignore=["LK202"])] == ["LK201"]
