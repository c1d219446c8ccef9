"""Code run in a child process by the Kafka delivery tests (``spawn`` needs it importable)."""

from __future__ import annotations

import os
import signal


def produce_then_freeze(bootstrap: str, topic: str, count: int) -> None:
    """Run a flush_kafka handler that produces ``count`` messages, then freeze at once: what
    Lambda does to an execution environment the moment the handler returns."""
    from lambdakit.kafka import Producer, flush_kafka
    from lambdakit.testing import LambdaContext

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50})

    @flush_kafka(producer)
    def handler(event: dict[str, int], context: object) -> None:
        for n in range(event["count"]):
            producer.produce(topic, {"n": n}, key=str(n))

    handler({"count": count}, LambdaContext(timeout=30))
    os.kill(os.getpid(), signal.SIGSTOP)
