"""The cost and capacity model (``lambdakit.cost.estimate``), one behaviour per test, each with
its numbers worked by hand in the comment next to the assertion. The terms and their sources
are documented in ``lambdakit.cost._model``.

Most tests use a 30-day month (2,592,000 s), no cold starts, and a batching window of 1 s at a
rate that fills the batch, so that the effective batch is exactly the configured batch size.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from lambdakit.cost import Account, Assumptions, Config, Estimate, HandlerProfile, Workload
from lambdakit.cost._model import drain_seconds, erlang_c, estimate, queue_wait_s
from lambdakit.cost._prices import DEFAULT_PRICES, Prices
from lambdakit.cost._types import Architecture
from lambdakit.errors import CostInputError

SECONDS = 86_400 * 30  # seconds in the test month: 2,592,000
ASSUME = Assumptions(month_days=30, cold_start_rate=0.0)
NO_FREE = Account(free_tier=False)
X86_GBS = 0.0000166667  # first x86_64 GB-s tier, USD (the dated us-east-1 table)
X86_GBS_TIER2 = 0.0000150000
ARM_GBS = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1e6
SQS_STANDARD = 0.40 / 1e6
SQS_FIFO = 0.50 / 1e6
MIB = 1_048_576


def run(
    workload: Workload,
    config: Config,
    profile: HandlerProfile | None = None,
    *,
    account: Account = NO_FREE,
    assumptions: Assumptions = ASSUME,
    prices: Prices = DEFAULT_PRICES,
) -> Estimate:
    """The estimate in the test month, without the free tier unless ``account`` has it."""
    return estimate(
        workload,
        config,
        profile or HandlerProfile(),
        prices=prices,
        account=account,
        assumptions=assumptions,
    )


# --- 2. effective batch ---------------------------------------------------------------------


def test_a_batching_window_closes_the_batch_when_the_window_ends_before_it_fills() -> None:
    # 2 msg/s x 5 s window = 10 records < batch size 100 (and < 6 MiB / 1 KiB = 6,144)
    est = run(Workload(2.0), Config(batch_size=100, window_s=5))
    assert est.effective_batch == pytest.approx(10)
    # invocations: 2 msg/s / 10 per batch x 2,592,000 s = 518,400
    assert est.invocations == pytest.approx(518_400)


def test_a_batch_never_exceeds_lambdas_6_mb_invocation_payload() -> None:
    # floor(6,291,456 / 262,144) = 24 messages of 256 KiB, although 1000 msg/s x 20 s = 20,000
    est = run(Workload(1000.0, message_bytes=262_144), Config(batch_size=1000, window_s=20))
    assert est.effective_batch == 24


def test_without_a_window_the_batch_is_what_one_of_five_pollers_gathers_per_invocation() -> None:
    # b = 50 msg/s x D(b) / 1000 / 5 pollers with D(b) = 100 + 50 b ms (I/O, memory-independent)
    # => b = 1 + b/2 => b = 2, D = 200 ms (the fixed point: 50 x 0.2 / 5 = 2)
    profile = HandlerProfile(overhead_io_ms=100, io_ms_per_record=50)
    est = run(Workload(50.0), Config(batch_size=10, window_s=0), profile)
    assert est.effective_batch == pytest.approx(2)
    assert est.duration_ms == pytest.approx(200)


def test_without_a_window_a_trickle_gives_batches_of_one() -> None:
    # 1 msg/s x 0.15 s / 5 pollers = 0.03 records per poll -> at least 1
    profile = HandlerProfile(overhead_io_ms=100, io_ms_per_record=50)
    est = run(Workload(1.0), Config(batch_size=10, window_s=0), profile)
    assert est.effective_batch == 1


@pytest.mark.parametrize(
    ("batch_size", "expected"),
    [(10, 10), (4, 4), (100, 10)],  # 100: refused by AWS (see below), one poll still gives 10
)
def test_without_a_window_a_busy_queue_fills_the_batch_up_to_ten(
    batch_size: int, expected: int
) -> None:
    # 1000 msg/s x 0.5 s / 5 = 100 records per poll -> the batch size (a poll returns <= 10)
    profile = HandlerProfile(overhead_io_ms=500)
    est = run(Workload(1000.0), Config(batch_size=batch_size, window_s=0), profile)
    assert est.effective_batch == expected


# --- 2. rules of the event source mapping ---------------------------------------------------


def test_fifo_queues_refuse_batches_over_ten() -> None:
    est = run(Workload(100.0, fifo=True), Config(batch_size=20, window_s=0))
    assert not est.feasible
    assert any("batch_size 20" in problem and "FIFO" in problem for problem in est.problems)


def test_fifo_queues_refuse_a_batching_window() -> None:
    est = run(Workload(100.0, fifo=True), Config(batch_size=10, window_s=1))
    assert not est.feasible
    assert any("window" in problem and "FIFO" in problem for problem in est.problems)


def test_standard_batches_over_ten_need_a_window_of_at_least_one_second() -> None:
    without = run(Workload(100.0), Config(batch_size=100, window_s=0))
    assert not without.feasible
    assert any("batch_size 100" in problem for problem in without.problems)
    assert run(Workload(100.0), Config(batch_size=100, window_s=1)).feasible


def test_a_plain_setting_is_feasible_with_no_problems() -> None:
    est = run(Workload(10.0), Config(batch_size=10, window_s=1))
    assert est.feasible
    assert est.problems == ()


# --- 3. failures, retries and the dead-letter queue -----------------------------------------

RETRY_CONFIG = Config(batch_size=10, window_s=1)  # 10 msg/s x 1 s fills batches of 10


def test_standard_transient_failures_are_redelivered_up_to_max_receive_count() -> None:
    # f = 0.5, R = 3: deliveries per message 1 + 0.5 + 0.25 = (1 - 0.5^3) / (1 - 0.5) = 1.75;
    # dead-lettered 0.5^3 = 0.125 of the messages
    est = run(Workload(10.0, failure_rate=0.5, max_receive_count=3), RETRY_CONFIG)
    # 10 msg/s x 1.75 x 2,592,000 s = 45,360,000 handler attempts, in batches of 10
    assert est.records_run == pytest.approx(45_360_000)
    assert est.invocations == pytest.approx(4_536_000)
    # 10 x 0.125 x 2,592,000 = 3,240,000
    assert est.dead_lettered == pytest.approx(3_240_000)


def test_without_a_redrive_policy_a_transient_failure_is_retried_until_it_succeeds() -> None:
    # f = 0.2, R = None: 1 / (1 - 0.2) = 1.25 deliveries per message, none dead-lettered
    est = run(Workload(10.0, failure_rate=0.2, max_receive_count=None), RETRY_CONFIG)
    assert est.records_run == pytest.approx(10 * 1.25 * SECONDS)  # 32,400,000
    assert est.dead_lettered == 0


def test_poison_messages_are_delivered_max_receive_count_times_then_dead_lettered() -> None:
    # p = 0.1, R = 4: 0.9 x 1 + 0.1 x 4 = 1.3 deliveries per message; 0.1 dead-lettered
    est = run(Workload(10.0, poison_rate=0.1, max_receive_count=4), RETRY_CONFIG)
    assert est.records_run == pytest.approx(10 * 1.3 * SECONDS)  # 33,696,000
    assert est.dead_lettered == pytest.approx(10 * 0.1 * SECONDS)  # 2,592,000


# FIFO: 1000 msg/s and a 500 ms invocation fill the poll (1000 x 0.5 / 5 = 100 -> 10), so
# every batch holds 10 records; message_groups sets m = 10 / min(groups, 10) per group.
FIFO_PROFILE = HandlerProfile(overhead_io_ms=500)
FIFO_CONFIG = Config(batch_size=10, window_s=0)


def fifo(groups: int | None) -> Workload:
    return Workload(1000.0, fifo=True, failure_rate=0.1, max_receive_count=5, message_groups=groups)


def test_fifo_with_one_record_per_group_in_a_batch_retries_exactly_like_standard() -> None:
    standard = run(
        Workload(1000.0, failure_rate=0.1, max_receive_count=5), FIFO_CONFIG, FIFO_PROFILE
    )
    for groups in (None, 10):  # m = 1: no record waits behind another of its group
        est = run(fifo(groups), FIFO_CONFIG, FIFO_PROFILE)
        assert est.records_run == pytest.approx(standard.records_run)
        assert est.dead_lettered == pytest.approx(standard.dead_lettered)


def test_fifo_group_stops_return_the_rest_of_the_group_unprocessed() -> None:
    # groups 5 -> m = 2 records per group per batch; q = 0.1 per attempt.
    # run fraction r = (1 - 0.9^2) / (2 x 0.1) = 0.95 (the second record runs only if the first
    # succeeded); a record is returned with f' = 1 - 0.9 x 0.95 = 0.145 per delivery.
    f_eff = 1 - 0.9 * 0.95
    deliveries = 1000 * (1 - f_eff**5) / (1 - f_eff)  # per second, R = 5
    est = run(fifo(5), FIFO_CONFIG, FIFO_PROFILE)
    assert est.records_run == pytest.approx(deliveries * 0.95 * SECONDS)
    assert est.invocations == pytest.approx(deliveries / 10 * SECONDS)
    assert est.dead_lettered == pytest.approx(1000 * f_eff**5 * SECONDS)  # 0.145^5 = 6.4e-5


def test_fifo_group_amplification_grows_with_records_per_group() -> None:
    # m = 1, 2, 5, 10 (groups 10, 5, 2, 1): more records wait behind each failure
    dead = [run(fifo(g), FIFO_CONFIG, FIFO_PROFILE).dead_lettered for g in (10, 5, 2, 1)]
    assert dead == sorted(dead)
    assert len(set(dead)) == 4


# --- 4. duration: memory -> CPU, in-handler concurrency, billing ----------------------------

ONE = Config(batch_size=1, window_s=0)  # batches of exactly one record


@pytest.mark.parametrize(
    ("memory_mb", "expected_ms"),
    [
        (128, 10 * 1769 / 128),  # 138.203125: 128 MB gets 128/1769 of a vCPU
        (1769, 10.0),  # one full vCPU
        (3008, 10.0),  # a second vCPU does not speed up a single-threaded handler
    ],
)
def test_cpu_time_stretches_below_1769_mb(memory_mb: int, expected_ms: float) -> None:
    config = Config(batch_size=1, window_s=0, memory_mb=memory_mb, architecture="x86_64")
    est = run(Workload(1.0), config, HandlerProfile(cpu_ms_per_record=10))
    assert est.duration_ms == pytest.approx(expected_ms)


def test_io_time_does_not_depend_on_memory() -> None:
    config = Config(batch_size=1, window_s=0, memory_mb=128)
    est = run(Workload(1.0), config, HandlerProfile(io_ms_per_record=10))
    assert est.duration_ms == pytest.approx(10)


@pytest.mark.parametrize(
    ("architecture", "expected_ms"),
    [("arm64", 10 * 1.25 + 4), ("x86_64", 10 + 4)],  # CPU x 1.25 on arm64; I/O unchanged
)
def test_arm64_speed_scales_cpu_time_on_arm64_only(
    architecture: Architecture, expected_ms: float
) -> None:
    assumptions = Assumptions(month_days=30, cold_start_rate=0.0, arm64_speed=1.25)
    profile = HandlerProfile(cpu_ms_per_record=10, io_ms_per_record=4)
    config = Config(batch_size=1, window_s=0, memory_mb=1769, architecture=architecture)
    est = run(Workload(1.0), config, profile, assumptions=assumptions)
    assert est.duration_ms == pytest.approx(expected_ms)


@pytest.mark.parametrize(
    ("concurrency", "expected_ms"),
    [
        (1, 10 * 2 + 10 * 8),  # 100: nothing overlaps
        (4, 10 * 2 + 10 * 8 / 4),  # 40: I/O overlaps 4 at a time, CPU does not (the GIL)
        (20, 10 * 2 + 10 * 8 / 10),  # 28: at most the 10 records of the batch overlap
    ],
)
def test_in_handler_concurrency_divides_io_time_only(concurrency: int, expected_ms: float) -> None:
    config = Config(batch_size=10, window_s=1, memory_mb=1769, concurrency=concurrency)
    profile = HandlerProfile(cpu_ms_per_record=2, io_ms_per_record=8)
    assert run(Workload(10.0), config, profile).duration_ms == pytest.approx(expected_ms)


def test_each_invocation_is_billed_in_whole_milliseconds_rounded_up() -> None:
    # D = 10.2 ms is billed 11 ms: 2,592,000 invocations (1/s) x 0.011 s x 1 GB = 28,512 GB-s
    config = Config(batch_size=10, window_s=1, memory_mb=1024, architecture="x86_64")
    est = run(Workload(10.0), config, HandlerProfile(overhead_io_ms=10.2))
    assert est.duration_ms == pytest.approx(10.2)
    assert est.gb_seconds == pytest.approx(28_512)
    assert est.cost.lambda_compute == pytest.approx(28_512 * X86_GBS)


# --- 5. memory required ---------------------------------------------------------------------

MEMORY_WORKLOAD = Workload(10.0, message_bytes=131_072)  # 10 x 128 KiB = 1.25 MiB of event


def test_memory_required_counts_the_base_the_records_and_the_event_itself() -> None:
    # 100 MB base + 2 MB x 10 records + 10 x 131,072 / 1,048,576 = 1.25 MB -> 121.25 MB
    profile = HandlerProfile(base_memory_mb=100, mb_per_record=2)
    est = run(MEMORY_WORKLOAD, Config(batch_size=10, window_s=1, memory_mb=128), profile)
    assert est.memory_required_mb == pytest.approx(121.25)
    assert est.feasible


def test_too_little_memory_is_a_problem_naming_both_sizes() -> None:
    # 100 + 5 x 10 + 1.25 = 151.25 MB > 128 MB
    profile = HandlerProfile(base_memory_mb=100, mb_per_record=5)
    est = run(MEMORY_WORKLOAD, Config(batch_size=10, window_s=1, memory_mb=128), profile)
    assert not est.feasible
    [problem] = est.problems
    assert "128 MB" in problem
    assert "151.25 MB" in problem


def test_memory_is_sized_for_the_full_batch_a_backlog_brings_not_the_usual_one() -> None:
    # 1 msg/s with a 10 s window usually gives batches of 10, but a backlog fills all 1,000:
    # 100 MB + 0.5 MB x 1,000 + 1,000 x 1 KiB (0.9765625 MB) = 600.98 MB > 512 MB
    profile = HandlerProfile(base_memory_mb=100, mb_per_record=0.5)
    est = run(Workload(1.0), Config(batch_size=1000, window_s=10, memory_mb=512), profile)
    assert est.effective_batch == pytest.approx(10)
    assert est.full_batch == 1000
    assert est.memory_required_mb == pytest.approx(600.9765625)
    assert not est.feasible
    assert "full batch of 1000 records" in est.problems[0]


# --- 6. GB-s and INIT -----------------------------------------------------------------------


def test_init_is_billed_for_the_cold_starts_at_the_cpu_scaled_init_time() -> None:
    # 2,592,000 invocations x 1% cold = 25,920 INITs; 200 ms of CPU at 512 MB takes
    # 200 x 1769 / 512 = 691.015625 ms, billed 692 ms: 25,920 x 0.692 s x 0.5 GB = 8,968.32 GB-s
    assumptions = Assumptions(month_days=30, cold_start_rate=0.01)
    config = Config(batch_size=10, window_s=1, memory_mb=512, architecture="x86_64")
    profile = HandlerProfile(overhead_io_ms=100, init_ms=200)
    est = run(Workload(10.0), config, profile, assumptions=assumptions)
    assert est.init_gb_seconds == pytest.approx(8_968.32)
    # invocations: 2,592,000 x 0.1 s x 0.5 GB = 129,600 GB-s; each part at the x86 price
    assert est.gb_seconds == pytest.approx(129_600)
    assert est.cost.init == pytest.approx(8_968.32 * X86_GBS)
    assert est.cost.lambda_compute == pytest.approx(129_600 * X86_GBS)


# --- 7. the free tier and price tiers, once per account -------------------------------------

# 10 msg/s in batches of 10 taking 1 s at 1 GB: 2,592,000 invocations and GB-s a month
TIER_WORKLOAD = Workload(10.0)
TIER_CONFIG = Config(batch_size=10, window_s=1, memory_mb=1024, architecture="x86_64")
TIER_PROFILE = HandlerProfile(overhead_io_ms=1000)


def tier_cost(account: Account) -> tuple[float, float]:
    est = run(TIER_WORKLOAD, TIER_CONFIG, TIER_PROFILE, account=account)
    assert est.gb_seconds == pytest.approx(2_592_000)
    return est.cost.lambda_compute, est.cost.lambda_requests


def test_a_function_alone_in_its_account_gets_the_free_tier() -> None:
    compute, requests = tier_cost(Account())
    assert compute == pytest.approx((2_592_000 - 400_000) * X86_GBS)  # 2,192,000 GB-s billed
    assert requests == pytest.approx((2_592_000 - 1_000_000) * LAMBDA_REQUEST)  # $0.3184


def test_the_same_function_in_a_busy_account_pays_for_everything() -> None:
    busy = Account(other_gb_seconds={"arm64": 1_000_000}, other_lambda_requests=5_000_000)
    compute, requests = tier_cost(busy)
    assert compute == pytest.approx(2_592_000 * X86_GBS)
    assert requests == pytest.approx(2_592_000 * LAMBDA_REQUEST)


def test_other_usage_leaves_only_the_rest_of_the_free_tier() -> None:
    # others used 300,000 free GB-s (arm64) and 600,000 free requests: 100,000 GB-s and
    # 400,000 requests are left for this function
    account = Account(other_gb_seconds={"arm64": 300_000}, other_lambda_requests=600_000)
    compute, requests = tier_cost(account)
    assert compute == pytest.approx((2_592_000 - 100_000) * X86_GBS)
    assert requests == pytest.approx((2_592_000 - 400_000) * LAMBDA_REQUEST)


def test_other_usage_moves_the_function_across_a_price_tier() -> None:
    # no free tier; others used 6e9 - 1e6 x86 GB-s: 1,000,000 GB-s at the first tier's price,
    # the other 1,592,000 at the second's
    account = Account(free_tier=False, other_gb_seconds={"x86_64": 6e9 - 1e6})
    compute, _ = tier_cost(account)
    assert compute == pytest.approx(1_000_000 * X86_GBS + 1_592_000 * X86_GBS_TIER2)


def test_price_tiers_are_per_architecture() -> None:
    # arm64 usage far past x86's first tier leaves an x86 function in the first tier
    compute, _ = tier_cost(Account(free_tier=False, other_gb_seconds={"arm64": 10e9}))
    assert compute == pytest.approx(2_592_000 * X86_GBS)


def test_arm64_is_priced_at_arm64_rates() -> None:
    config = Config(batch_size=10, window_s=1, memory_mb=1024, architecture="arm64")
    est = run(TIER_WORKLOAD, config, TIER_PROFILE)
    assert est.cost.lambda_compute == pytest.approx(2_592_000 * ARM_GBS)


# --- 8. SQS requests ------------------------------------------------------------------------


def test_sqs_bills_every_64_kb_chunk_of_sends_and_receives() -> None:
    # 100,000-byte messages: a batch of 10 is 1,000,000 bytes = ceil(15.26) = 16 chunks.
    # per message: sends 16/10 = 1.6, receives 16/10 = 1.6, deletes 1 per batch of 10 = 0.1
    # 3.3 x 10 msg/s x 2,592,000 s = 85,536,000 requests
    est = run(Workload(10.0, message_bytes=100_000), Config(batch_size=10, window_s=1))
    assert est.sqs_requests == pytest.approx(85_536_000)
    assert est.cost.sqs == pytest.approx(85_536_000 * SQS_STANDARD)


def test_one_message_per_send_and_per_invocation_pay_one_request_each() -> None:
    # send_batch 1: 1 send per message; receives 1 per 10 messages; a batch of 1 record is
    # deleted by its own request: 1 + 0.1 + 1 = 2.1 requests per message
    assumptions = Assumptions(month_days=30, cold_start_rate=0.0, send_batch=1)
    est = run(Workload(10.0), ONE, assumptions=assumptions)
    assert est.sqs_requests == pytest.approx(2.1 * 10 * SECONDS)


def test_fifo_requests_are_priced_at_fifo_rates() -> None:
    # 100 msg/s x 0.5 s / 5 pollers = batches of 10; 1 KiB messages: 1 send + 1 receive +
    # 1 delete per 10 messages = 0.3 requests per message, 77,760,000 a month at FIFO's $0.50/M
    est = run(Workload(100.0, fifo=True), Config(batch_size=10, window_s=0), FIFO_PROFILE)
    assert est.sqs_requests == pytest.approx(0.3 * 100 * SECONDS)
    assert est.cost.sqs == pytest.approx(0.3 * 100 * SECONDS * SQS_FIFO)


def test_filtered_messages_are_received_and_deleted_but_never_invoke() -> None:
    # half the messages pass: 5 msg/s reach the function (batches of 10 with a 2 s window);
    # the other 5 are received (0.1 per message) and deleted (0.1 per message) by the mapping
    est = run(Workload(10.0, filter_pass=0.5), Config(batch_size=10, window_s=2))
    assert est.invocations == pytest.approx(0.5 * SECONDS)
    # sends 0.1 x 10 + receives 0.1 x 10 + deletes 0.1 x 10 (5 succeeded + 5 filtered)
    assert est.sqs_requests == pytest.approx(3.0 * SECONDS)


def test_idle_long_polls_are_billed_only_in_hours_without_traffic() -> None:
    # 12 silent hours x 5 pollers x 3600 / 20 s = 10,800 empty receives a day, 324,000 a month;
    # the busy hours fill batches of 10 either way, so the traffic's own requests are the same
    config = Config(batch_size=10, window_s=1)
    flat = run(Workload(10.0), config)
    half = run(Workload(10.0, daily_profile=(1.0,) * 12 + (0.0,) * 12), config)
    assert half.sqs_requests - flat.sqs_requests == pytest.approx(324_000)


def test_an_idle_queue_costs_its_long_polls_and_nothing_else() -> None:
    # 24 h x 900 receives x 30 days = 648,000 requests; no invocation
    est = run(Workload(0.0), Config(batch_size=10, window_s=1))
    assert est.sqs_requests == pytest.approx(648_000)
    assert est.invocations == 0
    assert est.cost.lambda_compute == est.cost.lambda_requests == est.cost.init == 0


def test_the_sqs_free_tier_is_used_by_the_accounts_other_requests_first() -> None:
    # 0.3 x 10 x 2,592,000 = 7,776,000 requests; others used 400,000 of the free million
    config = Config(batch_size=10, window_s=1)
    alone = run(Workload(10.0), config, account=Account(other_sqs_requests=400_000))
    assert alone.cost.sqs == pytest.approx((7_776_000 - 600_000) * SQS_STANDARD)
    busy = run(Workload(10.0), config, account=Account(other_sqs_requests=2_000_000))
    assert busy.cost.sqs == pytest.approx(7_776_000 * SQS_STANDARD)


# --- 9. provisioned pollers -----------------------------------------------------------------


def test_provisioned_pollers_are_billed_every_hour_of_the_month() -> None:
    # 4 pollers x 24 h x 30 days x $0.015 = $43.20
    prices = DEFAULT_PRICES.with_poller_rate(0.015)
    config = Config(batch_size=10, window_s=1, provisioned_pollers=4)
    est = run(Workload(10.0), config, prices=prices)
    assert est.cost.pollers == pytest.approx(43.2)


def test_provisioned_pollers_without_a_rate_name_the_missing_price() -> None:
    config = Config(batch_size=10, window_s=1, provisioned_pollers=4)
    with pytest.raises(CostInputError, match="provisioned_poller_hour") as raised:
        run(Workload(10.0), config)
    assert raised.value.field == "prices.provisioned_poller_hour"


def test_on_demand_polling_costs_no_pollers() -> None:
    assert run(Workload(10.0), Config(batch_size=10, window_s=1)).cost.pollers == 0


# --- 10. capacity ---------------------------------------------------------------------------

# 1000 msg/s in batches of 10 taking 500 ms: 100 invocations/s x 0.5 s = 50 concurrent
CAPACITY_PROFILE = HandlerProfile(overhead_io_ms=500)
CAPACITY_CONFIG = Config(batch_size=10, window_s=1)


def test_concurrency_needed_is_invocations_per_second_times_duration() -> None:
    est = run(Workload(1000.0), CAPACITY_CONFIG, CAPACITY_PROFILE)
    assert est.concurrency == pytest.approx(50)
    assert est.feasible


def test_capacity_is_taken_at_the_busiest_hour() -> None:
    # a mean of 500 msg/s, all of it in 12 hours at 1000 msg/s: 50 concurrent, as above
    workload = Workload(500.0, daily_profile=(2.0,) * 12 + (0.0,) * 12)
    est = run(workload, CAPACITY_CONFIG, CAPACITY_PROFILE)
    assert est.concurrency == pytest.approx(50)


@pytest.mark.parametrize(
    ("workload", "config", "account", "limit"),
    [
        (Workload(1.0), CAPACITY_CONFIG, Account(concurrency_limit=40), 40),
        (Workload(1.0), CAPACITY_CONFIG, Account(concurrency_limit=5000), 1250),
        (
            Workload(1.0),
            Config(batch_size=10, window_s=1, max_concurrency=20),
            Account(concurrency_limit=5000),
            20,
        ),
        (
            Workload(1.0),
            Config(batch_size=10, window_s=1, provisioned_pollers=2),
            Account(concurrency_limit=30_000),
            20_000,
        ),
        (
            Workload(1.0, fifo=True, message_groups=30),
            Config(batch_size=10, window_s=0),
            Account(),
            30,
        ),
    ],
    ids=["account", "on-demand 1,250", "max_concurrency", "provisioned 20,000", "fifo groups"],
)
def test_the_concurrency_limit_is_the_smallest_that_applies(
    workload: Workload, config: Config, account: Account, limit: int
) -> None:
    prices = DEFAULT_PRICES.with_poller_rate(0.015)
    est = run(workload, config, CAPACITY_PROFILE, account=account, prices=prices)
    assert est.concurrency_limit == limit


def test_more_concurrency_than_the_limit_is_a_problem_naming_the_limit() -> None:
    est = run(
        Workload(1000.0), CAPACITY_CONFIG, CAPACITY_PROFILE, account=Account(concurrency_limit=40)
    )
    assert not est.feasible
    [problem] = est.problems
    assert "50" in problem
    assert "40" in problem
    assert "account" in problem


def test_provisioned_mode_scales_up_faster() -> None:
    prices = DEFAULT_PRICES.with_poller_rate(0.015)
    on_demand = run(Workload(1.0), CAPACITY_CONFIG)
    provisioned = run(
        Workload(1.0), Config(batch_size=10, window_s=1, provisioned_pollers=2), prices=prices
    )
    assert (on_demand.scale_up_per_minute, provisioned.scale_up_per_minute) == (300, 1000)


# --- 11. latency ----------------------------------------------------------------------------

LATENCY_PROFILE = HandlerProfile(overhead_io_ms=200)


def test_latency_is_the_wait_for_the_window_plus_the_duration() -> None:
    # 1 msg/s never fills 100 in 5 s: a message waits U(0, 5) s for the batch to close, then
    # 0.2 s of invocation. p50 = 2.5 + 0.2, p99 = 4.95 + 0.2
    est = run(Workload(1.0), Config(batch_size=100, window_s=5), LATENCY_PROFILE)
    assert est.latency_p50_s == pytest.approx(2.7)
    assert est.latency_p99_s == pytest.approx(5.15)


def test_a_batch_that_fills_before_its_window_closes_early() -> None:
    # 100 msg/s fill 100 records in 1 s < 5 s: p50 = 0.5 + 0.2, p99 = 0.99 + 0.2
    est = run(Workload(100.0), Config(batch_size=100, window_s=5), LATENCY_PROFILE)
    assert est.latency_p50_s == pytest.approx(0.7)
    assert est.latency_p99_s == pytest.approx(1.19)


def test_without_a_window_a_message_waits_for_one_poll_cycle() -> None:
    # the poll cycle is one invocation, 0.2 s: p50 = 0.1 + 0.2, p99 = 0.198 + 0.2
    est = run(Workload(1.0), Config(batch_size=10, window_s=0), LATENCY_PROFILE)
    assert est.latency_p50_s == pytest.approx(0.3)
    assert est.latency_p99_s == pytest.approx(0.398)


def test_p99_latency_adds_a_visibility_timeout_for_each_retry_it_needs() -> None:
    # f = 0.05: P(more than 0 retries) = 0.05 <= 0.5, so p50 needs none; 0.05 > 0.01 but
    # P(more than 1 retry) = 0.0025 <= 0.01, so p99 waits one 30 s visibility timeout
    workload = Workload(1.0, failure_rate=0.05, visibility_timeout_s=30)
    est = run(workload, Config(batch_size=100, window_s=5), LATENCY_PROFILE)
    assert est.latency_p50_s == pytest.approx(2.7)
    assert est.latency_p99_s == pytest.approx(5.15 + 30)


def test_latency_counts_no_more_retries_than_max_receive_count_allows() -> None:
    # f = 0.5 would need 6 retries for p99 (0.5^7 <= 0.01), but R = 2 allows 1; the rest is
    # dead-lettered, not late
    workload = Workload(1.0, failure_rate=0.5, max_receive_count=2, visibility_timeout_s=30)
    est = run(workload, Config(batch_size=100, window_s=5), LATENCY_PROFILE)
    assert est.latency_p99_s == pytest.approx(5.15 + 30)


def test_the_chance_to_wait_for_a_slot_is_erlang_c() -> None:
    # one server: P(wait) = load; two servers: a^2 / (2 + a)
    assert erlang_c(1, 0.5) == pytest.approx(0.5)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(1_250, 20.0) == 0.0  # far below the limit nobody waits


def test_a_batch_waits_for_a_slot_by_the_erlang_c_tail() -> None:
    # M/M/1 at 0.5 batches/s of 1 s: P(wait > t) = 0.5 e^(-0.5 t); the p99 wait solves
    # 0.5 e^(-0.5 t) = 0.01: t = 2 ln 50
    assert queue_wait_s(0.99, 0.5, 1000, 1) == pytest.approx(2 * math.log(50))
    assert queue_wait_s(0.50, 0.5, 1000, 1) == 0.0  # half the batches never wait
    assert queue_wait_s(0.99, 1.0, 1000, 1) == math.inf  # at the limit: never served in time


def test_latency_grows_as_the_concurrency_needed_nears_the_limit() -> None:
    # 200 msg/s in batches of 10 taking ~1.03 s need ~20.6 concurrent invocations
    profile = HandlerProfile(overhead_cpu_ms=10, cpu_ms_per_record=2, io_ms_per_record=100)
    config = Config(batch_size=10, window_s=1, memory_mb=1769)
    roomy = run(Workload(200.0), config, profile)
    tight = run(Workload(200.0), replace(config, max_concurrency=21), profile)
    assert tight.concurrency == pytest.approx(roomy.concurrency)
    assert tight.feasible
    assert tight.latency_p99_s > roomy.latency_p99_s + 1  # queueing at 98% of the limit
    assert roomy.latency_p99_s == pytest.approx(0.99 * 0.05 + roomy.duration_ms / 1000)


# --- 12. drain time -------------------------------------------------------------------------


def integrate_drain(
    backlog: float, arrivals: float, per_invocation: float, start: float, limit: float
) -> float:
    """Works the backlog off in 1 ms steps: concurrency ramps from ``start`` by 300 a minute
    (5 a second) up to ``limit``; each concurrent invocation clears ``per_invocation`` msg/s."""
    step, t = 0.001, 0.0
    while backlog > 0:
        concurrency = min(start + 5 * (t + step / 2), limit)
        backlog -= (concurrency * per_invocation - arrivals) * step
        t += step
        assert t < 10_000, "never drained"
    return t


@pytest.mark.parametrize(
    ("account_limit", "closed_form"),
    [
        # ramp only: 20 (5 + 5t) - 1000 drains 50 t^2 - 900 t = 100,000 at
        # t = (900 + sqrt(900^2 + 4 x 50 x 100,000)) / 100 = 54.6179...
        (1000, (900 + math.sqrt(900**2 + 4 * 50 * 100_000)) / 100),
        # the ramp reaches 100 at t = 19 s having drained 50 x 19^2 - 900 x 19 = 950;
        # then 100 x 20 - 1000 = 1000 msg/s clear the other 99,050 in 99.05 s
        (100, 19 + 99_050 / 1000),
    ],
    ids=["within the ramp", "past the ramp"],
)
def test_drain_seconds_is_the_closed_form_of_the_ramp(
    account_limit: int, closed_form: float
) -> None:
    # batches of 10 in 500 ms: one invocation clears 20 msg/s; 1000 msg/s keep arriving
    est = run(
        Workload(1000.0),
        CAPACITY_CONFIG,
        CAPACITY_PROFILE,
        account=Account(concurrency_limit=account_limit),
    )
    seconds = drain_seconds(est, 100_000, 1000.0)
    assert seconds == pytest.approx(closed_form, rel=1e-9)
    assert seconds == pytest.approx(integrate_drain(100_000, 1000, 20, 5, account_limit), rel=1e-4)
    assert est.drain_seconds(100_000, 1000.0) == seconds


def test_a_backlog_is_drained_in_full_batches_even_where_the_window_keeps_them_small() -> None:
    # 1 msg/s and a 10 s window give batches of 10, but a backlog of 100,000 fills batches of
    # 100 taking 10 ms + 1 ms x 100 = 110 ms: 909.09 msg/s per invocation, 5 at first
    profile = HandlerProfile(overhead_io_ms=10, io_ms_per_record=1)
    est = run(Workload(1.0), Config(batch_size=100, window_s=10), profile)
    assert (est.effective_batch, est.full_batch) == (pytest.approx(10), 100)
    assert est.full_duration_ms == pytest.approx(110)
    per_invocation = 100 / 0.110
    assert drain_seconds(est, 100_000, 1.0) == pytest.approx(
        integrate_drain(100_000, 1, per_invocation, 5, 1000), rel=1e-3
    )


def test_drain_never_catches_up_when_full_concurrency_only_matches_arrivals() -> None:
    # a limit of 50 clears 50 x 20 = 1000 msg/s, no more than arrive
    est = run(
        Workload(1000.0), CAPACITY_CONFIG, CAPACITY_PROFILE, account=Account(concurrency_limit=50)
    )
    assert drain_seconds(est, 100_000, 1000.0) is None


def test_an_empty_backlog_takes_no_time_to_drain() -> None:
    est = run(Workload(1000.0), CAPACITY_CONFIG, CAPACITY_PROFILE)
    assert drain_seconds(est, 0, 1000.0) == 0.0


def test_drain_seconds_refuses_a_negative_backlog_naming_it() -> None:
    est = run(Workload(1000.0), CAPACITY_CONFIG, CAPACITY_PROFILE)
    with pytest.raises(CostInputError, match="backlog"):
        drain_seconds(est, -1, 1000.0)


# --- the estimator's arithmetic -------------------------------------------------------------


def test_lambda_cost_equals_the_aws_estimators_formula_for_the_same_batch() -> None:
    # aws-lambda-sqs-cost-estimator (code/LambdaPlotly.py): requests = messages/day x days /
    # batch; GB-s = requests x memory/1024 x duration_s; duration = warm latency + per-message
    # x batch (its sample input: 20 ms + 10 ms, 256 MB); cost = GB-s x $0.0000166667 +
    # requests x $0.0000002. Same batch (10 msg/s... 10M/day fill 10 in a 1 s window), no
    # failures, no filter, free tier off; we use our month length and D = 120 ms is whole.
    days = 365 / 12
    config = Config(batch_size=10, window_s=1, memory_mb=256, architecture="x86_64")
    profile = HandlerProfile(overhead_io_ms=20, io_ms_per_record=10)
    est = estimate(
        Workload.per_day(10_000_000),
        config,
        profile,
        account=NO_FREE,
        assumptions=Assumptions(cold_start_rate=0.0),
    )
    requests = 10_000_000 * days / 10  # 30,416,666.67
    gb_seconds = requests * 256 / 1024 * (20 + 10 * 10) / 1000  # 912,500
    assert est.invocations == pytest.approx(requests)
    assert est.gb_seconds == pytest.approx(gb_seconds)
    assert est.cost.lambda_compute + est.cost.lambda_requests == pytest.approx(
        gb_seconds * 0.0000166667 + requests * 0.0000002
    )
