"""``lambdakit.warm_up``: what the first invocation would do, done at init within a budget.

The dependencies here are real where a unit test can have them (librdkafka's in-client mock
cluster for producers, the in-memory idempotency store, ``lambdakit.testing``'s secrets
backend); fakes only where a test must control time: a dependency that hangs (a backend that
blocks on an :class:`threading.Event`) and a budget that runs out. The same behaviour against
real servers (moto, DynamoDB Local, the Kafka mock cluster) is in
``tests/integration/test_warm_up_servers.py``.

Also here: the counters that the secrets cache, ``@idempotent`` and ``@flush_kafka`` feed to
the batch summary and metrics (``lambdakit._internal.metrics``).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import lambdakit
from lambdakit._internal.metrics import (
    DUPLICATES_ANSWERED,
    KAFKA_DELIVERY_FAILURES,
    STALE_SECRETS_SERVED,
    counting,
)
from lambdakit._internal.warmup import WarmUpReport
from lambdakit.batch import process_batch
from lambdakit.errors import KafkaDeliveryError, SecretAccessError, WarmUpConfigurationError
from lambdakit.idempotency import InMemoryStore, idempotent
from lambdakit.kafka import Producer, flush_kafka, msk_iam
from lambdakit.secrets import INJECTED, ParameterRef, SecretCache, SecretRef, inject_secrets
from lambdakit.testing import (
    FakeClock,
    FakeSecrets,
    LambdaContext,
    RecordingProducer,
    sqs_event,
)

WAIT = 10.0  # seconds: only ever reached when the code under test is broken
SLACK = 1.5  # seconds warm_up may take beyond its budget on a loaded machine (generous)
MOCK = {"test.mock.num.brokers": 1, "message.timeout.ms": 5000}
UNREACHABLE = {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 500, "log_level": 0}


class BlockingSecrets(FakeSecrets):
    """A FakeSecrets whose fetches of ``names`` hang until ``release()`` (a slow dependency)."""

    def __init__(self, values: dict[str, Any], names: set[str]) -> None:
        super().__init__(values)
        self.names = names
        self.gate = threading.Event()

    def secret(self, name: str, version_stage: str | None, version_id: str | None) -> Any:
        if name in self.names and not self.gate.wait(WAIT):
            raise AssertionError("the gate was never opened")
        return super().secret(name, version_stage, version_id)

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def secrets_store() -> Iterator[FakeSecrets]:
    with FakeSecrets({"prod/db": "pw-1", "prod/api": {"key": "k-1"}, "/app/cfg": "c-1"}) as fake:
        yield fake


def stacked_handler(
    store: InMemoryStore, producer: Producer, cache: SecretCache | None = None
) -> Callable[..., Any]:
    """A Lambda handler stacking every decorator warm_up looks through."""

    @process_batch
    @flush_kafka(producer)
    @idempotent(store, key="body.id")
    @inject_secrets(db="prod/db", api=SecretRef("prod/api", field="key"), cache=cache)
    def handler(record: Any, *, db: str = INJECTED, api: str = INJECTED) -> str:
        producer.produce("orders", record.body)
        return f"{record.body}:{db}:{api}"

    return handler


# --- what it finds, and what it warms ---------------------------------------------------------


def test_a_decorated_handler_leads_warm_up_to_its_secrets_store_and_producer(
    secrets_store: FakeSecrets,
) -> None:
    producer = Producer(MOCK)
    store = InMemoryStore()
    handler = stacked_handler(store, producer)

    report = lambdakit.warm_up(handler)

    assert isinstance(report, WarmUpReport)
    assert report.skipped == {}
    assert "SecretRef('prod/db')" in report.warmed
    assert "SecretRef('prod/api', field='key')" in report.warmed
    assert any(what.startswith("Producer(") for what in report.warmed)
    assert [s.what for s in report.steps if s.outcome == "nothing to warm"] == [repr(store)]
    assert secrets_store.calls["secret"] == 2
    assert producer.created == 1


def test_after_warm_up_the_first_invocation_fetches_nothing_and_builds_no_client(
    secrets_store: FakeSecrets,
) -> None:
    producer = Producer(MOCK)

    @flush_kafka(producer)
    @idempotent(InMemoryStore(), key="id")
    @inject_secrets(db="prod/db", api=SecretRef("prod/api", field="key"))
    def handler(event: Any, context: Any, *, db: str = INJECTED, api: str = INJECTED) -> str:
        producer.produce("orders", event["id"])
        return f"{event['id']}:{db}:{api}"

    lambdakit.warm_up(handler)
    fetched = secrets_store.calls["secret"]

    assert handler({"id": "a"}, LambdaContext(timeout=30)) == "a:pw-1:k-1"
    assert secrets_store.calls["secret"] == fetched == 2
    assert producer.created == 1


def test_secrets_of_a_handler_go_into_the_cache_it_reads() -> None:
    own = SecretCache(backend=FakeSecrets({"prod/db": "pw", "prod/api": {"key": "k"}}))
    handler = stacked_handler(InMemoryStore(), RecordingProducer(), cache=own)
    lambdakit.warm_up(handler)
    assert len(own) == 2


def test_refs_and_names_given_directly_are_prefetched_into_the_default_cache(
    secrets_store: FakeSecrets,
) -> None:
    report = lambdakit.warm_up("prod/db", ParameterRef("/app/cfg"))
    assert report.warmed == ["SecretRef('prod/db')", "ParameterRef('/app/cfg')"]
    from lambdakit.secrets import get_parameter, get_secret

    assert (get_secret("prod/db"), get_parameter("/app/cfg")) == ("pw-1", "c-1")
    assert secrets_store.calls["secret"] + secrets_store.calls["parameter"] == 2


def test_an_msk_iam_producer_imports_boto3_and_signs_its_token_during_warm_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The signer is AWS's own, signing offline with these (test) credentials.
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    config = msk_iam("us-east-1")
    token = config["oauth_cb"]
    producer = Producer(config, factory=lambda config: RecordingProducer())

    report = lambdakit.warm_up(producer)

    assert report.warmed == ["import boto3", producer.describe()]
    assert token.fetched == 1
    assert producer.created == 1


def test_a_dependency_used_twice_is_warmed_once(secrets_store: FakeSecrets) -> None:
    producer = Producer(MOCK)
    handler = stacked_handler(InMemoryStore(), producer)
    report = lambdakit.warm_up(handler, producer, handler)
    assert len([w for w in report.warmed if w.startswith("Producer(")]) == 1
    assert secrets_store.calls["secret"] == 2


def test_a_function_without_lambdakit_dependencies_has_nothing_to_warm() -> None:
    def plain(event: Any, context: Any) -> None:
        pass

    report = lambdakit.warm_up(plain)
    assert [(s.outcome, s.what) for s in report.steps] == [
        ("nothing to warm", f"{__name__}.{plain.__qualname__}")
    ]
    assert report.skipped == {}


def test_warm_up_imports_nothing_heavy_for_what_it_is_not_given() -> None:
    code = (
        "import sys, lambdakit\n"
        "assert 'lambdakit._internal.warmup' not in sys.modules\n"
        "lambdakit.warm_up()\n"
        "print('boto3' in sys.modules, 'confluent_kafka' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_what_cannot_be_warmed_is_refused_naming_it() -> None:
    with pytest.raises(WarmUpConfigurationError, match="42"):
        lambdakit.warm_up(42)  # type: ignore[arg-type]
    with pytest.raises(WarmUpConfigurationError, match="SecretCache"):
        lambdakit.warm_up(SecretCache())  # type: ignore[arg-type]
    for budget in (-1, True, "2", float("nan")):
        with pytest.raises(WarmUpConfigurationError, match="budget_s"):
            lambdakit.warm_up(budget_s=budget)  # type: ignore[arg-type]
    with pytest.raises(WarmUpConfigurationError, match="kafka_topics"):
        lambdakit.warm_up(kafka_topics="orders")


# --- never failing init ------------------------------------------------------------------------


def test_a_failing_dependency_is_reported_and_logged_and_the_rest_still_warms(
    secrets_store: FakeSecrets, caplog: pytest.LogCaptureFixture
) -> None:
    secrets_store.fail(SecretAccessError)
    producer = Producer(MOCK)
    with caplog.at_level(logging.WARNING, logger="lambdakit"):
        report = lambdakit.warm_up("prod/db", producer)

    assert report.skipped.keys() == {"SecretRef('prod/db')"}
    assert "SecretAccessError" in report.skipped["SecretRef('prod/db')"]
    assert any(w.startswith("Producer(") for w in report.warmed)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "SecretRef('prod/db')" in warnings[0].getMessage()
    assert "lazy" in warnings[0].getMessage()
    assert "pw-1" not in caplog.text


def test_a_secret_that_failed_at_init_is_fetched_by_the_first_invocation_without_back_off(
    secrets_store: FakeSecrets,
) -> None:
    # "left lazy" means the first invocation does the work, as without warm_up: a fetch that
    # failed at init must not leave a back-off that fails the first batch milliseconds later.
    @process_batch
    @inject_secrets(db="prod/db")
    def handler(record: Any, *, db: str = INJECTED) -> None:
        assert db == "pw-1"

    secrets_store.fail()  # transient (throttled, 5xx): what the cache backs off from
    report = lambdakit.warm_up(handler, budget_s=1)
    assert report.skipped
    secrets_store.recover()
    response = handler(sqs_event(["a", "b"]), LambdaContext())
    assert response == {"batchItemFailures": []}


def test_a_dependency_that_hangs_is_left_lazy_within_the_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow = BlockingSecrets({"slow/one": "s", "fast/one": "f"}, names={"slow/one"})
    try:
        with slow, caplog.at_level(logging.WARNING, logger="lambdakit"):
            started = time.monotonic()
            report = lambdakit.warm_up("slow/one", "fast/one", budget_s=0.3)
            elapsed = time.monotonic() - started

            assert elapsed < 0.3 + SLACK
            assert report.warmed == ["SecretRef('fast/one')"]
            step = next(s for s in report.steps if s.what == "SecretRef('slow/one')")
            assert step.outcome == "timed out"
            assert "0.3" in step.why
            assert "SecretRef('slow/one')" in caplog.text
            # Left lazy: the handler's first read gets the value once the store answers.
            slow.release()
            from lambdakit.secrets import get_secret

            assert get_secret("slow/one") == "s"
    finally:
        slow.release()


def test_a_producer_whose_client_hangs_while_built_is_left_lazy_within_the_budget() -> None:
    gate = threading.Event()

    def hanging(config: dict[str, Any]) -> Any:
        gate.wait(WAIT)
        return RecordingProducer()

    producer = Producer({}, factory=hanging)
    try:
        started = time.monotonic()
        report = lambdakit.warm_up(producer, budget_s=0.2)
        assert time.monotonic() - started < 0.2 + SLACK
        assert [s.outcome for s in report.steps] == ["timed out"]
    finally:
        gate.set()


def test_an_unreachable_broker_fails_the_warm_up_of_its_producer_within_the_budget() -> None:
    producer = Producer(UNREACHABLE)
    started = time.monotonic()
    report = lambdakit.warm_up(producer, budget_s=0.5)
    assert time.monotonic() - started < 0.5 + SLACK
    (step,) = report.steps
    assert step.outcome in ("failed", "timed out")
    assert "127.0.0.1:1" in step.what
    assert report.skipped


def test_a_budget_spent_before_a_dependency_starts_leaves_it_not_started() -> None:
    report = lambdakit.warm_up("prod/db", budget_s=0)
    assert [(s.outcome, s.why) for s in report.steps] == [
        ("not started", "no budget left (budget_s=0)")
    ]


def test_the_report_says_what_warmed_what_was_skipped_and_why_and_the_time_spent(
    secrets_store: FakeSecrets,
) -> None:
    secrets_store.fail(SecretAccessError)
    report = lambdakit.warm_up(ParameterRef("/app/cfg"), "prod/db", budget_s=1.5)
    assert report.budget_s == 1.5
    assert 0 <= report.seconds < 1.5 + SLACK
    assert all(step.seconds >= 0 for step in report.steps)
    text = str(report)
    assert "0 warmed" in text
    assert "2 left lazy" in text
    assert "SecretRef('prod/db')" in text
    assert "SecretAccessError" in text
    assert not report.complete


# --- SnapStart ----------------------------------------------------------------------------------


@pytest.fixture
def snapstart(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], Any]]:
    """A stand-in for the Lambda Python runtime's ``snapshot_restore_py``: the hooks it got."""
    hooks: list[Callable[[], Any]] = []
    runtime = types.ModuleType("snapshot_restore_py")

    def register_after_restore(hook: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hooks.append(lambda: hook(*args, **kwargs))
        return hook

    runtime.register_after_restore = register_after_restore  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    return hooks


def test_after_a_snapstart_restore_secrets_are_refreshed_and_producers_reconnected(
    snapstart: list[Callable[[], Any]], secrets_store: FakeSecrets
) -> None:
    producer = Producer(MOCK)
    handler = stacked_handler(InMemoryStore(), producer)
    lambdakit.warm_up(handler)
    assert secrets_store.calls["secret"] == 2
    secrets_store.set_secret("prod/db", "rotated-while-in-the-snapshot")

    for hook in list(snapstart):  # the runtime restores the snapshot: hooks in their order
        hook()

    assert secrets_store.calls["secret"] == 4
    assert producer.created == 2  # the snapshot's client replaced, and connected again
    from lambdakit.secrets import get_secret

    assert get_secret("prod/db") == "rotated-while-in-the-snapshot"
    assert secrets_store.calls["secret"] == 4  # a hit


# --- the counters the batch summary and metrics read ------------------------------------------


def test_a_stale_secret_served_is_counted_in_the_running_batch() -> None:
    clock = FakeClock()
    store = FakeSecrets({"prod/db": "pw"})
    cache = SecretCache(backend=store, clock=clock, max_age=60, jitter=0)
    assert cache.get_secret("prod/db") == "pw"
    clock.advance(61)
    store.fail()
    with counting() as counts:
        assert cache.get_secret("prod/db") == "pw"  # the refresh failed: served stale
        assert cache.get_secret("prod/db") == "pw"  # during the back-off: stale again
        assert cache.get_secret("prod/db") == "pw"
    assert counts.get(STALE_SECRETS_SERVED) == 3


def test_a_fresh_or_refreshed_secret_is_not_counted_as_stale() -> None:
    clock = FakeClock()
    cache = SecretCache(backend=FakeSecrets({"prod/db": "pw"}), clock=clock, max_age=60)
    with counting() as counts:
        cache.get_secret("prod/db")
        clock.advance(61)
        cache.get_secret("prod/db")
    assert counts.get(STALE_SECRETS_SERVED) == 0


def test_a_duplicate_answered_from_the_store_is_counted() -> None:
    calls: list[str] = []

    @idempotent(InMemoryStore(), key="id")
    def charge(event: dict[str, str], context: Any) -> str:
        calls.append(event["id"])
        return "charged"

    with counting() as counts:
        assert charge({"id": "a"}, None) == "charged"
        assert counts.get(DUPLICATES_ANSWERED) == 0
        assert charge({"id": "a"}, None) == "charged"
        assert charge({"id": "a"}, None) == "charged"
    assert counts.get(DUPLICATES_ANSWERED) == 2
    assert calls == ["a"]


def test_a_duplicate_answered_from_the_local_cache_is_counted() -> None:
    @idempotent(InMemoryStore(), key="id", local_cache=True)
    def charge(event: dict[str, str], context: Any) -> str:
        return "charged"

    charge({"id": "a"}, None)
    with counting() as counts:
        charge({"id": "a"}, None)
    assert counts.get(DUPLICATES_ANSWERED) == 1


def test_every_message_a_flush_could_not_deliver_is_counted() -> None:
    producer = RecordingProducer()
    producer.fail_next(2)

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        for n in range(3):
            producer.produce("orders", n)

    with counting() as counts, pytest.raises(KafkaDeliveryError):
        handler({}, LambdaContext(timeout=30))
    assert counts.get(KAFKA_DELIVERY_FAILURES) == 2


def test_messages_still_undelivered_at_the_flush_deadline_are_counted() -> None:
    producer = Producer(UNREACHABLE)

    @flush_kafka(producer, timeout=0.5)
    def handler(event: Any, context: Any) -> None:
        producer.produce("orders", b"lost?")

    with counting() as counts, pytest.raises(KafkaDeliveryError):
        handler({}, LambdaContext(timeout=30))
    assert counts.get(KAFKA_DELIVERY_FAILURES) == 1


def test_a_message_refused_outside_flush_kafka_is_counted() -> None:
    producer = Producer({}, factory=lambda config: _Refusing())
    with counting() as counts, pytest.raises(KafkaDeliveryError):
        producer.produce("orders", b"x")
    assert counts.get(KAFKA_DELIVERY_FAILURES) == 1


def test_a_failed_delivery_of_a_message_produced_outside_flush_kafka_is_counted() -> None:
    producer = Producer(UNREACHABLE)
    producer.produce("orders", b"lost?")
    with counting() as counts:
        assert producer.flush(WAIT) == 0  # message.timeout.ms (0.5 s) reports it failed
    assert counts.get(KAFKA_DELIVERY_FAILURES) == 1


def test_successful_deliveries_count_nothing() -> None:
    producer = RecordingProducer()

    @flush_kafka(producer)
    def handler(event: Any, context: Any) -> None:
        producer.produce("orders", b"fine")

    with counting() as counts:
        handler({}, LambdaContext(timeout=30))
    assert counts.snapshot() == {}


class _Refusing:
    """A client (through Producer's factory) that refuses every message synchronously."""

    def produce(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("queue refused the message")

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return 0


def test_kafka_topics_given_as_a_generator_are_all_warmed() -> None:
    class Warming(RecordingProducer):
        topics: tuple[str, ...] = ()

        def warm(self, timeout: float = 5.0, topics: Any = ()) -> None:
            self.topics = tuple(topics)

    producer = Warming()
    lambdakit.warm_up(producer, kafka_topics=(t for t in ["orders", "refunds"]))
    assert producer.topics == ("orders", "refunds")
