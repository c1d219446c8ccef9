"""The publisher as a client sees it: POSTs built by lambdakit.testing, the idempotency store on
DynamoDB Local, and messages read back from librdkafka's mock cluster (a real Kafka protocol
peer). The mock cluster speaks no SASL, so the app runs with ``KAFKA_AUTH=none``: plaintext,
and otherwise the code that runs on Lambda with MSK IAM.

Run with ``pytest examples/kafka_publisher`` (the tests marked ``integration`` need Java 17+
for DynamoDB Local; ``-m "not integration"`` runs the others alone).
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

from lambdakit.kafka import KafkaConfigurationError
from lambdakit.testing import LambdaContext, function_url_event, http_api_event
from lambdakit.testing.dynamodb_local import DynamoDBLocal
from lambdakit.testing.kafka_cluster import MockKafkaCluster

EXAMPLE = Path(__file__).resolve().parents[1]
TEMPLATE = EXAMPLE / "template.yaml"
ORDER = {"order_id": "o-1001", "amount": 12.5, "currency": "EUR"}

Loader = Callable[..., ModuleType]


def load_app() -> ModuleType:
    """``app.py`` imported afresh under a name of its own, as a new execution environment would
    import it (other examples' ``app`` modules never clash with it)."""
    spec = importlib.util.spec_from_file_location("kafka_publisher_app", EXAMPLE / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The app with a bootstrap nothing listens on: requests refused before publishing never
    reach it, and creating the producer and the store connects to nothing."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "127.0.0.1:9")
    monkeypatch.setenv("KAFKA_AUTH", "none")
    return load_app()


@pytest.fixture(scope="module")
def cluster() -> Iterator[MockKafkaCluster]:
    with MockKafkaCluster() as running:
        yield running


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, dynamodb_local: DynamoDBLocal, cluster: MockKafkaCluster
) -> Iterator[Loader]:
    """``environment(**env)``: a new execution environment of the app, publishing to this
    test's topic on the mock cluster and storing keys in this test's table on DynamoDB Local."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("KAFKA_AUTH", "none")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", cluster.bootstrap)
    monkeypatch.setenv("ORDERS_TOPIC", cluster.create_topic(partitions=2))
    table = f"kafka-publisher-{uuid.uuid4().hex[:8]}"
    dynamodb_local.create_idempotency_table(table)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", table)
    started: list[ModuleType] = []

    def start(**env: str) -> ModuleType:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        started.append(load_app())
        return started[-1]

    try:
        yield start
    finally:
        for module in started:
            module.producer.close()


@pytest.fixture
def app(environment: Loader) -> ModuleType:
    return environment()


def invocation() -> LambdaContext:
    """One invocation with the template's 10 s timeout, which bounds every flush."""
    return LambdaContext(function_name="kafka-publisher", timeout=10)


def post(body: Any = ORDER, *, key: str | None = "default") -> dict[str, Any]:
    """A POST /orders through the HTTP API; ``key="default"`` sends a fresh Idempotency-Key."""
    headers = (
        {} if key is None else {"Idempotency-Key": str(uuid.uuid4()) if key == "default" else key}
    )
    return http_api_event(
        body, method="POST", path="/orders", headers=headers, route_key="POST /orders"
    )


def answer(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return response["statusCode"], json.loads(response["body"])


def published(cluster: MockKafkaCluster, app: ModuleType) -> list[tuple[str, dict[str, Any], str]]:
    """``(key, value, message-id header)`` of every message on the app's topic."""
    return [
        (
            (message.key or b"").decode(),
            json.loads(message.value or b"null"),
            (message.headers["message-id"] or b"").decode(),
        )
        for message in cluster.messages(app.ORDERS_TOPIC)
    ]


# --- no server --------------------------------------------------------------------------------


def test_the_template_passes_lambdakit_check() -> None:
    from lambdakit.check import check_template

    assert check_template(TEMPLATE) == []


def test_reserved_concurrency_and_the_reconnect_back_off_come_from_one_parameter() -> None:
    import yaml

    class CloudFormation(yaml.SafeLoader):
        """Reads !Ref and friends as ``{"Ref": ...}``-like dicts."""

    def tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            return {suffix: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {suffix: loader.construct_sequence(node, deep=True)}
        assert isinstance(node, yaml.MappingNode)
        return {suffix: loader.construct_mapping(node, deep=True)}

    CloudFormation.add_multi_constructor("!", tag)
    template = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CloudFormation)
    function = template["Resources"]["OrdersFunction"]["Properties"]
    variables = function["Environment"]["Variables"]
    assert function["ReservedConcurrentExecutions"] == {"Ref": "MaxConcurrency"}
    assert variables["KAFKA_MAX_CONCURRENCY"] == {"Ref": "MaxConcurrency"}
    assert variables["KAFKA_BROKER_CONNECTIONS_PER_SECOND"] == {"Ref": "BrokerConnectionsPerSecond"}
    assert variables["KAFKA_AUTH"] == "iam"
    assert template["Parameters"]["MaxConcurrency"]["Default"] == 100


@pytest.mark.parametrize(
    ("concurrency", "rate", "backoff_max_ms"),
    [("100", "100", 1_000), ("1000", "100", 10_000), ("100", "4", 25_000), ("20", "4", 5_000)],
)
def test_with_iam_the_reconnect_back_off_is_sized_by_the_connection_rate_arithmetic(
    offline: ModuleType, concurrency: str, rate: str, backoff_max_ms: int
) -> None:
    pytest.importorskip("aws_msk_iam_sasl_signer")  # lambdakit[msk]
    config = offline.kafka_config(
        {
            "KAFKA_BOOTSTRAP": "b-1.orders.kafka.eu-west-1.amazonaws.com:9098",
            "AWS_REGION": "eu-west-1",
            "KAFKA_MAX_CONCURRENCY": concurrency,
            "KAFKA_BROKER_CONNECTIONS_PER_SECOND": rate,
        }
    )
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "OAUTHBEARER"
    assert config["reconnect.backoff.max.ms"] == backoff_max_ms  # 1000 * concurrency / rate
    assert config["enable.idempotence"] is True
    assert config["message.timeout.ms"] == 5_000  # below the template's 10 s timeout


def test_without_a_bootstrap_the_function_refuses_to_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    with pytest.raises(KafkaConfigurationError, match="KAFKA_BOOTSTRAP is not set"):
        load_app()


def test_an_unknown_auth_mode_is_refused_by_name(offline: ModuleType) -> None:
    with pytest.raises(KafkaConfigurationError, match="KAFKA_AUTH='scram'"):
        offline.kafka_config({"KAFKA_BOOTSTRAP": "b:9098", "KAFKA_AUTH": "scram"})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({**ORDER, "amount": "12.50"}, "body.amount: expected a number"),
        ({**ORDER, "amount": True}, "body.amount: expected a number"),
        ({**ORDER, "amount": 0}, "body.amount: expected a number greater than 0, got 0"),
        ({"amount": 1, "currency": "EUR"}, "body.order_id: expected a non-empty string"),
        ({**ORDER, "currency": "euro"}, "body.currency: expected a 3-letter currency code"),
        ({**ORDER, "note": "x"}, "body.note: unexpected field"),
        ([ORDER], "body: expected a JSON object, got list"),
        ('{"order_id": "o-1",', "body: not valid JSON (Expecting property name enclosed"),
        (None, "body: missing"),
    ],
)
def test_an_invalid_body_is_a_400_naming_the_field(
    offline: ModuleType, body: Any, error: str
) -> None:
    status, answered = answer(offline.handler(post(body), invocation()))
    assert status == 400
    assert answered["error"].startswith(error)


def test_a_post_without_an_idempotency_key_is_a_400(offline: ModuleType) -> None:
    status, answered = answer(offline.handler(post(key=None), invocation()))
    assert status == 400
    assert answered["error"].startswith("headers.idempotency-key: missing")


def test_only_post_publishes(offline: ModuleType) -> None:
    event = function_url_event(method="GET", headers={"Idempotency-Key": "k-1"})
    response = offline.handler(event, invocation())
    assert response["statusCode"] == 405
    assert response["headers"]["allow"] == "POST"


# --- DynamoDB Local and the mock Kafka cluster -------------------------------------------------


@pytest.mark.integration
def test_a_post_answers_200_once_the_order_is_on_the_topic(
    app: ModuleType, cluster: MockKafkaCluster
) -> None:
    status, answered = answer(app.handler(post(), invocation()))
    assert status == 200
    message_id = answered["message_id"]
    assert answered == {"message_id": message_id, "topic": app.ORDERS_TOPIC}
    order = {"order_id": "o-1001", "amount": "12.5", "currency": "EUR"}
    assert published(cluster, app) == [("o-1001", {**order, "message_id": message_id}, message_id)]


@pytest.mark.integration
def test_an_invalid_body_publishes_nothing_and_stores_nothing(
    app: ModuleType, cluster: MockKafkaCluster, dynamodb_local: DynamoDBLocal
) -> None:
    key = str(uuid.uuid4())
    status, answered = answer(app.handler(post({**ORDER, "amount": "ten"}, key=key), invocation()))
    assert (status, answered) == (400, {"error": "body.amount: expected a number"})
    assert published(cluster, app) == []
    table = app.store.table_name
    assert dynamodb_local.client().scan(TableName=table, ConsistentRead=True)["Items"] == []
    # Nothing was stored under the key: the corrected request may use it.
    assert app.handler(post(key=key), invocation())["statusCode"] == 200


@pytest.mark.integration
def test_a_retried_post_gets_the_same_response_and_publishes_once(
    environment: Loader, cluster: MockKafkaCluster
) -> None:
    first = environment()
    event = post({"order_id": "o-7", "amount": 12.5, "currency": "EUR"})
    response = first.handler(event, invocation())
    assert response["statusCode"] == 200
    # The client lost the answer and retries, reaching another execution environment, with the
    # same key and the same order written differently.
    retried = dict(event, body='{"currency":"EUR","order_id":"o-7","amount":12.50}')
    assert environment().handler(retried, invocation()) == response
    assert first.handler(event, invocation()) == response
    assert len(published(cluster, first)) == 1


@pytest.mark.integration
def test_a_key_reused_for_another_order_is_a_422_and_publishes_nothing(
    app: ModuleType, cluster: MockKafkaCluster
) -> None:
    assert app.handler(post(key="k-reused"), invocation())["statusCode"] == 200
    other = post({**ORDER, "amount": 99}, key="k-reused")
    status, answered = answer(app.handler(other, invocation()))
    assert status == 422
    assert answered["error"] == "headers.idempotency-key: already used with a different order"
    assert len(published(cluster, app)) == 1


@pytest.mark.integration
def test_an_order_the_broker_did_not_acknowledge_is_a_503_and_its_retry_publishes_once(
    environment: Loader, cluster: MockKafkaCluster
) -> None:
    # librdkafka gives a message up after 1 s here (5 s in the template).
    app = environment(KAFKA_MESSAGE_TIMEOUT_MS="1000")
    event = post()
    cluster.broker_down(1)
    try:
        response = app.handler(event, invocation())
    finally:
        cluster.broker_up(1)
    assert response["statusCode"] == 503
    assert response["headers"]["retry-after"] == str(app.RETRY_AFTER_S)
    assert answer(response)[1]["error"].startswith("the order was not acknowledged by Kafka")

    # The 503 was not stored: the client's retry publishes (here in a fresh environment; a warm
    # one would first wait out its client's reconnect back-off).
    retrying = environment(KAFKA_MESSAGE_TIMEOUT_MS="5000")
    status, answered = answer(retrying.handler(event, invocation()))
    assert status == 200
    assert [message_id for _, _, message_id in published(cluster, app)] == [answered["message_id"]]
    # and that 200 is what every later retry gets
    assert answer(retrying.handler(event, invocation())) == (200, answered)


@pytest.mark.integration
def test_a_function_url_post_is_published_the_same_way(
    app: ModuleType, cluster: MockKafkaCluster
) -> None:
    event = function_url_event(
        ORDER, method="POST", path="/", headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    first = app.handler(event, invocation())
    assert first["statusCode"] == 200
    assert app.handler(event, invocation()) == first
    [(key, value, _)] = published(cluster, app)
    assert (key, value["order_id"]) == ("o-1001", "o-1001")
