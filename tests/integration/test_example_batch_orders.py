"""The shipped example behaves as its docs say, and `make demo` runs it (needs DynamoDB Local and
the Kafka mock cluster).

The example reads its Kafka settings at import, so every test imports it afresh, publishing to
a topic of its own: what a test reads back from its topic is what that test published.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lambdakit.kafka import KafkaConfigurationError
from lambdakit.testing import LambdaContext, sqs_event
from lambdakit.testing.dynamodb_local import DynamoDBLocal
from lambdakit.testing.kafka_cluster import MockKafkaCluster

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "examples" / "batch_orders"
READ_TIMEOUT = 20.0  # upper bound for reading a topic back; it takes well under a second

Loader = Callable[..., ModuleType]


@pytest.fixture
def load_example(
    monkeypatch: pytest.MonkeyPatch, dynamodb_local: DynamoDBLocal, moto: str
) -> Iterator[Loader]:
    """``load_example(cluster, *, topic=None, partitions=1, **env)``: the example imported
    afresh, as a new execution environment would, with ``env`` set before the import. It
    publishes to ``topic`` on ``cluster``, by default a new topic (``module.ORDERS_TOPIC``)."""
    # The app's store uses lambdakit's shared client, which follows these variables per request;
    # its payments key comes from Secrets Manager on the moto server (AWS_ENDPOINT_URL).
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.syspath_prepend(str(EXAMPLE))
    loaded: list[ModuleType] = []

    def load(
        cluster: MockKafkaCluster, *, topic: str | None = None, partitions: int = 1, **env: str
    ) -> ModuleType:
        monkeypatch.setenv("KAFKA_BOOTSTRAP", cluster.bootstrap)
        monkeypatch.setenv("ORDERS_TOPIC", topic or cluster.create_topic(partitions=partitions))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        sys.modules.pop("app", None)
        module = importlib.import_module("app")
        if not loaded:
            dynamodb_local.create_idempotency_table(module.store.table_name)
            import boto3

            boto3.client("secretsmanager").create_secret(
                Name=module.PAYMENTS_SECRET, SecretString='{"api_key": "pk_test_1"}'
            )
        from lambdakit.secrets import invalidate

        invalidate()
        loaded.append(module)
        return module

    try:
        yield load
    finally:
        sys.modules.pop("app", None)
        for module in loaded:
            module.producer.close()


@pytest.fixture
def app(load_example: Loader, kafka_cluster: MockKafkaCluster) -> ModuleType:
    return load_example(kafka_cluster)


@pytest.fixture(scope="module")
def two_brokers() -> Iterator[MockKafkaCluster]:
    """A cluster of its own for the test that takes a broker down: with two brokers, each
    leading one partition of a topic, a fault hits the orders keyed to one partition only."""
    with MockKafkaCluster(broker_count=2) as cluster:
        yield cluster


def invocation() -> LambdaContext:
    """The context of one invocation, with the template's 30 s timeout: that bounds every flush
    (the default context's 15 minutes would let a stuck flush hang the test run)."""
    return LambdaContext(function_name="orders", timeout=30)


def read_topic(cluster: MockKafkaCluster, topic: str) -> list[tuple[str, str]]:
    """``(key, value)`` of every message in ``topic`` as text, by partition and offset. All the
    handler published is acknowledged before it returns, so the high watermarks say how many
    messages there are: reading stops there, and extra messages cannot hide."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "group.id": f"test-{uuid.uuid4().hex}",  # never joined: partitions are assigned
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        total = sum(
            high - low
            for low, high in (
                consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                for p in partitions
            )
        )
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        found: list[tuple[int, int, str, str]] = []
        deadline = time.monotonic() + READ_TIMEOUT
        while len(found) < total and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            assert message.error() is None, message.error()
            found.append(
                (
                    message.partition(),
                    message.offset(),
                    message.key().decode(),
                    message.value().decode(),
                )
            )
    finally:
        consumer.close()
    assert len(found) == total, f"read {len(found)} of the {total} messages in {topic}"
    return [(key, value) for _, _, key, value in sorted(found, key=lambda m: m[:2])]


def stored_receipt(ddb: DynamoDBLocal, app: ModuleType, order_id: str) -> dict[str, Any]:
    """The receipt stored with the order's idempotency record, read from DynamoDB Local."""
    items = ddb.client().scan(TableName=app.store.table_name, ConsistentRead=True)["Items"]
    receipts = [json.loads(item["data"]["S"]) for item in items if "data" in item]
    found = [receipt for receipt in receipts if receipt.get("order_id") == order_id]
    assert len(found) == 1, f"{len(found)} idempotency records hold a receipt for {order_id}"
    receipt: dict[str, Any] = found[0]
    return receipt


def test_only_rejected_orders_are_retried_and_only_charged_orders_are_published(
    app: ModuleType,
    kafka_cluster: MockKafkaCluster,
    dynamodb_local: DynamoDBLocal,
) -> None:
    run = uuid.uuid4().hex[:8]  # the table lives for the session: fresh order ids per test
    rejected, accepted = f"o-1-{run}", f"o-2-{run}"
    event = sqs_event(
        [{"order_id": rejected, "amount": "-3"}, {"order_id": accepted, "amount": "5"}, "junk"]
    )
    response = app.handler(event, invocation())
    records = event["Records"]
    # "junk" has no order_id: the template's filter criteria drop it, so it is not reported
    # (Lambda deletes it without invoking the function).
    assert response == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert set(app.PROCESSED) == {accepted}
    # Key = order id, value = the receipt stored with the order's idempotency record.
    receipt = stored_receipt(dynamodb_local, app, accepted)
    assert receipt["message_id"] == records[1]["messageId"]
    assert read_topic(kafka_cluster, app.ORDERS_TOPIC) == [(accepted, app.published_value(receipt))]


def test_a_resent_order_is_charged_once_and_its_receipt_published_for_each_message(
    app: ModuleType,
    kafka_cluster: MockKafkaCluster,
    dynamodb_local: DynamoDBLocal,
) -> None:
    order = {"order_id": f"o-{uuid.uuid4().hex[:8]}", "amount": "5"}
    event = sqs_event([order, order])  # two messages, one order
    response = app.handler(event, invocation())
    assert response == {"batchItemFailures": []}
    assert list(app.CHARGES) == [order["order_id"]]
    # At least once: the duplicate replays the stored receipt and publishes it again, with the
    # same key and the same bytes, which is what lets consumers deduplicate.
    receipt = stored_receipt(dynamodb_local, app, order["order_id"])
    message = (order["order_id"], app.published_value(receipt))
    assert read_topic(kafka_cluster, app.ORDERS_TOPIC) == [message, message]


def test_an_undelivered_order_alone_is_retried_and_the_retry_does_not_charge_again(
    load_example: Loader,
    two_brokers: MockKafkaCluster,
    dynamodb_local: DynamoDBLocal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # librdkafka gives up on a message after 2 s here (20 s in the template): the stuck message
    # fails the record that produced it, within the invocation, and is never sent later.
    app = load_example(two_brokers, partitions=2, KAFKA_MESSAGE_TIMEOUT_MS="2000")
    topic = app.ORDERS_TOPIC
    leaders = _partition_leaders(two_brokers, topic)
    assert sorted(leaders.values()) == [1, 2], leaders
    stuck = _order_keyed_to(next(p for p, broker in leaders.items() if broker == 2), 2)
    fine = _order_keyed_to(next(p for p, broker in leaders.items() if broker == 1), 2)
    # A warm environment: its client is connected and knows the partitions' leaders (a cold one
    # could spend its 2 s asking the broker that is down for metadata, and fail both orders).
    warm = f"o-{uuid.uuid4().hex[:8]}"
    warm_up = app.handler(sqs_event([{"order_id": warm, "amount": "1"}]), invocation())
    assert warm_up == {"batchItemFailures": []}
    event = sqs_event([{"order_id": fine, "amount": "7"}, {"order_id": stuck, "amount": "9"}])
    records = event["Records"]

    two_brokers.broker_down(2)  # the leader of the stuck order's partition
    try:
        with caplog.at_level(logging.WARNING, logger="lambdakit.batch"):
            response = app.handler(event, invocation())
    finally:
        two_brokers.broker_up(2)
    assert response == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    failures = [r for r in caplog.records if r.name == "lambdakit.batch" and r.exc_info]
    assert [type(r.exc_info[1]).__name__ for r in failures] == ["KafkaDeliveryError"]
    assert sorted(app.CHARGES) == sorted([warm, fine, stuck])  # charged, then publish failed
    first_receipt = stored_receipt(dynamodb_local, app, stuck)

    # After the visibility timeout SQS delivers the failed message again, here to another
    # execution environment (a warm one would first wait out its client's reconnect back-off).
    retrying = load_example(two_brokers, topic=topic, KAFKA_MESSAGE_TIMEOUT_MS="20000")
    retry = retrying.handler({"Records": [records[1]]}, invocation())
    assert retry == {"batchItemFailures": []}
    assert retrying.CHARGES == []  # the stored receipt, not a second charge
    assert stored_receipt(dynamodb_local, app, stuck) == first_receipt
    # Each order once: the stuck message timed out and was dropped, and the retry published the
    # receipt of the first (and only) charge.
    published = read_topic(two_brokers, topic)
    assert sorted(key for key, _ in published) == sorted([warm, fine, stuck])
    assert dict(published) == {
        warm: app.published_value(stored_receipt(dynamodb_local, app, warm)),
        fine: app.published_value(stored_receipt(dynamodb_local, app, fine)),
        stuck: app.published_value(first_receipt),
    }


def test_without_a_kafka_bootstrap_the_function_refuses_to_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.syspath_prepend(str(EXAMPLE))
    sys.modules.pop("app", None)
    try:
        with pytest.raises(KafkaConfigurationError, match="KAFKA_BOOTSTRAP is not set"):
            importlib.import_module("app")
    finally:
        sys.modules.pop("app", None)


def test_the_showcase_drains_the_queue_and_every_count_matches_what_was_sent(
    tmp_path: Path,
) -> None:
    """`make demo` (here with 200 messages instead of 1,000): duplicates, poison messages and
    messages the filter drops, through SQSEventSource on moto, DynamoDB Local and Kafka; then
    the cost of its own measured run at 10 million messages a day."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "ORDERS_", "AWS_"))}
    page = tmp_path / "cost.html"
    out = subprocess.run(
        [sys.executable, str(EXAMPLE / "demo.py"), "--messages", "200", "--cost-html", str(page)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Every count matches what was sent." in out.stdout
    for row in ("charged once", "duplicates answered", "filtered", "dead-lettered"):
        [line] = [line for line in out.stdout.splitlines() if line.strip().startswith(row)]
        assert " ok " in line, line
    assert "pk_demo_" not in out.stdout + out.stderr  # the key itself is never shown
    cost = out.stdout.split("Every count matches what was sent.", 1)[1]
    assert "Cost at 10,000,000 messages a day, from this run's measurements" in cost
    assert "Handler (measured by make demo" in cost
    assert "Prices: us-east-1, dated" in cost
    assert "Recommendation: batch" in cost
    assert "80.0% pass the filter" in cost
    assert "Plotly" in page.read_text(encoding="utf-8")


def test_the_showcase_exits_1_when_a_count_differs() -> None:
    sys.path.insert(0, str(EXAMPLE))
    try:
        demo = importlib.import_module("demo")
    finally:
        sys.path.remove(str(EXAMPLE))
    from collections import Counter
    from types import SimpleNamespace

    from lambdakit.testing.esm import Summary

    sent = Counter({"order": 1})
    app = SimpleNamespace(CHARGES=["o-1", "o-1"])  # charged twice
    messages = [("order", '{"order_id": "o-1", "amount": "1"}')]
    assert demo.report(app, Summary(), sent, messages, [], 0.1) == 1


def test_the_walkthrough_runs_end_to_end() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "ORDERS_"))}
    out = subprocess.run(
        [sys.executable, str(EXAMPLE / "walkthrough.py")],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    text = " ".join(out.stdout.split())  # the summary paragraphs are wrapped
    assert "4 succeeded and will be deleted; 2 will be retried" in text
    assert "1 matched no filter of the template: not run, not reported" in text
    # The message that is no order is shown as dropped by the filter, not retried.
    assert any(
        line.split()[:1] == ["filtered"] and "this body is not JSON" in line
        for line in out.stdout.splitlines()
    )
    assert "returned the stored receipt without running" in out.stdout
    assert "charged twice: none" in out.stdout
    assert "through @inject_secrets" in out.stdout
    assert "pk_demo_" not in out.stdout  # the key itself is never shown
    assert "5 messages for 4 charged orders, as expected" in out.stdout
    assert "Order o-1002 is there 2 times, byte for byte the same" in out.stdout
    assert "The 2 failed orders were not published" in out.stdout


def _partition_leaders(cluster: MockKafkaCluster, topic: str) -> dict[int, int]:
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(topic, timeout=10)
    return {p: m.leader for p, m in metadata.topics[topic].partitions.items()}


def _order_keyed_to(partition: int, partitions: int) -> str:
    """A fresh order id that librdkafka's default partitioner (``consistent_random``: CRC-32 of
    the key, modulo the partition count) places in ``partition``."""
    while True:
        order_id = f"o-{uuid.uuid4().hex[:8]}"
        if zlib.crc32(order_id.encode()) % partitions == partition:
            return order_id
