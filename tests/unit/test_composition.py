"""Every pair of lambdakit decorators, stacked both ways: each stack either does both jobs or is
refused with DecoratorOrderError when the upper decorator is applied.

The expected outcome of each pair is :data:`EXPECTED`; the table on the docs page "All of them
on one handler" (docs/index.md) is rendered from it and checked here, so the docs cannot say a
stack works that this suite has not run. A pair that works is run for real (sync and async):
the batch answers with the failing record, filtered records never run, a duplicate order takes
effect once, the secret arrives, a refused Kafka delivery fails what produced it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lambdakit.batch import SQSRecord, process_batch
from lambdakit.errors import DecoratorOrderError, KafkaDeliveryError
from lambdakit.filtering import filter_records
from lambdakit.idempotency import InMemoryStore, idempotent
from lambdakit.kafka import flush_kafka
from lambdakit.secrets import INJECTED, SecretRef, inject_secrets
from lambdakit.testing import LambdaContext, RecordingProducer, fake_secrets, sqs_event

NAMES = ("filter_records", "process_batch", "flush_kafka", "idempotent", "inject_secrets")
WORKS = "works"
REFUSED = "refused"
# (upper, lower): what happens when ``upper`` is applied over ``lower``, and why in a few words.
EXPECTED: dict[tuple[str, str], tuple[str, str]] = {
    ("process_batch", "process_batch"): (REFUSED, "applied twice"),
    ("process_batch", "filter_records"): (REFUSED, "filter over the batch, as Lambda does"),
    ("filter_records", "process_batch"): (WORKS, "records dropped before the batch runs"),
    ("idempotent", "process_batch"): (REFUSED, "the key would find nothing in the batch"),
    ("process_batch", "idempotent"): (WORKS, "one key per record"),
    ("inject_secrets", "process_batch"): (REFUSED, "the record handler would get no keyword"),
    ("process_batch", "inject_secrets"): (WORKS, "injected into each record's call"),
    ("flush_kafka", "process_batch"): (
        REFUSED,
        "one bad message would retry the whole batch (say scope='invocation' to mean it)",
    ),
    ("process_batch", "flush_kafka"): (WORKS, "each record's messages flushed with it"),
}
for _name in NAMES:
    if _name != "process_batch":
        EXPECTED[(_name, _name)] = (REFUSED, "applied twice")
EXPECTED[("flush_kafka", "flush_kafka")] = (REFUSED, "the same producer twice (two producers work)")
for _upper in NAMES:
    for _lower in NAMES:
        EXPECTED.setdefault((_upper, _lower), (WORKS, ""))

SECRET = "pk_live_123"
PATTERN_BODY = {"body": {"kind": ["order"]}}  # on each record of an SQS batch
PATTERN_EVENT = {"kind": ["order"]}  # on a single event (EventBridge-like)


class Kit:
    """The collaborators of one stack, and what its function saw."""

    def __init__(self, names: tuple[str, ...], is_async: bool) -> None:
        self.names = names
        self.batch = "process_batch" in names
        self.is_async = is_async
        self.store = InMemoryStore()
        self.producer = RecordingProducer()
        self.ran: list[tuple[str, Any]] = []
        self.errors: list[Exception] = []

    def apply(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        if name == "process_batch":
            return process_batch(function)
        if name == "filter_records":
            return filter_records(PATTERN_BODY if self.batch else PATTERN_EVENT)(function)
        if name == "idempotent":
            key = "body.order_id" if self.batch else "order_id"
            return idempotent(self.store, key=key)(function)
        if name == "inject_secrets":
            return inject_secrets(api_key=SecretRef("payments", field="key"))(function)
        assert name == "flush_kafka"
        return flush_kafka(self.producer)(function)

    def effect(self) -> Callable[..., Any]:
        """The innermost function: records what it saw, publishes, fails for "bad"."""

        def run(payload: Any, api_key: Any) -> str:
            order = payload.json() if isinstance(payload, SQSRecord) else payload
            self.ran.append((order["order_id"], api_key))
            if "flush_kafka" in self.names:
                self.producer.produce("orders", order["order_id"])
            if order["order_id"] == "bad":
                raise ValueError("bad order")
            return str(order["order_id"])

        if self.is_async:

            async def async_effect(payload: Any, *args: Any, api_key: str = INJECTED) -> str:
                await asyncio.sleep(0)
                return run(payload, api_key)

            return async_effect

        def sync_effect(payload: Any, *args: Any, api_key: str = INJECTED) -> str:
            return run(payload, api_key)

        return sync_effect

    def build(self) -> Callable[..., Any]:
        function = self.effect()
        for name in reversed(self.names):  # the last name is the innermost
            function = self.apply(name, function)
        return function

    def ids(self) -> list[str]:
        return [order_id for order_id, _ in self.ran]


def orders(*order_ids: str, kind: str = "order") -> list[dict[str, str]]:
    return [{"kind": kind if i != "r" else "refund", "order_id": i} for i in order_ids]


def invoke(kit: Kit, handler: Callable[..., Any], payloads: list[dict[str, str]]) -> list[str]:
    """One delivery of ``payloads``: as an SQS batch for a batch stack, else each as its own
    event. The orders that failed: reported in ``batchItemFailures``, or raised."""
    if kit.batch:
        event = sqs_event(payloads)
        answer = handler(event, LambdaContext(timeout=10))
        ids = {
            r["messageId"]: p["order_id"] for r, p in zip(event["Records"], payloads, strict=True)
        }
        return [ids[f["itemIdentifier"]] for f in answer["batchItemFailures"]]
    failed: list[str] = []
    for payload in payloads:
        try:
            result = handler(payload, LambdaContext(timeout=10))
            if kit.is_async:
                asyncio.run(result)
        except Exception as exc:
            kit.errors.append(exc)
            failed.append(payload["order_id"])
    return failed


PAIRS = [(upper, lower) for upper in NAMES for lower in NAMES]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("upper", "lower"), PAIRS, ids=[f"{u} over {lo}" for u, lo in PAIRS])
def test_a_pair_either_does_both_jobs_or_is_refused_when_applied(
    upper: str, lower: str, is_async: bool
) -> None:
    outcome, _ = EXPECTED[(upper, lower)]
    kit = Kit((upper, lower), is_async)
    if outcome == REFUSED:
        with pytest.raises(DecoratorOrderError) as refused:
            kit.build()
        message = str(refused.value)
        assert f"@{upper} over @{lower}" in message
        assert "The order that works:" in message
        return
    with fake_secrets({"payments": {"key": SECRET}}):
        handler = kit.build()
        check_every_job(kit, handler)


def check_every_job(kit: Kit, handler: Callable[..., Any]) -> None:
    for _ in range(2):  # the same orders delivered twice
        assert invoke(kit, handler, orders("a", "r", "bad")) == ["bad"]
    ran = kit.ids()
    # filter_records: the refund never reaches the function; without it, it does.
    assert ("r" in ran) is ("filter_records" not in kit.names)
    # idempotent: order "a" takes effect once over two deliveries ("bad" is retried each time).
    assert ran.count("a") == (1 if "idempotent" in kit.names else 2)
    assert ran.count("bad") == 2
    # inject_secrets: every call receives the secret.
    expected_key = SECRET if "inject_secrets" in kit.names else INJECTED
    assert {api_key for _, api_key in kit.ran} == {expected_key}
    if "flush_kafka" in kit.names:
        # Delivered messages are flushed with the call; a refused one fails what produced it.
        assert b"a" in kit.producer.values("orders")
        kit.producer.fail_topic("orders")
        kit.errors.clear()
        assert invoke(kit, handler, orders("c")) == ["c"]
        assert kit.batch or isinstance(kit.errors[0], KafkaDeliveryError)


def test_flushing_once_for_the_whole_batch_is_said_explicitly() -> None:
    producer = RecordingProducer()

    @flush_kafka(producer, scope="invocation")
    @process_batch
    def handler(record: SQSRecord) -> None:
        producer.produce("orders", record.body)

    assert handler(sqs_event(["a", "b"]), LambdaContext()) == {"batchItemFailures": []}
    producer.fail_next()
    with pytest.raises(KafkaDeliveryError):  # the whole invocation fails: every record retried
        handler(sqs_event(["a", "b"]), LambdaContext())


def test_a_flush_for_the_whole_invocation_is_refused_under_process_batch() -> None:
    with pytest.raises(DecoratorOrderError, match="over @flush_kafka\\(scope='invocation'\\)"):
        process_batch(flush_kafka(RecordingProducer(), scope="invocation")(lambda record: None))


def test_two_producers_may_each_be_flushed() -> None:
    first, second = RecordingProducer(), RecordingProducer()

    @process_batch
    @flush_kafka(first)
    @flush_kafka(second)
    def handler(record: SQSRecord) -> None:
        first.produce("a", record.body)
        second.produce("b", record.body)

    second.fail_next()
    answer = handler(sqs_event(["x", "y"]), LambdaContext())
    assert len(answer["batchItemFailures"]) == 1


def test_the_same_producer_flushed_twice_is_refused() -> None:
    producer = RecordingProducer()
    with pytest.raises(DecoratorOrderError, match="@flush_kafka over @flush_kafka"):
        flush_kafka(producer)(flush_kafka(producer)(lambda record: None))


def test_a_wrong_stack_is_found_through_decorators_in_between() -> None:
    store = InMemoryStore()
    batch = filter_records(PATTERN_BODY)(process_batch(lambda record: None))
    with pytest.raises(DecoratorOrderError, match="@idempotent over @process_batch"):
        idempotent(store, key="body.order_id")(batch)
    twice = inject_secrets(a="x")(idempotent(store)(lambda event, *, a=INJECTED, b=INJECTED: 0))
    with pytest.raises(DecoratorOrderError, match="@inject_secrets over @inject_secrets"):
        inject_secrets(b="y")(twice)


def test_a_wrong_stack_is_found_through_functools_wraps() -> None:
    import functools

    def logged(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

        return wrapper

    with pytest.raises(DecoratorOrderError, match="@idempotent over @process_batch"):
        idempotent(InMemoryStore())(logged(process_batch(lambda record: None)))


def test_a_wrong_stack_is_found_through_a_decorator_that_sets_only_wrapped() -> None:
    def bare(function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

        wrapper.__wrapped__ = function  # type: ignore[attr-defined]
        return wrapper

    with pytest.raises(DecoratorOrderError, match="@idempotent over @process_batch"):
        idempotent(InMemoryStore())(bare(process_batch(lambda record: None)))


def test_each_decorator_marks_its_role() -> None:
    plain = idempotent(InMemoryStore())(lambda event: None)
    assert plain.__lambdakit_role__ == "function"  # type: ignore[attr-defined]
    handler = filter_records(PATTERN_BODY)(process_batch(plain))
    assert handler.__lambdakit_role__ == "lambda handler"  # type: ignore[attr-defined]
    assert [name for name, _ in handler.__lambdakit_stack__] == [  # type: ignore[attr-defined]
        "filter_records",
        "process_batch",
        "idempotent",
    ]


# --- the docs table ----------------------------------------------------------------------------

DOCS = Path(__file__).parents[2] / "docs" / "index.md"
START, END = "<!-- stacking-table:start -->", "<!-- stacking-table:end -->"


def render_table() -> str:
    """The table of docs/index.md: rows are the upper decorator, columns the lower one."""
    lines = [
        "| over ↓ / under → | " + " | ".join(f"`{n}`" for n in NAMES) + " |",
        "|---|" + "---|" * len(NAMES),
    ]
    for upper in NAMES:
        cells = []
        for lower in NAMES:
            outcome, why = EXPECTED[(upper, lower)]
            cells.append(
                f"{'✅' if outcome == WORKS else '❌'} {outcome}" + (f": {why}" if why else "")
            )
        lines.append(f"| `@{upper}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_the_docs_table_is_the_one_this_suite_checks() -> None:
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    assert found, f"docs/index.md has no table between {START} and {END}"
    assert found.group(1).strip() == render_table(), (
        "docs/index.md's stacking table differs from the suite; paste:\n" + render_table()
    )
