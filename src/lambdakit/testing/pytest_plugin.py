"""lambdakit's pytest plugin, registered through the ``pytest11`` entry point.

Installing lambdakit makes these fixtures available in every test suite, with no conftest:

- ``lambda_context``: a fresh :class:`~lambdakit.testing.LambdaContext` per test.
- ``fake_clock``: a :class:`~lambdakit.testing.FakeClock` per test.
- ``lambda_context_factory``: build contexts with other settings (``timeout=`` ...).
- ``idempotency_store``: a fresh :class:`~lambdakit.idempotency.InMemoryStore` per test.
- ``fake_secrets``: a :class:`~lambdakit.testing.FakeSecrets` installed as the backend of the
  default secrets cache for one test (preload it with ``set_secret``/``set_parameter``; its
  ``calls`` count the fetches); the previous backend is put back after the test.
- ``dynamodb_local``: AWS's DynamoDB Local, started once per session on a free loopback port
  (see :mod:`lambdakit.testing.dynamodb_local` for where the server is found).

Between tests the plugin empties every idempotency local cache and the default secrets cache,
so a result or a secret cached by one test is never served in the next.
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


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def lambda_context_factory() -> Callable[..., LambdaContext]:
    def make(**options: Any) -> LambdaContext:
        return LambdaContext(**options)

    return make


@pytest.fixture
def idempotency_store() -> InMemoryStore:
    from lambdakit.idempotency import InMemoryStore

    return InMemoryStore()


@pytest.fixture
def fake_secrets() -> Iterator[FakeSecrets]:
    from lambdakit.testing.secrets import FakeSecrets

    with FakeSecrets() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _lambdakit_reset_local_caches() -> Iterator[None]:
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
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    from lambdakit.testing.dynamodb_local import DynamoDBLocal

    with DynamoDBLocal() as server:
        yield server
