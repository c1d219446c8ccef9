"""lambdakit.secrets' cache semantics, on the in-memory backend of ``lambdakit.testing``.

Every rule of the cache is proven here exactly and fast (a :class:`FakeClock` instead of
sleeping, events and barriers instead of timing); ``tests/integration/test_secrets_on_moto.py``
proves the same rules end to end against moto server and DynamoDB Local. Also here: the
SnapStart hook, the cheap import, ``inject_secrets``, and ``fake_secrets`` itself (the backend,
the context manager, the pytest fixture and the plugin's reset between tests).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import subprocess
import sys
import threading
import traceback
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

import lambdakit.secrets as secrets
from lambdakit.errors import (
    SecretAccessError,
    SecretFetchError,
    SecretNotFoundError,
    SecretsConfigurationError,
    SecretsError,
    SecretTransformError,
)
from lambdakit.secrets import ParameterRef, SecretCache, SecretRef, inject_secrets
from lambdakit.secrets import _extension as extension_module
from lambdakit.testing import FakeClock, FakeSecrets, fake_secrets
from tests.secrets_support import ReaderClock

pytest_plugins = ["pytester"]

WAIT = 10.0  # seconds: only ever reached when the code under test is broken


# --- helpers ------------------------------------------------------------------------------------


class GatedBackend:
    """Wraps a FakeSecrets; fetches of the gated names block until the gate opens."""

    def __init__(self, inner: FakeSecrets, names: set[str] | None = None) -> None:
        self.inner = inner
        self.names = names
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def close(self) -> None:
        self.gate.clear()
        self.entered.clear()

    def open(self) -> None:
        self.gate.set()

    def _wait(self, name: str) -> None:
        if self.names is None or name in self.names:
            self.entered.set()
            if not self.gate.wait(WAIT):
                raise AssertionError("the gate was never opened")

    def secret(self, name: str, version_stage: str | None, version_id: str | None) -> Any:
        self._wait(name)
        return self.inner.secret(name, version_stage, version_id)

    def parameter(self, name: str, decrypt: bool) -> str:
        self._wait(name)
        return self.inner.parameter(name, decrypt)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ChainingBackend:
    """A backend failing like the real ones: SecretFetchError with the service's error chained."""

    def __init__(self) -> None:
        self.calls = 0

    def secret(self, name: str, version_stage: str | None, version_id: str | None) -> Any:
        self.calls += 1
        try:
            raise ConnectionResetError("connection reset by peer")
        except ConnectionResetError as exc:
            raise SecretFetchError(f"fetching secret {name} failed (network)") from exc


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> FakeSecrets:
    return FakeSecrets(
        {
            "prod/db": "pw-current",
            "prod/json": {"user": "app", "password": "pw-json"},
            "/app/key": "param-value",
            "/app/cfg": '{"level": 3}',
        }
    )


@pytest.fixture
def cache(store: FakeSecrets, clock: FakeClock) -> SecretCache:
    return SecretCache(backend=store, clock=clock, jitter=0)


def total(fake: FakeSecrets) -> int:
    return sum(fake.calls.values())


def causes(error: BaseException | None) -> Iterator[BaseException]:
    while error is not None:
        yield error
        error = error.__cause__


@pytest.fixture(autouse=True)
def _no_backend_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDAKIT_SECRETS_BACKEND", raising=False)


# --- hits and expiry ----------------------------------------------------------------------------


def test_a_hit_is_served_from_memory(cache: SecretCache, store: FakeSecrets) -> None:
    assert cache.get_secret("prod/db") == "pw-current"
    for _ in range(100):
        assert cache.get_secret("prod/db") == "pw-current"
        assert cache.get_parameter("/app/key") == "param-value"
    assert store.calls == {"secret": 1, "parameter": 1}


def test_a_value_is_fetched_again_once_older_than_max_age(
    store: FakeSecrets, clock: FakeClock
) -> None:
    cache = SecretCache(backend=store, clock=clock, max_age=100, jitter=0)
    assert cache.get_secret("prod/db") == "pw-current"
    store.set_secret("prod/db", "pw-rotated")
    clock.advance(99.999)
    assert cache.get_secret("prod/db") == "pw-current"
    clock.advance(0.001)
    assert cache.get_secret("prod/db") == "pw-rotated"
    assert store.calls["secret"] == 2


def test_jitter_brings_expiry_forward_by_at_most_its_fraction(
    store: FakeSecrets, clock: FakeClock
) -> None:
    # Entries expire between (1 - jitter) * max_age and max_age after their fetch, each at its
    # own random point, so environments started together do not refresh together.
    names = [f"app/{i}" for i in range(60)]
    for name in names:
        store.set_secret(name, "v")

    def fetches_after(elapsed: float) -> int:
        start = clock.now()
        cache = SecretCache(backend=store, clock=clock, max_age=100, jitter=0.1)
        for name in names:
            cache.get_secret(name)
        store.reset_calls()
        clock.advance(start + elapsed - clock.now())
        for name in names:
            cache.get_secret(name)
        return store.calls["secret"]

    assert fetches_after(89.99) == 0  # none expires before (1 - jitter) * max_age
    assert 0 < fetches_after(95) < len(names)  # each at its own point in between
    assert fetches_after(100) == len(names)  # every one by max_age


def test_max_age_per_call_overrides_the_cache_default(
    cache: SecretCache, store: FakeSecrets, clock: FakeClock
) -> None:
    cache.get_secret("prod/db", max_age=5)
    clock.advance(5)
    cache.get_secret("prod/db", max_age=5)
    assert store.calls["secret"] == 2
    cache.get_parameter("/app/key", max_age=0)
    cache.get_parameter("/app/key", max_age=0)
    assert store.calls["parameter"] == 2  # max_age=0: never served from memory


def test_refresh_and_invalidate(cache: SecretCache, store: FakeSecrets) -> None:
    cache.get_secret("prod/db")
    cache.get_secret("prod/db", version_stage=None)
    cache.get_parameter("/app/key")
    assert len(cache) == 3
    store.reset_calls()
    cache.refresh("prod/db")  # every variant of the name is fetched on its next read
    cache.get_secret("prod/db")
    cache.get_secret("prod/db", version_stage=None)
    cache.get_parameter("/app/key")
    assert store.calls == {"secret": 2}
    cache.invalidate("/app/key")
    assert len(cache) == 2
    cache.invalidate()
    assert len(cache) == 0
    cache.get_secret("prod/db")
    assert store.calls == {"secret": 3}


def test_the_oldest_entry_is_dropped_beyond_max_items(store: FakeSecrets, clock: FakeClock) -> None:
    cache = SecretCache(backend=store, clock=clock, max_items=2)
    for name in ("a", "b", "c"):
        store.set_secret(name, name)
        cache.get_secret(name)
    assert len(cache) == 2
    store.reset_calls()
    cache.get_secret("c")
    cache.get_secret("b")
    assert store.calls["secret"] == 0
    cache.get_secret("a")
    assert store.calls["secret"] == 1


# --- single flight ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["cold", "expired"])
def test_64_threads_on_one_name_cause_exactly_one_fetch(state: str) -> None:
    clock = ReaderClock()
    inner = FakeSecrets({"prod/db": "v1"})
    backend = GatedBackend(inner)
    cache = SecretCache(backend=backend, clock=clock)
    if state == "expired":
        assert cache.get_secret("prod/db") == "v1"
        clock.advance(cache.max_age)
        inner.set_secret("prod/db", "v2")
    inner.reset_calls()
    backend.close()
    clock.readers.clear()
    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = [pool.submit(cache.get_secret, "prod/db") for _ in range(64)]
        assert backend.entered.wait(WAIT)
        clock.wait_for_readers(64)  # all 64 found it cold (or expired) while it is fetched
        backend.open()
        results = [future.result(timeout=WAIT) for future in futures]
    assert inner.calls["secret"] == 1
    assert results == ["v1" if state == "cold" else "v2"] * 64


def test_threads_asking_for_different_names_do_not_wait_on_each_other() -> None:
    inner = FakeSecrets({"slow": "s", "fast": "f", "/fast": "p"})
    backend = GatedBackend(inner, names={"slow"})
    cache = SecretCache(backend=backend, clock=FakeClock())
    backend.close()
    with ThreadPoolExecutor(max_workers=3) as pool:
        slow = pool.submit(cache.get_secret, "slow")
        assert backend.entered.wait(WAIT)  # "slow" is being fetched, and stays so
        assert pool.submit(cache.get_secret, "fast").result(timeout=WAIT) == "f"
        assert pool.submit(cache.get_parameter, "/fast").result(timeout=WAIT) == "p"
        assert not slow.done()
        backend.open()
        assert slow.result(timeout=WAIT) == "s"


def test_fetches_of_different_names_run_at_the_same_time() -> None:
    # Each fetch waits at a barrier for all eight: were fetches serialised, it would break.
    barrier = threading.Barrier(8, timeout=WAIT)
    inner = FakeSecrets({f"app/{i}": str(i) for i in range(8)})

    class Meeting:
        def secret(self, name: str, stage: str | None, version: str | None) -> Any:
            barrier.wait()
            return inner.secret(name, stage, version)

    cache = SecretCache(backend=Meeting(), clock=FakeClock())
    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = [pool.submit(cache.get_secret, f"app/{i % 8}") for i in range(64)]
        assert sorted(f.result(timeout=WAIT) for f in futures) == sorted(
            str(i % 8) for i in range(64)
        )
    assert inner.calls["secret"] == 8


# --- stale on error and back-off ------------------------------------------------------------------


def test_a_failed_refresh_serves_the_old_value_and_warns_naming_the_key(
    cache: SecretCache, store: FakeSecrets, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    assert cache.get_secret("prod/db") == "pw-current"
    clock.advance(cache.max_age)
    store.fail()
    with caplog.at_level(logging.WARNING, logger="lambdakit.secrets"):
        assert cache.get_secret("prod/db") == "pw-current"
    assert store.calls["secret"] == 2
    warnings = [r for r in caplog.records if r.name == "lambdakit.secrets"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "prod/db" in warnings[0].getMessage()
    assert "pw-current" not in caplog.text


def test_a_failed_fetch_without_a_value_raises_with_the_cause_chained(clock: FakeClock) -> None:
    backend = ChainingBackend()
    cache = SecretCache(backend=backend, clock=clock)
    with pytest.raises(SecretFetchError, match="prod/db") as caught:
        cache.get_secret("prod/db")
    assert isinstance(caught.value.__cause__, ConnectionResetError)


def test_a_value_older_than_max_stale_is_not_served(store: FakeSecrets, clock: FakeClock) -> None:
    cache = SecretCache(backend=store, clock=clock, max_age=60, max_stale=600, jitter=0)
    cache.get_secret("prod/db")
    store.fail()
    clock.advance(600)
    assert cache.get_secret("prod/db") == "pw-current"  # exactly max_stale old: still served
    clock.advance(60.001)  # past the back-off, and older than max_stale
    with pytest.raises(SecretFetchError, match="prod/db"):
        cache.get_secret("prod/db")


def test_failed_fetches_back_off_exponentially_up_to_a_cap(
    cache: SecretCache, store: FakeSecrets, clock: FakeClock
) -> None:
    cache.get_secret("prod/db")
    clock.advance(cache.max_age)
    store.fail()
    store.reset_calls()
    cache.get_secret("prod/db")  # failure 1, answered stale
    assert store.calls["secret"] == 1
    for failures in range(1, 10):
        delay = min(60.0, 2.0 ** (failures - 1))  # the back-off after this many failures
        clock.advance(delay / 2 - 0.01)  # the earliest jittered retry is at half the delay
        for _ in range(5):
            assert cache.get_secret("prod/db") == "pw-current"
        assert store.calls["secret"] == failures, f"called during back-off {failures}"
        clock.advance(delay / 2 + 0.01)  # the latest is at the full delay
        assert cache.get_secret("prod/db") == "pw-current"
        assert store.calls["secret"] == failures + 1
    store.recover()
    clock.advance(60)
    assert cache.get_secret("prod/db") == "pw-current"
    store.fail()
    store.reset_calls()
    clock.advance(cache.max_age)
    cache.get_secret("prod/db")
    clock.advance(1.0)  # a success resets the back-off to its first step
    cache.get_secret("prod/db")
    assert store.calls["secret"] == 2


def test_without_a_value_the_back_off_answers_the_last_error_without_a_call(
    store: FakeSecrets, clock: FakeClock
) -> None:
    cache = SecretCache(backend=store, clock=clock)
    store.fail()
    with pytest.raises(SecretFetchError):
        cache.get_secret("prod/db")
    with pytest.raises(SecretFetchError):
        cache.get_secret("prod/db")
    assert store.calls["secret"] == 1
    store.recover()
    clock.advance(1.0)
    assert cache.get_secret("prod/db") == "pw-current"


def test_an_error_answered_during_back_off_does_not_grow_with_every_request(
    clock: FakeClock,
) -> None:
    # Re-raising one stored exception object would append the new frames to its traceback at
    # every raise: during a 60 s back-off at 100 requests/s, each caller would get the same,
    # ever longer traceback (and the memory it holds), shared between threads.
    cache = SecretCache(backend=ChainingBackend(), clock=clock)
    lengths = []
    for _ in range(4):
        with pytest.raises(SecretFetchError) as caught:
            cache.get_secret("prod/db")
        lengths.append(len(traceback.extract_tb(caught.value.__traceback__)))
        assert any(isinstance(e, ConnectionResetError) for e in causes(caught.value))
    assert lengths[1:] == [lengths[1]] * 3, f"traceback lengths {lengths}"


# --- typed errors ---------------------------------------------------------------------------------


def test_a_missing_secret_or_parameter_is_a_not_found_error_naming_it(cache: SecretCache) -> None:
    with pytest.raises(SecretNotFoundError, match="prod/missing") as caught:
        cache.get_secret("prod/missing")
    assert caught.value.names == ["prod/missing"]
    assert isinstance(caught.value, KeyError)  # and catchable as one
    with pytest.raises(SecretNotFoundError, match="/app/missing"):
        cache.get_parameter("/app/missing")
    with pytest.raises(SecretNotFoundError, match="table"):
        cache.get_item_parameter("table", "missing")


def test_access_denied_is_an_access_error(cache: SecretCache, store: FakeSecrets) -> None:
    store.fail(SecretAccessError)
    with pytest.raises(SecretAccessError, match="prod/db"):
        cache.get_secret("prod/db")


@pytest.mark.parametrize(
    ("value", "transform"),
    [("password=hunter2-not-json", "json"), ("hunter2 not base64!", "binary")],
)
def test_a_transform_that_fails_names_the_secret_and_never_the_value(
    store: FakeSecrets, cache: SecretCache, value: str, transform: str
) -> None:
    store.set_secret("prod/odd", value)
    store.set_parameter("/app/odd", value)
    with pytest.raises(SecretTransformError, match="prod/odd") as caught:
        cache.get_secret("prod/odd", transform=transform)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value)
    assert "hunter2" not in "".join(traceback.format_exception(caught.value))
    with pytest.raises(SecretTransformError, match="/app/odd"):
        cache.get_parameter("/app/odd", transform=transform)


def test_transforms(cache: SecretCache, store: FakeSecrets) -> None:
    store.set_secret("bin", b"\x00\x01")
    store.set_secret("b64", "AAE=")
    assert cache.get_secret("prod/json", transform="json") == {"user": "app", "password": "pw-json"}
    assert cache.get_secret("bin") == b"\x00\x01"
    assert cache.get_secret("bin", transform="binary") == b"\x00\x01"
    assert cache.get_secret("b64", transform="binary") == b"\x00\x01"
    assert cache.get_parameter("/app/cfg", transform="json") == {"level": 3}


def test_options_that_cannot_work_are_refused(store: FakeSecrets) -> None:
    with pytest.raises(SecretsConfigurationError):
        SecretCache(max_age=-1)
    with pytest.raises(SecretsConfigurationError):
        SecretCache(jitter=1)
    with pytest.raises(SecretsConfigurationError):
        SecretCache(max_items=0)
    with pytest.raises(SecretsConfigurationError, match="backend"):
        _ = SecretCache(backend="carrier-pigeon").backend
    cache = SecretCache(backend=store)
    with pytest.raises(SecretsConfigurationError, match="transform"):
        cache.get_secret("prod/db", transform="yaml")
    with pytest.raises(SecretsConfigurationError):
        SecretRef("")
    with pytest.raises(SecretsConfigurationError):
        SecretRef("prod/db", field="x", transform="binary")
    with pytest.raises(SecretsConfigurationError):
        inject_secrets()
    with pytest.raises(SecretsConfigurationError):
        inject_secrets(db="prod/db", refresh_on=[ValueError])  # type: ignore[arg-type]
    with pytest.raises(SecretsConfigurationError):
        inject_secrets(db=42)  # type: ignore[arg-type]
    assert issubclass(SecretsConfigurationError, ValueError)


def test_an_invalid_max_age_is_refused_before_anything_is_fetched(store: FakeSecrets) -> None:
    cache = SecretCache(backend=store)
    with pytest.raises(SecretsConfigurationError, match="max_age"):
        cache.get_secret("prod/db", max_age=-1)
    assert store.calls["secret"] == 0


# --- the cache key covers every option --------------------------------------------------------

Call = Callable[[SecretCache], Any]


def _key_store() -> FakeSecrets:
    # "1234" is valid as text, as JSON and as base64, so every transform answers.
    fake = FakeSecrets()
    fake.set_secret("s", "1234", version_id="v1")
    fake.set_secret("s", "5678", version_id="v2")  # v2 is AWSCURRENT, v1 AWSPREVIOUS
    fake.set_secret("/shared", "9012")
    fake.set_parameter("/shared", "3456")
    fake.set_parameter("/p", "1234", secure=True)
    fake.set_parameter("/tree/a", "1234", secure=True)
    fake.set_parameter("/tree/sub/b", "5678")
    for table, key, attribute, value in [
        ("t1", "k", "value", "1234"),
        ("t1", "k", "other", "5678"),
        ("t1", "k2", "value", "9012"),
        ("t2", "k", "value", "3456"),
    ]:
        fake.set_item(table, key, value, attribute=attribute)
    fake.set_item("t1", "k", "7890", key_attr="pk")
    return fake


KEY_PAIRS: dict[str, tuple[Call, Call]] = {
    "store (secret/parameter)": (
        lambda c: c.get_secret("/shared"),
        lambda c: c.get_parameter("/shared"),
    ),
    "version_stage": (
        lambda c: c.get_secret("s"),
        lambda c: c.get_secret("s", version_stage="AWSPREVIOUS"),
    ),
    "version_stage None": (
        lambda c: c.get_secret("s", version_stage="AWSPREVIOUS"),
        lambda c: c.get_secret("s", version_stage=None),
    ),
    "version_id": (
        lambda c: c.get_secret("s", version_id="v1"),
        lambda c: c.get_secret("s", version_id="v2"),
    ),
    "version_id vs none": (
        lambda c: c.get_secret("s"),
        lambda c: c.get_secret("s", version_id="v2"),
    ),
    "secret transform json": (
        lambda c: c.get_secret("s"),
        lambda c: c.get_secret("s", transform="json"),
    ),
    "secret transform binary": (
        lambda c: c.get_secret("s"),
        lambda c: c.get_secret("s", transform="binary"),
    ),
    "secret transform json/binary": (
        lambda c: c.get_secret("s", transform="json"),
        lambda c: c.get_secret("s", transform="binary"),
    ),
    "decrypt": (
        lambda c: c.get_parameter("/p"),
        lambda c: c.get_parameter("/p", decrypt=False),
    ),
    "parameter transform": (
        lambda c: c.get_parameter("/p"),
        lambda c: c.get_parameter("/p", transform="json"),
    ),
    "get_parameters decrypt": (
        lambda c: c.get_parameters(["/p"]),
        lambda c: c.get_parameters(["/p"], decrypt=False),
    ),
    "get_parameters transform": (
        lambda c: c.get_parameters(["/p"]),
        lambda c: c.get_parameters(["/p"], transform="binary"),
    ),
    "recursive": (
        lambda c: c.get_parameters_by_path("/tree"),
        lambda c: c.get_parameters_by_path("/tree", recursive=False),
    ),
    "path decrypt": (
        lambda c: c.get_parameters_by_path("/tree"),
        lambda c: c.get_parameters_by_path("/tree", decrypt=False),
    ),
    "path transform": (
        lambda c: c.get_parameters_by_path("/tree"),
        lambda c: c.get_parameters_by_path("/tree", transform="json"),
    ),
    "item attribute": (
        lambda c: c.get_item_parameter("t1", "k"),
        lambda c: c.get_item_parameter("t1", "k", attribute="other"),
    ),
    "item key": (
        lambda c: c.get_item_parameter("t1", "k"),
        lambda c: c.get_item_parameter("t1", "k2"),
    ),
    "item table": (
        lambda c: c.get_item_parameter("t1", "k"),
        lambda c: c.get_item_parameter("t2", "k"),
    ),
    "item key_attr": (
        lambda c: c.get_item_parameter("t1", "k"),
        lambda c: c.get_item_parameter("t1", "k", key_attr="pk", attribute="value"),
    ),
    "item transform": (
        lambda c: c.get_item_parameter("t1", "k"),
        lambda c: c.get_item_parameter("t1", "k", transform="json"),
    ),
}


SAME_ANSWER_TODAY = {"version_id vs none"}  # the same version now; not after a rotation


@pytest.mark.parametrize("option", list(KEY_PAIRS))
def test_two_calls_differing_in_one_option_never_share_an_entry(option: str) -> None:
    first, second = KEY_PAIRS[option]
    fake = _key_store()
    cache = SecretCache(backend=fake, clock=FakeClock())
    a = first(cache)
    b = second(cache)
    assert total(fake) == 2, f"{option}: the second call was answered from the first's entry"
    assert (a == b) == (option in SAME_ANSWER_TODAY), f"{option}: {a!r} and {b!r}"
    # and each is then a hit on its own entry, in either order
    assert second(cache) == b
    assert first(cache) == a
    assert total(fake) == 2


# --- get_parameters, by path, references, items ---------------------------------------------


def test_get_parameters_fetches_any_number_in_chunks_of_ten_and_keeps_every_chunk(
    cache: SecretCache, store: FakeSecrets
) -> None:
    names = [f"/many/p{i:02}" for i in range(25)]
    for name in names:
        store.set_parameter(name, f"value-of-{name}")
    store.reset_calls()
    values = cache.get_parameters(names)
    assert values == {name: f"value-of-{name}" for name in names}
    assert list(values) == names
    chunks = [subject for method, subject in store.requests if method == "parameters"]
    assert [len(c) for c in chunks] == [10, 10, 5]
    # each value is now cached under its own name
    assert cache.get_parameter(names[17]) == f"value-of-{names[17]}"
    assert cache.get_parameters(names[::-1]) == {n: values[n] for n in names[::-1]}
    assert store.calls == {"parameters": 3}


def test_get_parameters_fetches_only_what_is_not_cached(
    cache: SecretCache, store: FakeSecrets
) -> None:
    names = [f"/many/p{i:02}" for i in range(25)]
    for name in names:
        store.set_parameter(name, name)
    cache.get_parameters(names[:5])
    store.reset_calls()
    assert len(cache.get_parameters(names)) == 25
    assert [len(s) for m, s in store.requests] == [10, 10]


def test_get_parameters_reports_every_missing_name(cache: SecretCache, store: FakeSecrets) -> None:
    names = [f"/many/p{i:02}" for i in range(25)]
    for name in names:
        store.set_parameter(name, name)
    asked = [*names[:3], "/gone/a", *names[3:15], "/gone/b", *names[15:], "/gone/c"]
    with pytest.raises(SecretNotFoundError) as caught:
        cache.get_parameters(asked)
    assert caught.value.names == ["/gone/a", "/gone/b", "/gone/c"]
    for name in ("/gone/a", "/gone/b", "/gone/c"):
        assert name in str(caught.value)
    assert cache.get_parameters(asked, raise_on_missing=False) == {n: n for n in names}


def test_get_parameters_by_path(cache: SecretCache, store: FakeSecrets) -> None:
    store.set_parameter("/svc/a", "1")
    store.set_parameter("/svc/deep/b", "2")
    store.set_parameter("/svcx/c", "3")
    assert cache.get_parameters_by_path("/svc") == {"/svc/a": "1", "/svc/deep/b": "2"}
    assert cache.get_parameters_by_path("/svc/", recursive=False) == {"/svc/a": "1"}
    result = cache.get_parameters_by_path("/svc")
    result["/svc/a"] = "changed by the caller"
    assert cache.get_parameters_by_path("/svc")["/svc/a"] == "1"
    assert store.calls["parameters_by_path"] == 2


def test_a_secrets_manager_reference_reads_the_secret(cache: SecretCache) -> None:
    assert cache.get_parameter("/aws/reference/secretsmanager/prod/db") == "pw-current"
    assert cache.get_parameter("/aws/reference/secretsmanager/prod/json", transform="json") == {
        "user": "app",
        "password": "pw-json",
    }


def test_get_item_parameter(cache: SecretCache, store: FakeSecrets) -> None:
    store.set_item("config", "feature", '{"on": true}')
    store.set_item("config", {"id": "limits"}, 5, attribute="max")
    assert cache.get_item_parameter("config", "feature", transform="json") == {"on": True}
    assert cache.get_item_parameter("config", {"id": "limits"}, attribute="max") == 5
    assert cache.get_item_parameter("config", "limits", attribute="max") == 5  # same key
    assert store.calls["item"] == 2


def test_get_parameters_does_not_mark_a_stale_value_as_fresh(
    cache: SecretCache, store: FakeSecrets, clock: FakeClock
) -> None:
    # A GetParameters answer served stale through an outage must not be stored under each
    # name as if just fetched: after the outage the values, older than max_age, are fetched.
    cache.get_parameters(["/app/key", "/app/cfg"])
    store.set_parameter("/app/key", "rotated")
    clock.advance(cache.max_age + 60)
    store.fail()
    assert cache.get_parameters(["/app/key", "/app/cfg"])["/app/key"] == "param-value"  # stale
    store.recover()
    clock.advance(1.0)  # past the first back-off; the value was fetched max_age + 61 s ago
    assert cache.get_parameters(["/app/key", "/app/cfg"])["/app/key"] == "rotated"
    assert cache.get_parameter("/app/key") == "rotated"


def test_get_parameters_answers_a_value_it_fetched_for_a_name_in_back_off(
    cache: SecretCache, store: FakeSecrets
) -> None:
    # get_parameter("/app/key") failed (no value yet) and is backing off; get_parameters then
    # fetches the name successfully, and answers that value (not the earlier error).
    store.fail()
    with pytest.raises(SecretFetchError):
        cache.get_parameter("/app/key")
    store.recover()
    assert cache.get_parameters(["/app/key"]) == {"/app/key": "param-value"}
    assert cache.get_parameter("/app/key") == "param-value"


def test_a_stale_get_parameters_answer_never_replaces_a_newer_cached_value(
    store: FakeSecrets, clock: FakeClock
) -> None:
    # During an outage, get_parameters may answer the stale GetParameters answer of its chunk;
    # for a name fetched again since (here after a rotation) the newer value is in memory, and
    # answering the older one (the pre-rotation password) would undo the rotation.
    cache = SecretCache(backend=store, clock=clock, max_age=100, jitter=0)
    cache.get_parameters(["/app/key", "/app/cfg"])  # t=0
    store.set_parameter("/app/key", "rotated")
    clock.advance(150)
    assert cache.get_parameter("/app/key") == "rotated"  # t=150: fetched again, alone
    clock.advance(110)  # t=260: everything has expired, and the store is down
    store.fail()
    assert cache.get_parameters(["/app/key", "/app/cfg"]) == {
        "/app/key": "rotated",
        "/app/cfg": '{"level": 3}',
    }
    assert cache.get_parameter("/app/key") == "rotated"


def test_refresh_reaches_every_item_of_a_table(cache: SecretCache, store: FakeSecrets) -> None:
    store.set_item("config", "a", "1")
    store.set_item("config", "b", "2")
    cache.get_item_parameter("config", "a")
    cache.get_item_parameter("config", "b")
    store.set_item("config", "a", "1'")
    cache.refresh("config")
    assert cache.get_item_parameter("config", "a") == "1'"
    cache.get_item_parameter("config", "b")
    assert store.calls["item"] == 4
    cache.invalidate("config")
    assert len(cache) == 0


# --- a read returns the caller's own containers -------------------------------------------------

DOCUMENT = {"user": "app", "roles": ["reader", {"scope": "orders"}], "limits": {"rps": 5}}


def vandalise(value: Any) -> None:
    """Change every container in ``value``, all the way down (as careless callers do)."""
    if isinstance(value, dict):
        for item in value.values():
            vandalise(item)
        value["vandal"] = True
    elif isinstance(value, list):
        for item in value:
            vandalise(item)
        value.append("vandal")
    elif isinstance(value, set):
        value.add("vandal")


CONTAINER_READS: dict[str, Callable[[SecretCache], Any]] = {
    "get_secret json": lambda c: c.get_secret("doc", transform="json"),
    "get_secret json, flat": lambda c: c.get_secret("flat", transform="json"),
    "get_parameter json, flat list": lambda c: c.get_parameter("/flat", transform="json"),
    "get_parameter json": lambda c: c.get_parameter("/doc/a", transform="json"),
    "get_parameters json": lambda c: c.get_parameters(["/doc/a", "/doc/b"], transform="json"),
    "get_parameters_by_path": lambda c: c.get_parameters_by_path("/doc"),
    "get_parameters_by_path json": lambda c: c.get_parameters_by_path("/doc", transform="json"),
    "get_item_parameter": lambda c: c.get_item_parameter("config", "doc"),
    "get_item_parameter json": lambda c: c.get_item_parameter("config", "text", transform="json"),
    "get_app_config json": lambda c: c.get_app_config("orders", "prod", "doc", transform="json"),
    "SecretRef json": lambda c: SecretRef("doc", transform="json").read(c, None),
    "SecretRef field": lambda c: SecretRef("doc", field="limits").read(c, None),
}


@pytest.mark.parametrize("read", list(CONTAINER_READS))
def test_a_container_read_is_the_callers_own_at_every_read(
    read: str, store: FakeSecrets, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first read (a miss), the hits, and a value served stale: mutating one, all the way
    # down, changes none of the others.
    store.set_secret("doc", DOCUMENT)
    store.set_secret("flat", {"user": "app", "password": "pw", "port": 5432, "tls": True})
    store.set_parameter("/flat", ["a", 1, 2.5, None])
    store.set_parameter("/doc/a", DOCUMENT)
    store.set_parameter("/doc/b", ["first", DOCUMENT])
    item = {"number": Decimal("1.5"), "tags": {"a", "b"}, "document": copy.deepcopy(DOCUMENT)}
    store.set_item("config", "doc", item)  # a type marshal cannot hold: copied another way
    store.set_item("config", "text", json.dumps(DOCUMENT))
    monkeypatch.setattr(
        extension_module, "fetch_app_config", lambda *names: json.dumps(DOCUMENT).encode()
    )
    cache = SecretCache(backend=store, clock=clock, jitter=0)
    first = CONTAINER_READS[read](cache)
    expected = copy.deepcopy(first)
    vandalise(first)
    for _ in range(2):
        again = CONTAINER_READS[read](cache)
        assert repr(again) == repr(expected)  # equal, and in the same order with the same types
        vandalise(again)
    clock.advance(cache.max_age + 1)
    store.fail()
    stale = CONTAINER_READS[read](cache)
    vandalise(stale)
    assert repr(CONTAINER_READS[read](cache)) == repr(expected)


def test_a_string_read_is_the_cached_string_itself(cache: SecretCache) -> None:
    # Strings and bytes cannot be changed: no copy, the hit stays a dictionary lookup.
    assert cache.get_secret("prod/db") is cache.get_secret("prod/db")


# --- inject_secrets -----------------------------------------------------------------------------


def test_inject_secrets_passes_values_read_at_every_invocation(
    store: FakeSecrets, clock: FakeClock
) -> None:
    cache = SecretCache(backend=store, clock=clock, max_age=60, jitter=0)

    @inject_secrets(
        cache=cache,
        db="prod/db",
        user=SecretRef("prod/json", field="user"),
        whole=SecretRef("prod/json", transform="json"),
        cfg=ParameterRef("/app/cfg", transform="json"),
        key=ParameterRef("/app/key", max_age=10),
    )
    def handler(event: Any, context: Any = None, **values: Any) -> dict[str, Any]:
        return {"event": event, **values}

    assert handler.__name__ == "handler"
    assert handler({"n": 1}) == {
        "event": {"n": 1},
        "db": "pw-current",
        "user": "app",
        "whole": {"user": "app", "password": "pw-json"},
        "cfg": {"level": 3},
        "key": "param-value",
    }
    store.set_secret("prod/db", "pw-rotated")
    store.set_parameter("/app/key", "key-rotated")
    assert handler({})["db"] == "pw-current"  # within max_age: served from memory
    clock.advance(10)
    assert handler({})["key"] == "key-rotated"  # the ref's own max_age
    assert handler({})["db"] == "pw-current"
    clock.advance(50)
    assert handler({})["db"] == "pw-rotated"  # rotation reaches the running handler


def test_inject_secrets_max_age_is_the_default_for_every_ref(
    store: FakeSecrets, clock: FakeClock
) -> None:
    cache = SecretCache(backend=store, clock=clock, max_age=3600, jitter=0)

    @inject_secrets(cache=cache, max_age=30, db="prod/db")
    def handler(db: str) -> str:
        return db

    handler()
    store.set_secret("prod/db", "pw-rotated")
    clock.advance(30)
    assert handler() == "pw-rotated"


def test_prefetch_fetches_every_ref_concurrently_at_decoration(store: FakeSecrets) -> None:
    barrier = threading.Barrier(3, timeout=WAIT)  # breaks unless all three fetch at once

    class Meeting:
        def secret(self, *args: Any) -> Any:
            barrier.wait()
            return store.secret(*args)

        def parameter(self, *args: Any) -> Any:
            barrier.wait()
            return store.parameter(*args)

    cache = SecretCache(backend=Meeting(), clock=FakeClock())
    decorate = inject_secrets(
        cache=cache, prefetch=True, db="prod/db", j="prod/json", key=ParameterRef("/app/key")
    )
    assert store.calls == {"secret": 2, "parameter": 1}  # before any handler exists

    @decorate
    def handler(**values: Any) -> dict[str, Any]:
        return values

    assert handler() == {
        "db": "pw-current",
        "j": '{"user": "app", "password": "pw-json"}',
        "key": "param-value",
    }
    assert store.calls == {"secret": 2, "parameter": 1}


def test_without_prefetch_nothing_is_fetched_before_the_first_call(store: FakeSecrets) -> None:
    cache = SecretCache(backend=store, clock=FakeClock())

    @inject_secrets(cache=cache, db="prod/db")
    def handler(db: str) -> str:
        return db

    assert total(store) == 0
    assert handler() == "pw-current"
    assert total(store) == 1


class AuthError(Exception):
    pass


def test_refresh_on_refetches_and_retries_once(store: FakeSecrets, clock: FakeClock) -> None:
    cache = SecretCache(backend=store, clock=clock)
    runs: list[str] = []
    current = {"password": "pw-current"}

    @inject_secrets(cache=cache, refresh_on=(AuthError,), db="prod/db")
    def handler(event: Any, db: str) -> str:
        runs.append(db)
        if db != current["password"]:
            raise AuthError("password authentication failed")
        return "connected"

    assert handler({}) == "connected"
    # The rotation race: the database has the new password, the cache the old one.
    store.set_secret("prod/db", "pw-rotated")
    current["password"] = "pw-rotated"
    assert handler({}) == "connected"
    assert runs == ["pw-current", "pw-current", "pw-rotated"]
    assert store.calls["secret"] == 2
    # A failure that persists after the refresh is raised, after exactly one retry.
    current["password"] = "something else"
    runs.clear()
    with pytest.raises(AuthError):
        handler({})
    assert runs == ["pw-rotated", "pw-rotated"]


def test_other_errors_are_not_retried(store: FakeSecrets) -> None:
    cache = SecretCache(backend=store, clock=FakeClock())
    runs = []

    @inject_secrets(cache=cache, refresh_on=(AuthError,), db="prod/db")
    def handler(db: str) -> None:
        runs.append(db)
        raise ValueError("bad event")

    with pytest.raises(ValueError, match="bad event"):
        handler()
    assert len(runs) == 1
    assert store.calls["secret"] == 1


def test_inject_secrets_on_an_async_handler(store: FakeSecrets, clock: FakeClock) -> None:
    cache = SecretCache(backend=store, clock=clock)
    attempts = []

    @inject_secrets(cache=cache, refresh_on=(AuthError,), db="prod/db")
    async def handler(event: Any, db: str) -> str:
        attempts.append(db)
        if len(attempts) == 1:
            raise AuthError
        return db

    assert asyncio.run(handler({})) == "pw-current"
    assert len(attempts) == 2
    assert store.calls["secret"] == 2  # refreshed between the attempts


def test_inject_secrets_uses_the_default_cache(fake_secrets: FakeSecrets) -> None:
    fake_secrets.set_secret("prod/db", "from-the-fixture")

    @inject_secrets(db="prod/db")
    def handler(db: str) -> str:
        return db

    assert handler() == "from-the-fixture"
    assert secrets.get_secret("prod/db") == "from-the-fixture"
    assert fake_secrets.calls["secret"] == 1


def test_a_missing_field_is_a_not_found_error_without_the_value(cache: SecretCache) -> None:
    @inject_secrets(cache=cache, x=SecretRef("prod/json", field="nope"))
    def handler(x: str) -> str:
        return x

    with pytest.raises(SecretNotFoundError, match="nope") as caught:
        handler()
    assert "pw-json" not in str(caught.value)


# --- the module functions and the default cache ----------------------------------------------


def test_module_functions_use_the_default_cache(fake_secrets: FakeSecrets) -> None:
    fake_secrets.set_secret("prod/db", "pw")
    fake_secrets.set_parameter("/a/x", "1")
    fake_secrets.set_parameter("/a/y", "2")
    fake_secrets.set_item("t", "k", "v")
    assert secrets.get_secret("prod/db") == "pw"
    assert secrets.get_parameter("/a/x") == "1"
    assert secrets.get_parameters(["/a/x", "/a/y"]) == {"/a/x": "1", "/a/y": "2"}
    assert secrets.get_parameters_by_path("/a") == {"/a/x": "1", "/a/y": "2"}
    assert secrets.get_item_parameter("t", "k") == "v"
    fake_secrets.set_secret("prod/db", "pw2")
    assert secrets.get_secret("prod/db") == "pw"
    secrets.refresh("prod/db")
    assert secrets.get_secret("prod/db") == "pw2"
    fake_secrets.set_secret("prod/db", "pw3")
    secrets.invalidate("prod/db")
    assert secrets.get_secret("prod/db") == "pw3"
    secrets.invalidate()
    assert len(secrets.default_cache()) == 0


# --- SnapStart and the cheap import ---------------------------------------------------------------


@pytest.fixture
def no_default_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default cache is created afresh in this test (and the old one put back after)."""
    monkeypatch.setattr(secrets, "_default", None)


def test_after_a_snapstart_restore_the_default_cache_is_emptied(
    monkeypatch: pytest.MonkeyPatch, no_default_cache: None
) -> None:
    hooks: list[Callable[[], Any]] = []
    runtime = types.ModuleType("snapshot_restore_py")

    def register_after_restore(hook: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hooks.append(lambda: hook(*args, **kwargs))
        return hook

    runtime.register_after_restore = register_after_restore  # type: ignore[attr-defined]
    runtime.register_before_snapshot = lambda hook, *a, **k: hook  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)

    cache = secrets.default_cache()
    assert len(hooks) == 1
    assert secrets.default_cache() is cache
    assert len(hooks) == 1  # registered once, with the cache
    with fake_secrets({"prod/db": "before-snapshot"}) as fake:
        assert secrets.get_secret("prod/db") == "before-snapshot"
        fake.set_secret("prod/db", "rotated-while-frozen")
        assert secrets.get_secret("prod/db") == "before-snapshot"
        hooks[0]()  # the runtime restores the snapshot
        assert len(cache) == 0
        assert secrets.get_secret("prod/db") == "rotated-while-frozen"
        assert fake.calls["secret"] == 2


def test_without_snapstart_support_the_default_cache_is_made_all_the_same(
    monkeypatch: pytest.MonkeyPatch, no_default_cache: None
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails
    assert isinstance(secrets.default_cache(), SecretCache)


def test_importing_and_configuring_secrets_does_not_import_boto3() -> None:
    code = (
        "import sys, lambdakit.secrets as s\n"
        "s.default_cache(); s.SecretCache(); s.inject_secrets(db='prod/db')\n"
        "print('boto3' in sys.modules, 'botocore' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_importing_lambdakit_testing_does_not_import_secrets_or_boto3() -> None:
    code = (
        "import sys, lambdakit.testing\n"
        "print('lambdakit.secrets' in sys.modules, 'boto3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --- secret values never show ---------------------------------------------------------------------

KNOWN = {
    "prod/db": "Zq9-secret-db-password",
    "prod/json": '{"password": "Zq9-secret-json-field", "user": "Zq9-secret-json-user"}',
    "/app/token": "Zq9-secret-parameter",
    "/app/bad": "Zq9-secret-not-json",
}
LEAKS = ("Zq9-secret", "Zq9")


def test_secret_values_never_appear_in_logs_reprs_or_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    fake = FakeSecrets(KNOWN)
    cache = SecretCache(backend=fake, clock=clock, max_age=10)
    texts: list[str] = []

    def shown(*objects: Any) -> None:
        for thing in objects:
            texts.extend((repr(thing), str(thing)))
            if isinstance(thing, BaseException):
                texts.append("".join(traceback.format_exception(thing)))

    caplog.set_level(logging.DEBUG)  # every logger, every level
    ref, pref = SecretRef("prod/json", field="password"), ParameterRef("/app/token")

    @inject_secrets(cache=cache, refresh_on=(AuthError,), pw=ref, token=pref, db="prod/db")
    def handler(pw: str, token: str, db: str) -> str:
        if clock.now() < 1005:
            raise AuthError("login failed")  # names no value, as a real driver's error would
        return "ok"

    # misses, hits, transforms, refresh_on, expiry
    cache.get_secret("prod/db")
    cache.get_secret("prod/db")
    cache.get_secret("prod/json", transform="json")
    cache.get_parameters(["/app/token", "/app/none"], raise_on_missing=False)
    with pytest.raises(AuthError):
        handler()
    clock.advance(11)
    assert handler() == "ok"
    # stale serving with a warning, back-off
    fake.fail()
    clock.advance(11)
    cache.get_secret("prod/db")
    cache.get_secret("prod/db")
    # errors: fetch without a value, not found, access, transform
    errors: list[BaseException] = []
    for attempt in (
        lambda: cache.get_parameter("/app/token", decrypt=False),
        lambda: cache.get_parameter("/app/token", decrypt=False),
    ):
        with pytest.raises(SecretsError) as caught:
            attempt()
        errors.append(caught.value)
    fake.recover()
    for attempt in (
        lambda: cache.get_secret("prod/none"),
        lambda: cache.get_parameter("/app/bad", transform="json"),
        lambda: cache.get_secret("prod/db", transform="binary"),
        lambda: cache.get_parameters(["/app/bad", "/app/none"]),
    ):
        with pytest.raises(SecretsError) as caught:
            attempt()
        errors.append(caught.value)
    fake.fail(SecretAccessError)
    clock.advance(cache.max_stale)
    with pytest.raises(SecretAccessError) as denied:
        cache.get_secret("prod/db")
    errors.append(denied.value)
    logging.getLogger("lambdakit").exception("a handler logs what it caught", exc_info=errors[0])

    shown(cache, ref, pref, fake, *cache._entries.values(), *errors)
    texts.append(caplog.text)
    texts.extend(r.getMessage() for r in caplog.records)
    assert any(r.name == "lambdakit.secrets" for r in caplog.records)  # the stale warning
    for text in texts:
        for value in LEAKS:
            assert value not in text, f"a secret value shows in: {text[:300]}"


# --- fake_secrets -----------------------------------------------------------------------------


def test_fake_secrets_sorts_keys_into_secrets_and_parameters() -> None:
    fake = fake_secrets({"prod/db": "pw", "/app/x": "1", "prod/j": {"a": 1}, "prod/b": b"\x00"})
    assert fake.secret("prod/db", "AWSCURRENT", None) == "pw"
    assert fake.secret("prod/j", None, None) == '{"a": 1}'
    assert fake.secret("prod/b", "AWSCURRENT", None) == b"\x00"
    assert fake.parameter("/app/x", True) == "1"
    with pytest.raises(SecretNotFoundError):
        fake.secret("/app/x", "AWSCURRENT", None)
    with pytest.raises(SecretNotFoundError):
        fake.parameter("prod/db", True)
    with pytest.raises(TypeError):
        fake_secrets({"prod/n": 5})
    with pytest.raises(ValueError, match="start with"):
        fake.set_parameter("no-slash", "x")


def test_fake_secrets_keeps_versions_like_secrets_manager() -> None:
    fake = FakeSecrets()
    first = fake.set_secret("s", "one")
    second = fake.set_secret("s", "two")
    assert fake.secret("s", "AWSCURRENT", None) == "two"
    assert fake.secret("s", "AWSPREVIOUS", None) == "one"
    assert fake.secret("s", None, first) == "one"
    assert fake.secret("s", "AWSCURRENT", second) == "two"
    with pytest.raises(SecretNotFoundError):
        fake.secret("s", "AWSCURRENT", first)  # that version is not current any more
    with pytest.raises(SecretNotFoundError):
        fake.secret("s", "AWSPENDING", None)
    fake.set_secret("s", "three", version_stage="AWSPENDING")
    assert fake.secret("s", "AWSPENDING", None) == "three"
    assert fake.secret("s", "AWSCURRENT", None) == "two"
    fake.delete("s")
    with pytest.raises(SecretNotFoundError):
        fake.secret("s", "AWSCURRENT", None)


def test_fake_secrets_parameters() -> None:
    fake = fake_secrets({"/a/x": "1", "/a/b/y": "2", "/ab/z": "3", "shh": "s"})
    fake.set_parameter("/a/secure", "plain", secure=True)
    assert fake.parameter("/a/secure", True) == "plain"
    assert fake.parameter("/a/secure", False) == "<encrypted>"
    assert fake.parameter("/aws/reference/secretsmanager/shh", True) == "s"
    assert fake.parameters(["/a/x", "/nope"], True) == ({"/a/x": "1"}, ["/nope"])
    with pytest.raises(ValueError, match="at most 10"):
        fake.parameters([f"/p{i}" for i in range(11)], True)
    assert fake.parameters_by_path("/a", True, True) == {
        "/a/b/y": "2",
        "/a/secure": "plain",
        "/a/x": "1",
    }
    assert fake.parameters_by_path("/a/", False, False) == {"/a/secure": "<encrypted>", "/a/x": "1"}
    assert fake.parameters_by_path("/none", True, True) == {}


def test_fake_secrets_counts_every_fetch_and_fails_on_demand() -> None:
    fake = fake_secrets({"prod/db": "pw", "/p": "1"})
    fake.secret("prod/db", "AWSCURRENT", None)
    fake.parameters(["/p"], True)
    fake.parameter("/p", True)
    fake.parameter("/p", False)
    assert fake.calls == {"secret": 1, "parameters": 1, "parameter": 2}
    assert fake.requests[:2] == [("secret", "prod/db"), ("parameters", ("/p",))]
    fake.fail()
    with pytest.raises(SecretFetchError):
        fake.secret("prod/db", "AWSCURRENT", None)
    boom = SecretAccessError("denied")
    fake.fail(boom)
    with pytest.raises(SecretAccessError) as caught:
        fake.parameter("/p", True)
    assert caught.value is boom
    fake.recover()
    assert fake.parameter("/p", True) == "1"
    assert fake.calls["parameter"] == 4
    fake.reset_calls()
    assert fake.calls == {}
    assert fake.requests == []
    assert "pw" not in repr(fake)


def test_fake_secrets_as_a_context_manager_installs_and_restores(
    monkeypatch: pytest.MonkeyPatch, no_default_cache: None
) -> None:
    cache = secrets.default_cache()
    assert cache._backend is None  # not chosen yet
    with fake_secrets({"prod/db": "outer"}) as outer:
        assert secrets.get_secret("prod/db") == "outer"
        with fake_secrets({"prod/db": "inner"}) as inner:
            assert cache.backend is inner
            assert secrets.get_secret("prod/db") == "inner"  # the cache was emptied
        assert cache.backend is outer
        assert secrets.get_secret("prod/db") == "outer"
        assert outer.calls["secret"] == 2
    assert cache._backend is None  # the choice is made again, from the environment
    assert len(cache) == 0
    monkeypatch.setenv("LAMBDAKIT_SECRETS_BACKEND", "extension")
    assert type(cache.backend).__name__ == "ExtensionBackend"


def test_fake_secrets_on_a_cache_of_ones_own() -> None:
    own = SecretCache(backend=FakeSecrets({"prod/db": "first"}))
    assert own.get_secret("prod/db") == "first"
    with fake_secrets({"prod/db": "second"}, cache=own):
        assert own.get_secret("prod/db") == "second"
    assert own.get_secret("prod/db") == "first"


def test_the_fixture_installs_a_fake_on_the_default_cache(fake_secrets: FakeSecrets) -> None:
    assert secrets.default_cache().backend is fake_secrets
    fake_secrets.set_parameter("/app/x", "1")
    assert secrets.get_parameter("/app/x") == "1"
    assert secrets.get_parameter("/app/x") == "1"
    assert fake_secrets.calls == {"parameter": 1}


def test_the_plugin_isolates_tests_that_use_secrets(pytester: pytest.Pytester) -> None:
    # The reset between tests does not load lambdakit.secrets into a suite that never uses it.
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_one():
            pass

        def test_the_plugin_did_not_load_secrets():
            assert "lambdakit.secrets" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_plain.py")
    result.assert_outcomes(passed=2)

    pytester.makepyfile(
        test_app="""
        from lambdakit import secrets

        class Static:
            value = "one"
            def secret(self, name, stage, version):
                return self.value

        static = Static()
        secrets.default_cache().backend = static

        def test_1_first():
            assert secrets.get_secret("prod/db") == "one"

        def test_2_the_cache_was_emptied_between_tests():
            static.value = "two"
            assert secrets.get_secret("prod/db") == "two"

        def test_3_fixture(fake_secrets):
            fake_secrets.set_secret("prod/db", "fake")
            assert secrets.get_secret("prod/db") == "fake"
            assert fake_secrets.calls["secret"] == 1

        def test_4_the_fixture_put_the_backend_back():
            assert secrets.default_cache().backend is static
            assert secrets.get_secret("prod/db") == "two"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_app.py")
    result.assert_outcomes(passed=4)
