"""Child processes for the shared Kafka backend suite (``test_kafka_backends.py``).

Run as ``python -m tests.integration.kafka_backend_children <mode> <json arguments>`` from the
repository root: a fresh interpreter, as a new Lambda execution environment is. Each mode
prints one JSON line on stdout, its report, which the test reads.

- ``freeze``: run a ``flush_kafka`` handler that produces messages (and raises, if asked), print
  the outcome, then stop the process with ``SIGSTOP`` at once, as Lambda freezes an execution
  environment the moment the handler returns. Whatever the parent then reads from the broker
  was delivered before the handler returned: nothing in the child can run any more.
- ``snapstart``: install a stand-in for the Lambda Python runtime's ``snapshot_restore_py``
  before any producer exists, produce, run the after-restore hooks as the runtime does after a
  restore, produce again, and report how many clients were built.

Only the standard library is imported at module level: the ``snapstart`` mode checks that
the backend library is not imported before the first message is produced.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import types
from typing import Any

BACKENDS = ("confluent", "kafka-python")


def producer_config(backend: str, bootstrap: str) -> dict[str, Any]:
    """The configuration a user of ``backend`` writes: nothing but how to reach the cluster."""
    if backend == "confluent":
        return {"bootstrap.servers": bootstrap}
    if backend == "kafka-python":
        return {"bootstrap_servers": bootstrap, "api_version": (2, 0)}
    raise ValueError(f"unknown backend {backend!r}")


def backend_module(backend: str) -> str:
    """The top-level module of the library behind ``backend``."""
    return "confluent_kafka" if backend == "confluent" else "kafka"


class HandlerFailed(Exception):
    """The handler's own error, which must reach the caller unchanged."""


# --- freeze -------------------------------------------------------------------------------------


def freeze(backend: str, bootstrap: str, topic: str, count: int, fail: bool) -> None:
    from lambdakit.kafka import Producer, flush_kafka
    from lambdakit.testing import LambdaContext

    producer = Producer(producer_config(backend, bootstrap), backend=backend)
    failure = HandlerFailed("the handler's own error")

    @flush_kafka(producer)
    def handler(event: dict[str, Any], context: object) -> dict[str, int]:
        for n in range(event["count"]):
            producer.produce(topic, {"n": n}, key=str(n))
        if event["fail"]:
            raise failure
        return {"produced": event["count"]}

    report: dict[str, Any]
    try:
        result = handler({"count": count, "fail": fail}, LambdaContext(timeout=30))
        report = {"outcome": "returned", "result": result}
    except BaseException as exc:
        report = {
            "outcome": "raised",
            "type": type(exc).__name__,
            "message": str(exc),
            "same_object": exc is failure,
        }
    report["created"] = producer.created
    print(json.dumps(report), flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)  # the environment is frozen from here on


# --- snapstart ----------------------------------------------------------------------------------


def install_fake_snapshot_restore_py() -> types.ModuleType:
    """A stand-in for the module the Lambda Python runtime provides under SnapStart.

    Like the real one, ``register_after_restore(func, *args, **kwargs)`` (and its
    before-snapshot twin) only records the call and returns ``func``; the runtime later reads
    the records (``get_after_restore()``) and calls each one, in registration order.
    """
    module = types.ModuleType("snapshot_restore_py")
    before_snapshot: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []
    after_restore: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []

    def register_before_snapshot(func: Any, *args: Any, **kwargs: Any) -> Any:
        before_snapshot.append((func, args, kwargs))
        return func

    def register_after_restore(func: Any, *args: Any, **kwargs: Any) -> Any:
        after_restore.append((func, args, kwargs))
        return func

    module.register_before_snapshot = register_before_snapshot  # type: ignore[attr-defined]
    module.register_after_restore = register_after_restore  # type: ignore[attr-defined]
    module.get_before_snapshot = lambda: before_snapshot  # type: ignore[attr-defined]
    module.get_after_restore = lambda: after_restore  # type: ignore[attr-defined]
    sys.modules["snapshot_restore_py"] = module
    return module


def run_after_restore_hooks(module: types.ModuleType) -> int:
    """What the runtime does once an environment is restored from its snapshot."""
    hooks = list(module.get_after_restore())
    for func, args, kwargs in hooks:
        func(*args, **kwargs)
    return len(hooks)


def snapstart(backend: str, bootstrap: str, topic: str) -> None:
    runtime = install_fake_snapshot_restore_py()  # the runtime's module exists before user code

    from lambdakit.kafka import Producer, flush_kafka
    from lambdakit.testing import LambdaContext

    producer = Producer(producer_config(backend, bootstrap), backend=backend)
    report: dict[str, Any] = {
        "created_at_init": producer.created,
        "hooks_registered": len(runtime.get_after_restore()),
        "backend_imported_before_first_produce": backend_module(backend) in sys.modules,
    }

    @flush_kafka(producer)
    def handler(event: dict[str, Any], context: object) -> None:
        for n in range(event["count"]):
            producer.produce(topic, {"phase": event["phase"], "n": n})

    # The init phase and the invocations before the snapshot is taken (a warmed-up function).
    handler({"phase": "before", "count": 3}, LambdaContext(timeout=30))
    report["created_before_snapshot"] = producer.created

    report["hooks_run"] = run_after_restore_hooks(runtime)
    report["created_right_after_restore"] = producer.created  # lazily: nothing built yet

    handler({"phase": "after", "count": 3}, LambdaContext(timeout=30))
    handler({"phase": "after-again", "count": 1}, LambdaContext(timeout=30))
    report["created_after_restore"] = producer.created
    print(json.dumps(report), flush=True)


def main(argv: list[str]) -> int:
    mode, arguments = argv[0], json.loads(argv[1])
    if mode == "freeze":
        freeze(**arguments)
    elif mode == "snapstart":
        snapstart(**arguments)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
