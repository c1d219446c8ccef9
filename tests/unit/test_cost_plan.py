"""``lambdakit.cost.plan``: every setting of a grid estimated, ranked feasible first then
cheapest, and the recommendation: the cheapest feasible setting that meets the latency target,
its runner-up and the monthly saving between them.

The hand-worked scenario: 10 msg/s, a handler that waits 100 ms per invocation (I/O, so memory
does not change its duration), a 1 s batching window, a 30-day month (2,592,000 s), no free
tier. Batches of 1 close after 0.1 s (p99 wait 0.099 s + 0.1 s = 0.199 s) but need 10
invocations a second; batches of 10 fill in 1 s (p99 0.99 + 0.1 = 1.09 s) with 1 a second.
"""

from __future__ import annotations

import pytest

from lambdakit.cost import Account, Assumptions, Estimate, Grid, HandlerProfile, Plan, Workload
from lambdakit.cost._model import estimate
from lambdakit.cost._plan import plan
from lambdakit.errors import CostInputError

WORKLOAD = Workload(10.0)
PROFILE = HandlerProfile(overhead_io_ms=100)
ASSUME = Assumptions(month_days=30, cold_start_rate=0.0)
NO_FREE = Account(free_tier=False)
GRID = Grid(
    batch_sizes=(1, 10),
    windows_s=(1.0,),
    memory_mb=(1024, 2048),
    architectures=("x86_64",),
)


def plan_of(
    grid: Grid = GRID, profile: HandlerProfile = PROFILE, max_latency_s: float | None = None
) -> Plan:
    """The plan in the test month, without the free tier."""
    return plan(
        WORKLOAD,
        profile,
        grid,
        account=NO_FREE,
        assumptions=ASSUME,
        max_latency_s=max_latency_s,
    )


def setting(est: Estimate) -> tuple[int, int]:
    return est.config.batch_size, est.config.memory_mb


def test_plan_estimates_every_setting_of_the_grid() -> None:
    result = plan_of()
    assert sorted(setting(est) for est in result.estimates) == [
        (1, 1024),
        (1, 2048),
        (10, 1024),
        (10, 2048),
    ]
    # each is exactly what estimate() says of that setting
    for est in result.estimates:
        assert est == estimate(WORKLOAD, est.config, PROFILE, account=NO_FREE, assumptions=ASSUME)


def test_plan_ranks_cheapest_first() -> None:
    # batch 10 needs a tenth of the invocations; 1024 MB half the GB-s of 2048 MB at the same
    # (I/O-bound) duration
    result = plan_of()
    assert [setting(est) for est in result.estimates] == [
        (10, 1024),
        (10, 2048),
        (1, 1024),
        (1, 2048),
    ]


def test_infeasible_settings_are_kept_and_ranked_after_every_feasible_one() -> None:
    # a 200 MB handler does not fit in 128 MB: the cheapest setting by far, ranked last
    grid = Grid(
        batch_sizes=(10,), windows_s=(1.0,), memory_mb=(128, 1024), architectures=("x86_64",)
    )
    result = plan_of(grid, HandlerProfile(overhead_io_ms=100, base_memory_mb=200))
    assert [est.config.memory_mb for est in result.estimates] == [1024, 128]
    assert result.estimates[1].cost.total < result.estimates[0].cost.total
    assert not result.estimates[1].feasible
    assert result.best is not None
    assert result.best.config.memory_mb == 1024


def test_without_a_latency_target_the_best_is_the_cheapest_feasible_setting() -> None:
    result = plan_of()
    assert result.best is result.estimates[0]
    assert setting(result.best) == (10, 1024)
    assert result.max_latency_s is None


def test_a_latency_target_skips_cheaper_settings_whose_p99_is_too_slow() -> None:
    # batches of 10 have a p50 of 0.5 + 0.1 = 0.6 s <= 0.8 s but a p99 of 1.09 s > 0.8 s;
    # batches of 1 have a p99 of 0.199 s
    result = plan_of(max_latency_s=0.8)
    assert result.best is not None
    assert setting(result.best) == (1, 1024)
    assert result.best.latency_p99_s == pytest.approx(0.199)
    assert result.max_latency_s == 0.8


def test_an_infeasible_setting_is_never_recommended_even_when_fast_enough() -> None:
    # a 200 MB handler does not fit in 128 MB; under 0.8 s only batches of 1 qualify, and of
    # them only the 1024 MB one is feasible: no runner-up
    grid = Grid(
        batch_sizes=(1, 10), windows_s=(1.0,), memory_mb=(128, 1024), architectures=("x86_64",)
    )
    profile = HandlerProfile(overhead_io_ms=100, base_memory_mb=200)
    result = plan_of(grid, profile, max_latency_s=0.8)
    assert result.best is not None
    assert setting(result.best) == (1, 1024)
    assert result.runner_up is None


def test_the_runner_up_is_the_next_cheapest_that_meets_the_target_and_the_saving_is_the_gap() -> (
    None
):
    # under 0.8 s: best (1, 1024 MB), runner-up (1, 2048 MB): the same invocations and SQS
    # requests, one GB more for 10 invocations/s x 2,592,000 s x 0.1 s: 2,592,000 GB-s at
    # $0.0000166667
    result = plan_of(max_latency_s=0.8)
    assert result.runner_up is not None
    assert setting(result.runner_up) == (1, 2048)
    assert result.saving_usd == pytest.approx(2_592_000 * 0.0000166667)
    assert result.best is not None
    assert result.saving_usd == pytest.approx(result.runner_up.cost.total - result.best.cost.total)


def test_the_runner_up_differs_in_more_than_the_handlers_concurrency() -> None:
    # concurrency 1 and 4 cost the same for a handler with no per-record I/O: the runner-up
    # is the next batch size / window / memory / architecture, not the same setting again
    grid = Grid(
        batch_sizes=(10,),
        windows_s=(1.0,),
        memory_mb=(1024, 2048),
        architectures=("x86_64",),
        concurrency=(1, 4),
    )
    result = plan_of(grid)
    assert result.best is not None
    assert result.runner_up is not None
    assert setting(result.best) == (10, 1024)
    assert setting(result.runner_up) == (10, 2048)


def test_when_no_setting_meets_the_target_there_is_no_recommendation() -> None:
    result = plan_of(max_latency_s=0.1)  # below every p99 (the invocation alone takes 0.1 s)
    assert result.best is None
    assert result.runner_up is None
    assert result.saving_usd is None
    assert len(result.estimates) == 4


def test_a_single_candidate_has_no_runner_up_and_no_saving() -> None:
    grid = Grid(batch_sizes=(10,), windows_s=(1.0,), memory_mb=(1024,), architectures=("x86_64",))
    result = plan_of(grid)
    assert result.best is not None
    assert result.runner_up is None
    assert result.saving_usd is None


def test_plan_refuses_a_negative_latency_target_naming_it() -> None:
    with pytest.raises(CostInputError, match="max_latency_s"):
        plan_of(max_latency_s=-1.0)


def test_plan_keeps_its_inputs_for_the_report() -> None:
    result = plan_of()
    assert result.workload is WORKLOAD
    assert result.profile is PROFILE
    assert result.assumptions is ASSUME
    assert result.prices.date  # the dated table, printed by every report


def test_the_default_grid_is_evaluated_in_full() -> None:
    # 6 batch sizes x 4 windows x 6 memory sizes x 2 architectures = 288 settings
    profile = HandlerProfile(overhead_cpu_ms=5, cpu_ms_per_record=1, io_ms_per_record=3)
    result = plan(Workload.per_day(10_000_000), profile)
    assert len(result.estimates) == 288
    assert result.best is not None
    feasible = [est.feasible for est in result.estimates]
    assert feasible == sorted(feasible, reverse=True)


def test_a_window_that_changes_nothing_is_not_offered_as_the_runner_up() -> None:
    # 100 msg/s fill batches of 10 in 0.1 s: windows of 1 s and 20 s give the same batches,
    # bill and latency. The runner-up is the next memory size, with a real saving.
    grid = Grid(
        batch_sizes=(10,), windows_s=(1.0, 20.0), memory_mb=(1024, 2048), architectures=("arm64",)
    )
    result = plan(Workload(100.0), HandlerProfile(overhead_io_ms=100), grid)
    assert result.best is not None
    assert result.runner_up is not None
    assert result.runner_up.config.memory_mb == 2048
    assert result.saving_usd is not None
    assert result.saving_usd > 1


def test_a_window_that_changes_the_bill_is_a_runner_up() -> None:
    # 1 msg/s: a 1 s window gives batches of 1, a 10 s window batches of 10 (ten times fewer
    # invocations): the two windows are real alternatives.
    grid = Grid(
        batch_sizes=(10,), windows_s=(1.0, 10.0), memory_mb=(1024,), architectures=("arm64",)
    )
    result = plan(
        Workload(1.0), HandlerProfile(overhead_io_ms=100), grid, account=Account(free_tier=False)
    )
    assert result.best is not None
    assert result.runner_up is not None
    assert (result.best.config.window_s, result.runner_up.config.window_s) == (10.0, 1.0)
