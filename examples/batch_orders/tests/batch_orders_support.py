"""What both test modules of the example share: loading ``app.py`` as a fresh execution
environment would, with its settings, and reading back what it stored and published.

The example reads its settings at import (``KAFKA_BOOTSTRAP``, ``QUARANTINE_QUEUE``...), so each
test imports it afresh, with a table and a topic of its own: what a test reads back is what that
test's function did. It is loaded from its path under a name of its own
(``batch_orders_app``), so it never clashes with another example's ``app`` module.
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lambdakit.testing import FakeClock, FakeSecrets, LambdaContext
from lambdakit.testing.dynamodb_local import DynamoDBLocal
from lambdakit.testing.esm import SQSClient, SQSQueue
from lambdakit.testing.kafka_cluster import MockKafkaCluster

EXAMPLE = Path(__file__).resolve().parents[1]
TEMPLATE = EXAMPLE / "template.yaml"
PAYMENTS_KEY = "pk_test_1"
QUEUE = "orders.fifo"  # the queue name events are built with: sqs_event(queue_name=QUEUE)
QUARANTINE = "orders-quarantine.fifo"
QUARANTINE_ARN = f"arn:aws:sqs:us-east-1:123456789012:{QUARANTINE}"


def template_environment() -> dict[str, str]:
    """The function's environment variables that ``template.yaml`` sets to plain values
    (``RETRY_BASE_S``, ``QUARANTINE_AFTER``...), so the tests run the settings deployed; those
    set from parameters or resources (``!Ref``, ``!GetAtt``) are left out."""
    import yaml

    class Loader(yaml.SafeLoader):
        """CloudFormation's short-form tags (``!Ref``...) read as ``None``."""

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    with TEMPLATE.open(encoding="utf-8") as file:
        template = yaml.load(file, Loader=Loader)
    variables = template["Resources"]["OrdersFunction"]["Properties"]["Environment"]["Variables"]
    return {name: value for name, value in variables.items() if isinstance(value, str)}


def load_app(
    monkeypatch: pytest.MonkeyPatch,
    dynamodb_local: DynamoDBLocal,
    secrets: FakeSecrets,
    cluster: MockKafkaCluster,
    *,
    topic: str | None = None,
    partitions: int = 1,
    table: str | None = None,
    **env: str,
) -> ModuleType:
    """``app.py`` imported afresh, as a new execution environment would: its idempotency table
    on DynamoDB Local (``table``, by default a new one), its payments key in ``secrets``, and it
    publishes to ``topic`` on ``cluster`` (by default a new topic, ``module.ORDERS_TOPIC``).
    The template's plain settings apply; ``env`` is set before the import, over all of these."""
    table = table or f"orders-{uuid.uuid4().hex[:8]}"
    settings = {
        **template_environment(),
        "WARM_UP_BUDGET_S": "0",  # no connections at import: each test's servers are its own
        # lambdakit's shared clients follow these variables per request.
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "IDEMPOTENCY_TABLE": table,
        "KAFKA_BOOTSTRAP": cluster.bootstrap,
        "ORDERS_TOPIC": topic or cluster.create_topic(partitions=partitions),
        # Where quarantined orders go: the name of the simulator's queue (lambdakit.testing.esm)
        # in the tests that quarantine; the tests that invoke the handler directly never do.
        "QUARANTINE_QUEUE": QUARANTINE_ARN,
        **env,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    dynamodb_local.create_idempotency_table(table)
    spec = importlib.util.spec_from_file_location("batch_orders_app", EXAMPLE / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    secrets.set_secret(module.PAYMENTS_SECRET, json.dumps({"api_key": PAYMENTS_KEY}))
    return module


def direct_handler(app: ModuleType) -> Callable[..., Any]:
    """The example's handler for events built with ``sqs_event(queue_name=QUEUE)``: the
    deployed stack, its back-off and quarantine requests sent to models of the orders and
    quarantine queues (``SQSClient``), never to AWS. A first failure is neither delayed nor
    quarantined, so those requests only read the orders queue's visibility timeout."""
    clock = FakeClock()
    queue = SQSQueue(QUEUE, fifo=True, visibility_timeout=180, clock=clock)
    quarantine = SQSQueue(QUARANTINE, fifo=True, clock=clock)
    handler: Callable[..., Any] = app.build_handler(sqs_client=SQSClient(queue, quarantine))
    return handler


def invocation() -> LambdaContext:
    """The context of one invocation, with the template's 30 s timeout: that bounds every flush
    (the default context's 15 minutes would let a stuck flush hang the test run)."""
    return LambdaContext(function_name="orders", timeout=30)


def published(cluster: MockKafkaCluster, topic: str) -> list[tuple[str, dict[str, Any]]]:
    """``(key, receipt)`` of every message on ``topic``, in partition then offset order. The
    handler waited for every acknowledgement before returning, so nothing is still in flight."""
    return [
        ((m.key or b"").decode(), json.loads(m.value or b"null")) for m in cluster.messages(topic)
    ]


def stored_receipt(ddb: DynamoDBLocal, app: ModuleType, order_id: str) -> dict[str, Any]:
    """The receipt stored with the order's idempotency record, read from DynamoDB Local."""
    items = ddb.client().scan(TableName=app.store.table_name, ConsistentRead=True)["Items"]
    receipts = [json.loads(item["data"]["S"]) for item in items if "data" in item]
    found = [receipt for receipt in receipts if receipt.get("order_id") == order_id]
    assert len(found) == 1, f"{len(found)} idempotency records hold a receipt for {order_id}"
    receipt: dict[str, Any] = found[0]
    return receipt


@pytest.fixture(scope="module", name="kafka_cluster")
def kafka_cluster_fixture() -> Iterator[MockKafkaCluster]:
    """``kafka_cluster``: librdkafka's mock cluster for a test module's tests, each publishing
    to a topic of its own (a module imports this function to have the fixture)."""
    with MockKafkaCluster() as cluster:
        yield cluster
