"""What users' code sees of the API added for cost planning, template checks, warm-up, batch
retry/quarantine/metrics and the simulator's SQS client, checked by ``mypy --strict`` with
``assert_type``; pytest runs the same calls, so every line is also valid at run time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from typing_extensions import assert_type

import lambdakit
from lambdakit.batch import Backoff, BatchResponse, Quarantine, SQSRecord, process_batch
from lambdakit.check import Finding, check_template
from lambdakit.cost import (
    Config,
    Estimate,
    Grid,
    HandlerProfile,
    Plan,
    Workload,
    estimate,
    plan,
    plan_json,
    plan_text,
)
from lambdakit.testing import SQSClient, SQSQueue
from lambdakit.typing import LambdaContext

Handler = Callable[[Mapping[str, Any], LambdaContext | None], BatchResponse]
EXAMPLE_TEMPLATE = Path(__file__).parents[2] / "examples" / "batch_orders" / "template.yaml"


def test_process_batch_with_retry_quarantine_and_metrics_is_still_a_lambda_handler() -> None:
    queue = SQSQueue("orders")
    quarantine = SQSQueue("orders-quarantine")

    def record_handler(record: SQSRecord) -> None: ...

    handler = process_batch(
        retry=Backoff(base=2.0, max_delay=60.0),
        quarantine=Quarantine(after=3, to="arn:aws:sqs:us-east-1:123456789012:orders-quarantine"),
        sqs_client=SQSClient(queue, quarantine),
        max_logged_failures=5,
        metrics=False,
    )(record_handler)
    assert_type(handler, Handler)


def test_warm_up_reports_what_it_warmed() -> None:
    report = lambdakit.warm_up(budget_s=0.1)
    assert_type(report, lambdakit.WarmUpReport)


def test_check_template_returns_findings() -> None:
    findings = check_template(EXAMPLE_TEMPLATE)
    assert_type(findings, list[Finding])
    assert findings == []


def test_the_cost_planner_takes_and_gives_dataclasses() -> None:
    workload = Workload.per_day(1_000_000)
    assert_type(workload, Workload)
    profile = HandlerProfile(cpu_ms_per_record=2.0)
    one = estimate(workload, Config(batch_size=10, window_s=1.0), profile)
    assert_type(one, Estimate)
    assert_type(one.cost.total, float)
    assert_type(one.drain_seconds(1_000, workload.messages_per_second), float | None)
    ranked = plan(workload, profile, Grid(batch_sizes=(10,), memory_mb=(512,)))
    assert_type(ranked, Plan)
    assert_type(ranked.best, Estimate | None)
    assert_type(plan_text(ranked), str)
    assert_type(plan_json(ranked), dict[str, Any])
