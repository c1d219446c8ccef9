"""Random histories of sends, failures, crashes, timeouts and clock moves, driven through
``EventSourceMapping`` with the full lambdakit stack, and what must hold after every step.

A Hypothesis state machine per source (a standard SQS queue, a FIFO queue, a Kinesis stream)
sends orders (new ones, duplicates of earlier ones and, on the FIFO queue, producer retries
that reuse the deduplication ID), declares some orders poison (they always fail) or flaky
(they fail N times), plans invocations that crash after some records took effect (a plain
handler raising mid-batch, or an exception escaping after ``process_batch`` returned) or that
run past the function timeout mid-batch, moves the clock, and runs the mapping for a bounded
simulated time or until drained. The handler is ``process_batch`` over a record handler that
calls ``@idempotent`` (``InMemoryStore``, keyed on the order id) around the effect.

Checked after every step (the properties of issue 14):

- No message is lost: every message enqueued (stream record put) is exactly one of deleted
  after a successful delivery (checkpointed past), dead-lettered (sent to the on-failure
  destination), or still in the queue (ahead of the checkpoint); a message deleted or
  checkpointed as a success had its order's effect applied; a resolved record is never
  delivered again; a drain leaves nothing unresolved.
- An idempotent effect is applied at most once per order id (counted in the innermost
  function), across duplicates, redeliveries, crashes and timeouts.
- FIFO: no message of a group is handled before every earlier message of the group is deleted,
  dead-lettered or handled earlier in the same invocation, so a group's effects happen in send
  order, skipping only dead-lettered messages (and duplicates, which replay).
- Streams: the same per partition key, against the checkpoint and the on-failure destination
  ("records are always processed in order the first time", with-kinesis.html), and the records
  resolved for a key always form a prefix of what was put under it.
- The model's own accounts agree with what the handler did: each delivery's outcome in
  ``Summary.history`` is the one its invocation earned (timed out past ``function_timeout``,
  failed when it raised or reported the record, else succeeded; streams: failed from the first
  reported record on), a failed SQS message comes back no sooner than its visibility timeout,
  ``ApproximateReceiveCount`` counts the deliveries, a FIFO deduplication ID repeated within
  5 minutes enqueues nothing, and the Summary's counters add up.
- ``process_batch``'s deadline awareness keeps an invocation within the function timeout
  unless a record hangs (the planned timeouts) or the handler is a plain loop.

AWS pages the rules come from: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-exactly-once-processing.html,
https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html,
https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html,
https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from lambdakit.batch import KinesisRecord, SQSRecord, process_batch
from lambdakit.events import RecordView
from lambdakit.idempotency import InMemoryStore, idempotent
from lambdakit.testing import FakeClock
from lambdakit.testing.esm import EventSourceMapping, KinesisStream, SQSQueue, Summary
from lambdakit.testing.esm._mapping import epoch_ms
from lambdakit.testing.esm._summary import FAILED, SUCCEEDED, TIMED_OUT

# Longer than any run, so "at most once per order id" is not blurred by records expiring; the
# runs stay far below it (and below a stream's 24-hour retention): see `bounded_time`.
IDEMPOTENCY_WINDOW = 30 * 86_400
TIME_BOUND = 12 * 3_600
DRAIN_LIMIT = 3_600  # simulated seconds; a drain of these histories needs minutes
MAX_INVOCATIONS = 3_000  # per run: a model that loops is a failure, not a hung test
FUNCTION_TIMEOUT = 2  # records take up to 1 s: only process_batch's 1 s margin keeps batches in
ON_FAILURE_BUCKET = "arn:aws:s3:::orders-on-failure"  # its records carry the whole event

STEPS = settings(max_examples=150, stateful_step_count=50, deadline=None)

# An order's fate: fine (most), poison (always fails) or flaky (fails 1 to 3 times, then works).
FATES = st.one_of(st.just(("ok", 0)), st.sampled_from([("poison", 0), ("flaky", 1), ("flaky", 3)]))
RUN_SECONDS = st.sampled_from([0, 1, 4, 30, 120])
CLOCK_MOVES = st.sampled_from([0.5, 1, 29, 31, 61, 301])
DELAYS = st.sampled_from([0, 0, 10])  # a standard queue's per-message DelaySeconds


class Declined(Exception):
    """A poison order: the downstream refuses it every time."""


class Flaky(Exception):
    """A flaky order's downstream failing one more time."""


class Crashed(Exception):
    """A planned crash: the handler raises after some records of the batch took effect."""


@dataclass(frozen=True)
class Crash:
    """Plan for the next invocation: ``plain`` runs the records in a plain loop (no
    ``process_batch``) and raises before record ``after % (len(batch) + 1)`` (so after the
    last one, every record having taken effect, at ``len(batch)``); ``escape`` runs
    ``process_batch`` and raises once it has returned."""

    after: int
    style: str


@dataclass(frozen=True)
class Stall:
    """Plan for the next invocation: at the record it handles in place
    ``after % len(batch)``, spend until just past the function timeout, before or after that
    record's effect (``process_batch`` then starts no other record)."""

    after: int
    effect_first: bool


@dataclass
class Invocation:
    """What one invocation was given and did, as the handler saw it."""

    number: int
    ids: list[str]
    started: float
    plan: Crash | Stall | None
    seconds: float = 0.0
    raised: bool = False
    reported: list[str] = field(default_factory=list)


class ESMMachine(RuleBasedStateMachine):
    """What every source's machine shares: the lambdakit stack, failure plans, the clock, and
    the invariants that read only the handler's observations and the Summary."""

    orders = Bundle("orders")
    ORDERED = True  # whether records of one lane (FIFO group, partition key) keep their order

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.start = self.clock()
        self.store = InMemoryStore(clock=self.clock)
        self.mapping: EventSourceMapping | None = None
        self.record_seconds = 0.0
        self.fates: dict[str, str] = {}
        self.flaky_left: dict[str, int] = {}  # failures a flaky order has left
        self.plans: deque[Crash | Stall] = deque()
        self.invocations: list[Invocation] = []
        self.checked = 0  # invocations whose deliveries were compared with the history
        self.effects: Counter[str] = Counter()
        self.effect_records: list[tuple[str, str]] = []  # (order id, record id), in effect order
        self.violations: list[str] = []  # noticed inside the handler (an assert there is caught)
        self.order_of_record: dict[str, str] = {}
        self.lanes: dict[str, list[str]] = {}  # lane -> record ids in enqueue (put) order
        self.position: dict[str, int] = {}  # record id -> its index in its lane
        self.lane_of_record: dict[str, str] = {}
        self.current: Invocation | None = None
        self.handled_now: list[str] = []  # records handled successfully in this invocation
        self.resolved_at_start: set[str] = set()
        self.next_order = 0

    # --- what each source's machine supplies -----------------------------------------------------

    VIEW: type[RecordView] = RecordView
    KEY = ""

    def record_id(self, raw: dict[str, Any]) -> str:
        raise NotImplementedError

    def resolved(self) -> set[str]:
        """Records the source is done with: deleted / checkpointed past, or dead-lettered."""
        raise NotImplementedError

    def succeeded(self) -> list[str]:
        """Records with a successful delivery (deleted, or checkpointed past), first first."""
        return [
            rid
            for rid, deliveries in self.summary.history.items()
            if any(d.outcome == SUCCEEDED for d in deliveries)
        ]

    def check_delivery(self, raws: list[dict[str, Any]]) -> None:
        """Source-specific checks of an event as the handler receives it."""

    def expected_outcomes(self, invocation: Invocation) -> dict[str, str]:
        """Each record's outcome as the mapping must record it, from what the handler did."""
        if invocation.seconds > FUNCTION_TIMEOUT:
            return dict.fromkeys(invocation.ids, TIMED_OUT)
        if invocation.raised:
            return dict.fromkeys(invocation.ids, FAILED)
        return {rid: FAILED if rid in invocation.reported else SUCCEEDED for rid in invocation.ids}

    # --- the stack under test ------------------------------------------------------------------

    def build_handler(self) -> Any:
        machine = self

        @idempotent(self.store, key=self.KEY, expires_after=IDEMPOTENCY_WINDOW)
        def charge(record: RecordView) -> str:
            """The innermost function: the effect, applied at most once per order id."""
            rid = machine.record_id(record.raw)
            order = machine.order_of_record[rid]
            if machine.fates[order] == "poison":
                raise Declined(order)
            if machine.flaky_left[order] > 0:
                machine.flaky_left[order] -= 1
                raise Flaky(order)
            machine.clock.advance(machine.record_seconds)  # the work takes simulated time
            machine.effects[order] += 1
            machine.effect_records.append((order, rid))
            return order

        def handle(record: RecordView) -> str:
            """The record handler: observes order, spends time when planned, charges."""
            rid = machine.record_id(record.raw)
            machine.check_lane_order(rid)
            stall = machine.stall_due()
            if stall is not None and not stall.effect_first:
                machine.spend_past_deadline()
            result = charge(record)
            if stall is not None and stall.effect_first:
                machine.spend_past_deadline()
            machine.handled_now.append(rid)
            return result

        batch = process_batch(log_failures=False)(handle)

        def handler(event: dict[str, Any], context: Any) -> Any:
            raws = event["Records"]
            invocation = Invocation(
                number=len(machine.invocations) + 1,
                ids=[machine.record_id(raw) for raw in raws],
                started=machine.clock(),
                plan=machine.plans.popleft() if machine.plans else None,
            )
            if context.aws_request_id != f"esm-invocation-{invocation.number}":
                machine.violations.append(
                    f"invocation {invocation.number} has request id {context.aws_request_id}"
                )
            machine.invocations.append(invocation)
            machine.current = invocation
            machine.handled_now = []
            machine.resolved_at_start = machine.resolved()
            for rid in invocation.ids:
                if rid in machine.resolved_at_start:
                    machine.violations.append(f"{rid} delivered again after it was resolved")
            machine.check_delivery(raws)
            plan = invocation.plan
            try:
                if isinstance(plan, Crash) and plan.style == "plain":
                    for index, raw in enumerate(raws):
                        if index == plan.after % (len(raws) + 1):
                            raise Crashed(f"before record {index}")
                        handle(machine.VIEW(raw, index))
                    raise Crashed("after the last record")
                response = batch(event, context)
                if isinstance(plan, Crash):
                    raise Crashed("after process_batch returned")
                invocation.reported = [
                    str(f["itemIdentifier"]) for f in response["batchItemFailures"]
                ]
                return response
            except Exception:
                invocation.raised = True
                raise
            finally:
                invocation.seconds = machine.clock() - invocation.started
                machine.current = None

        return handler

    def stall_due(self) -> Stall | None:
        invocation = self.current
        assert invocation is not None
        plan = invocation.plan
        if isinstance(plan, Stall) and plan.after % len(invocation.ids) == len(self.handled_now):
            return plan
        return None

    def spend_past_deadline(self) -> None:
        """A downstream call that hangs: the handler is still running when the function
        timeout ends (Lambda would stop it there; the effect may already be applied)."""
        invocation = self.current
        assert invocation is not None
        past = invocation.started + FUNCTION_TIMEOUT + 0.25
        self.clock.advance(max(0.0, past - self.clock()))

    def check_lane_order(self, rid: str) -> None:
        """Before a record is handled, every earlier record of its lane must be resolved or
        handled earlier in this invocation."""
        if not self.ORDERED:
            return
        lane = self.lanes[self.lane_of_record[rid]]
        for earlier in lane[: self.position[rid]]:
            if earlier not in self.resolved_at_start and earlier not in self.handled_now:
                self.violations.append(
                    f"{rid} handled in invocation {len(self.invocations)} before {earlier} of "
                    f"its lane {self.lane_of_record[rid]!r} was resolved or handled"
                )

    def new_order(self, fate: tuple[str, int]) -> str:
        self.next_order += 1
        order = f"o{self.next_order}"
        self.fates[order], self.flaky_left[order] = fate
        return order

    def track(self, rid: str, order: str, lane: str) -> None:
        """A record enqueued (put) for ``order`` in ``lane``."""
        self.order_of_record[rid] = order
        self.lane_of_record[rid] = lane
        records = self.lanes.setdefault(lane, [])
        self.position[rid] = len(records)
        records.append(rid)

    @property
    def summary(self) -> Summary:
        assert self.mapping is not None  # made by the machine's @initialize rule
        return self.mapping.summary

    def run(self, seconds: float) -> None:
        """``mapping.run`` for ``seconds`` of simulated time, or until it has invoked the
        handler MAX_INVOCATIONS more times (then fail: nothing here needs that many)."""
        assert self.mapping is not None
        limit = self.summary.invocations + MAX_INVOCATIONS
        self.mapping.run(until=lambda summary: summary.invocations >= limit, max_time=seconds)
        assert self.summary.invocations < limit, f"{MAX_INVOCATIONS} invocations in {seconds} s"

    # --- rules every machine has ---------------------------------------------------------------

    @precondition(lambda self: len(self.plans) < 3)
    @rule(after=st.integers(0, 6), style=st.sampled_from(["plain", "escape"]))
    def plan_crash(self, after: int, style: str) -> None:
        self.plans.append(Crash(after, style))

    @precondition(lambda self: len(self.plans) < 3)
    @rule(after=st.integers(0, 6), effect_first=st.booleans())
    def plan_timeout(self, after: int, effect_first: bool) -> None:
        self.plans.append(Stall(after, effect_first))

    @rule(seconds=RUN_SECONDS)
    def run_for(self, seconds: float) -> None:
        self.run(seconds)

    @rule(seconds=CLOCK_MOVES)
    def move_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def drain(self) -> None:
        """Run until nothing is left to deliver: every record resolved, none pending."""
        self.run(DRAIN_LIMIT)
        unresolved = sorted(set(self.order_of_record) - self.resolved())
        assert not unresolved, f"not resolved after a drain: {unresolved}"

    # --- invariants every machine has ----------------------------------------------------------

    @invariant()
    def bounded_time(self) -> None:
        assert self.clock() - self.start < TIME_BOUND  # far inside idempotency and retention

    @invariant()
    def nothing_noticed_inside_the_handler(self) -> None:
        assert not self.violations, self.violations

    @invariant()
    def each_effect_applied_at_most_once_per_order(self) -> None:
        twice = {order: n for order, n in self.effects.items() if n > 1}
        assert not twice, f"effects applied more than once: {twice}"

    @invariant()
    def a_record_resolved_as_a_success_had_its_effect(self) -> None:
        for rid in self.succeeded():
            order = self.order_of_record[rid]
            assert self.effects[order] == 1, f"{rid} ({order}) succeeded without its effect"

    @invariant()
    def a_success_is_the_last_delivery(self) -> None:
        for rid, deliveries in self.summary.history.items():
            outcomes = [d.outcome for d in deliveries]
            assert SUCCEEDED not in outcomes[:-1], f"{rid} delivered after success: {outcomes}"

    @invariant()
    def effects_of_a_lane_follow_its_order(self) -> None:
        if not self.ORDERED:
            return
        last: dict[str, int] = {}
        for order, rid in self.effect_records:
            lane, position = self.lane_of_record[rid], self.position[rid]
            assert position > last.get(lane, -1), (
                f"{order} took effect from {rid} out of order in lane {lane!r}"
            )
            last[lane] = position

    @invariant()
    def each_delivery_has_the_outcome_its_invocation_earned(self) -> None:
        history = self.summary.history
        for invocation in self.invocations[self.checked :]:
            expected = self.expected_outcomes(invocation)
            for rid in invocation.ids:
                found = [d for d in history[rid] if d.invocation == invocation.number]
                assert [(d.time, d.outcome) for d in found] == [
                    (invocation.started, expected[rid])
                ], f"{rid} in invocation {invocation}: history {history[rid]}"
        self.checked = len(self.invocations)

    @invariant()
    def duplicates_and_receive_counts_are_counted(self) -> None:
        """``duplicates_delivered``: deliveries of a payload (here: an order) that another
        record delivered first; ``max_receive_count``: the most deliveries of one record."""
        first: dict[str, str] = {}
        duplicates = 0
        for invocation in self.invocations:
            for rid in invocation.ids:
                duplicates += first.setdefault(self.order_of_record[rid], rid) != rid
        summary = self.summary
        longest = max((len(h) for h in summary.history.values()), default=0)
        assert (summary.duplicates_delivered, summary.max_receive_count) == (duplicates, longest)

    @invariant()
    def process_batch_keeps_within_the_timeout_unless_a_record_hangs(self) -> None:
        """Its deadline awareness starts no record once less than its margin (1 s) is left,
        and a record here takes at most 1 s; only a hung record or a plain loop (no
        ``process_batch``) can run past the function timeout."""
        for invocation in self.invocations:
            plan = invocation.plan
            if isinstance(plan, Stall) or (isinstance(plan, Crash) and plan.style == "plain"):
                continue
            assert invocation.seconds <= FUNCTION_TIMEOUT, invocation

    @invariant()
    def the_summary_adds_up(self) -> None:
        summary = self.summary
        counts = (
            summary.invocations,
            summary.filtered,
            summary.succeeded + summary.failed_attempts,
            sum(len(h) for h in summary.history.values()),
        )
        delivered = sum(len(i.ids) for i in self.invocations)
        assert counts == (len(self.invocations), 0, delivered, delivered), (summary, counts)
        assert summary.delivered == delivered, summary


# --- SQS ------------------------------------------------------------------------------------


class SQSMachine(ESMMachine):
    """A queue with a DLQ, drained by a mapping with ReportBatchItemFailures."""

    VIEW = SQSRecord
    KEY = "body.order_id"
    FIFO = False
    queue: SQSQueue
    dlq: SQSQueue

    def make(self, batch_size: int, window: int, visibility: int, max_receive: int) -> None:
        suffix = ".fifo" if self.FIFO else ""
        self.dlq = SQSQueue(f"orders-dlq{suffix}", fifo=self.FIFO, clock=self.clock)
        self.queue = SQSQueue(
            f"orders{suffix}",
            fifo=self.FIFO,
            visibility_timeout=visibility,
            max_receive_count=max_receive,
            dlq=self.dlq,
            clock=self.clock,
        )
        self.mapping = EventSourceMapping(
            self.queue,
            self.build_handler(),
            batch_size=batch_size,
            maximum_batching_window=window,
            report_batch_item_failures=True,
            function_timeout=FUNCTION_TIMEOUT,
            clock=self.clock,
        )

    def record_id(self, raw: dict[str, Any]) -> str:
        return str(raw["messageId"])

    def resolved(self) -> set[str]:
        return {*self.succeeded(), *(m.message_id for m in self.dlq.messages())}

    def send(self, entries: list[dict[str, Any]]) -> None:
        """Send SendMessageBatch ``entries``: one alone with SendMessage, more with
        SendMessageBatch; then track what SQS enqueued."""
        if len(entries) == 1:
            entry = entries[0]
            rid = self.queue.send(
                entry["MessageBody"],
                group_id=entry.get("MessageGroupId"),
                deduplication_id=entry.get("MessageDeduplicationId"),
                delay_seconds=entry.get("DelaySeconds"),
            )
            ids = [rid]
        else:
            ids = self.queue.send_batch(entries)
        for entry, rid in zip(entries, ids, strict=True):
            self.sent(entry, rid)

    @staticmethod
    def entry(order: str, **fields: Any) -> dict[str, Any]:
        """A SendMessageBatch entry for ``order`` (a duplicate has the same body)."""
        return {"MessageBody": json.dumps({"order_id": order}), **fields}

    def sent(self, entry: dict[str, Any], rid: str) -> None:
        """Track the message SQS enqueued for ``entry``."""
        assert rid not in self.order_of_record, "a standard queue enqueues every message"
        self.track(rid, json.loads(entry["MessageBody"])["order_id"], "")

    def check_delivery(self, raws: list[dict[str, Any]]) -> None:
        """``ApproximateReceiveCount`` counts this delivery and the earlier ones;
        ``ApproximateFirstReceiveTimestamp`` is the first delivery's time (with-sqs.html)."""
        history = self.summary.history
        now = self.clock()
        for raw in raws:
            earlier = history.get(raw["messageId"], [])
            attributes = raw["attributes"]
            if int(attributes["ApproximateReceiveCount"]) != len(earlier) + 1:
                self.violations.append(
                    f"{raw['messageId']}: ApproximateReceiveCount "
                    f"{attributes['ApproximateReceiveCount']} on delivery {len(earlier) + 1}"
                )
            first = earlier[0].time if earlier else now
            if attributes["ApproximateFirstReceiveTimestamp"] != str(epoch_ms(first)):
                self.violations.append(f"{raw['messageId']}: wrong first receive timestamp")

    @invariant()
    def a_message_returns_only_after_its_visibility_timeout(self) -> None:
        """A received message is invisible for the visibility timeout, counted from the
        receive: a failed or timed-out one is not delivered again before it ends
        (services-sqs-errorhandling.html)."""
        timeout = self.queue.visibility_timeout
        for rid, deliveries in self.summary.history.items():
            times = [d.time for d in deliveries]
            assert all(b - a >= timeout for a, b in pairwise(times)), (rid, times)

    @invariant()
    def every_message_is_deleted_dead_lettered_or_still_queued(self) -> None:
        summary = self.summary
        queued = [m.message_id for m in self.queue.messages()]
        dead = [m.message_id for m in self.dlq.messages()]
        deleted = self.succeeded()
        every = queued + dead + deleted
        assert len(every) == len(set(every)), "a message is in two places"
        assert set(every) == set(self.order_of_record), "a message is lost, or one appeared"
        assert summary.deleted == len(deleted), (summary.deleted, deleted)
        assert [m.message_id for m in summary.dead_lettered] == dead, (summary.dead_lettered, dead)
        counts = {m.message_id: m.receive_count for m in self.dlq.messages()}
        assert set(counts.values()) <= {self.queue.max_receive_count}, (
            f"dead-lettered with receive counts {counts}; maxReceiveCount is "
            f"{self.queue.max_receive_count}"
        )


class StandardQueueMachine(SQSMachine):
    ORDERED = False

    @initialize(
        batch_size=st.sampled_from([1, 3, 10]),
        window=st.sampled_from([0, 1]),
        visibility=st.sampled_from([3, 30]),
        max_receive=st.integers(1, 4),
        record_seconds=st.sampled_from([0.0, 0.25, 1.0]),
    )
    def setup(
        self, batch_size: int, window: int, visibility: int, max_receive: int, record_seconds: float
    ) -> None:
        self.record_seconds = record_seconds
        self.make(batch_size, window, visibility, max_receive)

    @rule(
        target=ESMMachine.orders,
        fates=st.lists(st.tuples(FATES, DELAYS), min_size=1, max_size=4),
    )
    def send_new_orders(self, fates: list[tuple[tuple[str, int], int]]) -> MultipleResults[str]:
        orders, entries = [], []
        for fate, delay in fates:
            orders.append(self.new_order(fate))
            entries.append(self.entry(orders[-1], DelaySeconds=delay))
        self.send(entries)
        return multiple(*orders)

    @rule(orders=st.lists(ESMMachine.orders, min_size=1, max_size=3))
    def send_duplicates(self, orders: list[str]) -> None:
        """The producer sends the same bodies again: new messages, the same order ids."""
        self.send([self.entry(order) for order in orders])


class FifoQueueMachine(SQSMachine):
    FIFO = True

    def __init__(self) -> None:
        super().__init__()
        self.group_of: dict[str, str] = {}
        self.deduplication: dict[str, tuple[float, str]] = {}  # id -> (enqueued at, message ID)
        self.last_deduplication_id: dict[str, str] = {}
        self.sends = 0

    @initialize(
        batch_size=st.sampled_from([1, 3, 10]),
        visibility=st.sampled_from([3, 30]),
        max_receive=st.integers(1, 4),
        record_seconds=st.sampled_from([0.0, 0.25, 1.0]),
    )
    def setup(
        self, batch_size: int, visibility: int, max_receive: int, record_seconds: float
    ) -> None:
        self.record_seconds = record_seconds
        self.make(batch_size, 0, visibility, max_receive)

    def fifo_entry(self, order: str, retry: bool = False) -> dict[str, Any]:
        """An entry in the order's group; ``retry``: a producer's retry of its last send (the
        same deduplication ID), else a new deduplication ID."""
        if retry:
            deduplication_id = self.last_deduplication_id[order]
        else:
            self.sends += 1
            deduplication_id = self.last_deduplication_id[order] = f"{order}-{self.sends}"
        return self.entry(
            order, MessageGroupId=self.group_of[order], MessageDeduplicationId=deduplication_id
        )

    def sent(self, entry: dict[str, Any], rid: str) -> None:
        """SQS drops a repeated deduplication ID within 5 minutes of the first
        (FIFO-queues-exactly-once-processing.html): it returns the first message's ID."""
        deduplication_id = entry["MessageDeduplicationId"]
        earlier = self.deduplication.get(deduplication_id)
        if earlier is not None and self.clock() - earlier[0] < 300:
            assert rid == earlier[1], "a duplicate within the deduplication interval enqueued"
            return
        order = json.loads(entry["MessageBody"])["order_id"]
        self.track(rid, order, self.group_of[order])
        self.deduplication[deduplication_id] = (self.clock(), rid)

    @rule(
        target=ESMMachine.orders,
        fates=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), FATES), min_size=1, max_size=4),
    )
    def send_new_orders(self, fates: list[tuple[str, tuple[str, int]]]) -> MultipleResults[str]:
        orders = []
        for group, fate in fates:
            order = self.new_order(fate)
            self.group_of[order] = group
            orders.append(order)
        self.send([self.fifo_entry(order) for order in orders])
        return multiple(*orders)

    @rule(sends=st.lists(st.tuples(ESMMachine.orders, st.booleans()), min_size=1, max_size=3))
    def send_duplicates(self, sends: list[tuple[str, bool]]) -> None:
        """Orders sent again: a producer's retry (the same deduplication ID: SQS drops it
        within 5 minutes), or a business duplicate (a new message: idempotency's job)."""
        self.send([self.fifo_entry(order, retry) for order, retry in sends])

    def check_delivery(self, raws: list[dict[str, Any]]) -> None:
        super().check_delivery(raws)
        sequences: dict[str, int] = {}
        for raw in raws:
            group = raw["attributes"]["MessageGroupId"]
            sequence = int(raw["attributes"]["SequenceNumber"])
            if sequence <= sequences.get(group, -1):
                self.violations.append(f"group {group}: batch out of send order")
            sequences[group] = sequence


# --- Kinesis --------------------------------------------------------------------------------


class KinesisMachine(ESMMachine):
    """A stream with several partition keys over one or two shards, read with a retry limit
    or a record age limit and an on-failure destination."""

    VIEW = KinesisRecord
    KEY = "kinesis.data.order_id"
    stream: KinesisStream

    def __init__(self) -> None:
        super().__init__()
        self.key_of: dict[str, str] = {}

    @initialize(
        shards=st.integers(1, 2),
        factor=st.integers(1, 3),
        batch_size=st.sampled_from([1, 3, 10]),
        window=st.sampled_from([0, 1]),
        bisect=st.booleans(),
        limits=st.sampled_from([(0, -1), (1, -1), (3, -1), (2, 60), (-1, 60)]),
        record_seconds=st.sampled_from([0.0, 0.25, 1.0]),
    )
    def setup(
        self,
        shards: int,
        factor: int,
        batch_size: int,
        window: int,
        bisect: bool,
        limits: tuple[int, int],
        record_seconds: float,
    ) -> None:
        self.record_seconds = record_seconds
        self.stream = KinesisStream("orders", shards=shards, clock=self.clock)
        retries, age = limits
        self.mapping = EventSourceMapping(
            self.stream,
            self.build_handler(),
            batch_size=batch_size,
            maximum_batching_window=window,
            parallelization_factor=factor,
            bisect_batch_on_function_error=bisect,
            maximum_retry_attempts=retries,
            maximum_record_age=age,
            on_failure=ON_FAILURE_BUCKET,
            report_batch_item_failures=True,
            function_timeout=FUNCTION_TIMEOUT,
            starting_position="TRIM_HORIZON",
            clock=self.clock,
        )

    def record_id(self, raw: dict[str, Any]) -> str:
        return str(raw["kinesis"]["sequenceNumber"])

    def sent_on(self) -> list[str]:
        """Sequence numbers of the records sent to the on-failure destination."""
        return [
            record["kinesis"]["sequenceNumber"]
            for document in self.summary.on_failure
            for record in json.loads(document["payload"])["Records"]
        ]

    def resolved(self) -> set[str]:
        return {*self.succeeded(), *self.sent_on()}

    def put(self, order: str) -> None:
        key = self.key_of[order]
        data = json.dumps({"order_id": order, "customer": key}).encode()
        self.track(self.stream.put(data, partition_key=key), order, key)

    @rule(
        target=ESMMachine.orders,
        fates=st.lists(
            st.tuples(st.sampled_from([f"customer-{i}" for i in range(5)]), FATES),
            min_size=1,
            max_size=4,
        ),
    )
    def put_new_orders(self, fates: list[tuple[str, tuple[str, int]]]) -> MultipleResults[str]:
        orders = []
        for key, fate in fates:
            order = self.new_order(fate)
            self.key_of[order] = key
            self.put(order)
            orders.append(order)
        return multiple(*orders)

    @rule(orders=st.lists(ESMMachine.orders, min_size=1, max_size=3))
    def put_duplicates(self, orders: list[str]) -> None:
        """The producer puts orders again (retried PutRecords), under the same keys."""
        for order in orders:
            self.put(order)

    def expected_outcomes(self, invocation: Invocation) -> dict[str, str]:
        """Streams: Lambda checkpoints before the lowest reported sequence number and retries
        from it (services-kinesis-batchfailurereporting.html): every record from the first
        reported one on failed."""
        outcomes = super().expected_outcomes(invocation)
        if invocation.raised or invocation.seconds > FUNCTION_TIMEOUT or not invocation.reported:
            return outcomes
        cut = min(invocation.ids.index(rid) for rid in invocation.reported)
        return {
            rid: SUCCEEDED if index < cut else FAILED for index, rid in enumerate(invocation.ids)
        }

    def check_delivery(self, raws: list[dict[str, Any]]) -> None:
        """A batch is records of one shard in sequence-number order (with-kinesis.html)."""
        shards = {raw["eventID"].split(":")[0] for raw in raws}
        if len(shards) != 1:
            self.violations.append(f"a batch spans shards {sorted(shards)}")
        sequences = [int(raw["kinesis"]["sequenceNumber"]) for raw in raws]
        if sequences != sorted(sequences):
            self.violations.append(f"a batch out of sequence order: {sequences}")

    @invariant()
    def every_record_is_checkpointed_sent_on_failure_or_ahead(self) -> None:
        summary = self.summary
        succeeded = self.succeeded()
        sent_on = self.sent_on()
        resolved = succeeded + sent_on
        assert len(resolved) == len(set(resolved)), "a record both succeeded and sent on"
        assert set(resolved) <= set(self.order_of_record), "a record nobody put"
        assert summary.deleted == len(resolved), (summary.deleted, succeeded, sent_on)
        done_with = set(resolved)
        for lane, records in self.lanes.items():
            done = [rid in done_with for rid in records]
            assert done == sorted(done, reverse=True), (
                f"resolved records of {lane!r} are not a prefix of its records: {done}"
            )


TestStandardQueue = StandardQueueMachine.TestCase
TestStandardQueue.settings = STEPS
TestFifoQueue = FifoQueueMachine.TestCase
TestFifoQueue.settings = STEPS
TestKinesisStream = KinesisMachine.TestCase
TestKinesisStream.settings = STEPS
