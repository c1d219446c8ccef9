"""lambdakit.secrets through the Lambda extensions' HTTP APIs: the Parameters and Secrets
extension as a backend (``backend="extension"`` or ``LAMBDAKIT_SECRETS_BACKEND=extension``) and
AppConfig's extension, each against a local server that follows the documented API
(``tests/integration/extension_server.py``)."""

from __future__ import annotations

import logging
import traceback
import urllib.error
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import lambdakit.secrets as secrets
from lambdakit.errors import (
    SecretAccessError,
    SecretFetchError,
    SecretNotFoundError,
    SecretsError,
    SecretTransformError,
)
from lambdakit.secrets import ParameterRef, SecretCache, SecretRef, inject_secrets
from lambdakit.secrets import _extension as extension_module
from lambdakit.testing import FakeClock
from tests.integration.extension_server import (
    NOT_READY,
    TOKEN_HEADER,
    AppConfigExtension,
    SecretsExtension,
)
from tests.secrets_support import ReaderClock

pytestmark = pytest.mark.integration

WAIT = 10.0
GET_SECRET = "/secretsmanager/get"
GET_PARAMETER = "/systemsmanager/parameters/get"


@pytest.fixture(autouse=True)
def _fresh_default_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDAKIT_SECRETS_BACKEND", raising=False)
    monkeypatch.setattr(secrets, "_default", None)


@pytest.fixture
def extension(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretsExtension]:
    """The extension, as Lambda runs it: its port in PARAMETERS_SECRETS_EXTENSION_HTTP_PORT,
    the function's session token in AWS_SESSION_TOKEN."""
    with SecretsExtension(token="token-of-this-environment") as server:
        monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(server.port))
        monkeypatch.setenv("AWS_SESSION_TOKEN", server.token)
        server.put_secret("prod/db", "pw-1")
        server.put_parameter("/app/key", "key-1")
        yield server


@pytest.fixture
def cache(extension: SecretsExtension) -> SecretCache:
    return SecretCache(backend="extension", clock=FakeClock())


# --- choosing the backend ---------------------------------------------------------------------


def test_the_extension_backend_serves_secrets_from_memory_after_one_request(
    extension: SecretsExtension, cache: SecretCache
) -> None:
    for _ in range(20):
        assert cache.get_secret("prod/db") == "pw-1"
        assert cache.get_parameter("/app/key") == "key-1"
    assert [(r.path, r.query) for r in extension.requests] == [
        (GET_SECRET, {"secretId": "prod/db", "versionStage": "AWSCURRENT"}),
        (GET_PARAMETER, {"name": "/app/key", "withDecryption": "true"}),
    ]
    assert {r.headers[TOKEN_HEADER.lower()] for r in extension.requests} == {extension.token}


def test_the_environment_chooses_the_extension(
    extension: SecretsExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDAKIT_SECRETS_BACKEND", "extension")
    assert secrets.get_secret("prod/db") == "pw-1"
    assert SecretCache().get_parameter("/app/key") == "key-1"
    assert extension.count() == 2


def test_the_default_port_is_2773(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", raising=False)
    assert extension_module.ExtensionBackend().base.endswith(":2773")


def test_a_wrong_session_token_is_an_access_error(
    extension: SecretsExtension, cache: SecretCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-token-of-another-environment")
    with pytest.raises(SecretAccessError, match="prod/db"):
        cache.get_secret("prod/db")
    assert extension.count() == 1  # refused, not retried


# --- the extension starting -----------------------------------------------------------------


def test_requests_are_retried_while_the_extension_is_not_ready(
    extension: SecretsExtension, cache: SecretCache
) -> None:
    extension.not_ready = 3
    assert cache.get_secret("prod/db") == "pw-1"
    assert extension.count(GET_SECRET) == 4
    extension.not_ready = 2
    assert cache.get_parameter("/app/key") == "key-1"
    assert extension.count(GET_PARAMETER) == 3


def test_an_extension_that_never_gets_ready_is_a_fetch_error(
    extension: SecretsExtension, cache: SecretCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extension_module, "NOT_READY_WAIT", 0.3)
    extension.not_ready = 10**6
    with pytest.raises(SecretFetchError, match="prod/db") as caught:
        cache.get_secret("prod/db")
    assert isinstance(caught.value.__cause__, urllib.error.HTTPError)
    assert extension.count() > 1


# --- answers and errors ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 400])
def test_missing_names_are_not_found_errors(
    extension: SecretsExtension, cache: SecretCache, status: int
) -> None:
    extension.not_found_status = status  # 400 + ResourceNotFoundException, relayed
    with pytest.raises(SecretNotFoundError, match="prod/missing"):
        cache.get_secret("prod/missing")
    with pytest.raises(SecretNotFoundError, match="/app/missing"):
        cache.get_parameter("/app/missing")
    with pytest.raises(SecretNotFoundError, match="prod/missing"):
        cache.get_parameter("/aws/reference/secretsmanager/prod/missing")


def test_a_not_found_error_lists_the_missing_name(
    extension: SecretsExtension, cache: SecretCache
) -> None:
    # SecretNotFoundError.names "lists every missing one", as the boto3 backend's errors do.
    with pytest.raises(SecretNotFoundError) as secret_error:
        cache.get_secret("prod/missing")
    with pytest.raises(SecretNotFoundError) as parameter_error:
        cache.get_parameter("/app/missing")
    assert (secret_error.value.names, parameter_error.value.names) == (
        ["prod/missing"],
        ["/app/missing"],
    )


def test_versions_decryption_and_references(
    extension: SecretsExtension, cache: SecretCache
) -> None:
    first = extension.secrets["prod/db"]["stages"]["AWSCURRENT"]
    second = extension.put_secret("prod/db", '{"password": "pw-2"}')
    assert cache.get_secret("prod/db", transform="json") == {"password": "pw-2"}
    assert cache.get_secret("prod/db", version_stage="AWSPREVIOUS") == "pw-1"
    assert cache.get_secret("prod/db", version_id=first) == "pw-1"
    assert cache.get_secret("prod/db", version_id=second) == '{"password": "pw-2"}'
    queries = [r.query for r in extension.requests]
    assert queries[1] == {"secretId": "prod/db", "versionStage": "AWSPREVIOUS"}
    assert queries[2] == {"secretId": "prod/db", "versionId": first}
    assert cache.get_parameter("/app/key") == "key-1"
    assert cache.get_parameter("/app/key", decrypt=False).startswith("AQICAH")
    assert extension.requests[-1].query["withDecryption"] == "false"
    reference = "/aws/reference/secretsmanager/prod/db"
    assert cache.get_parameter(reference, transform="json") == {"password": "pw-2"}
    assert extension.count() == 7  # every variant its own request


def test_a_binary_secret_is_bytes(extension: SecretsExtension, cache: SecretCache) -> None:
    extension.put_secret("prod/cert", b"\x00\x01binary")
    assert cache.get_secret("prod/cert") == b"\x00\x01binary"
    assert cache.get_secret("prod/cert", transform="binary") == b"\x00\x01binary"


def test_a_json_transform_of_text_that_is_not_json(
    extension: SecretsExtension, cache: SecretCache
) -> None:
    extension.put_secret("prod/plain", "hunter2 is no JSON")
    with pytest.raises(SecretTransformError, match="prod/plain") as caught:
        cache.get_secret("prod/plain", transform="json")
    assert "hunter2" not in str(caught.value)


def test_get_parameters_asks_per_name_and_reports_every_missing_one(
    extension: SecretsExtension, cache: SecretCache
) -> None:
    names = [f"/many/p{i:02}" for i in range(12)]
    for name in names:
        extension.put_parameter(name, f"v{name}")
    asked = [*names[:6], "/gone/1", *names[6:], "/gone/2"]
    with pytest.raises(SecretNotFoundError) as caught:
        cache.get_parameters(asked)
    assert caught.value.names == ["/gone/1", "/gone/2"]
    assert cache.get_parameters(names) == {n: f"v{n}" for n in names}
    assert extension.count(GET_PARAMETER) == 14  # one request per name, each once


def test_paths_are_read_through_boto3(extension: SecretsExtension, moto: str) -> None:
    import boto3

    ssm = boto3.client("ssm")
    for i in range(12):
        ssm.put_parameter(Name=f"/tree/p{i:02}", Value=str(i), Type="String")
    cache = SecretCache(backend="extension", clock=FakeClock())
    assert cache.get_parameters_by_path("/tree") == {f"/tree/p{i:02}": str(i) for i in range(12)}
    assert extension.count() == 0  # the extension serves no path queries


# --- stale on error, back-off, single flight, expiry -----------------------------------------


def test_a_failing_extension_is_answered_from_memory_then_backed_off(
    extension: SecretsExtension, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    cache = SecretCache(backend="extension", clock=clock, max_age=60)
    assert cache.get_secret("prod/db") == "pw-1"
    extension.put_secret("prod/db", "pw-2")
    extension.fail_with = 500
    clock.advance(60)
    with caplog.at_level(logging.WARNING, logger="lambdakit.secrets"):
        for _ in range(10):
            assert cache.get_secret("prod/db") == "pw-1"
    assert extension.count() == 2  # one failed refresh; the back-off answers the rest
    assert "prod/db" in caplog.text
    assert "pw-1" not in caplog.text
    with pytest.raises(SecretFetchError, match="/app/key") as caught:
        cache.get_parameter("/app/key")  # nothing cached to serve
    assert isinstance(caught.value.__cause__, urllib.error.HTTPError)
    extension.fail_with = None
    clock.advance(1.0)
    assert cache.get_secret("prod/db") == "pw-2"


def test_64_threads_send_one_request_to_the_extension(extension: SecretsExtension) -> None:
    clock = ReaderClock()
    cache = SecretCache(backend="extension", clock=clock)
    extension.hold = lambda request: True
    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = [pool.submit(cache.get_secret, "prod/db") for _ in range(64)]
        assert extension.held.wait(WAIT)
        clock.wait_for_readers(64)
        extension.release.set()
        answers = [future.result(timeout=WAIT) for future in futures]
    assert answers == ["pw-1"] * 64
    assert extension.count() == 1


def test_different_names_do_not_wait_on_each_other(extension: SecretsExtension) -> None:
    extension.put_secret("slow", "s")
    cache = SecretCache(backend="extension", clock=FakeClock())
    extension.hold = lambda request: request.query.get("secretId") == "slow"
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(cache.get_secret, "slow")
        assert extension.held.wait(WAIT)
        assert pool.submit(cache.get_secret, "prod/db").result(timeout=WAIT) == "pw-1"
        assert not slow.done()
        extension.release.set()
        assert slow.result(timeout=WAIT) == "s"


def test_rotation_reaches_a_decorated_handler_through_the_extension(
    extension: SecretsExtension,
) -> None:
    clock = FakeClock()
    cache = SecretCache(backend="extension", clock=clock, max_age=300)
    extension.put_secret("prod/api", '{"key": "api-1"}')

    @inject_secrets(
        cache=cache,
        db="prod/db",
        api=SecretRef("prod/api", field="key"),
        key=ParameterRef("/app/key", max_age=30),
    )
    def handler(event: Any, context: Any, db: str, api: str, key: str) -> tuple[str, str, str]:
        return db, api, key

    assert handler({}, None) == ("pw-1", "api-1", "key-1")
    extension.put_secret("prod/db", "pw-2")
    extension.put_parameter("/app/key", "key-2")
    assert handler({}, None) == ("pw-1", "api-1", "key-1")
    clock.advance(30)
    assert handler({}, None) == ("pw-1", "api-1", "key-2")
    clock.advance(270)
    assert handler({}, None) == ("pw-2", "api-1", "key-2")
    assert extension.count() == 7  # 3, then the parameter at 30 s, then all three at 300 s


# --- AppConfig --------------------------------------------------------------------------------


@pytest.fixture
def appconfig(monkeypatch: pytest.MonkeyPatch) -> Iterator[AppConfigExtension]:
    with AppConfigExtension() as server:
        monkeypatch.setenv("AWS_APPCONFIG_EXTENSION_HTTP_PORT", str(server.port))
        server.put_configuration("shop", "prod", "flags", b'{"beta": true, "limit": 5}')
        yield server


def test_app_config_through_its_extension(appconfig: AppConfigExtension) -> None:
    clock = FakeClock()
    cache = SecretCache(clock=clock, max_age=45, jitter=0)
    assert cache.get_app_config("shop", "prod", "flags", transform="json") == {
        "beta": True,
        "limit": 5,
    }
    assert cache.get_app_config("shop", "prod", "flags", transform="json")["limit"] == 5
    assert cache.get_app_config("shop", "prod", "flags") == b'{"beta": true, "limit": 5}'
    assert [r.path for r in appconfig.requests] == [
        "/applications/shop/environments/prod/configurations/flags"
    ] * 2
    appconfig.put_configuration("shop", "prod", "flags", b'{"beta": false}')
    clock.advance(45)
    assert cache.get_app_config("shop", "prod", "flags", transform="json") == {"beta": False}
    assert appconfig.count() == 3


def test_app_config_waits_for_its_extension_and_names_what_is_missing(
    appconfig: AppConfigExtension,
) -> None:
    cache = SecretCache(clock=FakeClock())
    appconfig.not_ready = 2
    assert cache.get_app_config("shop", "prod", "flags", transform="json")["beta"] is True
    assert appconfig.count() == 3
    with pytest.raises(SecretNotFoundError, match="shop/prod/none"):
        cache.get_app_config("shop", "prod", "none")
    appconfig.put_configuration("shop", "prod", "text", b"hunter2 = yes", "text/plain")
    with pytest.raises(SecretTransformError, match="shop/prod/text") as caught:
        cache.get_app_config("shop", "prod", "text", transform="json")
    assert "hunter2" not in str(caught.value)


def test_the_server_answers_not_ready_as_the_extension_does(extension: SecretsExtension) -> None:
    import urllib.request

    extension.not_ready = 1
    request = urllib.request.Request(
        f"http://127.0.0.1:{extension.port}{GET_SECRET}?secretId=prod%2Fdb",
        headers={TOKEN_HEADER: extension.token},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 400
    assert NOT_READY in caught.value.read().decode()
    with urllib.request.urlopen(request) as response:
        assert b'"SecretString": "pw-1"' in response.read()


# --- secret values never show -------------------------------------------------------------------


def test_no_secret_value_shows_in_logs_reprs_or_errors(
    extension: SecretsExtension, caplog: pytest.LogCaptureFixture
) -> None:
    extension.put_secret("prod/db", "Zq9-pw")
    extension.put_secret("prod/plain", "Zq9-plain")
    extension.put_parameter("/app/key", "Zq9-key")
    clock = FakeClock()
    cache = SecretCache(backend="extension", clock=clock, max_age=10)
    errors: list[BaseException] = []
    caplog.set_level(logging.DEBUG)
    extension.not_ready = 1
    cache.get_secret("prod/db")
    cache.get_secret("prod/db")
    cache.get_parameters(["/app/key", "/app/none"], raise_on_missing=False)
    extension.fail_with = 503
    clock.advance(10)
    cache.get_secret("prod/db")  # stale
    for attempt in (
        lambda: cache.get_secret("prod/plain"),
        lambda: cache.get_secret("prod/none"),
    ):
        with pytest.raises(SecretsError) as caught:
            attempt()
        errors.append(caught.value)
    extension.fail_with = None
    with pytest.raises(SecretTransformError) as transform_error:
        cache.get_parameter("/app/key", transform="json")
    errors.append(transform_error.value)
    texts = [caplog.text, repr(cache), str(cache), repr(cache.backend)]
    texts += [repr(e) + str(e) + "".join(traceback.format_exception(e)) for e in errors]
    texts += [repr(entry) for entry in cache._entries.values()]
    assert [t[:200] for t in texts if "Zq9" in t] == []
