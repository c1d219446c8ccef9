"""The example as deployed, driven by the event source mapping its template describes
(``lambdakit.testing.esm``): a model of the FIFO orders queue with its dead-letter queue, the
quarantine queue, and an ``SQSClient`` over both for the function's own SQS requests, all on a
``FakeClock``, so hours of redeliveries and back-off take milliseconds. The function charges
through DynamoDB Local and publishes to the Kafka mock cluster, as in production.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from batch_orders_support import (  # the fixture named kafka_cluster
    QUARANTINE,
    TEMPLATE,
    kafka_cluster_fixture,  # noqa: F401
    load_app,
    published,
)

from lambdakit.testing import FakeSecrets
from lambdakit.testing.dynamodb_local import DynamoDBLocal
from lambdakit.testing.esm import EventSourceMapping, SQSClient, SQSQueue
from lambdakit.testing.kafka_cluster import MockKafkaCluster

pytestmark = pytest.mark.integration

POISON = {"order_id": "o-poison", "amount": "-3"}  # the payments API refuses it every time


class Deployment:
    """The function with the event source mapping ``template.yaml`` gives it: ``orders`` (the
    FIFO queue, with the template's visibility timeout and redrive policy), ``quarantine`` (the
    FIFO quarantine queue), and ``run()`` to drive the mapping until the queue is drained."""

    def __init__(self, app: ModuleType) -> None:
        self.app = app
        self.mapping = EventSourceMapping.from_template(TEMPLATE, "OrdersFunction", app.handler)
        self.orders: SQSQueue = self.mapping.source  # type: ignore[assignment]
        self.quarantine = SQSQueue(QUARANTINE, fifo=True, clock=self.mapping.clock)
        # The deployed stack, its quarantine and back-off requests sent to the models.
        self.mapping.handler = app.build_handler(sqs_client=SQSClient(self.orders, self.quarantine))

    def send(self, customer: str, order: dict[str, Any], deduplication_id: str = "") -> str:
        """Send an order as the producer does: its customer's group, the order id as the
        deduplication id. The message id."""
        return self.orders.send(
            order, group_id=customer, deduplication_id=deduplication_id or order["order_id"]
        )


@pytest.fixture
def deployment(
    monkeypatch: pytest.MonkeyPatch,
    dynamodb_local: DynamoDBLocal,
    fake_secrets: FakeSecrets,
    kafka_cluster: MockKafkaCluster,
) -> Iterator[Deployment]:
    app = load_app(monkeypatch, dynamodb_local, fake_secrets, kafka_cluster)
    try:
        yield Deployment(app)
    finally:
        app.producer.close()


def test_the_template_quarantines_a_poison_order_before_the_dead_letter_queue_takes_it(
    deployment: Deployment,
) -> None:
    queue, mapping = deployment.orders, deployment.mapping
    assert queue.fifo
    assert mapping.batch_size <= 10
    assert mapping.maximum_batching_window == 0
    assert mapping.report_batch_item_failures
    assert queue.max_receive_count is not None
    # The orders queued behind a poison order are received with it and count those receives.
    assert queue.max_receive_count >= 2 * deployment.app.QUARANTINE.after
    assert deployment.app.QUARANTINE.after == 5  # the template's QUARANTINE_AFTER
    assert deployment.app.RETRY.base == queue.visibility_timeout  # back-off from the first retry


def test_each_customers_orders_are_charged_and_published_in_the_order_sent(
    deployment: Deployment, kafka_cluster: MockKafkaCluster
) -> None:
    sent: dict[str, list[str]] = {}
    for number in range(40):  # interleaved: c-0, c-1, c-2, c-3, c-0, ...
        customer = f"c-{number % 4}"
        order_id = f"o-{number:02d}"
        deployment.send(customer, {"order_id": order_id, "amount": "5"})
        sent.setdefault(customer, []).append(order_id)

    summary = deployment.mapping.run()

    assert summary.succeeded == 40
    assert summary.failed_attempts == 0
    charges = deployment.app.CHARGES
    assert {c: [o for o in charges if o in orders] for c, orders in sent.items()} == sent
    messages = published(kafka_cluster, deployment.app.ORDERS_TOPIC)
    by_key = {c: [r["order_id"] for key, r in messages if key == c] for c in sent}
    assert by_key == sent


def test_a_poison_order_blocks_only_its_customer_and_is_quarantined_after_five_receives(
    deployment: Deployment, kafka_cluster: MockKafkaCluster
) -> None:
    first = deployment.send("c-1", {"order_id": "o-1", "amount": "5"})
    poison = deployment.send("c-1", POISON)
    behind = deployment.send("c-1", {"order_id": "o-3", "amount": "7"})
    other = deployment.send("c-2", {"order_id": "o-4", "amount": "9"})

    summary = deployment.mapping.run()

    history = summary.history
    # The other customer was not held up: charged in the first invocation.
    assert [(d.invocation, d.outcome) for d in history[other]] == [(1, "succeeded")]
    assert [d.outcome for d in history[first]] == ["succeeded"]
    # The poison order failed four times, coming back later each time (back-off), and its
    # fifth failure moved it to the quarantine queue and deleted it from the orders queue.
    outcomes = [d.outcome for d in history[poison]]
    assert outcomes == ["failed"] * 4 + ["deleted_by_function"]
    assert history[poison][-1].to == "orders-quarantine.fifo"
    times = [d.time for d in history[poison]]
    assert times[-1] - times[0] > 4 * deployment.orders.visibility_timeout
    # Its customer then moved on: o-3 ran once, after the poison order left, never before.
    assert [d.outcome for d in history[behind]][-1] == "succeeded"
    assert history[behind][-1].time >= times[-1]
    charges = deployment.app.CHARGES
    assert sorted(charges) == ["o-1", "o-3", "o-4"]  # the poison order was never charged
    assert charges.index("o-1") < charges.index("o-3")
    assert summary.dead_lettered == []
    assert len(deployment.orders) == 0

    [copy] = deployment.quarantine.messages()
    assert json.loads(copy.body) == POISON
    assert copy.attributes["MessageGroupId"] == "c-1"
    failure = copy.message_attributes["lambdakit.failure"]
    assert "OrderRejected" in str(failure)
    assert "amount must be positive" in str(failure)
    # Nothing is published for an order that was not charged.
    keys = [
        (key, r["order_id"]) for key, r in published(kafka_cluster, deployment.app.ORDERS_TOPIC)
    ]
    assert sorted(keys) == [("c-1", "o-1"), ("c-1", "o-3"), ("c-2", "o-4")]


def test_a_resend_within_five_minutes_is_dropped_by_sqs_and_a_later_one_is_answered_by_idempotency(
    deployment: Deployment, kafka_cluster: MockKafkaCluster, dynamodb_local: DynamoDBLocal
) -> None:
    order = {"order_id": "o-1", "amount": "5"}
    original = deployment.send("c-1", order)
    assert deployment.send("c-1", order) == original  # SQS deduplicates: the same message
    deployment.mapping.run()
    deployment.mapping.clock.advance(6 * 60)  # past SQS's five-minute deduplication window
    resent = deployment.send("c-1", order)
    assert resent != original

    summary = deployment.mapping.run()

    assert summary.delivered == 2
    assert summary.succeeded == 2
    assert deployment.app.CHARGES == ["o-1"]  # the resend got the stored receipt
    messages = published(kafka_cluster, deployment.app.ORDERS_TOPIC)
    assert [key for key, _ in messages] == ["c-1", "c-1"]
    assert messages[0][1] == messages[1][1]  # the same receipt: consumers deduplicate on it
    assert messages[0][1]["message_id"] == original


def test_a_payments_outage_shorter_than_the_back_off_is_ridden_out_in_order(
    deployment: Deployment, fake_secrets: FakeSecrets
) -> None:
    from lambdakit.secrets import invalidate

    secret = deployment.app.PAYMENTS_SECRET
    fake_secrets.set_secret(secret, json.dumps({"api_key": "revoked"}))  # refused by the API
    for number in range(3):
        deployment.send("c-1", {"order_id": f"o-{number}", "amount": "5"})
    summary = deployment.mapping.run(until=lambda s: s.invocations == 3)
    assert deployment.app.CHARGES == []
    assert summary.failed_attempts == 9

    fake_secrets.set_secret(secret, json.dumps({"api_key": "pk_live_2"}))  # the key is fixed
    invalidate()  # as lambdakit's cache refresh (after five minutes) would see it
    summary = deployment.mapping.run()

    assert deployment.app.CHARGES == ["o-0", "o-1", "o-2"]
    assert len(deployment.quarantine) == 0
    assert summary.dead_lettered == []
