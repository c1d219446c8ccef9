"""Real servers on loopback for integration tests, started once per session and stopped after.

moto runs in server mode in this process; clients reach it over HTTP exactly as they would
reach AWS, through the standard ``AWS_ENDPOINT_URL`` variable. DynamoDB Local (AWS's emulator,
a Java process) is started by lambdakit's own ``dynamodb_local`` fixture and reached through
``AWS_ENDPOINT_URL_DYNAMODB``, which takes precedence over moto's general endpoint.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from lambdakit.idempotency import DynamoDBStore, InMemoryStore
from lambdakit.testing import FakeClock
from lambdakit.testing.dynamodb_local import DynamoDBLocal
from tests.integration.idempotency_backends import Backend, RequestCounter


@contextmanager
def aws_environment(**endpoints: str) -> Iterator[None]:
    """Test credentials, the region and ``endpoints`` (``AWS_ENDPOINT_URL...`` variables) in
    the environment, as they were before once the block ends."""
    names = (*endpoints, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    saved = {name: os.environ.get(name) for name in (*names, "AWS_REGION")}
    os.environ.update(
        endpoints,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        with aws_environment(AWS_ENDPOINT_URL=endpoint):
            yield endpoint
    finally:
        server.stop()


@pytest.fixture
def moto(moto_endpoint: str) -> str:
    """A moto server with no state left over from earlier tests."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"))
    from lambdakit._internal.clients import reset_clients

    reset_clients()
    return moto_endpoint


@pytest.fixture(scope="session")
def dynamodb_endpoint(dynamodb_local: DynamoDBLocal) -> Iterator[str]:
    """DynamoDB Local as the endpoint of every DynamoDB client lambdakit creates."""
    from lambdakit._internal.clients import reset_clients

    try:
        with aws_environment(AWS_ENDPOINT_URL_DYNAMODB=dynamodb_local.endpoint_url):
            reset_clients()
            yield dynamodb_local.endpoint_url
    finally:
        reset_clients()


_table_numbers = itertools.count()


@pytest.fixture
def idempotency_table(dynamodb_local: DynamoDBLocal, dynamodb_endpoint: str) -> str:
    """A fresh, empty idempotency table (Powertools' layout) for one test."""
    name = f"idempotency-{os.getpid()}-{next(_table_numbers)}"
    dynamodb_local.create_idempotency_table(name)
    return name


@pytest.fixture(params=["memory", pytest.param("dynamodb", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each idempotency behaviour, proven on both stores (DynamoDB Local for DynamoDBStore)."""
    clock = FakeClock(start=time.time())
    if request.param == "memory":
        memory = InMemoryStore(clock=clock)
        yield Backend("memory", memory, clock, lambda: memory.requests)
        return
    table = request.getfixturevalue("idempotency_table")
    from lambdakit._internal.clients import client

    counter = RequestCounter(client("dynamodb"))
    try:
        yield Backend("dynamodb", DynamoDBStore(table, clock=clock), clock, lambda: counter.count)
    finally:
        counter.close()


from lambdakit.testing.kafka_cluster import MockKafkaCluster  # noqa: E402


@pytest.fixture(
    scope="session", params=[pytest.param("kafka", marks=pytest.mark.integration, id="kafka")]
)
def kafka_cluster() -> Iterator[MockKafkaCluster]:
    """librdkafka's mock cluster (one broker, id 1) in a helper process, for the whole session.

    The ``integration`` mark rides on the fixture's single parameter, so every test that uses
    the fixture is an integration test. Tests share the cluster: create topics under fresh
    names (``create_topic()``) and undo any fault they inject (``broker_up``,
    ``clear_topic_error``, ``clear_request_errors``) in a ``finally``.
    """
    with MockKafkaCluster(broker_count=1) as cluster:
        yield cluster
