"""The pytest plugin users get by installing lambdakit: fixtures, and isolation between tests."""

from __future__ import annotations

import pytest

from lambdakit.idempotency import InMemoryStore

pytest_plugins = ["pytester"]


def test_idempotency_store_is_a_fresh_in_memory_store(idempotency_store: InMemoryStore) -> None:
    assert isinstance(idempotency_store, InMemoryStore)
    assert idempotency_store.records() == {}
    assert idempotency_store.requests == 0


def test_local_caches_do_not_leak_from_one_test_into_the_next(
    pytester: pytest.Pytester,
) -> None:
    # A module-level handler with a local cache, as in a user's app: without the plugin's reset
    # the second test would be answered from the first test's cache although its store is empty.
    pytester.makepyfile(
        """
        from lambdakit.idempotency import InMemoryStore, idempotent

        store = InMemoryStore()
        runs = []

        @idempotent(store, key="order_id", local_cache=True)
        def handler(event, context=None):
            runs.append(event["order_id"])
            return len(runs)

        def test_first():
            assert handler({"order_id": 1}) == 1

        def test_second_starts_from_an_empty_store():
            store.clear()
            assert handler({"order_id": 1}) == 2
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_integration_marker_is_registered_for_strict_marker_suites(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.integration
        def test_against_a_server():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=1)
