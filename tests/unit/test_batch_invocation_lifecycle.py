"""How an invocation of a batch handler begins and ends: an exception that ends the invocation
(KeyboardInterrupt, SystemExit) ends it for every worker, async record handlers reuse one event
loop across invocations without carrying anything over, and a record exception that cannot even
be printed is still reported."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import pytest

from lambdakit.batch import AllRecordsFailedError, SQSRecord, process_batch
from lambdakit.testing import LambdaContext, sqs_event


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


class Unprintable(Exception):
    """An exception whose repr raises, as a broken third-party exception class can."""

    def __repr__(self) -> str:
        raise RuntimeError("repr is broken")

    def __str__(self) -> str:
        raise RuntimeError("str is broken")


class TestAnExceptionThatEndsTheInvocation:
    """``KeyboardInterrupt`` and ``SystemExit`` are not a record's failure: they end the
    invocation. Once one is raised, no other record may start, on any worker."""

    @pytest.mark.parametrize("ending", [KeyboardInterrupt, SystemExit])
    def test_no_record_starts_on_another_thread_after_it(self, ending: type) -> None:
        started: list[str] = []
        raised = threading.Event()
        lock = threading.Lock()

        @process_batch(concurrency=4)
        def handler(record: SQSRecord) -> None:
            with lock:
                if raised.is_set():
                    started.append(record.body)  # started after the invocation ended
                    return
            if record.body == "3":
                with lock:
                    raised.set()
                raise ending()

        with pytest.raises(ending):
            handler(sqs_event([str(i) for i in range(24)]), LambdaContext())
        assert started == []

    @pytest.mark.parametrize("ending", [KeyboardInterrupt, SystemExit])
    def test_the_handler_raises_it_after_every_worker_has_stopped(self, ending: type) -> None:
        running = 0
        at_raise: list[int] = []
        lock = threading.Lock()
        others_started = threading.Barrier(4, timeout=10)

        @process_batch(concurrency=4)
        def handler(record: SQSRecord) -> None:
            nonlocal running
            with lock:
                running += 1
            try:
                if int(record.body) < 4:
                    others_started.wait()  # all four workers are inside a record
                if record.body == "0":
                    raise ending()
            finally:
                with lock:
                    running -= 1

        try:
            handler(sqs_event([str(i) for i in range(40)]), LambdaContext())
        except ending:
            at_raise.append(running)
        assert at_raise == [0]

    @pytest.mark.parametrize("ending", [KeyboardInterrupt, SystemExit])
    def test_no_async_record_starts_after_it_now_or_in_a_later_invocation(
        self, ending: type
    ) -> None:
        started: list[str] = []
        ended = False

        @process_batch(concurrency=4)
        async def handler(record: SQSRecord) -> None:
            nonlocal ended
            if ended:
                started.append(record.body)
                return
            await asyncio.sleep(0)
            if record.body == "3":
                ended = True
                raise ending()
            await asyncio.sleep(0)

        with pytest.raises(ending):
            handler(sqs_event([str(i) for i in range(24)]), LambdaContext())
        assert started == []
        # The next invocation runs its own records only: nothing left over from the last one.
        ended = False
        seen: list[str] = []

        @process_batch(concurrency=4)
        async def next_handler(record: SQSRecord) -> None:
            seen.append(record.body)

        assert next_handler(sqs_event(["x", "y"]), LambdaContext()) == {"batchItemFailures": []}
        assert started == []
        assert sorted(seen) == ["x", "y"]

    def test_a_sequential_batch_stops_where_it_was_raised(self) -> None:
        ran: list[str] = []

        @process_batch
        def handler(record: SQSRecord) -> None:
            ran.append(record.body)
            if record.body == "b":
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            handler(sqs_event(["a", "b", "c"]), LambdaContext())
        assert ran == ["a", "b"]


class TestAsyncRecordHandlersReuseOneEventLoop:
    def test_every_invocation_runs_on_the_same_loop(self) -> None:
        loops: list[asyncio.AbstractEventLoop] = []

        @process_batch
        async def handler(record: SQSRecord) -> None:
            loops.append(asyncio.get_running_loop())

        for _ in range(3):
            handler(sqs_event(["a", "b"]), LambdaContext())
        assert len(loops) == 6
        assert all(loop is loops[0] for loop in loops)
        assert not loops[0].is_closed()

    def test_the_loops_executor_threads_are_kept_across_invocations(self) -> None:
        threads: set[threading.Thread] = set()  # the objects, so no identity is reused

        @process_batch(concurrency=2)
        async def handler(record: SQSRecord) -> None:
            threads.add(await asyncio.to_thread(threading.current_thread))

        for _ in range(20):
            handler(sqs_event(["a", "b"]), LambdaContext())
        # Forty calls to the default executor. A new loop per invocation starts new threads
        # for every invocation (20 or more); one loop never has more than its executor's cap.
        assert len(threads) <= min(32, (os.cpu_count() or 1) + 4), threads

    def test_tasks_left_running_by_an_invocation_are_cancelled_when_it_ends(self) -> None:
        outcome: list[str] = []

        async def left_behind() -> None:
            try:
                await asyncio.Event().wait()
                outcome.append("ran on")
            except asyncio.CancelledError:
                outcome.append("cancelled")
                raise

        tasks: list[asyncio.Task[None]] = []

        @process_batch
        async def handler(record: SQSRecord) -> None:
            tasks.append(asyncio.get_running_loop().create_task(left_behind()))

        handler(sqs_event(["a"]), LambdaContext())
        assert outcome == ["cancelled"]
        assert tasks[0].cancelled()

    def test_invocations_on_two_threads_at_once_each_get_a_working_loop(self) -> None:
        other_started = threading.Event()
        results: dict[str, Any] = {}

        @process_batch
        async def handler(record: SQSRecord) -> None:
            if record.body == "first":
                # Holds its loop until the second invocation has run a record on another loop.
                assert await asyncio.to_thread(other_started.wait, 10)
            else:
                other_started.set()

        def invoke(body: str) -> None:
            results[body] = handler(sqs_event([body]), LambdaContext())

        first = threading.Thread(target=invoke, args=("first",))
        first.start()
        invoke("second")
        first.join(10)
        assert results == {
            "first": {"batchItemFailures": []},
            "second": {"batchItemFailures": []},
        }

    def test_a_handler_called_from_a_running_loop_still_works(self) -> None:
        @process_batch
        async def handler(record: SQSRecord) -> None:
            await asyncio.sleep(0)

        async def main() -> Any:
            return handler(sqs_event(["a"]), LambdaContext())

        for _ in range(2):
            assert asyncio.run(main()) == {"batchItemFailures": []}

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
    def test_a_forked_child_gets_its_own_loop(self) -> None:
        loops: list[asyncio.AbstractEventLoop] = []

        @process_batch
        async def handler(record: SQSRecord) -> None:
            loops.append(asyncio.get_running_loop())

        handler(sqs_event(["parent"]), LambdaContext())
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: an inherited loop shares its parent's epoll descriptor
            try:
                response = handler(sqs_event(["child"]), LambdaContext())
                fresh = loops[-1] is not loops[0]
                os.write(
                    write_end, b"ok" if fresh and response["batchItemFailures"] == [] else b"no"
                )
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
        assert answer == b"ok"
        handler(sqs_event(["parent again"]), LambdaContext())
        assert loops[-1] is loops[0]


class TestARecordExceptionThatCannotBePrinted:
    def test_raise_on_all_failed_still_raises_all_records_failed(self) -> None:
        @process_batch(raise_on_all_failed=True)
        def handler(record: SQSRecord) -> None:
            raise Unprintable

        with pytest.raises(AllRecordsFailedError, match="all 2 records") as caught:
            handler(sqs_event(["a", "b"]), LambdaContext())
        assert all(isinstance(e, Unprintable) for e in caught.value.exceptions)
        assert "Unprintable" in str(caught.value)

    def test_the_record_is_reported_and_logged(self, caplog: pytest.LogCaptureFixture) -> None:
        event = sqs_event(["a", "b"])

        @process_batch
        def handler(record: SQSRecord) -> None:
            if record.body == "a":
                raise Unprintable

        assert failed_ids(handler(event, LambdaContext())) == [event["Records"][0]["messageId"]]
        assert "Records[0]" in caplog.text
        assert "Unprintable" in caplog.text


class TestNothingOfOneInvocationReachesTheNext:
    """The reused loop is handed to the next invocation as a new loop would be (found by an
    acceptance pass: callbacks, loop settings and an exception context leaked)."""

    def test_a_timer_left_scheduled_does_not_fire_in_the_next_invocation(self) -> None:
        fired: list[int] = []
        phase = 1

        @process_batch
        async def handler(record: SQSRecord) -> None:
            if record.body == "schedule":
                asyncio.get_running_loop().call_later(0.01, lambda: fired.append(phase))
            else:
                await asyncio.sleep(0.05)

        handler(sqs_event(["schedule"]), LambdaContext())
        phase = 2
        handler(sqs_event(["wait"]), LambdaContext())
        assert fired == []

    def test_a_callback_chain_left_running_stops_with_its_invocation(self) -> None:
        fired: list[int] = []
        phase = 1

        @process_batch
        async def handler(record: SQSRecord) -> None:
            loop = asyncio.get_running_loop()
            if record.body == "schedule":

                def again() -> None:
                    fired.append(phase)
                    loop.call_soon(again)

                loop.call_soon(again)
            else:
                await asyncio.sleep(0)

        handler(sqs_event(["schedule"]), LambdaContext())
        phase = 2
        handler(sqs_event(["wait"]), LambdaContext())
        assert 2 not in fired

    def test_loop_settings_changed_by_an_invocation_are_put_back(self) -> None:
        seen: dict[str, Any] = {}

        @process_batch
        async def handler(record: SQSRecord) -> None:
            loop = asyncio.get_running_loop()
            if record.body == "change":
                loop.set_debug(True)
                loop.set_exception_handler(lambda loop, context: None)
                loop.set_task_factory(lambda loop, coro: asyncio.Task(coro, loop=loop))
            else:
                seen.update(
                    debug=loop.get_debug(),
                    handler=loop.get_exception_handler(),
                    factory=loop.get_task_factory(),
                )

        handler(sqs_event(["change"]), LambdaContext())
        handler(sqs_event(["look"]), LambdaContext())
        assert seen == {"debug": False, "handler": None, "factory": None}

    def test_an_async_generator_left_suspended_is_finalised(self) -> None:
        closed: list[str] = []

        async def numbers() -> Any:
            try:
                yield 1
                yield 2
            finally:
                closed.append("closed")

        kept: list[Any] = []

        @process_batch
        async def handler(record: SQSRecord) -> None:
            generator = numbers()
            kept.append(generator)
            await generator.__anext__()

        handler(sqs_event(["a"]), LambdaContext())
        assert closed == ["closed"]
        handler(sqs_event(["b"]), LambdaContext())  # generators still work on the reused loop
        assert closed == ["closed", "closed"]

    def test_a_record_exception_carries_nothing_from_lambdakits_machinery(self) -> None:
        @process_batch(raise_on_all_failed=True)
        async def handler(record: SQSRecord) -> None:
            raise ValueError("mine")

        with pytest.raises(AllRecordsFailedError) as caught:
            handler(sqs_event(["a"]), LambdaContext())
        [error] = caught.value.exceptions
        assert isinstance(error, ValueError)
        assert error.__context__ is None
