"""The shipped example behaves as its docs say, and `make demo` runs it (needs DynamoDB Local)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from lambdakit.testing import LambdaContext, sqs_event
from lambdakit.testing.dynamodb_local import DynamoDBLocal

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "examples" / "batch_orders"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, dynamodb_local: DynamoDBLocal, moto: str) -> object:
    # The app's store uses lambdakit's shared client, which follows these variables per request;
    # its payments key comes from Secrets Manager on the moto server (AWS_ENDPOINT_URL).
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import app as example_app

    dynamodb_local.create_idempotency_table(example_app.store.table_name)
    import boto3

    from lambdakit.secrets import invalidate

    boto3.client("secretsmanager").create_secret(
        Name=example_app.PAYMENTS_SECRET, SecretString='{"api_key": "pk_test_1"}'
    )
    invalidate()
    example_app.PROCESSED.clear()
    example_app.CHARGES.clear()
    return example_app


def test_only_rejected_orders_are_retried(app: object, lambda_context: LambdaContext) -> None:
    run = uuid.uuid4().hex[:8]  # the table lives for the session: fresh order ids per test
    rejected, accepted = f"o-1-{run}", f"o-2-{run}"
    event = sqs_event(
        [{"order_id": rejected, "amount": "-3"}, {"order_id": accepted, "amount": "5"}, "junk"]
    )
    response = app.handler(event, lambda_context)  # type: ignore[attr-defined]
    records = event["Records"]
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": records[0]["messageId"]},
            {"itemIdentifier": records[2]["messageId"]},
        ]
    }
    assert set(app.PROCESSED) == {accepted}  # type: ignore[attr-defined]


def test_a_resent_order_is_charged_once(app: object, lambda_context: LambdaContext) -> None:
    order = {"order_id": f"o-{uuid.uuid4().hex[:8]}", "amount": "5"}
    event = sqs_event([order, order])  # two messages, one order
    response = app.handler(event, lambda_context)  # type: ignore[attr-defined]
    assert response == {"batchItemFailures": []}
    charged = list(app.CHARGES)  # type: ignore[attr-defined]
    assert charged == [order["order_id"]]


def test_the_demo_runs_end_to_end() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLE / "demo.py")], capture_output=True, text=True, check=True
    )
    assert "4 succeeded and will be deleted; 3 will be retried" in out.stdout
    assert "returned the stored receipt without running" in out.stdout
    assert "charged twice: none" in out.stdout
    assert "through @inject_secrets" in out.stdout
    assert "pk_demo_" not in out.stdout  # the key itself is never shown
