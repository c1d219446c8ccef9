"""The planner's recommendation: estimate every setting of a :class:`~lambdakit.cost.Grid`
(:func:`~lambdakit.cost.estimate`), rank them, and pick the cheapest that can run the workload
within a latency target, with the runner-up and what choosing the first saves a month.

Infeasible settings are kept (ranked after every feasible one, with their problems), so a
report can say why a cheaper-looking setting was not recommended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdakit.cost._model import DEFAULT_ACCOUNT, DEFAULT_ASSUMPTIONS, estimate
from lambdakit.cost._prices import DEFAULT_PRICES, Prices
from lambdakit.cost._results import Estimate, Plan
from lambdakit.cost._types import Account, Assumptions, Grid, HandlerProfile, Workload, check_number

if TYPE_CHECKING:
    from collections.abc import Hashable

DEFAULT_GRID = Grid()


def meets(est: Estimate, max_latency_s: float | None) -> bool:
    """Whether ``est`` can be recommended: feasible, and its p99 latency within the target
    (any latency when there is none)."""
    return est.feasible and (max_latency_s is None or est.latency_p99_s <= max_latency_s)


def setting(est: Estimate) -> Hashable:
    """The part of a setting that changes the deployment's shape: batch size, memory and
    architecture. (The window and the handler's concurrency matter only when they change the
    bill or the latency: see :func:`is_alternative`.)"""
    config = est.config
    return config.batch_size, config.memory_mb, config.architecture


def is_alternative(candidate: Estimate, best: Estimate) -> bool:
    """Whether ``candidate`` is a real alternative to ``best`` to show as the runner-up: another
    batch size, memory or architecture, or the same with a window or concurrency that changes
    the monthly cost by at least a cent. A longer window that a busy queue never waits for
    costs the same to the cent; offering it as the runner-up, "saving $0.00", says nothing."""
    return setting(candidate) != setting(best) or (
        abs(candidate.cost.total - best.cost.total) >= CENT
    )


CENT = 0.01


def plan(
    workload: Workload,
    profile: HandlerProfile,
    grid: Grid = DEFAULT_GRID,
    *,
    prices: Prices = DEFAULT_PRICES,
    account: Account = DEFAULT_ACCOUNT,
    assumptions: Assumptions = DEFAULT_ASSUMPTIONS,
    max_latency_s: float | None = None,
) -> Plan:
    """Every setting of ``grid`` estimated and ranked feasible first, then by monthly cost
    (equal costs: the lower p99 latency first, then the grid's order); ``best`` is the cheapest
    feasible one whose p99 latency is at most ``max_latency_s`` (any feasible one without a
    target), ``runner_up`` the next cheapest that also qualifies and is a real alternative
    (:func:`is_alternative`), and
    ``saving_usd`` the runner-up's cost minus the best's (``None`` without both)."""
    if max_latency_s is not None:
        check_number(max_latency_s, "max_latency_s", low=0)
    estimates = sorted(
        (
            estimate(
                workload, config, profile, prices=prices, account=account, assumptions=assumptions
            )
            for config in grid.configs()
        ),
        key=lambda est: (not est.feasible, round(est.cost.total, 9), est.latency_p99_s),
    )
    qualified = [est for est in estimates if meets(est, max_latency_s)]
    best = qualified[0] if qualified else None
    runner_up = None
    if best is not None:
        runner_up = next((est for est in qualified if is_alternative(est, best)), None)
    return Plan(
        workload=workload,
        profile=profile,
        prices=prices,
        assumptions=assumptions,
        estimates=tuple(estimates),
        best=best,
        runner_up=runner_up,
        saving_usd=(
            None if best is None or runner_up is None else runner_up.cost.total - best.cost.total
        ),
        max_latency_s=max_latency_s,
        account=account,
    )
