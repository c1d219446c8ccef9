"""msk_iam: MSK IAM tokens from AWS's signer, refreshed after a freeze; reconnect back-off sized
from the fleet.

Tokens are made by the real ``aws-msk-iam-sasl-signer-python`` from static credentials set in
the environment (signing is local: no request leaves the machine). librdkafka's mock cluster
does not speak SASL, so the producers that deliver messages here build their confluent-kafka
client (through ``factory``) without the two SASL keys, in PLAINTEXT to the in-client mock
cluster (``test.mock.num.brokers``); the token source, the back-off, the producer's expiry
check and the client replacement are all real. That a real SASL client takes its first token
from the callback is checked against an address nothing listens on.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lambdakit.errors import KafkaConfigurationError, KafkaError
from lambdakit.kafka import Producer, flush_kafka, msk_iam
from lambdakit.testing import FakeClock, LambdaContext

FIFTEEN_MINUTES = 15 * 60


@pytest.fixture(autouse=True)
def static_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The role credentials Lambda puts in the environment; no profile, no instance metadata."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIALAMBDAKITTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "not-a-real-session")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def decoded(token: str) -> tuple[str, dict[str, list[str]]]:
    url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    parts = urlsplit(url)
    return parts.netloc, parse_qs(parts.query)


# --- the configuration -------------------------------------------------------------------------


def test_confluent_configuration_is_sasl_ssl_oauthbearer_with_a_token_callback() -> None:
    config = msk_iam("eu-west-1")
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "OAUTHBEARER"
    assert callable(config["oauth_cb"])
    assert config["reconnect.backoff.ms"] == 1_000
    assert config["reconnect.backoff.max.ms"] == 10_000


def test_kafka_python_configuration_uses_its_key_names() -> None:
    config = msk_iam("eu-west-1", backend="kafka-python")
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "OAUTHBEARER"
    assert config["sasl_oauth_token_provider"].token()
    assert (config["reconnect_backoff_ms"], config["reconnect_backoff_max_ms"]) == (1_000, 10_000)


@pytest.mark.parametrize(
    ("concurrency", "rate", "maximum_ms"),
    [
        (1_000, 100, 10_000),  # the account default against an M5 broker: retry every 10 s
        (1_000, 4, 250_000),  # the same fleet against a t3.small broker
        (3_000, 100, 30_000),
        (50, 100, 1_000),  # never below the initial back-off
        (10, 4, 2_500),
    ],
)
def test_the_back_off_keeps_a_retrying_fleet_under_the_broker_connection_rate(
    concurrency: int, rate: float, maximum_ms: int
) -> None:
    config = msk_iam("eu-west-1", concurrency=concurrency, connections_per_second=rate)
    assert config["reconnect.backoff.max.ms"] == maximum_ms
    # every environment retrying once per maximum back-off stays within the limit
    assert concurrency / (maximum_ms / 1000) <= rate


def test_region_defaults_to_the_lambda_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    token, _ = msk_iam()["oauth_cb"]("")
    host, _query = decoded(token)
    assert host == "kafka.ap-southeast-2.amazonaws.com"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "java"}, "backend='java'"),
        ({"concurrency": 0}, "concurrency=0"),
        ({"concurrency": True}, "concurrency=True"),
        ({"connections_per_second": 0}, "connections_per_second=0"),
        ({"connections_per_second": "100"}, "connections_per_second='100'"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(KafkaConfigurationError, match=message.replace("(", r"\(")):
        msk_iam("eu-west-1", **kwargs)


def test_no_region_anywhere_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(KafkaConfigurationError, match="AWS_REGION"):
        msk_iam()


# --- the token ---------------------------------------------------------------------------------


def test_the_token_is_a_presigned_kafka_cluster_connect_request() -> None:
    token, _expiry = msk_iam("eu-west-1")["oauth_cb"]("")
    host, query = decoded(token)
    assert host == "kafka.eu-west-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Expires"] == ["900"]
    assert "AKIALAMBDAKITTEST" in query["X-Amz-Credential"][0]


def test_the_expiry_handed_to_librdkafka_is_in_seconds_not_milliseconds() -> None:
    # The signer returns milliseconds; librdkafka reads seconds since the epoch. Passing the
    # signer's number through makes librdkafka think the token lives for 50,000 years.
    _token, expiry = msk_iam("eu-west-1")["oauth_cb"]("")
    assert FIFTEEN_MINUTES - 5 <= expiry - time.time() <= FIFTEEN_MINUTES


def test_librdkafka_asking_for_a_token_always_gets_a_new_one() -> None:
    source = msk_iam("eu-west-1")["oauth_cb"]
    source("")
    source("")
    assert source.fetched == 2


def test_kafka_python_connections_reuse_a_token_until_near_its_expiry() -> None:
    clock = FakeClock()
    source = msk_iam("eu-west-1", backend="kafka-python", clock=clock)["sasl_oauth_token_provider"]
    first = source.token()
    clock.advance(FIFTEEN_MINUTES - 60)
    assert source.token() == first
    assert source.extensions() == {}
    clock.advance(45)  # within the 30 s margin: a new connection gets a new token
    assert source.fetched == 1
    source.token()
    assert source.fetched == 2


def test_the_token_never_appears_in_reprs() -> None:
    config = msk_iam("eu-west-1")
    token, _ = config["oauth_cb"]("")
    assert token not in repr(config)
    assert token not in repr(Producer({**config, "bootstrap.servers": "b:9098"}))


# --- thaw after the token's lifetime -----------------------------------------------------------


SASL_KEYS = ("security.protocol", "sasl.mechanism", "oauth_cb")


def without_sasl(config: dict[str, Any]) -> Any:
    from confluent_kafka import Producer as ConfluentProducer

    return ConfluentProducer({k: v for k, v in config.items() if k not in SASL_KEYS})


def msk_producer(clock: FakeClock, **extra: Any) -> Producer:
    """A producer with msk_iam's configuration whose client talks PLAINTEXT to an in-client mock."""
    config = {
        **msk_iam("eu-west-1", clock=clock),
        "test.mock.num.brokers": 1,
        "message.timeout.ms": 5000,
        **extra,
    }
    return Producer(config, factory=without_sasl)


def test_a_sasl_client_takes_its_first_token_from_the_callback_as_it_is_built() -> None:
    producer = Producer(
        {**msk_iam("eu-west-1"), "bootstrap.servers": "127.0.0.1:1", "log_level": 0}
    )
    source = producer.config["oauth_cb"]
    assert source.fetched == 0  # nothing is signed before the first message
    try:
        assert producer.client is not None
        assert (producer.created, source.fetched) == (1, 1)  # made once, taken by the client
        source("")  # the client already took the prepared token: librdkafka's next ask signs
        assert source.fetched == 2
    finally:
        producer.close(0)


def test_a_client_whose_token_expired_while_frozen_is_replaced_before_it_is_used() -> None:
    clock = FakeClock()
    producer = msk_producer(clock)
    source = producer.config["oauth_cb"]

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce("orders", event)

    handler({"n": 1}, LambdaContext(timeout=10))
    clock.advance(10 * 60)  # frozen ten minutes: the token is still good
    handler({"n": 2}, LambdaContext(timeout=10))
    assert (producer.created, source.fetched) == (1, 1)

    clock.advance(FIFTEEN_MINUTES)  # frozen past the token's life: no refresh ran meanwhile
    handler({"n": 3}, LambdaContext(timeout=10))
    assert (producer.created, source.fetched) == (2, 2)
    assert not source.expired()


def test_what_the_replaced_client_still_held_is_flushed_with_the_producer() -> None:
    clock = FakeClock()
    producer = msk_producer(clock, **{"linger.ms": 60_000, "message.timeout.ms": 120_000})
    delivered: list[bytes] = []

    def track(error: Any, message: Any) -> None:
        if error is None:
            delivered.append(message.value())

    producer.produce("orders", b"queued before the freeze")
    old = producer.client
    old.produce("orders", b"queued on the old client", on_delivery=track)
    clock.advance(FIFTEEN_MINUTES + 1)

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce("orders", b"after the thaw")

    handler({}, LambdaContext(timeout=10))
    assert producer.client is not old
    assert delivered == [b"queued on the old client"]  # flushed although it was replaced
    assert len(old) == 0


def test_a_token_that_cannot_be_signed_fails_the_first_message_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    producer = msk_producer(FakeClock())
    started = time.monotonic()
    with pytest.raises(KafkaError, match=r"msk_iam\('eu-west-1'\): could not sign"):
        producer.produce("orders", b"1")
    assert time.monotonic() - started < 5  # not confluent-kafka's 10 s wait for a token


def test_kafka_python_accepts_the_token_source_and_sends_its_token() -> None:
    config = {
        **msk_iam("eu-west-1", backend="kafka-python"),
        "security_protocol": "SASL_PLAINTEXT",
        "bootstrap_servers": "127.0.0.1:1",
        "api_version": (2, 0),
    }
    producer = Producer(config, backend="kafka-python")
    try:
        assert (
            producer.client is not None
        )  # builds kafka-python's KafkaProducer: it must accept our provider
        from kafka.net.sasl.oauth import SaslMechanismOAuth

        source = config["sasl_oauth_token_provider"]
        initial = SaslMechanismOAuth(**config).auth_bytes()  # what the client would send
        assert initial == f"n,,\x01auth=Bearer {source.token()}\x01\x01".encode()
        assert source.fetched == 1  # made as the client was built, reused by the connection
    finally:
        producer.close(0)


def test_a_token_past_its_wall_clock_expiry_counts_as_expired(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The monotonic clock can stall (a paused VM) while MSK keeps judging by the wall clock.
    clock = FakeClock()
    source = msk_iam("eu-west-1", backend="kafka-python", clock=clock)["sasl_oauth_token_provider"]
    source.token()
    assert not source.expired()
    later = time.time() + FIFTEEN_MINUTES
    monkeypatch.setattr(time, "time", lambda: later)
    assert source.expired()


def test_without_credentials_the_token_callback_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    with pytest.raises(KafkaError, match=r"could not sign an MSK IAM token"):
        msk_iam("eu-west-1")["oauth_cb"]("")
