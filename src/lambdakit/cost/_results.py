"""The planner's outputs: the cost of one setting (:class:`Estimate`, with its
:class:`Breakdown`), a ranked exploration with a recommendation (:class:`Plan`), and a fitted
measurement of a handler (:class:`Measurement`). Plain frozen dataclasses, so that
``dataclasses.asdict`` gives the ``--json`` output and reports read fields, not formulas.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lambdakit.cost._prices import Prices
from lambdakit.cost._types import Account, Assumptions, Config, HandlerProfile, Workload


@dataclass(frozen=True)
class Breakdown:
    """A month's cost in USD, by what it pays for. ``lambda_compute`` is the invocations'
    GB-s, ``init`` the INIT phases' GB-s (billed since 2025-08-01), ``lambda_requests`` the
    invocation requests, ``sqs`` every SQS request (sends, receives, deletes, idle long polls),
    ``pollers`` provisioned-mode event pollers. Free tiers and price tiers are already applied
    (to the account's total; see :class:`~lambdakit.cost.Account`)."""

    lambda_compute: float
    lambda_requests: float
    init: float
    sqs: float
    pollers: float

    @property
    def total(self) -> float:
        """Everything, in USD per month."""
        return self.lambda_compute + self.lambda_requests + self.init + self.sqs + self.pollers


@dataclass(frozen=True)
class Estimate:
    """What one :class:`~lambdakit.cost.Config` costs and whether it keeps up.

    Per month: ``invocations``, ``records_run`` (handler attempts, retries included),
    ``gb_seconds`` (invocations) and ``init_gb_seconds``, ``sqs_requests`` (billed requests,
    64 KB chunks counted), ``dead_lettered`` messages. Per invocation at the mean rate:
    ``effective_batch`` records and ``duration_ms``; ``memory_required_mb`` at that batch.
    ``full_batch`` and ``full_duration_ms``: an invocation when the queue holds a backlog (the
    batch is as large as the batch size, the 6 MB payload and FIFO allow): what draining a
    backlog runs, and what ``memory_required_mb`` is sized for, since a function that fits
    only the usual batch runs out of memory the first time a backlog builds up.
    At the busiest hour: ``concurrency`` needed (Little's law) against ``concurrency_limit``
    (the smallest of the account quota, the mapping's maximum, FIFO's active groups), and
    end-to-end latency ``latency_p50_s`` / ``latency_p99_s`` (batching wait + duration +
    retries). ``feasible`` is False when the setting cannot run the workload (memory too
    small, more concurrency than allowed, a batch over 6 MB, FIFO with a window...), and
    ``problems`` says why, one sentence each.
    """

    config: Config
    effective_batch: float
    duration_ms: float
    memory_required_mb: float
    invocations: float
    records_run: float
    gb_seconds: float
    init_gb_seconds: float
    sqs_requests: float
    dead_lettered: float
    cost: Breakdown
    concurrency: float
    concurrency_limit: int
    scale_up_per_minute: int
    latency_p50_s: float
    latency_p99_s: float
    feasible: bool
    problems: tuple[str, ...] = ()
    full_batch: float = 0.0
    full_duration_ms: float = 0.0

    def drain_seconds(self, backlog: int, messages_per_second: float) -> float | None:
        """Seconds to work off ``backlog`` queued messages while ``messages_per_second`` keep
        arriving, starting from the mapping's initial five concurrent invocations and scaling
        up by :attr:`scale_up_per_minute` to :attr:`concurrency_limit`; ``None`` if it never
        catches up. Implemented in ``lambdakit.cost._model``."""
        from lambdakit.cost._model import drain_seconds

        return drain_seconds(self, backlog, messages_per_second)


@dataclass(frozen=True)
class Plan:
    """Every explored setting's :class:`Estimate`, cheapest first, and the recommendation: the
    cheapest feasible one whose p99 latency meets ``max_latency_s`` (``None``: no target),
    the runner-up (the next cheapest that also meets it, in another batch size, window, memory
    or architecture), and ``saving_usd`` per month of the first over the second. ``account``
    is the account the plan was made for (reports re-estimate settings with it)."""

    workload: Workload
    profile: HandlerProfile
    prices: Prices
    assumptions: Assumptions
    estimates: tuple[Estimate, ...]
    best: Estimate | None
    runner_up: Estimate | None
    saving_usd: float | None
    max_latency_s: float | None = None
    account: Account = field(default_factory=Account)


@dataclass(frozen=True)
class Measurement:
    """A handler measured at several batch sizes, and the line fitted through it.

    ``points`` are ``(batch size, CPU ms, wall ms, peak traced MB)`` per invocation, medians
    over the repeats; ``profile`` the fitted :class:`~lambdakit.cost.HandlerProfile` (CPU
    overhead and per-record from the CPU times, I/O from wall minus CPU, memory per record
    from the traced peaks); ``residuals_ms`` the CPU fit's residual per point and
    ``r_squared`` its coefficient of determination, so a reader sees whether a line fits.
    """

    handler: str
    points: tuple[tuple[int, float, float, float], ...]
    profile: HandlerProfile
    residuals_ms: tuple[float, ...]
    r_squared: float
