"""``lambdakit.warm_up`` against real servers: Secrets Manager on moto server, the idempotency
store on DynamoDB Local, producers on the Kafka mock cluster (both backends).

What warm_up promises is checked where it shows: after it, the first invocation sends no
request for its secrets, opens no new connection to DynamoDB and builds no Kafka client, and its
first message does not wait for a connection or a producer id. A broker that is down costs
warm_up no more than its budget, and the handler still works once the broker is back.
"""

from __future__ import annotations

import logging
import sys
import time
import types
from collections.abc import Callable
from typing import Any

import pytest

import lambdakit
from lambdakit._internal.clients import client as shared_client
from lambdakit.idempotency import DynamoDBStore, idempotent
from lambdakit.kafka import Producer, flush_kafka
from lambdakit.secrets import INJECTED, SecretCache, SecretRef, inject_secrets
from lambdakit.testing import LambdaContext
from lambdakit.testing.kafka_cluster import MockKafkaCluster

pytestmark = pytest.mark.integration

SLACK = 2.0  # seconds warm_up may take beyond its budget on a loaded machine (generous)
# librdkafka asks for an idempotent producer's id on a 500 ms timer when no broker connection
# is up; a first message that has to wait for it takes at least that long.
FAST_FIRST_MESSAGE_S = 0.3


def connections_opened(client: Any) -> int:
    """How many connections a botocore client's pools have opened so far (urllib3 counts)."""
    manager = client._endpoint.http_session._manager
    return sum(pool.num_connections for pool in list(manager.pools._container.values()))


def requests_to(client: Any) -> list[str]:
    """The requests ``client`` sends from now on (one entry per HTTP request)."""
    sent: list[str] = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
    return sent


@pytest.fixture
def payments_secret(moto: str) -> str:
    import boto3

    name = "orders/payments"
    boto3.client("secretsmanager").create_secret(Name=name, SecretString='{"key": "pk_1"}')
    return name


@pytest.fixture
def snapstart(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], Any]]:
    """A stand-in for the Lambda Python runtime's ``snapshot_restore_py``: the hooks it got."""
    hooks: list[Callable[[], Any]] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_after_restore = lambda hook, *a, **k: hooks.append(hook)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    return hooks


def charging_handler(table: str, secret: str, cache: SecretCache) -> Callable[..., Any]:
    @idempotent(DynamoDBStore(table), key="order_id")
    @inject_secrets(api_key=SecretRef(secret, field="key"), cache=cache)
    def charge(event: dict[str, Any], context: Any, *, api_key: str = INJECTED) -> dict[str, str]:
        return {"order_id": event["order_id"], "charged_with": api_key[:3]}

    return charge


# --- secrets and the idempotency store ---------------------------------------------------------


def test_after_warm_up_the_first_invocation_sends_no_secret_request_and_opens_no_connection(
    payments_secret: str, idempotency_table: str
) -> None:
    cache = SecretCache()
    charge = charging_handler(idempotency_table, payments_secret, cache)

    report = lambdakit.warm_up(charge)

    assert report.skipped == {}
    assert report.warmed[0] == "import boto3"
    assert set(report.warmed[1:]) == {
        f"DynamoDBStore(table_name={idempotency_table!r}, key_attr='id')",
        f"SecretRef({payments_secret!r}, field='key')",
    }
    dynamodb, secretsmanager = shared_client("dynamodb"), shared_client("secretsmanager")
    connected = connections_opened(dynamodb)
    assert connected >= 1  # warm_up's GetItem opened it
    table_requests, secret_requests = requests_to(dynamodb), requests_to(secretsmanager)

    assert charge({"order_id": "o-1"}, LambdaContext(timeout=30)) == {
        "order_id": "o-1",
        "charged_with": "pk_",
    }

    assert secret_requests == []  # served from the cache warm_up filled
    assert len(table_requests) == 2  # the lock, then the result
    assert connections_opened(dynamodb) == connected  # the connection warm_up opened, reused
    assert shared_client("dynamodb") is dynamodb  # and the client it created


def test_a_table_that_does_not_exist_is_reported_and_left_lazy(
    moto: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = DynamoDBStore("no-such-table")
    with caplog.at_level(logging.WARNING, logger="lambdakit"):
        report = lambdakit.warm_up(store)
    assert "ResourceNotFoundException" in report.skipped[repr(store)]
    assert "no-such-table" in caplog.text


def test_after_a_snapstart_restore_clients_are_new_warm_and_secrets_fresh(
    payments_secret: str, idempotency_table: str, snapstart: list[Callable[[], Any]]
) -> None:
    import boto3

    cache = SecretCache()
    charge = charging_handler(idempotency_table, payments_secret, cache)
    lambdakit.warm_up(charge)
    before_snapshot = shared_client("dynamodb")
    boto3.client("secretsmanager").put_secret_value(
        SecretId=payments_secret, SecretString='{"key": "pk_rotated"}'
    )

    for hook in snapstart:
        hook()

    restored = shared_client("dynamodb")
    assert restored is not before_snapshot  # the snapshot's connections are not reused
    connected = connections_opened(restored)
    assert connected >= 1
    assert cache.get_secret(payments_secret, transform="json") == {"key": "pk_rotated"}
    charge({"order_id": "o-2"}, LambdaContext(timeout=30))
    assert connections_opened(restored) == connected


# --- Kafka --------------------------------------------------------------------------------------

BACKENDS = ["confluent", "kafka-python"]


def producer_for(backend: str, bootstrap: str) -> Producer:
    """An idempotent producer on ``backend`` (the example app's configuration)."""
    if backend == "confluent":
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "log_level": 0,
        }
    else:
        config = {"bootstrap_servers": bootstrap, "api_version": (2, 0), "linger_ms": 0}
    return Producer(config, backend=backend)


@pytest.fixture
def topic(kafka_cluster: MockKafkaCluster) -> str:
    return kafka_cluster.create_topic(partitions=3)


@pytest.mark.parametrize(
    ("backend", "name_topic"),
    [("confluent", False), ("confluent", True), ("kafka-python", True)],
    ids=["confluent", "confluent-with-topic", "kafka-python-with-topic"],
)
def test_after_warm_up_the_first_message_waits_for_no_connection_or_producer_id(
    kafka_cluster: MockKafkaCluster, topic: str, backend: str, name_topic: bool
) -> None:
    producer = producer_for(backend, kafka_cluster.bootstrap)

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> str:
        producer.produce(topic, event["order_id"], key=event["order_id"])
        return "published"

    report = lambdakit.warm_up(handler, kafka_topics=[topic] if name_topic else [])
    assert report.warmed == [producer.describe()]
    assert producer.created == 1

    started = time.monotonic()
    assert handler({"order_id": "o-1"}, LambdaContext(timeout=30)) == "published"
    first = time.monotonic() - started

    assert producer.created == 1  # the client warm_up built
    assert first < FAST_FIRST_MESSAGE_S
    assert [m.value for m in kafka_cluster.messages(topic)] == [b"o-1"]
    if backend == "kafka-python":  # the topic's partitions known without asking: no wait
        client = producer.client
        client.config["max_block_ms"] = 0
        assert client.partitions_for(topic) == {0, 1, 2}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_broker_that_is_down_costs_warm_up_its_budget_and_the_handler_works_later(
    kafka_cluster: MockKafkaCluster, topic: str, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    kafka_cluster.broker_down(1)
    try:
        producer = producer_for(backend, kafka_cluster.bootstrap)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="lambdakit"):
            report = lambdakit.warm_up(producer, kafka_topics=[topic], budget_s=0.5)
        assert time.monotonic() - started < 0.5 + SLACK
    finally:
        kafka_cluster.broker_up(1)
    assert producer.describe() in report.skipped
    assert producer.describe() in caplog.text

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> str:
        producer.produce(topic, b"after the outage")
        return "published"

    assert handler({}, LambdaContext(timeout=30)) == "published"
    assert [m.value for m in kafka_cluster.messages(topic)] == [b"after the outage"]


def test_without_warm_up_a_new_client_reaches_a_broker_at_once_not_after_the_id_retry_timer(
    kafka_cluster: MockKafkaCluster, topic: str
) -> None:
    # librdkafka drops its bootstrap connection once it knows the brokers, and an idempotent
    # producer asks for its producer id only over a broker connection: left alone, the first
    # flush of every cold start waited for its 500 ms retry timer. The client built by the
    # first produce now opens that connection at once, on a thread of its own.
    producer = producer_for("confluent", kafka_cluster.bootstrap)

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> str:
        producer.produce(topic, event["order_id"], key=event["order_id"])
        return "published"

    started = time.monotonic()
    assert handler({"order_id": "o-1"}, LambdaContext(timeout=30)) == "published"
    assert time.monotonic() - started < FAST_FIRST_MESSAGE_S
    assert producer.created == 1
    assert [m.value for m in kafka_cluster.messages(topic)] == [b"o-1"]
