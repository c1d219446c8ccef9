"""The example's handler filters exactly as the event source mapping its template deploys.

``examples/batch_orders/template.yaml`` declares FilterCriteria on the queue, and ``app.handler``
applies the same criteria, read from that file, with ``@filter_records``: a test of the handler
then sees what Lambda would deliver. No servers: the example is imported (its Kafka producer and
DynamoDB store connect to nothing until used), its charge is replaced by a recorder, so no
record ever reaches DynamoDB, Secrets Manager or Kafka, and the handler is built with models of
its FIFO orders and quarantine queues (``lambdakit.testing.SQSClient``), so the back-off of a
failed record reads those instead of calling SQS.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lambdakit.filtering import FilterCriteria
from lambdakit.testing import FakeClock, LambdaContext, SQSClient, SQSQueue, sqs_event

EXAMPLE = Path(__file__).parents[2] / "examples" / "batch_orders"
TEMPLATE = EXAMPLE / "template.yaml"
QUEUE = "orders.fifo"  # the FIFO queue the events come from: sqs_event(queue_name=QUEUE)
QUARANTINE = "orders-quarantine.fifo"
QUARANTINE_ARN = f"arn:aws:sqs:us-east-1:123456789012:{QUARANTINE}"

# Bodies a queue of orders can hold: orders, orders the charge rejects, and messages that are
# no order at all.
BODIES: list[Any] = [
    {"order_id": "o-1", "amount": "19.99"},
    {"order_id": "o-2", "amount": "-3"},
    {"order_id": "o-3"},
    {"order_id": None, "amount": "1"},
    {"amount": "5.00"},
    {"orderId": "o-4", "amount": "5.00"},
    {"order": {"order_id": "o-5"}},
    "this body is not JSON",
    "",
    "[1, 2, 3]",
    json.dumps({"order_id": "o-6", "amount": "42"}),
]


class Charged(Exception):
    """Raised by the recording charge: the record reached the charge (and nothing further)."""


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ModuleType]:
    """The example imported afresh from a working directory that is not its own, as Lambda's
    runtime or a test runner elsewhere in the repository would import it."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "127.0.0.1:9")  # read at import; never connected to
    monkeypatch.setenv("QUARANTINE_QUEUE", QUARANTINE_ARN)  # required at import; never sent to
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(EXAMPLE))
    sys.modules.pop("app", None)
    try:
        yield importlib.import_module("app")
    finally:
        sys.modules.pop("app", None)


def deployed_criteria() -> FilterCriteria:
    return FilterCriteria.from_template(TEMPLATE, "OrdersFunction")


def server_free_handler(app: ModuleType) -> tuple[Any, SQSClient]:
    """The example's deployed decorator stack, and the client its back-off and quarantine
    requests go to: models of the orders and quarantine queues instead of SQS (a first failure
    is neither delayed nor quarantined: the back-off only reads the queue's visibility timeout)."""
    clock = FakeClock()
    orders = SQSQueue(QUEUE, fifo=True, visibility_timeout=180, clock=clock)
    quarantine = SQSQueue(QUARANTINE, fifo=True, clock=clock)
    client = SQSClient(orders, quarantine)
    return app.build_handler(sqs_client=client), client


def fifo_event(bodies: list[Any], customers: list[str]) -> dict[str, Any]:
    """A FIFO batch from QUEUE: ``bodies[i]`` sent by ``customers[i]`` (its message group)."""
    return sqs_event(
        bodies,
        group_ids=customers,
        deduplication_ids=[f"d-{number}" for number in range(len(bodies))],
        queue_name=QUEUE,
    )


def test_the_template_declares_filter_criteria_on_the_orders_queue() -> None:
    criteria = deployed_criteria()
    assert criteria.source == "sqs"
    assert len(criteria) >= 1


def test_the_handler_filters_with_the_criteria_the_template_deploys(app: ModuleType) -> None:
    applied = app.handler.filter_criteria
    assert [f.text for f in applied.filters] == [f.text for f in deployed_criteria().filters]
    assert applied.source == "sqs"


def test_a_message_the_criteria_drop_never_reaches_the_charge_and_is_not_retried(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    charged: list[str] = []

    def charge_order(record: Any) -> dict[str, str]:
        charged.append(record.message_id)
        raise Charged(record.message_id)  # so nothing is produced to Kafka

    monkeypatch.setattr(app, "charge_order", charge_order)
    # One customer per message: a failure holds back the later orders of its customer
    # (reported without running), and here every message that passes must reach the charge.
    event = fifo_event(BODIES, [f"c-{number}" for number in range(len(BODIES))])
    records = event["Records"]
    criteria = deployed_criteria()
    passing = [r["messageId"] for r in records if criteria.matches_record(r)]
    dropped = [r["messageId"] for r in records if not criteria.matches_record(r)]
    assert passing, "the criteria must let orders through"
    assert dropped, "the criteria must drop something, or this test shows nothing"

    handler, sqs = server_free_handler(app)
    response = handler(event, LambdaContext(function_name="orders", timeout=30))

    assert sorted(charged) == sorted(passing)
    # A dropped message counts as processed, as Lambda counts it: it is not reported.
    reported = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert sorted(reported) == sorted(passing)
    assert event["Records"] == records  # the caller's event is not modified
    assert sqs.calls, "the failures' back-off was asked of the queue models, not of SQS"


def test_orders_of_the_walkthrough_pass_the_criteria_and_its_message_that_is_not_an_order_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walkthrough = example_module("walkthrough", monkeypatch)
    criteria = deployed_criteria()
    bodies = [body for _, body in walkthrough.ORDERS]
    customers = [customer for customer, _ in walkthrough.ORDERS]
    verdicts = {
        record["body"]: criteria.matches_record(record)
        for record in fifo_event(bodies, customers)["Records"]
    }
    assert [body for body, passes in verdicts.items() if not passes] == ["this body is not JSON"]


def test_the_showcase_sends_what_it_says_and_only_its_non_orders_are_filtered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import collections
    import random

    demo = example_module("demo", monkeypatch)
    messages = demo.plan(1000, random.Random(7))
    kinds = collections.Counter(message.kind for message in messages)
    assert kinds == {"order": 650, "resent": 50, "duplicate": 50, "poison": 50, "other": 200}
    criteria = deployed_criteria()
    records = fifo_event(
        [message.body for message in messages], [message.customer for message in messages]
    )["Records"]
    dropped = {
        message.kind
        for message, record in zip(messages, records, strict=True)
        if not criteria.matches_record(record)
    }
    assert dropped == {"other"}


def example_module(name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A module of the example folder, imported fresh (and forgotten after)."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    sys.modules.pop(name, None)
    try:
        return importlib.import_module(name)
    finally:
        sys.modules.pop(name, None)
