"""Code run in a child process by the shutdown tests (``spawn`` needs it importable).

The child plays a Lambda function: at init it calls ``close_on_shutdown`` with
``AWS_LAMBDA_RUNTIME_API`` pointing at the parent's fake Runtime API, produces messages that
stay queued (a long ``linger``), tells the parent, and then waits as the runtime waits for its
next invocation, until the parent's ``SIGTERM`` ends it.
"""

from __future__ import annotations

import os
import signal
import sys
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

PREVIOUS_EXIT_CODE = 7


def produce_and_wait_for_sigterm(
    runtime_api: str,
    bootstrap: str,
    topic: str,
    count: int,
    backend: str,
    previous: str,
    conn: Connection,
) -> None:
    """``previous``: ``"callable"`` installs a Python SIGTERM handler first, which reports to
    the parent (with whether the producer was already closed) and exits with
    ``PREVIOUS_EXIT_CODE``; ``"default"`` leaves SIGTERM's default action."""
    os.environ["AWS_LAMBDA_RUNTIME_API"] = runtime_api
    from lambdakit.kafka import Producer, close_on_shutdown

    config: dict[str, Any]
    if backend == "confluent":
        config = {"bootstrap.servers": bootstrap, "linger.ms": 10_000, "log_level": 0}
    else:
        config = {"bootstrap_servers": bootstrap, "api_version": (2, 0), "linger_ms": 10_000}
    producer = Producer(config, backend=backend)

    if previous == "callable":

        def previous_handler(signum: int, frame: FrameType | None) -> None:
            conn.send(("previous", signum, producer._client is None))
            sys.exit(PREVIOUS_EXIT_CODE)

        signal.signal(signal.SIGTERM, previous_handler)

    close_on_shutdown(producer)  # module level of a function: the Init phase

    # Connect and learn the topic's metadata first, so what SIGTERM finds queued is the
    # messages themselves.
    if backend == "confluent":
        producer.client.list_topics(topic, timeout=10)
    else:
        producer.client.partitions_for(topic)
    for n in range(count):
        producer.produce(topic, {"n": n}, key=str(n))
    conn.send(("ready",))
    conn.recv()  # never sent: the runtime waiting for its next invocation, until SIGTERM
