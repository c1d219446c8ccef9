"""The shipped example behaves as its docs say, and `make demo` runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lambdakit.testing import LambdaContext, sqs_event

EXAMPLE = Path(__file__).parents[2] / "examples" / "batch_orders"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import app as example_app

    example_app.PROCESSED.clear()
    return example_app


def test_only_rejected_orders_are_retried(app: object, lambda_context: LambdaContext) -> None:
    event = sqs_event(
        [{"order_id": "o-1", "amount": "-3"}, {"order_id": "o-2", "amount": "5"}, "junk"]
    )
    response = app.handler(event, lambda_context)  # type: ignore[attr-defined]
    records = event["Records"]
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": records[0]["messageId"]},
            {"itemIdentifier": records[2]["messageId"]},
        ]
    }
    assert set(app.PROCESSED) == {"o-2"}  # type: ignore[attr-defined]


def test_the_demo_runs_end_to_end() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLE / "demo.py")], capture_output=True, text=True, check=True
    )
    assert "4 succeeded and will be deleted; 3 will be retried" in out.stdout
