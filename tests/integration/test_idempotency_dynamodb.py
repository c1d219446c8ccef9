"""What only a real DynamoDB can prove: separate processes, a killed process, service errors,
botocore's retries, and records shared with Powertools for AWS Lambda on one table."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lambdakit.batch import process_batch
from lambdakit.errors import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPayloadMismatchError,
    IdempotencyPersistenceError,
    IdempotencySerializationError,
)
from lambdakit.idempotency import COMPLETED, INPROGRESS, DynamoDBStore, idempotent
from lambdakit.testing import FakeClock, LambdaContext, sqs_event
from lambdakit.testing.dynamodb_local import DynamoDBLocal
from tests.integration import idempotency_children as children

pytestmark = pytest.mark.integration


def items(dynamodb_local: DynamoDBLocal, table: str) -> list[dict[str, Any]]:
    return list(dynamodb_local.client().scan(TableName=table, ConsistentRead=True)["Items"])


class TestAcrossProcesses:
    def test_eight_processes_at_once_run_the_body_exactly_once(
        self, dynamodb_local: DynamoDBLocal, idempotency_table: str
    ) -> None:
        spawn = multiprocessing.get_context("spawn")
        start, release, outcomes = spawn.Barrier(8), spawn.Event(), spawn.Queue()
        processes = [
            spawn.Process(
                target=children.charge_once,
                args=(idempotency_table, dynamodb_local.endpoint_url, start, release, outcomes),
            )
            for _ in range(8)
        ]
        for process in processes:
            process.start()
        seen: list[tuple[str, Any]] = []
        try:
            while len([s for s in seen if s[0] != "ran"]) < 8:
                seen.append(outcomes.get(timeout=60))
                if sum(kind == "in progress" for kind, _ in seen) == 7:
                    release.set()  # every other process met the lock: let the holder finish
        finally:
            release.set()
            for process in processes:
                process.join(60)
        kinds = [kind for kind, _ in seen]
        assert kinds.count("ran") == 1
        assert kinds.count("in progress") == 7
        assert ("returned", "charged") in seen
        assert [i["status"]["S"] for i in items(dynamodb_local, idempotency_table)] == [COMPLETED]

    def test_a_killed_call_blocks_its_key_until_the_lock_expires_then_runs_again(
        self, dynamodb_local: DynamoDBLocal, idempotency_table: str
    ) -> None:
        spawn = multiprocessing.get_context("spawn")
        entered = spawn.Event()
        child = spawn.Process(
            target=children.crash_in_the_middle,
            args=(idempotency_table, dynamodb_local.endpoint_url, entered),
        )
        child.start()
        assert entered.wait(60)
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(60)
        assert child.exitcode == -signal.SIGKILL
        [lock] = items(dynamodb_local, idempotency_table)
        assert lock["status"]["S"] == INPROGRESS

        clock = FakeClock(start=time.time())
        ran: list[int] = []
        handler = idempotent(
            DynamoDBStore(idempotency_table, clock=clock),
            key="order_id",
            key_prefix=children.PREFIX,
        )(lambda event, context: ran.append(1) or "charged")
        with pytest.raises(IdempotencyAlreadyInProgressError):
            handler({"order_id": 1}, LambdaContext())
        clock.advance(61)  # the dead invocation's 60 s are over
        assert handler({"order_id": 1}, LambdaContext()) == "charged"
        assert ran == [1]


class TestServiceErrors:
    def test_a_missing_table_is_a_persistence_error_and_nothing_runs(
        self, dynamodb_endpoint: str
    ) -> None:
        ran: list[int] = []
        handler = idempotent(DynamoDBStore("no-such-table"), key="order_id")(
            lambda event, context: ran.append(1)
        )
        with pytest.raises(
            IdempotencyPersistenceError, match=r"no-such-table.*ResourceNotFound"
        ) as e:
            handler({"order_id": 1}, LambdaContext())
        from botocore.exceptions import ClientError

        assert isinstance(e.value.__cause__, ClientError)
        assert not e.value.function_ran
        assert ran == []

    def test_an_unreachable_endpoint_is_a_persistence_error(
        self, dynamodb_local: DynamoDBLocal, idempotency_table: str
    ) -> None:
        import socket

        with socket.socket() as probe:  # a loopback port nobody listens on
            probe.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
        client = dynamodb_local.client(
            endpoint_url=dead,
            config=__import__("botocore.config").config.Config(
                retries={"total_max_attempts": 1}, connect_timeout=1
            ),
        )
        handler = idempotent(DynamoDBStore(idempotency_table, client=client), key="order_id")(
            lambda event, context: "ran"
        )
        with pytest.raises(IdempotencyPersistenceError, match="EndpointConnectionError") as e:
            handler({"order_id": 1}, LambdaContext())
        from botocore.exceptions import EndpointConnectionError

        assert isinstance(e.value.__cause__, EndpointConnectionError)

    def test_when_the_result_cannot_be_stored_nothing_is_marked_completed(
        self, dynamodb_local: DynamoDBLocal, idempotency_table: str
    ) -> None:
        client = dynamodb_local.client()
        failing = fail_operation(client, "PutItem", after=1, code="AccessDeniedException")
        handler = idempotent(DynamoDBStore(idempotency_table, client=client), key="order_id")(
            lambda event, context: {"charged": 5}
        )
        with pytest.raises(IdempotencyPersistenceError, match="AccessDenied") as e:
            handler({"order_id": 1}, LambdaContext())
        assert e.value.function_ran
        assert e.value.result == {"charged": 5}
        assert failing.failed == 1
        assert [i["status"]["S"] for i in items(dynamodb_local, idempotency_table)] == [INPROGRESS]

    def test_a_result_too_large_for_an_item_is_refused_and_the_lock_released(
        self, dynamodb_local: DynamoDBLocal, idempotency_table: str
    ) -> None:
        attempts: list[int] = []

        def body(event: Any, context: Any) -> str:
            attempts.append(1)
            return "x" * (400 * 1024) if len(attempts) == 1 else "small"

        handler = idempotent(DynamoDBStore(idempotency_table), key="order_id")(body)
        with pytest.raises(
            IdempotencySerializationError, match="items are limited to 409,600"
        ) as e:
            handler({"order_id": 1}, LambdaContext())
        assert ".<locals>.body: " in str(e.value)  # the function whose result it was
        assert "runs it again" in str(e.value)
        assert items(dynamodb_local, idempotency_table) == []
        assert handler({"order_id": 1}, LambdaContext()) == "small"

    def test_a_lock_write_retried_by_botocore_after_a_lost_response_keeps_the_lock(
        self, dynamodb_endpoint: str, idempotency_table: str
    ) -> None:
        # The first PutItem succeeds but botocore is told to retry it (as after a connection
        # reset on the response): the retry fails its condition against our own new lock.
        from lambdakit._internal.clients import client

        shared = client("dynamodb")
        retried: list[int] = []

        def retry_first_put(attempts: int, **_: Any) -> float | None:
            if attempts == 1 and not retried:
                retried.append(attempts)
                return 0.0
            return None

        shared.meta.events.register_first("needs-retry.dynamodb.PutItem", retry_first_put)
        try:
            ran: list[int] = []
            handler = idempotent(DynamoDBStore(idempotency_table), key="order_id")(
                lambda event, context: ran.append(1) or "charged"
            )
            assert handler({"order_id": 1}, LambdaContext()) == "charged"
        finally:
            shared.meta.events.unregister("needs-retry.dynamodb.PutItem", retry_first_put)
        assert retried == [1]
        assert ran == [1]

    def test_a_throttled_lock_write_is_retried_by_botocores_standard_mode(
        self, dynamodb_endpoint: str, idempotency_table: str
    ) -> None:
        from lambdakit._internal.clients import client

        shared = client("dynamodb")
        assert shared.meta.config.retries["mode"] == "standard"
        throttle = throttle_sends(shared, times=2)
        try:
            handler = idempotent(DynamoDBStore(idempotency_table), key="order_id")(
                lambda event, context: "charged"
            )
            assert handler({"order_id": 1}, LambdaContext()) == "charged"
        finally:
            throttle.close()
        assert throttle.throttled == 2
        assert throttle.sent == 4  # lock: 2 throttled + 1 accepted; result: 1


class fail_operation:
    """Make the ``after``-th+1 call of ``operation`` fail with ``code`` (before it is sent)."""

    def __init__(self, client: Any, operation: str, *, after: int, code: str) -> None:
        self.calls = 0
        self.failed = 0
        self.after = after
        self.code = code
        client.meta.events.register(f"before-call.dynamodb.{operation}", self._call)

    def _call(self, **_: Any) -> Any:
        self.calls += 1
        if self.calls <= self.after:
            return None
        self.failed += 1
        from botocore.awsrequest import AWSResponse

        error = {"Error": {"Code": self.code, "Message": "injected by the test"}}
        return AWSResponse("http://test", 400, {}, None), error


class throttle_sends:
    """Answer the first ``times`` requests with DynamoDB's throttling error, as the service
    would, so that botocore's retry handler sees them."""

    def __init__(self, client: Any, *, times: int) -> None:
        self.client = client
        self.times = times
        self.sent = 0
        self.throttled = 0
        client.meta.events.register("before-send.dynamodb", self._send)

    def _send(self, request: Any, **_: Any) -> Any:
        self.sent += 1
        if self.throttled >= self.times:
            return None
        self.throttled += 1
        from botocore.awsrequest import AWSResponse

        body = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "The level of configured provisioned throughput was exceeded",
            }
        ).encode()

        class Raw:
            def stream(self, **_: Any) -> Iterator[bytes]:
                yield body

        return AWSResponse(request.url, 400, {"x-amzn-RequestId": "test"}, Raw())

    def close(self) -> None:
        self.client.meta.events.unregister("before-send.dynamodb", self._send)


# --- Powertools for AWS Lambda: one table, both libraries ------------------------------------


@pytest.fixture
def powertools_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERTOOLS_IDEMPOTENCY_DISABLED", raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders-fn")


def same_function(body: Callable[..., Any], qualname: str = "handler") -> Callable[..., Any]:
    """A function with the module and qualname a migrated handler keeps in both libraries."""

    def handler(event: Any, context: Any = None) -> Any:
        return body(event)

    handler.__module__ = "orders.app"
    handler.__qualname__ = qualname
    return handler


def powertools_handler(
    client: Any, table: str, body: Callable[..., Any], **config: Any
) -> Callable[..., Any]:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
    )
    from aws_lambda_powertools.utilities.idempotency import (
        idempotent as pt_idempotent,
    )

    layer = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
    return pt_idempotent(persistence_store=layer, config=IdempotencyConfig(**config))(
        same_function(body)
    )


def lambdakit_handler(table: str, body: Callable[..., Any], **options: Any) -> Callable[..., Any]:
    return idempotent(DynamoDBStore(table), key_format="powertools", **options)(same_function(body))


@pytest.mark.usefixtures("powertools_env")
class TestPowertoolsCompatibility:
    def test_lambdakit_replays_what_powertools_completed(
        self, dynamodb_local: DynamoDBLocal, idempotency_table: str
    ) -> None:
        # Structured keys and validation fields: the hashed JSON text must match byte for byte.
        ran: list[str] = []
        pt = powertools_handler(
            dynamodb_local.client(),
            idempotency_table,
            lambda e: ran.append("powertools") or {"charged": e["amount"]},
            event_key_jmespath="[order_id, customer]",
            payload_validation_jmespath="{amount: amount, note: note}",
        )
        lk = lambdakit_handler(
            idempotency_table,
            lambda e: ran.append("lambdakit"),
            key="[order_id, customer]",
            validate="{amount: amount, note: note}",
        )
        order = {"order_id": 1, "customer": "Zoë", "amount": 5, "note": "gift"}
        assert pt(order, LambdaContext()) == {"charged": 5}
        assert lk(order, LambdaContext()) == {"charged": 5}
        with pytest.raises(IdempotencyPayloadMismatchError):
            lk({**order, "amount": 6}, LambdaContext())
        assert ran == ["powertools"]
        assert len(items(dynamodb_local, idempotency_table)) == 1

    def test_powertools_replays_what_lambdakit_completed(
        self, dynamodb_local: DynamoDBLocal, idempotency_table: str
    ) -> None:
        ran: list[str] = []
        lk = lambdakit_handler(
            idempotency_table, lambda e: ran.append("lambdakit") or [1, 2], key="order_id"
        )
        pt = powertools_handler(
            dynamodb_local.client(),
            idempotency_table,
            lambda e: ran.append("powertools"),
            event_key_jmespath="order_id",
        )
        assert lk({"order_id": 1}, LambdaContext()) == [1, 2]
        assert pt({"order_id": 1}, LambdaContext()) == [1, 2]
        assert ran == ["lambdakit"]

    def test_in_flight_locks_are_honoured_both_ways(
        self, dynamodb_local: DynamoDBLocal, idempotency_table: str
    ) -> None:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError as PowertoolsInProgress,
        )

        seen: list[str] = []

        def lambdakit_meets_powertools_lock(event: Any) -> str:
            with pytest.raises(IdempotencyAlreadyInProgressError):
                lk({"order_id": 1}, LambdaContext())
            seen.append("lambdakit saw the lock")
            return "done"

        def powertools_meets_lambdakit_lock(event: Any) -> str:
            with pytest.raises(PowertoolsInProgress):
                pt2({"order_id": 2}, LambdaContext())
            seen.append("powertools saw the lock")
            return "done"

        lk = lambdakit_handler(idempotency_table, lambda e: "must not run", key="order_id")
        pt = powertools_handler(
            dynamodb_local.client(),
            idempotency_table,
            lambdakit_meets_powertools_lock,
            event_key_jmespath="order_id",
        )
        pt({"order_id": 1}, LambdaContext())
        pt2 = powertools_handler(
            dynamodb_local.client(),
            idempotency_table,
            lambda e: "must not run",
            event_key_jmespath="order_id",
        )
        lk2 = lambdakit_handler(idempotency_table, powertools_meets_lambdakit_lock, key="order_id")
        lk2({"order_id": 2}, LambdaContext())
        assert seen == ["lambdakit saw the lock", "powertools saw the lock"]

    def test_record_handlers_share_keys_with_powertools_idempotent_function(
        self, dynamodb_local: DynamoDBLocal, idempotency_table: str
    ) -> None:
        from aws_lambda_powertools.utilities.data_classes.sqs_event import (
            SQSRecord as PowertoolsRecord,
        )
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        ran: list[str] = []
        event = sqs_event([{"order_id": 7}])

        def record_handler(record: Any) -> str:
            ran.append(type(record).__module__.split(".")[0])
            return "charged"

        def powertools_record_handler(record: Any) -> str:
            return record_handler(record)

        for function in (record_handler, powertools_record_handler):
            function.__module__ = "orders.app"
            function.__qualname__ = "record_handler"
        config = IdempotencyConfig(event_key_jmespath="powertools_json(body).order_id")
        config.register_lambda_context(LambdaContext())
        pt = idempotent_function(
            data_keyword_argument="record",
            persistence_store=DynamoDBPersistenceLayer(
                table_name=idempotency_table, boto3_client=dynamodb_local.client()
            ),
            config=config,
        )(powertools_record_handler)
        assert pt(record=PowertoolsRecord(event["Records"][0])) == "charged"

        lk = process_batch(
            idempotent(
                DynamoDBStore(idempotency_table),
                key="powertools_json(body).order_id",
                key_format="powertools",
            )(record_handler)
        )
        assert lk(event, LambdaContext()) == {"batchItemFailures": []}
        assert ran == ["aws_lambda_powertools"]  # lambdakit replayed Powertools' result
