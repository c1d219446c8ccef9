"""A result that cannot be stored: the lock is released and IdempotencySerializationError raised.

The function has already run when its result is converted, so nothing can make the call as if
it had not happened; what must not happen is a lock left INPROGRESS (every duplicate refused
for up to 15 minutes) or a raw exception from a user's ``to_dict()`` that says nothing about
idempotency. Whatever fails (a conversion method, JSON encoding, the store's size limit), the
caller gets one error naming the function and what failed, with the original as its cause.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from lambdakit.batch import process_batch
from lambdakit.errors import IdempotencySerializationError
from lambdakit.idempotency import INPROGRESS, InMemoryStore, StoredRecord, idempotent
from lambdakit.testing import FakeClock, LambdaContext, sqs_event


class Boom(Exception):
    pass


class ToDictRaises:
    def to_dict(self) -> dict[str, Any]:
        raise Boom("to_dict broke")


class ModelDumpRaises:
    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        raise Boom("model_dump broke")


class CannotCopy:
    def __deepcopy__(self, memo: Any) -> Any:
        raise Boom("cannot be copied")


@dataclass
class DataclassWithUncopyableField:
    inner: CannotCopy = field(default_factory=CannotCopy)


class ToDictReturnsAnObject:
    def to_dict(self) -> dict[str, Any]:
        return {"handle": object()}


UNSTORABLE: list[tuple[str, Any, type[BaseException], str]] = [
    ("to_dict raises", ToDictRaises(), Boom, r"ToDictRaises\.to_dict\(\) raised Boom"),
    ("model_dump raises", ModelDumpRaises(), Boom, r"ModelDumpRaises\.model_dump\(\) raised"),
    (
        "asdict raises",
        DataclassWithUncopyableField(),
        Boom,
        r"dataclasses\.asdict\(\) of DataclassWithUncopyableField raised",
    ),
    ("to_dict gives something unsupported", ToDictReturnsAnObject(), TypeError, "object"),
    ("not JSON at all", object(), TypeError, "object is not JSON serializable"),
    ("float NaN", {"total": float("nan")}, ValueError, "Out of range float"),
    ("an int too long for str()", {"n": 10**5000}, ValueError, "integer string conversion"),
]


def unstorable_cases() -> Any:
    return pytest.mark.parametrize(
        ("result", "original", "what"),
        [case[1:] for case in UNSTORABLE],
        ids=[case[0] for case in UNSTORABLE],
    )


def a_handler(store: InMemoryStore, first_result: Any) -> tuple[Any, list[int]]:
    runs: list[int] = []

    @idempotent(store, key="order_id")
    def charge(event: dict[str, Any], context: Any = None) -> Any:
        runs.append(1)
        return first_result if len(runs) == 1 else "stored"

    return charge, runs


class TestAnUnstorableResult:
    @unstorable_cases()
    def test_raises_a_serialization_error_with_the_original_as_cause(
        self, result: Any, original: type[BaseException], what: str
    ) -> None:
        charge, _ = a_handler(InMemoryStore(), result)
        with pytest.raises(IdempotencySerializationError, match=what) as caught:
            charge({"order_id": 1}, LambdaContext())
        assert isinstance(caught.value.__cause__, original)

    @unstorable_cases()
    def test_the_message_names_the_function_and_says_it_ran(
        self, result: Any, original: type[BaseException], what: str
    ) -> None:
        charge, _ = a_handler(InMemoryStore(), result)
        with pytest.raises(IdempotencySerializationError) as caught:
            charge({"order_id": 1}, LambdaContext())
        message = str(caught.value)
        assert f"{__name__}.a_handler.<locals>.charge" in message
        assert "has run" in message
        assert "runs it again" in message

    @unstorable_cases()
    def test_the_lock_is_released_and_the_next_delivery_runs_the_function(
        self, result: Any, original: type[BaseException], what: str
    ) -> None:
        store = InMemoryStore()
        charge, runs = a_handler(store, result)
        with pytest.raises(IdempotencySerializationError):
            charge({"order_id": 1}, LambdaContext())
        assert store.records() == {}
        assert charge({"order_id": 1}, LambdaContext()) == "stored"
        assert len(runs) == 2

    def test_only_our_own_lock_is_released(self) -> None:
        # The call outlived its lock and another call took the key over: releasing must leave
        # the newer lock alone (the release is conditional on our lock token).
        clock = FakeClock(start=1_000_000)
        store = InMemoryStore(clock=clock)
        newer = StoredRecord("k", INPROGRESS, 0, 0)

        @idempotent(store, key="order_id", in_progress_expires_after=10)
        def charge(event: dict[str, Any], context: Any = None) -> Any:
            nonlocal newer
            clock.advance(11)
            [key] = store.records()
            now = clock()
            newer = StoredRecord(key, INPROGRESS, int(now + 60), int((now + 60) * 1000), token="t")
            assert store.acquire(newer) is None
            return ToDictRaises()

        with pytest.raises(IdempotencySerializationError):
            charge({"order_id": 1})
        assert list(store.records().values()) == [newer]

    def test_an_async_function_releases_its_lock_too(self) -> None:
        store = InMemoryStore()
        runs: list[int] = []

        @idempotent(store, key="order_id")
        async def charge(event: dict[str, Any], context: Any = None) -> Any:
            runs.append(1)
            return ToDictRaises() if len(runs) == 1 else "stored"

        with pytest.raises(IdempotencySerializationError, match="to_dict") as caught:
            asyncio.run(charge({"order_id": 1}))
        assert isinstance(caught.value.__cause__, Boom)
        assert store.records() == {}
        assert asyncio.run(charge({"order_id": 1})) == "stored"

    def test_under_process_batch_the_record_fails_and_its_lock_is_released(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        store = InMemoryStore()

        @process_batch
        @idempotent(store, key="body.order_id")
        def record_handler(record: Any) -> Any:
            return ToDictRaises() if record.json()["order_id"] == 2 else "ok"

        event = sqs_event([{"order_id": 1}, {"order_id": 2}])
        with caplog.at_level(logging.WARNING, logger="lambdakit.batch"):
            response = record_handler(event, LambdaContext(timeout=10))
        assert response == {
            "batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]
        }
        failures = [r.exc_info[1] for r in caplog.records if r.exc_info]
        assert [type(f) for f in failures] == [IdempotencySerializationError]
        assert [r.status for r in store.records().values()] == ["COMPLETED"]

    def test_an_interrupt_while_converting_releases_the_lock_and_propagates(self) -> None:
        store = InMemoryStore()

        class Interrupted:
            def to_dict(self) -> dict[str, Any]:
                raise KeyboardInterrupt

        charge, _ = a_handler(store, Interrupted())
        with pytest.raises(KeyboardInterrupt):
            charge({"order_id": 1})
        assert store.records() == {}

    def test_a_lock_that_cannot_be_released_is_reported_as_still_held(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        from lambdakit.errors import IdempotencyPersistenceError

        class ReleaseFails(InMemoryStore):
            def release(self, lock: StoredRecord) -> None:
                raise IdempotencyPersistenceError("DeleteItem throttled")

        charge, _ = a_handler(ReleaseFails(), ToDictRaises())
        with (
            caplog.at_level(logging.WARNING, logger="lambdakit.idempotency"),
            pytest.raises(IdempotencySerializationError) as caught,
        ):
            charge({"order_id": 1})
        assert "could not be released" in str(caught.value)
        assert "after the lock expires runs it again" in str(caught.value)
        assert "DeleteItem throttled" in caplog.text
