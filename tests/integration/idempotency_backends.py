"""The stores every idempotency behaviour is proven against, and a spy for counting steps.

One suite, two implementations of the store protocol: ``InMemoryStore`` and ``DynamoDBStore``
on AWS's DynamoDB Local. Requests are counted where they happen: DynamoDB requests with a
botocore event hook on the client (every HTTP request sent), in-memory operations by the store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lambdakit.idempotency import IdempotencyStore, StoredRecord
from lambdakit.testing import FakeClock


@dataclass
class Backend:
    name: str
    store: IdempotencyStore
    clock: FakeClock  # epoch seconds; the store computes expiry from it
    requests: Callable[[], int]


class RequestCounter:
    """Counts the HTTP requests a botocore client sends (retries included)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.count = 0
        self.operations: list[str] = []
        client.meta.events.register("before-send.dynamodb", self._sent)

    def _sent(self, request: Any, **_: Any) -> None:
        self.count += 1
        self.operations.append(request.headers.get("X-Amz-Target", b"").decode().split(".")[-1])

    def close(self) -> None:
        self.client.meta.events.unregister("before-send.dynamodb", self._sent)


class SpyStore:
    """A store of our own (the protocol is all a store needs) that reports each acquire."""

    def __init__(self, inner: IdempotencyStore) -> None:
        self.inner = inner
        self.acquires = 0
        self.gets = 0
        self.changed = threading.Condition()

    def now(self) -> float:
        return self.inner.now()

    def acquire(self, record: StoredRecord) -> StoredRecord | None:
        found = self.inner.acquire(record)
        with self.changed:
            self.acquires += 1
            self.changed.notify_all()
        return found

    def complete(self, record: StoredRecord) -> None:
        self.inner.complete(record)

    def release(self, lock: StoredRecord) -> None:
        self.inner.release(lock)

    def get(self, key: str) -> StoredRecord | None:
        found = self.inner.get(key)
        with self.changed:
            self.gets += 1
            self.changed.notify_all()
        return found

    def wait_for_acquires(self, count: int, timeout: float = 30) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: self.acquires >= count, timeout):
                raise AssertionError(f"only {self.acquires} acquires, expected {count}")

    def wait_for_more_gets(self, more: int, timeout: float = 30) -> None:
        """Until ``more`` further reads happened (a waiting duplicate polls with get)."""
        with self.changed:
            target = self.gets + more
            if not self.changed.wait_for(lambda: self.gets >= target, timeout):
                raise AssertionError(f"only {self.gets} reads, expected {target}")
