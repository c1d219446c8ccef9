"""The example's handler invoked directly with FIFO events built by ``lambdakit.testing``, on
DynamoDB Local (idempotency) and the Kafka mock cluster; and ``make demo`` and the walkthrough
run end to end. What the event source mapping does with the answers over time (redeliveries,
quarantine, deduplication) is in ``test_batch_orders_esm.py``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from batch_orders_support import (  # the fixture named kafka_cluster
    EXAMPLE,
    QUEUE,
    direct_handler,
    invocation,
    kafka_cluster_fixture,  # noqa: F401
    load_app,
    published,
    stored_receipt,
)

from lambdakit.errors import BatchConfigurationError, WarmUpConfigurationError
from lambdakit.kafka import KafkaConfigurationError
from lambdakit.testing import FakeSecrets, sqs_event
from lambdakit.testing.dynamodb_local import DynamoDBLocal
from lambdakit.testing.kafka_cluster import MockKafkaCluster

pytestmark = pytest.mark.integration

Loader = Callable[..., ModuleType]


@pytest.fixture(scope="module")
def two_brokers() -> Iterator[MockKafkaCluster]:
    """A cluster of its own for the test that takes a broker down: with two brokers, each
    leading one partition of a topic, a fault hits the customers keyed to one partition only."""
    with MockKafkaCluster(broker_count=2) as cluster:
        yield cluster


@pytest.fixture
def load_example(
    monkeypatch: pytest.MonkeyPatch, dynamodb_local: DynamoDBLocal, fake_secrets: FakeSecrets
) -> Iterator[Loader]:
    """``load_example(cluster, **options)``: :func:`batch_orders_support.load_app` on this
    test's servers; every producer it made is closed after the test."""
    loaded: list[ModuleType] = []

    def load(cluster: MockKafkaCluster, **options: Any) -> ModuleType:
        module = load_app(monkeypatch, dynamodb_local, fake_secrets, cluster, **options)
        loaded.append(module)
        return module

    try:
        yield load
    finally:
        for module in loaded:
            module.producer.close()


@pytest.fixture
def app(load_example: Loader, kafka_cluster: MockKafkaCluster) -> ModuleType:
    return load_example(kafka_cluster)


def orders_event(*orders: tuple[str, Any]) -> dict[str, Any]:
    """A FIFO batch from the orders queue: ``(customer id, body)`` per message, in queue order."""
    return sqs_event(
        [body for _, body in orders],
        group_ids=[customer for customer, _ in orders],
        queue_name=QUEUE,
    )


def test_only_rejected_orders_are_retried_and_only_charged_orders_are_published(
    app: ModuleType, kafka_cluster: MockKafkaCluster, dynamodb_local: DynamoDBLocal
) -> None:
    event = orders_event(
        ("c-1", {"order_id": "o-1", "amount": "-3"}),
        ("c-2", {"order_id": "o-2", "amount": "5"}),
        ("c-3", "junk"),
    )
    records = event["Records"]
    response = direct_handler(app)(event, invocation())
    # "junk" has no order_id: the template's filter criteria drop it, so it is not reported
    # (Lambda deletes it without invoking the function).
    assert response == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert app.CHARGES == ["o-2"]
    # Key = the customer (the message group), value = the receipt stored with the order.
    receipt = stored_receipt(dynamodb_local, app, "o-2")
    assert receipt["message_id"] == records[1]["messageId"]
    assert receipt["customer_id"] == "c-2"
    assert published(kafka_cluster, app.ORDERS_TOPIC) == [("c-2", receipt)]


def test_a_failed_order_holds_back_only_the_later_orders_of_its_customer(
    app: ModuleType, kafka_cluster: MockKafkaCluster
) -> None:
    event = orders_event(
        ("c-1", {"order_id": "o-1", "amount": "5"}),
        ("c-1", {"order_id": "o-2", "amount": "-3"}),  # rejected
        ("c-2", {"order_id": "o-3", "amount": "7"}),
        ("c-1", {"order_id": "o-4", "amount": "9"}),  # after o-2 in c-1's order: not run
        ("c-2", {"order_id": "o-5", "amount": "1"}),
    )
    ids = [record["messageId"] for record in event["Records"]]
    response = direct_handler(app)(event, invocation())
    assert response == {
        "batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[3]}]
    }
    assert sorted(app.CHARGES) == ["o-1", "o-3", "o-5"]
    # Per customer, in the order sent: one customer's orders share a partition key.
    orders = [
        (key, receipt["order_id"]) for key, receipt in published(kafka_cluster, app.ORDERS_TOPIC)
    ]
    assert [order for key, order in orders if key == "c-1"] == ["o-1"]
    assert [order for key, order in orders if key == "c-2"] == ["o-3", "o-5"]


def test_a_resent_order_is_charged_once_and_its_receipt_published_for_each_message(
    app: ModuleType, kafka_cluster: MockKafkaCluster, dynamodb_local: DynamoDBLocal
) -> None:
    order = {"order_id": "o-1", "amount": "5"}
    # Two messages of one order, with different deduplication ids (a producer that retried
    # with a new one, or a resend after SQS's five-minute window): SQS delivers both.
    event = sqs_event(
        [order, order], group_ids="c-1", deduplication_ids=["d-1", "d-2"], queue_name=QUEUE
    )
    response = direct_handler(app)(event, invocation())
    assert response == {"batchItemFailures": []}
    assert app.CHARGES == ["o-1"]
    # At least once: the duplicate replays the stored receipt and publishes it again, with the
    # same key and the same bytes, which is what lets consumers deduplicate.
    receipt = stored_receipt(dynamodb_local, app, "o-1")
    assert published(kafka_cluster, app.ORDERS_TOPIC) == [("c-1", receipt), ("c-1", receipt)]
    values = [m.value for m in kafka_cluster.messages(app.ORDERS_TOPIC)]
    assert values == [app.published_value(receipt).encode()] * 2


def test_an_order_from_a_standard_queue_is_rejected_before_it_is_charged(
    app: ModuleType, kafka_cluster: MockKafkaCluster
) -> None:
    event = sqs_event([{"order_id": "o-1", "amount": "5"}])  # no MessageGroupId
    response = direct_handler(app)(event, invocation())
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert app.CHARGES == []
    assert published(kafka_cluster, app.ORDERS_TOPIC) == []


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
    stuck = _customer_keyed_to(next(p for p, broker in leaders.items() if broker == 2), 2)
    fine = _customer_keyed_to(next(p for p, broker in leaders.items() if broker == 1), 2)
    handler = direct_handler(app)
    # A warm environment: its client is connected and knows the partitions' leaders (a cold one
    # could spend its 2 s asking the broker that is down for metadata, and fail both orders).
    warm_up = handler(orders_event((fine, {"order_id": "o-0", "amount": "1"})), invocation())
    assert warm_up == {"batchItemFailures": []}
    event = orders_event(
        (fine, {"order_id": "o-1", "amount": "7"}), (stuck, {"order_id": "o-2", "amount": "9"})
    )
    records = event["Records"]

    two_brokers.broker_down(2)  # the leader of the stuck customer's partition
    try:
        with caplog.at_level(logging.WARNING, logger="lambdakit.batch"):
            response = handler(event, invocation())
    finally:
        two_brokers.broker_up(2)
    assert response == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    failures = [r for r in caplog.records if r.name == "lambdakit.batch" and r.exc_info]
    assert [type(r.exc_info[1]).__name__ for r in failures if r.exc_info] == ["KafkaDeliveryError"]
    # o-2 charged, then its publishing failed (two customers: charged concurrently, any order)
    assert app.CHARGES[0] == "o-0"
    assert sorted(app.CHARGES) == ["o-0", "o-1", "o-2"]
    first_receipt = stored_receipt(dynamodb_local, app, "o-2")

    # After the visibility timeout SQS delivers the failed message again, here to another
    # execution environment (a warm one would first wait out its client's reconnect back-off).
    retrying = load_example(
        two_brokers, topic=topic, table=app.store.table_name, KAFKA_MESSAGE_TIMEOUT_MS="20000"
    )
    retry = direct_handler(retrying)({"Records": [records[1]]}, invocation())
    assert retry == {"batchItemFailures": []}
    assert retrying.CHARGES == []  # the stored receipt, not a second charge
    assert stored_receipt(dynamodb_local, app, "o-2") == first_receipt
    # Each order once: the stuck message timed out and was dropped, and the retry published the
    # receipt of the first (and only) charge.
    assert sorted(published(two_brokers, topic), key=lambda m: m[1]["order_id"]) == [
        (fine, stored_receipt(dynamodb_local, app, "o-0")),
        (fine, stored_receipt(dynamodb_local, app, "o-1")),
        (stuck, first_receipt),
    ]


@pytest.mark.parametrize(
    ("unset", "error", "message"),
    [
        ("KAFKA_BOOTSTRAP", KafkaConfigurationError, "KAFKA_BOOTSTRAP is not set"),
        ("QUARANTINE_QUEUE", BatchConfigurationError, "QUARANTINE_QUEUE is not set"),
    ],
)
def test_without_a_kafka_bootstrap_or_a_quarantine_queue_the_function_refuses_to_load(
    load_example: Loader,
    kafka_cluster: MockKafkaCluster,
    unset: str,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        load_example(kafka_cluster, **{unset: ""})


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("QUARANTINE_QUEUE", "orders-quarantine", BatchConfigurationError),
        ("QUARANTINE_AFTER", "2.5", BatchConfigurationError),
        ("QUARANTINE_AFTER", "0", BatchConfigurationError),
        ("RETRY_BASE_S", "soon", BatchConfigurationError),
        ("KAFKA_MESSAGE_TIMEOUT_MS", "-1", KafkaConfigurationError),
        ("WARM_UP_BUDGET_S", "12", WarmUpConfigurationError),
    ],
)
def test_a_setting_out_of_range_refuses_the_load_naming_the_variable(
    load_example: Loader,
    kafka_cluster: MockKafkaCluster,
    name: str,
    value: str,
    error: type[Exception],
) -> None:
    with pytest.raises(error, match=f"^{name}={value!r}: "):
        load_example(kafka_cluster, **{name: value})


def test_the_showcase_drains_the_queue_and_every_count_matches_what_was_sent(
    tmp_path: Path,
) -> None:
    """`make demo` (here with 200 messages instead of 1,000): customers' orders in order,
    duplicates, poison orders quarantined and messages the filter drops, through
    SQSEventSource on moto, DynamoDB Local and Kafka; then the cost of its own measured run at
    10 million messages a day."""
    page = tmp_path / "cost.html"
    out = subprocess.run(
        [sys.executable, str(EXAMPLE / "demo.py"), "--messages", "200", "--cost-html", str(page)],
        capture_output=True,
        text=True,
        env=_clean_environment(),
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Every count matches what was sent." in out.stdout
    for row in ("charged once", "in order", "duplicates answered", "filtered", "quarantined"):
        [line] = [line for line in out.stdout.splitlines() if line.strip().startswith(row)]
        assert " ok " in line, line
    assert "pk_demo_" not in out.stdout + out.stderr  # the key itself is never shown
    cost = out.stdout.split("Every count matches what was sent.", 1)[1]
    assert "Cost at 10,000,000 messages a day, from this run's measurements" in cost
    assert "Handler (measured by make demo" in cost
    assert "Prices: us-east-1, dated" in cost
    assert "Recommendation: batch" in cost
    assert "FIFO (10000 message groups) queue; 78.9% pass the filter" in cost
    assert "Plotly" in page.read_text(encoding="utf-8")


def test_the_showcase_exits_1_when_a_count_differs() -> None:
    spec = importlib.util.spec_from_file_location("batch_orders_demo", EXAMPLE / "demo.py")
    assert spec is not None
    assert spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    from collections import Counter
    from types import SimpleNamespace

    from lambdakit.testing.esm import Summary

    sent = Counter({"order": 1})
    app = SimpleNamespace(CHARGES=["o-1", "o-1"])  # charged twice
    messages = [demo.Planned("order", "c-1", '{"order_id": "o-1", "amount": "1"}')]
    assert demo.report(app, Summary(), sent, messages, [], [], 0.1) == 1


def test_the_walkthrough_runs_end_to_end() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLE / "walkthrough.py")],
        capture_output=True,
        text=True,
        env=_clean_environment(),
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = " ".join(out.stdout.split())  # the summary paragraphs are wrapped
    assert "4 succeeded and will be deleted; 3 will be retried" in text
    assert "1 matched no filter of the template: not run, not reported" in text
    # The message that is no order is shown as dropped by the filter, not retried.
    assert any(
        line.split()[:1] == ["filtered"] and "this body is not JSON" in line
        for line in out.stdout.splitlines()
    )
    assert any(
        line.split()[:1] == ["not-run"] and "o-1008" in line for line in out.stdout.splitlines()
    )
    assert "returned the stored receipt without running" in out.stdout
    assert "charged twice: none" in out.stdout
    assert "through @inject_secrets" in out.stdout
    assert "pk_demo_" not in out.stdout  # the key itself is never shown
    assert "5 messages for 4 charged orders, as expected" in out.stdout
    assert "Order o-1002 is there 2 times, byte for byte the same" in out.stdout
    assert "The 3 failed orders were not published" in out.stdout


def _clean_environment() -> dict[str, str]:
    """This process's environment without the settings the example reads: the scripts start
    their own servers and set their own."""
    settings = ("KAFKA_", "ORDERS_", "AWS_", "QUARANTINE_", "RETRY_", "IDEMPOTENCY_")
    return {k: v for k, v in os.environ.items() if not k.startswith(settings)}


def _partition_leaders(cluster: MockKafkaCluster, topic: str) -> dict[int, int]:
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(topic, timeout=10)
    return {p: m.leader for p, m in metadata.topics[topic].partitions.items()}


def _customer_keyed_to(partition: int, partitions: int) -> str:
    """A fresh customer id that librdkafka's default partitioner (``consistent_random``: CRC-32
    of the key, modulo the partition count) places in ``partition``."""
    while True:
        customer = f"c-{uuid.uuid4().hex[:8]}"
        if zlib.crc32(customer.encode()) % partitions == partition:
            return customer
