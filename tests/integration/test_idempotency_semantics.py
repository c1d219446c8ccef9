"""Idempotency semantics, one suite run against every store (in memory, and DynamoDB Local).

Each test states one rule of the issue: how many requests each path costs, what a duplicate
gets, what happens when the function raises, crashes, returns something unstorable, races
with itself, or runs under process_batch.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from lambdakit.batch import process_batch
from lambdakit.errors import (
    IdempotencyAlreadyInProgressError,
    IdempotencyKeyError,
    IdempotencyPayloadMismatchError,
    IdempotencyPersistenceError,
    IdempotencySerializationError,
)
from lambdakit.events import SQSRecord as SQSRecordView
from lambdakit.idempotency import COMPLETED, INPROGRESS, StoredRecord, idempotent
from lambdakit.testing import LambdaContext, sqs_event
from tests.integration.idempotency_backends import Backend, SpyStore


class Counter:
    """Counts how often a function body really ran."""

    def __init__(self) -> None:
        self.runs = 0
        self._lock = threading.Lock()

    def ran(self) -> int:
        with self._lock:
            self.runs += 1
            return self.runs


def context(clock: Any = None, timeout: float = 60.0) -> LambdaContext:
    return LambdaContext(timeout=timeout, clock=clock) if clock else LambdaContext(timeout=timeout)


class TestFirstCallAndDuplicates:
    def test_first_call_locks_runs_and_stores_in_two_requests(self, backend: Backend) -> None:
        body = Counter()

        @idempotent(backend.store, key="order_id", key_prefix="orders")
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            body.ran()
            return {"charged": event["amount"]}

        assert handler({"order_id": 1, "amount": 5}, context()) == {"charged": 5}
        assert body.runs == 1
        assert backend.requests() == 2
        stored = backend.store.get(handler_key(handler, {"order_id": 1, "amount": 5}))
        assert stored is not None
        assert stored.status == COMPLETED
        assert stored.expiration == int(backend.clock() + 3600)

    @pytest.mark.parametrize("result", [None, 0, False, "", [], {}, {"ok": True}])
    def test_a_duplicate_replays_the_stored_result_in_one_request(
        self, backend: Backend, result: Any
    ) -> None:
        body = Counter()

        @idempotent(backend.store, key="order_id")
        def handler(event: dict[str, Any], context: Any) -> Any:
            body.ran()
            return result

        assert handler({"order_id": 1}, context()) == result
        before = backend.requests()
        replayed = handler({"order_id": 1}, context())
        assert replayed == result
        assert type(replayed) is type(result)
        assert body.runs == 1
        assert backend.requests() - before == 1

    def test_a_local_cache_hit_costs_no_request_and_still_validates(self, backend: Backend) -> None:
        body = Counter()

        @idempotent(backend.store, key="order_id", validate="amount", local_cache=True)
        def handler(event: dict[str, Any], context: Any) -> int:
            return body.ran()

        assert handler({"order_id": 1, "amount": 5}, context()) == 1
        before = backend.requests()
        assert handler({"order_id": 1, "amount": 5}, context()) == 1
        assert backend.requests() == before
        with pytest.raises(IdempotencyPayloadMismatchError, match="'amount' fields differ"):
            handler({"order_id": 1, "amount": 6}, context())
        assert backend.requests() == before
        assert body.runs == 1

    def test_validation_is_checked_on_the_one_request_duplicate_path(
        self, backend: Backend
    ) -> None:
        @idempotent(backend.store, key="order_id", validate="[amount, currency]")
        def handler(event: dict[str, Any], context: Any) -> str:
            return "charged"

        handler({"order_id": 1, "amount": 5, "currency": "EUR"}, context())
        before = backend.requests()
        with pytest.raises(IdempotencyPayloadMismatchError) as caught:
            handler({"order_id": 1, "amount": 5, "currency": "USD"}, context())
        assert backend.requests() - before == 1
        assert "USD" not in str(caught.value)
        assert "EUR" not in str(caught.value)
        assert handler({"order_id": 1, "amount": 5, "currency": "EUR"}, context()) == "charged"

    def test_expired_records_count_as_absent(self, backend: Backend) -> None:
        body = Counter()

        @idempotent(backend.store, key="order_id", expires_after=60)
        def handler(event: dict[str, Any], context: Any) -> int:
            return body.ran()

        assert handler({"order_id": 1}, context()) == 1
        backend.clock.advance(59)
        assert handler({"order_id": 1}, context()) == 1
        backend.clock.advance(2)  # the record is still stored (TTL deletes lazily) but expired
        assert handler({"order_id": 1}, context()) == 2

    def test_dataclass_results_are_rebuilt_with_output_type(self, backend: Backend) -> None:
        @dataclass
        class Receipt:
            order_id: int
            total: float

        @idempotent(backend.store, key="order_id", output_type=Receipt)
        def handler(event: dict[str, Any], context: Any) -> Receipt:
            return Receipt(event["order_id"], 9.5)

        assert handler({"order_id": 3}, context()) == Receipt(3, 9.5)
        assert handler({"order_id": 3}, context()) == Receipt(3, 9.5)

    def test_objects_with_an_async_call_are_awaited(self, backend: Backend) -> None:
        class Handler:
            async def __call__(self, event: dict[str, Any], context: Any) -> str:
                return "charged"

        handler = idempotent(backend.store, key="order_id", key_prefix="h")(Handler())
        assert asyncio.run(handler({"order_id": 1}, context())) == "charged"
        assert asyncio.run(handler({"order_id": 1}, context())) == "charged"

    def test_async_functions(self, backend: Backend) -> None:
        body = Counter()

        @idempotent(backend.store, key="order_id")
        async def handler(event: dict[str, Any], context: Any) -> int:
            await asyncio.sleep(0)
            return body.ran()

        assert asyncio.run(handler({"order_id": 1}, context())) == 1
        assert asyncio.run(handler({"order_id": 1}, context())) == 1
        assert body.runs == 1


class RetriedWriteStore(SpyStore):
    """A lock write whose response was lost: botocore sends it again, and the second attempt
    meets the lock the first one wrote."""

    def acquire(self, record: StoredRecord) -> StoredRecord | None:
        self.inner.acquire(record)
        return self.inner.acquire(record)


class TestRetriedWrites:
    def test_a_call_that_meets_its_own_lock_holds_it(self, backend: Backend) -> None:
        body = Counter()

        @idempotent(RetriedWriteStore(backend.store), key="order_id")
        def handler(event: dict[str, Any], context: Any) -> int:
            return body.ran()

        assert handler({"order_id": 1}, context()) == 1
        assert handler({"order_id": 1}, context()) == 1
        assert body.runs == 1


class TestMissingKeys:
    def test_a_missing_key_raises_by_default_without_running_or_writing(
        self, backend: Backend
    ) -> None:
        @idempotent(backend.store, key="order_id")
        def handler(event: dict[str, Any], context: Any) -> None:
            raise AssertionError("must not run")

        with pytest.raises(IdempotencyKeyError, match="order_id"):
            handler({"other": 1}, context())
        assert backend.requests() == 0

    def test_on_missing_key_run_warns_and_runs_unguarded(
        self, backend: Backend, caplog: pytest.LogCaptureFixture
    ) -> None:
        body = Counter()

        @idempotent(backend.store, key="order_id", on_missing_key="run")
        def handler(event: dict[str, Any], context: Any) -> int:
            return body.ran()

        with caplog.at_level(logging.WARNING, logger="lambdakit.idempotency"):
            assert handler({"other": 1}, context()) == 1
            assert handler({"other": 1}, context()) == 2
        assert backend.requests() == 0
        assert "found nothing in the payload" in caplog.text


class TestFailures:
    def test_when_the_function_raises_the_lock_goes_and_the_exception_is_unchanged(
        self, backend: Backend
    ) -> None:
        raised = ValueError("card declined")
        attempts = Counter()

        @idempotent(backend.store, key="order_id")
        def handler(event: dict[str, Any], context: Any) -> str:
            if attempts.ran() == 1:
                raise raised
            return "charged"

        with pytest.raises(ValueError, match="card declined") as caught:
            handler({"order_id": 1}, context())
        assert caught.value is raised
        assert caught.value.__traceback__ is not None
        assert "raise raised" in "".join(
            __import__("traceback").format_tb(caught.value.__traceback__)
        )
        assert backend.store.get(handler_key(handler, {"order_id": 1})) is None
        assert handler({"order_id": 1}, context()) == "charged"

    def test_an_unstorable_result_raises_before_completion_and_releases_the_lock(
        self, backend: Backend
    ) -> None:
        attempts = Counter()

        @idempotent(backend.store, key="order_id")
        def handler(event: dict[str, Any], context: Any) -> Any:
            return object() if attempts.ran() == 1 else "fixed"

        with pytest.raises(IdempotencySerializationError, match="cannot be stored as JSON"):
            handler({"order_id": 1}, context())
        assert backend.store.get(handler_key(handler, {"order_id": 1})) is None
        assert handler({"order_id": 1}, context()) == "fixed"

    @pytest.mark.parametrize("method", ["to_dict", "model_dump"])
    def test_a_result_whose_conversion_raises_releases_the_lock_in_two_requests(
        self, backend: Backend, method: str
    ) -> None:
        # The conversion is the user's code: whatever it raises, the lock must not stay
        # INPROGRESS (every duplicate refused until it expires); the caller learns that the
        # function ran and that its retry will run it again.
        broken = RuntimeError(f"{method} broke")

        def convert(*args: Any, **kwargs: Any) -> Any:
            raise broken

        unconvertible = type("Receipt", (), {method: convert})()
        attempts = Counter()

        @idempotent(backend.store, key="order_id")
        def handler(event: dict[str, Any], context: Any) -> Any:
            return unconvertible if attempts.ran() == 1 else "fixed"

        with pytest.raises(IdempotencySerializationError, match=rf"Receipt\.{method}\(\)") as e:
            handler({"order_id": 1}, context())
        assert e.value.__cause__ is broken
        assert "handler" in str(e.value)
        assert backend.requests() == 2  # the lock, and its release
        assert backend.store.get(handler_key(handler, {"order_id": 1})) is None
        assert handler({"order_id": 1}, context()) == "fixed"
        assert attempts.runs == 2

    def test_an_async_function_with_an_unstorable_result_releases_the_lock(
        self, backend: Backend
    ) -> None:
        attempts = Counter()

        class Receipt:
            def to_dict(self) -> dict[str, Any]:
                raise RuntimeError("to_dict broke")

        @idempotent(backend.store, key="order_id")
        async def handler(event: dict[str, Any], context: Any) -> Any:
            return Receipt() if attempts.ran() == 1 else "fixed"

        with pytest.raises(IdempotencySerializationError, match=r"Receipt\.to_dict\(\)"):
            asyncio.run(handler({"order_id": 1}, context()))
        assert backend.store.get(handler_key(handler, {"order_id": 1})) is None
        assert asyncio.run(handler({"order_id": 1}, context())) == "fixed"

    def test_under_process_batch_an_unstorable_result_fails_its_record_and_releases_the_lock(
        self, backend: Backend
    ) -> None:
        class Receipt:
            def to_dict(self) -> dict[str, Any]:
                raise RuntimeError("to_dict broke")

        @idempotent(backend.store, key="body.order_id")
        def record_handler(record: Any) -> Any:
            return Receipt() if record.json()["order_id"] == 2 else "ok"

        event = sqs_event([{"order_id": 1}, {"order_id": 2}, {"order_id": 3}])
        response = process_batch(record_handler)(event, context())
        assert response == {
            "batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]
        }
        records = [SQSRecordView(raw) for raw in event["Records"]]
        stored = [backend.store.get(handler_key(record_handler, r)) for r in records]
        assert [s.status if s else None for s in stored] == [COMPLETED, None, COMPLETED]

    def test_a_call_running_longer_than_expires_after_keeps_its_lock(
        self, backend: Backend
    ) -> None:
        body = Counter()
        duplicate: list[BaseException] = []

        @idempotent(backend.store, key="order_id", expires_after=10)
        def handler(event: dict[str, Any], context: Any) -> int:
            run = body.ran()
            if run == 1:
                backend.clock.advance(20)  # past expires_after, within the 60 s lock
                try:
                    handler(event, context)
                except IdempotencyAlreadyInProgressError as exc:
                    duplicate.append(exc)
            return run

        assert handler({"order_id": 1}, context(timeout=60)) == 1
        assert body.runs == 1
        assert len(duplicate) == 1

    def test_a_crashed_call_blocks_its_key_until_its_lock_expires(self, backend: Backend) -> None:
        body = Counter()

        @idempotent(backend.store, key="order_id")
        def handler(event: dict[str, Any], context: Any) -> int:
            return body.ran()

        # What a crash leaves behind: a lock that nobody will release, expiring with the
        # invocation that took it (here 30 s of remaining time).
        key = handler_key(handler, {"order_id": 1})
        now = backend.clock()
        crashed = StoredRecord(key, INPROGRESS, int(now + 3600), int((now + 30) * 1000))
        assert backend.store.acquire(crashed) is None

        with pytest.raises(IdempotencyAlreadyInProgressError):
            handler({"order_id": 1}, context())
        backend.clock.advance(29)
        with pytest.raises(IdempotencyAlreadyInProgressError):
            handler({"order_id": 1}, context())
        backend.clock.advance(2)
        assert handler({"order_id": 1}, context()) == 1


class TestLockExpiry:
    def lock_seconds(self, backend: Backend, call_context: Any, **options: Any) -> float:
        seen: list[float] = []

        @idempotent(backend.store, key="order_id", **options)
        def handler(event: dict[str, Any], context: Any = None) -> None:
            lock = backend.store.get(handler_key(handler, event))
            assert lock is not None
            assert lock.in_progress_expiration is not None
            seen.append(lock.in_progress_expiration / 1000 - backend.clock())

        if call_context is None:
            handler({"order_id": 1})
        else:
            handler({"order_id": 1}, call_context)
        return seen[0]

    def test_the_lock_lasts_the_invocations_remaining_time(self, backend: Backend) -> None:
        from lambdakit.testing import FakeClock

        clock = FakeClock()
        ctx = LambdaContext(timeout=30, clock=clock)
        clock.advance(10)
        assert self.lock_seconds(backend, ctx) == pytest.approx(20, abs=0.01)

    @pytest.mark.parametrize("remaining", [0, None])
    def test_without_usable_remaining_time_the_lock_lasts_15_minutes(
        self, backend: Backend, remaining: int | None
    ) -> None:
        class Context:
            def get_remaining_time_in_millis(self) -> int:
                return 0

        ctx = Context() if remaining == 0 else None
        assert self.lock_seconds(backend, ctx) == pytest.approx(900, abs=0.01)

    def test_a_fixed_lock_time_can_be_configured(self, backend: Backend) -> None:
        assert self.lock_seconds(backend, context(), in_progress_expires_after=42) == pytest.approx(
            42, abs=0.01
        )


class TestConcurrentDuplicates:
    def test_fifty_threads_one_run_the_rest_told_it_is_in_progress(self, backend: Backend) -> None:
        spy = SpyStore(backend.store)
        body = Counter()
        others_done = threading.Event()
        outcomes: list[Any] = []
        outcomes_lock = threading.Lock()

        @idempotent(spy, key="order_id")
        def handler(event: dict[str, Any], context: Any) -> str:
            body.ran()
            assert others_done.wait(60), "the other 49 callers never returned"
            return "charged"

        start = threading.Barrier(50)

        def call() -> None:
            start.wait()
            try:
                outcome: Any = handler({"order_id": 1}, context())
            except IdempotencyAlreadyInProgressError as exc:
                outcome = exc
            with outcomes_lock:
                outcomes.append(outcome)
                if len(outcomes) == 49:
                    others_done.set()

        threads = [threading.Thread(target=call) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert body.runs == 1
        assert outcomes.count("charged") == 1
        assert sum(isinstance(o, IdempotencyAlreadyInProgressError) for o in outcomes) == 49

    def test_fifty_threads_waiting_all_get_the_one_result(self, backend: Backend) -> None:
        spy = SpyStore(backend.store)
        body = Counter()
        results: list[Any] = []
        results_lock = threading.Lock()

        @idempotent(spy, key="order_id", on_duplicate="wait")
        def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
            run = body.ran()
            spy.wait_for_acquires(50)  # every caller has met the lock before we finish
            return {"run": run}

        start = threading.Barrier(50)

        def call() -> None:
            start.wait()
            result = handler({"order_id": 1}, context())
            with results_lock:
                results.append(result)

        threads = [threading.Thread(target=call) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert body.runs == 1
        assert results == [{"run": 1}] * 50

    def test_a_waiting_duplicate_runs_the_function_itself_if_the_holder_fails(
        self, backend: Backend
    ) -> None:
        spy = SpyStore(backend.store)
        body = Counter()
        release = threading.Event()

        @idempotent(spy, key="order_id", on_duplicate="wait")
        def handler(event: dict[str, Any], context: Any) -> str:
            if body.ran() == 1:
                assert release.wait(60)
                raise RuntimeError("holder failed")
            return "second try"

        holder_error: list[BaseException] = []

        def holder() -> None:
            try:
                handler({"order_id": 1}, context())
            except RuntimeError as exc:
                holder_error.append(exc)

        thread = threading.Thread(target=holder)
        thread.start()
        spy.wait_for_acquires(1)
        waiter_result: list[Any] = []
        waiter = threading.Thread(
            target=lambda: waiter_result.append(handler({"order_id": 1}, context()))
        )
        waiter.start()
        spy.wait_for_acquires(2)  # the waiter met the lock
        release.set()
        thread.join(60)
        waiter.join(60)
        assert holder_error
        assert waiter_result == ["second try"]
        assert body.runs == 2

    def test_a_waiting_record_gives_up_when_only_the_batch_margin_is_left(
        self, backend: Backend
    ) -> None:
        from lambdakit.testing import FakeClock

        spy = SpyStore(backend.store)

        @idempotent(spy, key="body.order_id", on_duplicate="wait")
        def record_handler(record: Any) -> None:
            raise AssertionError("the holder never finishes: this must not run")

        event = sqs_event([{"order_id": 1}])
        key = handler_key(record_handler, SQSRecordView(event["Records"][0]))
        now = backend.clock()
        held = StoredRecord(key, INPROGRESS, int(now + 3600), int((now + 600) * 1000))
        spy.acquire(held)  # another invocation holds the order for 10 minutes
        invocation_clock = FakeClock()
        ctx = LambdaContext(timeout=10, clock=invocation_clock)
        responses: list[Any] = []
        batch = process_batch(deadline_margin_ms=3000)(record_handler)
        waiter = threading.Thread(target=lambda: responses.append(batch(event, ctx)))
        waiter.start()
        spy.wait_for_more_gets(2)  # the record is waiting
        invocation_clock.advance(6.5)  # 3.5 s left: more than the 3 s margin, keep waiting
        spy.wait_for_more_gets(2)
        assert waiter.is_alive()
        invocation_clock.advance(1)  # 2.5 s left: the margin is reached
        waiter.join(30)
        assert responses == [
            {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
        ]

    def test_many_async_duplicates_waiting_do_not_starve_the_holder(self, backend: Backend) -> None:
        # Sixteen waiters, more than the event loop's default thread pool has threads: waiting
        # must happen on the loop, or the holder finds no thread to store its result.
        spy = SpyStore(backend.store)
        body = Counter()

        @idempotent(spy, key="order_id", on_duplicate="wait")
        async def handler(event: dict[str, Any], context: Any) -> int:
            run = body.ran()
            await asyncio.to_thread(spy.wait_for_acquires, 16)
            return run

        async def all_at_once() -> list[int]:
            calls = [handler({"order_id": 1}, None) for _ in range(16)]
            return await asyncio.wait_for(asyncio.gather(*calls), timeout=30)

        assert asyncio.run(all_at_once()) == [1] * 16
        assert body.runs == 1

    def test_a_context_reporting_zero_time_does_not_stop_a_duplicate_from_waiting(
        self, backend: Backend
    ) -> None:
        class ZeroContext:
            def get_remaining_time_in_millis(self) -> int:
                return 0

        spy = SpyStore(backend.store)
        release = threading.Event()

        @idempotent(spy, key="order_id", on_duplicate="wait")
        def handler(event: dict[str, Any], context: Any) -> str:
            assert release.wait(30)
            return "stored"

        holder = threading.Thread(target=lambda: handler({"order_id": 1}, ZeroContext()))
        holder.start()
        spy.wait_for_acquires(1)
        results: list[Any] = []
        waiter = threading.Thread(
            target=lambda: results.append(handler({"order_id": 1}, ZeroContext()))
        )
        waiter.start()
        spy.wait_for_more_gets(2)  # waiting, not given up
        release.set()
        holder.join(30)
        waiter.join(30)
        assert results == ["stored"]

    def test_waiting_is_bounded_by_the_remaining_time(self, backend: Backend) -> None:
        key_holder = Counter()

        @idempotent(backend.store, key="order_id", on_duplicate="wait")
        def handler(event: dict[str, Any], context: Any) -> int:
            return key_holder.ran()

        key = handler_key(handler, {"order_id": 1})
        now = backend.clock()
        backend.store.acquire(
            StoredRecord(key, INPROGRESS, int(now + 3600), int((now + 600) * 1000))
        )
        with pytest.raises(IdempotencyAlreadyInProgressError, match="after waiting"):
            handler({"order_id": 1}, LambdaContext(timeout=0.3))
        assert key_holder.runs == 0


class TestUnderProcessBatch:
    def orders_event(self) -> dict[str, Any]:
        # 12 messages, 4 distinct orders: every order is delivered three times.
        return sqs_event([{"order_id": i % 4} for i in range(12)])

    def test_sequential_duplicates_in_one_batch_run_once(self, backend: Backend) -> None:
        ran: list[int] = []

        @process_batch
        @idempotent(backend.store, key="body.order_id")
        def record_handler(record: Any) -> None:
            ran.append(record.json()["order_id"])

        assert record_handler(self.orders_event(), context()) == {"batchItemFailures": []}
        assert sorted(ran) == [0, 1, 2, 3]

    @pytest.mark.parametrize("on_duplicate", ["raise", "wait"])
    def test_duplicates_racing_in_one_batch_run_once_and_none_is_reported(
        self, backend: Backend, on_duplicate: str
    ) -> None:
        # Every record starts at once (12 workers), and each order's first record holds its
        # lock until all 12 records met a lock: the duplicates really race their first copy.
        # They are this batch's own records, so they wait for it in memory and replay its
        # result, whatever on_duplicate says (which governs duplicates in other invocations).
        spy = SpyStore(backend.store)
        ran: list[int] = []
        ran_lock = threading.Lock()

        @process_batch(concurrency=12)
        @idempotent(spy, key="body.order_id", on_duplicate=on_duplicate)
        def record_handler(record: Any) -> int:
            with ran_lock:
                ran.append(record.json()["order_id"])
            spy.wait_for_acquires(12)
            return int(record.json()["order_id"])

        before = backend.requests()
        response = record_handler(self.orders_event(), context())
        assert response == {"batchItemFailures": []}
        assert sorted(ran) == [0, 1, 2, 3]
        # 4 locks, 4 results, 8 failed lock attempts; no polling of the store.
        assert backend.requests() - before == 16

    def test_a_duplicate_meeting_a_lock_its_batch_just_completed_replays_the_result(
        self, backend: Backend
    ) -> None:
        # The duplicate's lock write reads the first record's lock, and the first record
        # completes before the duplicate looks at what it read: it must still replay.
        read_the_lock = threading.Event()
        completed = threading.Event()

        class StaleRead(SpyStore):
            def acquire(self, record: StoredRecord) -> StoredRecord | None:
                found = self.inner.acquire(record)
                if found is not None:
                    read_the_lock.set()
                    assert completed.wait(30)
                return found

            def complete(self, record: StoredRecord) -> None:
                self.inner.complete(record)
                completed.set()

        ran: list[int] = []

        @process_batch(concurrency=2)
        @idempotent(StaleRead(backend.store), key="body.order_id")
        def record_handler(record: Any) -> None:
            ran.append(1)
            assert read_the_lock.wait(30)

        response = record_handler(sqs_event([{"order_id": 1}, {"order_id": 1}]), context())
        assert response == {"batchItemFailures": []}
        assert ran == [1]

    @pytest.mark.parametrize("failure", ["storing the result", "releasing the lock"])
    def test_a_duplicate_of_a_record_that_left_its_lock_in_place_does_not_spin_on_it(
        self, backend: Backend, failure: str
    ) -> None:
        # The first copy's lock stays until it expires: storing its result failed (it ran), or
        # it raised and releasing its lock failed. The racing copy must then be a duplicate in
        # progress like any other (on_duplicate decides), not retry the stuck lock in a loop
        # until the invocation's deadline.
        class StoreFailing(SpyStore):
            def complete(self, record: StoredRecord) -> None:
                raise IdempotencyPersistenceError("throttled beyond the retries")

            def release(self, lock: StoredRecord) -> None:
                raise IdempotencyPersistenceError("throttled beyond the retries")

        spy = StoreFailing(backend.store)

        @process_batch(concurrency=2)
        @idempotent(spy, key="body.order_id")
        def record_handler(record: Any) -> str:
            spy.wait_for_acquires(2)  # the copy met this lock before it is left in place
            if failure == "releasing the lock":
                raise RuntimeError("card declined")
            return "charged"

        event = sqs_event([{"order_id": 1}, {"order_id": 1}])
        response = record_handler(event, context(timeout=10))
        assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(
            r["messageId"] for r in event["Records"]
        )
        assert spy.acquires <= 3

    def test_a_duplicate_in_another_invocation_still_follows_on_duplicate(
        self, backend: Backend
    ) -> None:
        @idempotent(backend.store, key="body.order_id")
        def record_handler(record: Any) -> None:
            raise AssertionError("held by another invocation: must not run")

        event = sqs_event([{"order_id": 1}])
        key = handler_key(record_handler, SQSRecordView(event["Records"][0]))
        now = backend.clock()
        backend.store.acquire(
            StoredRecord(key, INPROGRESS, int(now + 3600), int((now + 60) * 1000))
        )
        response = process_batch(record_handler)(event, context())
        assert response == {
            "batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]
        }

    def test_the_lock_lasts_the_batch_invocations_remaining_time(self, backend: Backend) -> None:
        from lambdakit.testing import FakeClock

        clock = FakeClock()
        ctx = LambdaContext(timeout=120, clock=clock)
        seen: list[float] = []

        @idempotent(backend.store, key="body.order_id")
        def record_handler(record: Any) -> None:
            lock = backend.store.get(handler_key(record_handler, record))
            assert lock is not None
            assert lock.in_progress_expiration is not None
            seen.append(lock.in_progress_expiration / 1000 - backend.clock())

        lambda_handler = process_batch(concurrency=2)(record_handler)
        lambda_handler(sqs_event([{"order_id": 1}, {"order_id": 2}]), ctx)
        assert seen == [pytest.approx(120, abs=0.01)] * 2


def handler_key(decorated: Any, payload: Any) -> str:
    """The key the idempotent function ``decorated`` uses for ``payload``."""
    keys = decorated.idempotency.keys
    made = keys.key(keys.documents(payload), raise_on_missing=True)
    assert made is not None
    return made
