"""lambdakit.secrets end to end: the boto3 backend against moto server (Secrets Manager, SSM
Parameter Store, IAM) and DynamoDB Local.

Requests are counted where they leave the process: a botocore ``before-send`` hook on the
client lambdakit uses (its shared client, or one given to ``SecretCache(clients=...)``). The
same hook holds a request back (single flight) or answers it with the error AWS would send
(throttling, 5xx, access denied) or a network failure; everything else is moto's real answer.
Clients given for outages make one attempt per call (``total_max_attempts=1``), so botocore's
own retries, which sleep, stay out of the timings.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import types
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import lambdakit.secrets as secrets
from lambdakit._internal.clients import client as shared_client
from lambdakit.errors import (
    SecretAccessError,
    SecretFetchError,
    SecretNotFoundError,
    SecretsConfigurationError,
    SecretsError,
    SecretTransformError,
)
from lambdakit.secrets import ParameterRef, SecretCache, SecretRef, inject_secrets
from lambdakit.testing import FakeClock
from lambdakit.testing.dynamodb_local import DynamoDBLocal
from tests.secrets_support import ReaderClock

pytestmark = pytest.mark.integration

WAIT = 10.0  # seconds: reached only when the code under test is broken


# --- helpers ------------------------------------------------------------------------------------


class Requests:
    """The requests botocore clients send (one per HTTP attempt), by operation name."""

    def __init__(self, *clients: Any) -> None:
        self.clients = clients
        self.operations: list[str] = []
        self._lock = threading.Lock()
        for each in clients:
            each.meta.events.register("before-send", self._sent)

    def _sent(self, event_name: str, **_: Any) -> None:
        with self._lock:
            self.operations.append(event_name.rsplit(".", 1)[-1])

    def count(self, operation: str | None = None) -> int:
        with self._lock:
            return sum(1 for op in self.operations if operation in (None, op))

    def close(self) -> None:
        for each in self.clients:
            each.meta.events.unregister("before-send", self._sent)


class Raw:
    """The body of a response made up by a before-send hook."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


ERRORS = {
    "throttling": (400, "ThrottlingException", "Rate exceeded"),
    "5xx": (500, "InternalServiceError", "An internal error occurred"),
    "denied": (400, "AccessDeniedException", "User is not authorized to perform this action"),
}


class Outage:
    """While ``kind`` is set, requests of the client fail as ``kind`` says (never reaching moto):
    an AWS error response (``ERRORS``), or ``"network"`` (the connection fails)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.kind: str | None = None
        client.meta.events.register("before-send", self._intercept)

    def _intercept(self, request: Any, **_: Any) -> Any:
        if self.kind is None:
            return None
        if self.kind == "network":
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url=request.url)
        from botocore.awsrequest import AWSResponse

        status, code, message = ERRORS[self.kind]
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "r-1"}
        return AWSResponse(request.url, status, headers, Raw(body))


class Gate:
    """Holds back the requests for the given names until opened."""

    def __init__(self, client: Any, names: set[str] | None = None) -> None:
        self.names = names
        self.opened = threading.Event()
        self.entered = threading.Event()
        client.meta.events.register("before-send", self._hold)

    def _hold(self, request: Any, **_: Any) -> None:
        body = json.loads(request.body or b"{}")
        name = body.get("SecretId") or body.get("Name")
        if self.names is None or name in self.names:
            self.entered.set()
            if not self.opened.wait(WAIT):
                raise AssertionError("the gate was never opened")


def one_try_client(service: str) -> Any:
    """A client on moto that makes one attempt per call (no retries, no sleeping)."""
    import boto3.session
    from botocore.config import Config

    return boto3.session.Session().client(
        service, config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )


def causes(error: BaseException | None) -> Iterator[BaseException]:
    while error is not None:
        yield error
        error = error.__cause__


@pytest.fixture
def sm(moto: str) -> Any:
    """A Secrets Manager client for the test's own setup (not the one lambdakit uses)."""
    import boto3

    return boto3.client("secretsmanager")


@pytest.fixture
def ssm(moto: str) -> Any:
    import boto3

    return boto3.client("ssm")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sm_requests(moto: str) -> Iterator[Requests]:
    counter = Requests(shared_client("secretsmanager"))
    yield counter
    counter.close()


@pytest.fixture
def ssm_requests(moto: str) -> Iterator[Requests]:
    counter = Requests(shared_client("ssm"))
    yield counter
    counter.close()


@pytest.fixture(autouse=True)
def _boto3_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDAKIT_SECRETS_BACKEND", raising=False)
    monkeypatch.setattr(secrets, "_default", None)  # a default cache of this test's own


# --- hits and expiry ----------------------------------------------------------------------------


def test_hits_are_served_from_memory(sm: Any, ssm: Any, sm_requests: Requests) -> None:
    sm.create_secret(Name="prod/db", SecretString="pw-1")
    ssm.put_parameter(Name="/app/key", Value="k-1", Type="SecureString")
    ssm_counter = Requests(shared_client("ssm"))
    for _ in range(50):
        assert secrets.get_secret("prod/db") == "pw-1"
        assert secrets.get_parameter("/app/key") == "k-1"
    assert sm_requests.operations == ["GetSecretValue"]
    assert ssm_counter.operations == ["GetParameter"]


def test_a_rotated_secret_is_picked_up_after_max_age(
    sm: Any, sm_requests: Requests, clock: FakeClock
) -> None:
    sm.create_secret(Name="prod/db", SecretString="pw-1")
    cache = SecretCache(clock=clock, max_age=120)
    assert cache.get_secret("prod/db") == "pw-1"
    sm.put_secret_value(SecretId="prod/db", SecretString="pw-2")  # rotation
    clock.advance(120 * 0.9 - 0.01)  # the earliest a jittered entry can expire
    assert cache.get_secret("prod/db") == "pw-1"
    assert sm_requests.count() == 1
    clock.advance(0.01 + 120 * 0.1)
    assert cache.get_secret("prod/db") == "pw-2"
    assert cache.get_secret("prod/db", version_stage="AWSPREVIOUS") == "pw-1"
    assert sm_requests.count("GetSecretValue") == 3


# --- single flight ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["cold", "expired"])
def test_64_threads_on_one_name_send_one_request(
    sm: Any, sm_requests: Requests, state: str
) -> None:
    sm.create_secret(Name="prod/db", SecretString="pw-1")
    clock = ReaderClock()
    cache = SecretCache(clock=clock)
    if state == "expired":
        cache.get_secret("prod/db")
        sm.put_secret_value(SecretId="prod/db", SecretString="pw-2")
        clock.advance(cache.max_age)
    gate = Gate(shared_client("secretsmanager"))
    sent = sm_requests.count()
    clock.readers.clear()
    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = [pool.submit(cache.get_secret, "prod/db") for _ in range(64)]
        assert gate.entered.wait(WAIT)
        clock.wait_for_readers(64)  # all 64 found it cold before the request completes
        gate.opened.set()
        answers = [future.result(timeout=WAIT) for future in futures]
    assert sm_requests.count() - sent == 1
    assert answers == ["pw-1" if state == "cold" else "pw-2"] * 64


def test_requests_for_different_names_do_not_wait_on_each_other(
    sm: Any, sm_requests: Requests
) -> None:
    sm.create_secret(Name="slow", SecretString="s")
    sm.create_secret(Name="fast", SecretString="f")
    cache = SecretCache(clock=FakeClock())
    gate = Gate(shared_client("secretsmanager"), names={"slow"})
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(cache.get_secret, "slow")
        assert gate.entered.wait(WAIT)
        assert pool.submit(cache.get_secret, "fast").result(timeout=WAIT) == "f"
        assert not slow.done()
        gate.opened.set()
        assert slow.result(timeout=WAIT) == "s"


# --- stale on error and back-off ------------------------------------------------------------------


@pytest.fixture
def flaky(moto: str) -> Iterator[tuple[Any, Outage, Requests]]:
    """A Secrets Manager client that tries once, with an outage switch and a request count."""
    sm_client = one_try_client("secretsmanager")
    counter = Requests(sm_client)
    yield sm_client, Outage(sm_client), counter
    counter.close()


@pytest.mark.parametrize("kind", ["throttling", "5xx", "network"])
def test_a_failed_refresh_serves_the_cached_value_and_warns(
    sm: Any,
    flaky: tuple[Any, Outage, Requests],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    sm.create_secret(Name="prod/db", SecretString="pw-old")
    sm_client, outage, sent = flaky
    cache = SecretCache(clients={"secretsmanager": sm_client}, clock=clock, max_age=60)
    assert cache.get_secret("prod/db") == "pw-old"
    sm.put_secret_value(SecretId="prod/db", SecretString="pw-new")
    clock.advance(60)
    outage.kind = kind
    with caplog.at_level(logging.WARNING, logger="lambdakit.secrets"):
        assert cache.get_secret("prod/db") == "pw-old"
    assert sent.count() == 2
    warnings = [r for r in caplog.records if r.name == "lambdakit.secrets"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert "prod/db" in warnings[0].getMessage()
    assert "pw-old" not in caplog.text
    outage.kind = None
    clock.advance(1.0)  # past the first back-off
    assert cache.get_secret("prod/db") == "pw-new"


@pytest.mark.parametrize("kind", ["throttling", "5xx", "network"])
def test_a_failed_fetch_without_a_value_raises_with_the_cause_chained(
    sm: Any, flaky: tuple[Any, Outage, Requests], kind: str
) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    sm.create_secret(Name="prod/db", SecretString="pw")
    sm_client, outage, _ = flaky
    outage.kind = kind
    cache = SecretCache(clients={"secretsmanager": sm_client}, clock=FakeClock())
    with pytest.raises(SecretFetchError, match="prod/db") as caught:
        cache.get_secret("prod/db")
    cause = caught.value.__cause__
    assert isinstance(cause, BotoCoreError if kind == "network" else ClientError)
    if kind != "network":
        assert ERRORS[kind][1] in str(caught.value)


def test_a_value_older_than_max_stale_is_not_served(
    sm: Any, flaky: tuple[Any, Outage, Requests], clock: FakeClock
) -> None:
    sm.create_secret(Name="prod/db", SecretString="pw")
    sm_client, outage, _ = flaky
    cache = SecretCache(clients={"secretsmanager": sm_client}, clock=clock, max_stale=900)
    cache.get_secret("prod/db")
    outage.kind = "5xx"
    clock.advance(900)
    assert cache.get_secret("prod/db") == "pw"
    clock.advance(61)
    with pytest.raises(SecretFetchError, match="prod/db"):
        cache.get_secret("prod/db")


def test_no_request_is_sent_during_the_back_off(
    sm: Any, flaky: tuple[Any, Outage, Requests], clock: FakeClock
) -> None:
    sm.create_secret(Name="prod/db", SecretString="pw")
    sm.create_secret(Name="prod/other", SecretString="o")
    sm_client, outage, sent = flaky
    cache = SecretCache(clients={"secretsmanager": sm_client}, clock=clock, max_age=60)
    cache.get_secret("prod/db")
    clock.advance(60)
    outage.kind = "throttling"
    for _ in range(100):  # 100 invocations within the first back-off
        assert cache.get_secret("prod/db") == "pw"
    with pytest.raises(SecretFetchError):
        cache.get_secret("prod/other")
    for _ in range(100):
        with pytest.raises(SecretFetchError):
            cache.get_secret("prod/other")
    assert sent.count() == 3  # the first fetch, then one failed attempt per name
    clock.advance(1.0)
    cache.get_secret("prod/db")
    assert sent.count() == 4  # the back-off is over: one more attempt
    clock.advance(0.99)  # within the second back-off (1 to 2 s)
    cache.get_secret("prod/db")
    assert sent.count() == 4
    outage.kind = None
    clock.advance(1.01)
    assert cache.get_secret("prod/other") == "o"
    cache.get_secret("prod/db")
    assert sent.count() == 6


# --- typed errors -----------------------------------------------------------------------------


def test_missing_secrets_and_parameters_are_not_found_errors_naming_them(moto: str) -> None:
    cache = SecretCache(clock=FakeClock())
    with pytest.raises(SecretNotFoundError, match="prod/missing") as caught:
        cache.get_secret("prod/missing")
    assert caught.value.names == ["prod/missing"]
    with pytest.raises(SecretNotFoundError, match="/app/missing") as caught:
        cache.get_parameter("/app/missing")
    assert caught.value.names == ["/app/missing"]
    with pytest.raises(SecretNotFoundError, match="prod/missing"):
        cache.get_parameter("/aws/reference/secretsmanager/prod/missing")


def test_a_missing_version_is_a_not_found_error(sm: Any) -> None:
    sm.create_secret(Name="prod/db", SecretString="pw")
    cache = SecretCache(clock=FakeClock())
    with pytest.raises(SecretNotFoundError, match="prod/db"):
        cache.get_secret("prod/db", version_id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(SecretNotFoundError, match="prod/db"):
        cache.get_secret("prod/db", version_stage="AWSPREVIOUS")


def test_access_denied_by_aws_is_an_access_error(sm: Any) -> None:
    # The JSON error Secrets Manager and SSM answer when IAM or KMS refuses.
    sm.create_secret(Name="prod/db", SecretString="pw-denied")
    sm_client = one_try_client("secretsmanager")
    Outage(sm_client).kind = "denied"
    cache = SecretCache(clients={"secretsmanager": sm_client}, clock=FakeClock())
    with pytest.raises(SecretAccessError, match="prod/db") as caught:
        cache.get_secret("prod/db")
    assert "pw-denied" not in str(caught.value)


def _moto_auth(endpoint: str, free_requests: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=free_requests.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(request).close()


@pytest.fixture
def restricted_credentials(moto: str, sm: Any) -> Iterator[dict[str, str]]:
    """Keys of an IAM user allowed only ssm:GetParameter, with moto enforcing IAM."""
    import boto3

    iam = boto3.client("iam")
    iam.create_user(UserName="reader")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    sm.create_secret(Name="prod/db", SecretString="pw")
    _moto_auth(moto, "0")
    try:
        yield {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }
    finally:
        _moto_auth(moto, "inf")


def test_access_denied_by_moto_iam_is_an_access_error(
    restricted_credentials: dict[str, str],
) -> None:
    # moto answers an IAM denial with HTTP 403 and an XML body even for JSON services, which
    # botocore reports as error code "403" (AWS itself answers AccessDeniedException).
    import boto3.session
    from botocore.config import Config

    sm_client = boto3.session.Session(**restricted_credentials).client(
        "secretsmanager", config=Config(retries={"total_max_attempts": 1})
    )
    cache = SecretCache(clients={"secretsmanager": sm_client}, clock=FakeClock())
    with pytest.raises(SecretAccessError, match="prod/db"):
        cache.get_secret("prod/db")


def test_a_json_transform_of_text_that_is_not_json_names_the_secret_only(sm: Any, ssm: Any) -> None:
    sm.create_secret(Name="prod/plain", SecretString="hunter2-not-json")
    ssm.put_parameter(Name="/app/plain", Value="hunter2-not-json", Type="SecureString")
    cache = SecretCache(clock=FakeClock())
    for attempt in (
        lambda: cache.get_secret("prod/plain", transform="json"),
        lambda: cache.get_parameter("/app/plain", transform="json"),
        lambda: cache.get_parameter("/aws/reference/secretsmanager/prod/plain", transform="json"),
    ):
        with pytest.raises(SecretTransformError, match="plain") as caught:
            attempt()
        assert "hunter2" not in str(caught.value)
        assert "hunter2" not in repr(caught.value)


# --- the cache key covers every option --------------------------------------------------------


@pytest.fixture
def stores(sm: Any, ssm: Any) -> dict[str, str]:
    """A rotated secret (two versions), a SecureString, a tree of parameters."""
    first = sm.create_secret(Name="prod/db", SecretString="1234")["VersionId"]
    second = sm.put_secret_value(SecretId="prod/db", SecretString="5678")["VersionId"]
    ssm.put_parameter(Name="/key", Value="1234", Type="SecureString")
    ssm.put_parameter(Name="/tree/a", Value="1234", Type="SecureString")
    ssm.put_parameter(Name="/tree/sub/b", Value="5678", Type="String")
    return {"first": first, "second": second}


PAIRS: dict[str, tuple[str, Callable[..., Any], Callable[..., Any]]] = {
    "version_stage": (
        "GetSecretValue",
        lambda c, v: c.get_secret("prod/db"),
        lambda c, v: c.get_secret("prod/db", version_stage="AWSPREVIOUS"),
    ),
    "version_id": (
        "GetSecretValue",
        lambda c, v: c.get_secret("prod/db", version_id=v["first"]),
        lambda c, v: c.get_secret("prod/db", version_id=v["second"]),
    ),
    "secret transform": (
        "GetSecretValue",
        lambda c, v: c.get_secret("prod/db"),
        lambda c, v: c.get_secret("prod/db", transform="json"),
    ),
    "decrypt": (
        "GetParameter",
        lambda c, v: c.get_parameter("/key"),
        lambda c, v: c.get_parameter("/key", decrypt=False),
    ),
    "parameter transform": (
        "GetParameter",
        lambda c, v: c.get_parameter("/key"),
        lambda c, v: c.get_parameter("/key", transform="binary"),
    ),
    "get_parameters decrypt": (
        "GetParameters",
        lambda c, v: c.get_parameters(["/key", "/tree/a"]),
        lambda c, v: c.get_parameters(["/key", "/tree/a"], decrypt=False),
    ),
    "recursive": (
        "GetParametersByPath",
        lambda c, v: c.get_parameters_by_path("/tree"),
        lambda c, v: c.get_parameters_by_path("/tree", recursive=False),
    ),
    "path decrypt": (
        "GetParametersByPath",
        lambda c, v: c.get_parameters_by_path("/tree"),
        lambda c, v: c.get_parameters_by_path("/tree", decrypt=False),
    ),
    "path transform": (
        "GetParametersByPath",
        lambda c, v: c.get_parameters_by_path("/tree"),
        lambda c, v: c.get_parameters_by_path("/tree", transform="json"),
    ),
}


@pytest.mark.parametrize("option", list(PAIRS))
def test_calls_differing_in_one_option_send_separate_requests(
    stores: dict[str, str], option: str
) -> None:
    operation, first, second = PAIRS[option]
    counter = Requests(shared_client("secretsmanager"), shared_client("ssm"))
    cache = SecretCache(clock=FakeClock())
    a, b = first(cache, stores), second(cache, stores)
    assert a != b
    assert (first(cache, stores), second(cache, stores)) == (a, b)
    assert counter.operations == [operation, operation], option


# --- get_parameters, by path, references, DynamoDB ---------------------------------------------


def test_get_parameters_of_25_names_sends_3_requests_and_keeps_every_value(
    ssm: Any, ssm_requests: Requests
) -> None:
    names = [f"/many/p{i:02}" for i in range(25)]
    for name in names:
        ssm.put_parameter(Name=name, Value=f"value{name}", Type="SecureString")
    values = secrets.get_parameters(names)
    assert values == {name: f"value{name}" for name in names}
    assert ssm_requests.operations == ["GetParameters"] * 3
    assert secrets.get_parameter(names[24]) == f"value{names[24]}"
    assert ssm_requests.count() == 3


def test_get_parameters_reports_each_missing_name(ssm: Any, ssm_requests: Requests) -> None:
    names = [f"/many/p{i:02}" for i in range(20)]
    for name in names:
        ssm.put_parameter(Name=name, Value=name, Type="String")
    asked = ["/gone/1", *names[:9], "/gone/2", *names[9:], "/gone/3"]
    with pytest.raises(SecretNotFoundError) as caught:
        secrets.get_parameters(asked)
    assert caught.value.names == ["/gone/1", "/gone/2", "/gone/3"]
    assert all(name in str(caught.value) for name in caught.value.names)
    assert ssm_requests.count("GetParameters") == 3
    assert secrets.get_parameters(asked, raise_on_missing=False) == {n: n for n in names}


def test_get_parameters_by_path_follows_every_page(ssm: Any, ssm_requests: Requests) -> None:
    expected = {}
    for i in range(25):
        name = f"/svc/{'deep/' if i % 4 == 0 else ''}p{i:02}"
        ssm.put_parameter(Name=name, Value=f"v{i}", Type="SecureString")
        expected[name] = f"v{i}"
    ssm.put_parameter(Name="/svcx/other", Value="x", Type="String")
    assert secrets.get_parameters_by_path("/svc") == expected
    assert ssm_requests.operations == ["GetParametersByPath"] * 3  # moto pages at 10
    shallow = secrets.get_parameters_by_path("/svc", recursive=False)
    assert shallow == {k: v for k, v in expected.items() if "/deep/" not in k}
    assert secrets.get_parameters_by_path("/svc") == expected
    assert ssm_requests.count() == 5  # 18 shallow names: 2 pages


def test_a_secrets_manager_reference_works_through_get_parameter(
    sm: Any, ssm_requests: Requests
) -> None:
    sm.create_secret(Name="prod/api", SecretString='{"key": "k-1"}')
    name = "/aws/reference/secretsmanager/prod/api"
    assert secrets.get_parameter(name, transform="json") == {"key": "k-1"}
    assert secrets.get_parameter(name, transform="json") == {"key": "k-1"}

    @inject_secrets(cfg=ParameterRef(name, transform="json"))
    def handler(cfg: dict[str, str]) -> str:
        return cfg["key"]

    assert handler() == "k-1"
    assert ssm_requests.operations == ["GetParameter"]


def test_get_item_parameter_reads_dynamodb(
    dynamodb_local: DynamoDBLocal, dynamodb_endpoint: str
) -> None:
    table = f"lambdakit-parameters-{os.getpid()}"
    dynamodb_local.create_idempotency_table(table)
    setup = dynamodb_local.client()
    setup.put_item(TableName=table, Item={"id": {"S": "flags"}, "value": {"S": '{"beta": true}'}})
    setup.put_item(
        TableName=table, Item={"id": {"S": "limits"}, "value": {"N": "5"}, "max": {"N": "9"}}
    )
    counter = Requests(shared_client("dynamodb"))
    clock = FakeClock()
    cache = SecretCache(clock=clock, max_age=60, jitter=0)
    assert cache.get_item_parameter(table, "flags", transform="json") == {"beta": True}
    assert cache.get_item_parameter(table, "flags", transform="json") == {"beta": True}
    assert cache.get_item_parameter(table, "limits") == 5
    assert cache.get_item_parameter(table, {"id": "limits"}, attribute="max") == 9
    assert counter.operations == ["GetItem"] * 3
    setup.put_item(TableName=table, Item={"id": {"S": "flags"}, "value": {"S": "{}"}})
    clock.advance(60)
    assert cache.get_item_parameter(table, "flags", transform="json") == {}
    with pytest.raises(SecretNotFoundError, match="nothing"):
        cache.get_item_parameter(table, "nothing")
    with pytest.raises(SecretNotFoundError, match="missing"):
        cache.get_item_parameter(table, "limits", attribute="missing")
    with pytest.raises(SecretNotFoundError, match="no-such-table"):
        cache.get_item_parameter("no-such-table", "flags")
    # A key DynamoDB cannot hold is the caller's mistake, not a missing item.
    with pytest.raises(SecretsConfigurationError, match="a key must be a string, number or bytes"):
        cache.get_item_parameter(table, {"id": ["flags"]})


# --- rotation through inject_secrets --------------------------------------------------------


def test_rotation_reaches_a_decorated_handler_after_max_age(
    sm: Any, ssm: Any, sm_requests: Requests, clock: FakeClock
) -> None:
    sm.create_secret(Name="prod/db", SecretString='{"user": "app", "password": "pw-1"}')
    ssm.put_parameter(Name="/app/cfg", Value='{"level": 1}', Type="String")
    cache = SecretCache(clock=clock, max_age=300)

    @inject_secrets(
        cache=cache,
        password=SecretRef("prod/db", field="password"),
        cfg=ParameterRef("/app/cfg", transform="json", max_age=60),
    )
    def handler(event: Any, context: Any, password: str, cfg: dict[str, int]) -> tuple[str, int]:
        return password, cfg["level"]

    assert handler({}, None) == ("pw-1", 1)
    sm.put_secret_value(SecretId="prod/db", SecretString='{"user": "app", "password": "pw-2"}')
    ssm.put_parameter(Name="/app/cfg", Value='{"level": 2}', Type="String", Overwrite=True)
    assert handler({}, None) == ("pw-1", 1)
    clock.advance(60)
    assert handler({}, None) == ("pw-1", 2)
    clock.advance(240)
    assert handler({}, None) == ("pw-2", 2)
    assert sm_requests.count() == 2


def test_prefetch_fetches_at_decoration(sm: Any, ssm: Any, sm_requests: Requests) -> None:
    sm.create_secret(Name="prod/db", SecretString="pw")
    sm.create_secret(Name="prod/api", SecretString='{"key": "k"}')
    ssm.put_parameter(Name="/app/cfg", Value="c", Type="String")
    ssm_counter = Requests(shared_client("ssm"))
    decorate = inject_secrets(
        prefetch=True,
        db="prod/db",
        key=SecretRef("prod/api", field="key"),
        cfg=ParameterRef("/app/cfg"),
    )
    assert sm_requests.count() == 2
    assert ssm_counter.count() == 1

    @decorate
    def handler(event: Any, **values: str) -> dict[str, str]:
        return values

    assert handler({}) == {"db": "pw", "key": "k", "cfg": "c"}
    assert (sm_requests.count(), ssm_counter.count()) == (2, 1)


class AuthError(Exception):
    pass


def test_refresh_on_refetches_after_a_rotation_and_retries_once(
    sm: Any, sm_requests: Requests
) -> None:
    sm.create_secret(Name="prod/db", SecretString="pw-1")
    database = {"password": "pw-1"}
    attempts: list[str] = []

    @inject_secrets(refresh_on=(AuthError,), db="prod/db")
    def handler(event: Any, db: str) -> str:
        attempts.append(db)
        if db != database["password"]:
            raise AuthError("password authentication failed")
        return "ok"

    assert handler({}) == "ok"
    sm.put_secret_value(SecretId="prod/db", SecretString="pw-2")
    database["password"] = "pw-2"  # the rotation function changed it in the database
    assert handler({}) == "ok"
    assert attempts == ["pw-1", "pw-1", "pw-2"]
    assert sm_requests.count() == 2


# --- SnapStart --------------------------------------------------------------------------------


def test_a_snapstart_restore_makes_the_next_read_a_request(
    sm: Any, sm_requests: Requests, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks: list[Callable[[], Any]] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_after_restore = lambda hook, *a, **k: hooks.append(hook)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    sm.create_secret(Name="prod/db", SecretString="pw-1")
    assert secrets.get_secret("prod/db") == "pw-1"
    sm.put_secret_value(SecretId="prod/db", SecretString="pw-2")
    assert secrets.get_secret("prod/db") == "pw-1"
    [hook] = hooks
    hook()
    assert len(secrets.default_cache()) == 0
    assert secrets.get_secret("prod/db") == "pw-2"
    assert sm_requests.count() == 2


# --- secret values never show -------------------------------------------------------------------

VALUES = {
    "prod/db": "Zq9-db-password",
    "prod/json": '{"password": "Zq9-json-password"}',
    "/app/token": "Zq9-parameter-token",
    "/app/plain": "Zq9-plain-not-json",
}
AWS_SIDE = ("moto", "werkzeug")  # the fake AWS in this process: not the code under test


@pytest.fixture
def exercised(
    sm: Any, ssm: Any, caplog: pytest.LogCaptureFixture
) -> tuple[list[logging.LogRecord], list[str]]:
    """Every path of the cache against moto, logging at DEBUG everywhere: the records, and the
    repr/str/traceback texts of every lambdakit object and error met on the way."""
    import traceback

    for name, value in VALUES.items():
        if name.startswith("/"):
            ssm.put_parameter(Name=name, Value=value, Type="SecureString")
        else:
            sm.create_secret(Name=name, SecretString=value)
    sm_client = one_try_client("secretsmanager")
    outage = Outage(sm_client)
    clock = FakeClock()
    cache = SecretCache(clients={"secretsmanager": sm_client}, clock=clock, max_age=60)
    texts: list[str] = []
    errors: list[BaseException] = []
    ref = SecretRef("prod/json", field="password")

    @inject_secrets(cache=cache, refresh_on=(AuthError,), pw=ref, token=ParameterRef("/app/token"))
    def handler(pw: str, token: str) -> str:
        if clock.now() < 1030:
            raise AuthError("login failed")
        return "ok"

    def expect_error(attempt: Callable[[], Any]) -> None:
        with pytest.raises(SecretsError) as caught:
            attempt()
        errors.append(caught.value)

    caplog.set_level(logging.DEBUG)
    cache.get_secret("prod/db")  # miss
    cache.get_secret("prod/db")  # hit
    cache.get_secret("prod/json", transform="json")
    cache.get_parameters(["/app/token", "/app/plain", "/app/none"], raise_on_missing=False)
    cache.get_parameters_by_path("/app")
    cache.get_parameter("/aws/reference/secretsmanager/prod/db")
    with pytest.raises(AuthError):
        handler()
    clock.advance(60)
    assert handler() == "ok"  # refresh_on, expiry
    outage.kind = "5xx"
    clock.advance(60)
    cache.get_secret("prod/db")  # stale, with a warning
    cache.get_secret("prod/db")  # back-off
    expect_error(lambda: cache.get_secret("prod/db", version_stage=None))  # no value
    outage.kind = "denied"
    expect_error(lambda: cache.get_secret("prod/json", version_stage="AWSPREVIOUS"))
    outage.kind = None
    expect_error(lambda: cache.get_secret("prod/none"))
    expect_error(lambda: cache.get_parameter("/app/plain", transform="json"))
    expect_error(lambda: cache.get_secret("prod/db", transform="binary", version_stage=None))
    expect_error(lambda: cache.get_parameters(["/app/token", "/gone"]))
    logging.getLogger("lambdakit").error("caught", exc_info=errors[0])
    caplog.set_level(logging.WARNING)

    for thing in (cache, ref, *cache._entries.values(), *errors):
        texts.extend((repr(thing), str(thing)))
    for error in errors:
        texts.append("".join(traceback.format_exception(error)))
    texts.append(caplog.text)
    return list(caplog.records), texts


def _leaks(texts: list[str]) -> list[str]:
    return [text[:200] for text in texts if "Zq9" in text]


def test_secret_values_never_appear_in_lambdakit_logs_reprs_or_errors(
    exercised: tuple[list[logging.LogRecord], list[str]],
) -> None:
    records, texts = exercised
    assert any(r.name == "lambdakit.secrets" and r.levelno == logging.WARNING for r in records)
    ours = [r.getMessage() for r in records if not r.name.startswith(("botocore", *AWS_SIDE))]
    assert _leaks(ours) == []
    # the formatted texts, leaving out records of botocore and the fake AWS
    shown = texts[:-1] + [
        logging.Formatter().format(r)
        for r in records
        if not r.name.startswith(("botocore", *AWS_SIDE))
    ]
    assert _leaks(shown) == []


def test_secret_values_never_appear_in_any_log_record_at_debug(
    exercised: tuple[list[logging.LogRecord], list[str]],
) -> None:
    # Everything captured at DEBUG from every logger, botocore included: botocore logs each
    # response body at DEBUG ("Response body: ..."), GetSecretValue's SecretString with it.
    records, _ = exercised
    leaking = sorted({r.name for r in records if "Zq9" in r.getMessage()} - set(AWS_SIDE))
    assert leaking == [], f"secret values in DEBUG records of {leaking}"
