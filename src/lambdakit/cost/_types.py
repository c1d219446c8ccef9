"""The planner's inputs: what arrives (:class:`Workload`), what the handler costs
(:class:`HandlerProfile`), the settings to explore (:class:`Config`, :class:`Grid`), the account
it runs in (:class:`Account`) and the stated modelling assumptions (:class:`Assumptions`).

Each dataclass checks its own fields when built, so a bad value is refused where the user wrote
it, with the field's name (:class:`~lambdakit.errors.CostInputError`), and the model never
divides by a zero batch size or prices a memory size Lambda does not offer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import product
from typing import TYPE_CHECKING, Literal

from lambdakit.errors import CostInputError

if TYPE_CHECKING:
    import os
    from collections.abc import Iterator
    from typing import Any

Architecture = Literal["x86_64", "arm64"]
ARCHITECTURES: tuple[Architecture, ...] = ("x86_64", "arm64")

SECONDS_PER_DAY = 86_400.0
# Lambda's documented limits (developer guide, "Lambda quotas" and the SQS event source page).
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10_240
MAX_BATCH_SIZE = 10_000  # SQS standard queues; FIFO queues allow at most 10
MAX_FIFO_BATCH_SIZE = 10
MAX_WINDOW_S = 300.0  # MaximumBatchingWindowInSeconds
MAX_SQS_MESSAGE_BYTES = 1_048_576  # 1 MiB since August 2025 (was 256 KiB)
MAX_RECEIVE_COUNT = 1_000  # RedrivePolicy maxReceiveCount


def check_number(
    value: float, name: str, *, low: float | None = None, high: float | None = None
) -> None:
    """Refuse ``value`` unless it is a finite number within [low, high] (bounds inclusive).
    Shared by every input dataclass, the CLI and the ``input.prop`` reader, so each bound is
    stated once and every message has the same shape."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CostInputError(f"must be a number, got {value!r}", field=name)
    if isinstance(value, float) and not math.isfinite(value):
        raise CostInputError(f"must be finite, got {value!r}", field=name)
    if low is not None and value < low:
        raise CostInputError(f"must be at least {low:g}, got {_shown(value)}", field=name)
    if high is not None and value > high:
        raise CostInputError(f"must be at most {high:g}, got {_shown(value)}", field=name)


def read_json_file(path: str | os.PathLike[str]) -> Any:
    """The JSON document in ``path`` (plain ``json``: numbers as floats, which the checks here
    take); a file that cannot be read or parsed is a :class:`CostInputError` naming it."""
    import json

    source = str(path)
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except OSError as exc:
        raise CostInputError(f"cannot read it ({exc.strerror})", source=source) from None
    except ValueError as exc:
        raise CostInputError(f"not valid JSON ({exc})", source=source) from None


def _shown(value: float) -> str:
    """``value`` for a message: floats as ``%g``; whole numbers as written, a huge one cut."""
    if isinstance(value, int):
        text = str(value)
        return text if len(text) <= 20 else f"{text[:8]}...({len(text)} digits)"
    return f"{value:g}"


def check_integer(value: int, name: str, *, low: int, high: int | None = None) -> None:
    """Like :func:`check_number`, for fields that must be whole (batch sizes, memory in MB)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise CostInputError(f"must be a whole number, got {value!r}", field=name)
    check_number(value, name, low=low, high=high)


@dataclass(frozen=True)
class Workload:
    """What arrives at the queue, on average over a day.

    ``messages_per_second`` is the mean arrival rate; ``daily_profile``, when given, is 24
    hourly weights (any positive scale; normalised to a mean of 1) that shape the day, so that
    cost follows the mean and capacity and latency follow the busiest hour. ``filter_pass`` is
    the fraction of messages the event source mapping's filter criteria pass to the function
    (the rest are deleted by Lambda without an invocation). ``failure_rate`` is the chance that
    one attempt at a record fails transiently (it may succeed when retried); ``poison_rate`` the
    fraction of messages that fail on every attempt until ``max_receive_count`` moves them to
    the DLQ (``None``: no redrive policy, so a poison message would be retried until the queue's
    retention period; the model then refuses a non-zero ``poison_rate``).
    ``message_groups`` is the number of active FIFO message groups (FIFO only; ``None`` means
    as many groups as messages, so no group ever holds another back).
    """

    messages_per_second: float
    message_bytes: int = 1_024
    fifo: bool = False
    filter_pass: float = 1.0
    failure_rate: float = 0.0
    poison_rate: float = 0.0
    max_receive_count: int | None = 5
    visibility_timeout_s: float = 30.0
    message_groups: int | None = None
    daily_profile: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        check_number(self.messages_per_second, "workload.messages_per_second", low=0)
        check_integer(
            self.message_bytes, "workload.message_bytes", low=1, high=MAX_SQS_MESSAGE_BYTES
        )
        check_number(self.filter_pass, "workload.filter_pass", low=0, high=1)
        # A failure rate of 1 would retry every message forever: not a workload, a bug.
        check_number(self.failure_rate, "workload.failure_rate", low=0, high=0.999)
        check_number(self.poison_rate, "workload.poison_rate", low=0, high=1)
        if self.max_receive_count is not None:
            check_integer(
                self.max_receive_count,
                "workload.max_receive_count",
                low=1,
                high=MAX_RECEIVE_COUNT,
            )
        elif self.poison_rate > 0:
            raise CostInputError(
                "poison messages with no redrive policy are retried until the queue's "
                "retention period ends; set max_receive_count",
                field="workload.poison_rate",
            )
        check_number(self.visibility_timeout_s, "workload.visibility_timeout_s", low=0, high=43_200)
        if self.message_groups is not None:
            if not self.fifo:
                raise CostInputError(
                    "message groups exist only on FIFO queues", field="workload.message_groups"
                )
            check_integer(self.message_groups, "workload.message_groups", low=1)
        if self.daily_profile is not None:
            if len(self.daily_profile) != 24:
                raise CostInputError(
                    f"needs 24 hourly weights, got {len(self.daily_profile)}",
                    field="workload.daily_profile",
                )
            for hour, weight in enumerate(self.daily_profile):
                check_number(weight, f"workload.daily_profile[{hour}]", low=0)
            if not any(self.daily_profile):
                raise CostInputError(
                    "needs at least one hour with traffic", field="workload.daily_profile"
                )

    @classmethod
    def per_day(cls, messages_per_day: float, **fields: object) -> Workload:
        """The workload of ``messages_per_day`` messages spread over a day (other fields as in
        the constructor)."""
        check_number(messages_per_day, "workload.messages_per_day", low=0)
        return cls(messages_per_day / SECONDS_PER_DAY, **fields)  # type: ignore[arg-type]

    @property
    def messages_per_day(self) -> float:
        """The mean rate, per day."""
        return self.messages_per_second * SECONDS_PER_DAY

    def hourly_rates(self) -> tuple[float, ...]:
        """Messages per second in each of the day's 24 hours (all equal without a profile);
        their mean is always :attr:`messages_per_second`."""
        if self.daily_profile is None:
            return (self.messages_per_second,) * 24
        mean = sum(self.daily_profile) / 24
        return tuple(self.messages_per_second * weight / mean for weight in self.daily_profile)


@dataclass(frozen=True)
class HandlerProfile:
    """What one invocation of the handler costs, as a line: a fixed part per invocation plus a
    part per record, each split into CPU time and waiting (I/O) time, because they scale
    differently: CPU time stretches when Lambda gives the function less than one vCPU (below
    1,769 MB), waiting time shrinks with in-handler concurrency and ignores memory.

    CPU times are at one full vCPU (what a measurement on a developer machine sees).
    ``base_memory_mb`` is the memory the function uses with an empty batch (runtime, imports,
    clients), ``mb_per_record`` what each record of a batch adds; ``init_ms`` the INIT phase
    (imports and module-level set-up), billed since 2025-08-01. ``source`` says where the
    numbers came from (``"given"``, ``"measured: app:handler, 6 batch sizes"``), for reports.
    """

    overhead_cpu_ms: float = 0.0
    overhead_io_ms: float = 0.0
    cpu_ms_per_record: float = 0.0
    io_ms_per_record: float = 0.0
    base_memory_mb: float = 0.0
    mb_per_record: float = 0.0
    init_ms: float = 0.0
    source: str = "given"

    def __post_init__(self) -> None:
        for name in (
            "overhead_cpu_ms",
            "overhead_io_ms",
            "cpu_ms_per_record",
            "io_ms_per_record",
            "base_memory_mb",
            "mb_per_record",
        ):
            check_number(getattr(self, name), f"profile.{name}", low=0)
        check_number(self.init_ms, "profile.init_ms", low=0, high=10_000)  # INIT's 10 s limit


@dataclass(frozen=True)
class Config:
    """One setting of the function and its event source mapping.

    ``batch_size`` and ``window_s`` are the mapping's BatchSize and
    MaximumBatchingWindowInSeconds; ``memory_mb`` and ``architecture`` the function's;
    ``concurrency`` the records a handler works on at once (``process_batch(concurrency=N)``);
    ``max_concurrency`` the mapping's ScalingConfig.MaximumConcurrency (``None``: unset);
    ``provisioned_pollers`` the minimum event pollers of provisioned mode (``None``: on-demand
    polling).
    """

    batch_size: int = 10
    window_s: float = 0.0
    memory_mb: int = 1_024
    architecture: Architecture = "arm64"
    concurrency: int = 1
    max_concurrency: int | None = None
    provisioned_pollers: int | None = None

    def __post_init__(self) -> None:
        check_integer(self.batch_size, "batch_size", low=1, high=MAX_BATCH_SIZE)
        check_number(self.window_s, "window_s", low=0, high=MAX_WINDOW_S)
        check_integer(self.memory_mb, "memory_mb", low=MIN_MEMORY_MB, high=MAX_MEMORY_MB)
        if self.architecture not in ARCHITECTURES:
            raise CostInputError(
                f"must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}",
                field="architecture",
            )
        check_integer(self.concurrency, "concurrency", low=1, high=MAX_BATCH_SIZE)
        if self.max_concurrency is not None:
            check_integer(self.max_concurrency, "max_concurrency", low=2, high=20_000)
        if self.provisioned_pollers is not None:
            if self.max_concurrency is not None:
                raise CostInputError(
                    "provisioned mode and MaximumConcurrency are mutually exclusive",
                    field="provisioned_pollers",
                )
            check_integer(self.provisioned_pollers, "provisioned_pollers", low=2, high=10_000)


@dataclass(frozen=True)
class Grid:
    """The settings to explore: every combination of the given values is one :class:`Config`
    (``max_concurrency`` and ``provisioned_pollers`` apply to all of them)."""

    batch_sizes: tuple[int, ...] = (1, 10, 50, 100, 500, 1_000)
    windows_s: tuple[float, ...] = (0.0, 1.0, 5.0, 20.0)
    memory_mb: tuple[int, ...] = (128, 256, 512, 1_024, 1_769, 3_008)
    architectures: tuple[Architecture, ...] = ARCHITECTURES
    concurrency: tuple[int, ...] = (1,)
    max_concurrency: int | None = None
    provisioned_pollers: int | None = None

    def __post_init__(self) -> None:
        for name in ("batch_sizes", "windows_s", "memory_mb", "architectures", "concurrency"):
            if not getattr(self, name):
                raise CostInputError("needs at least one value", field=f"grid.{name}")
        # Building every Config once checks every value, with its field's name.
        for _ in self.configs():
            pass

    def configs(self) -> Iterator[Config]:
        """Every combination, in a stable order (batch size, window, memory, architecture,
        concurrency)."""
        for batch, window, memory, arch, concurrency in product(
            self.batch_sizes, self.windows_s, self.memory_mb, self.architectures, self.concurrency
        ):
            yield Config(
                batch_size=batch,
                window_s=window,
                memory_mb=memory,
                architecture=arch,
                concurrency=concurrency,
                max_concurrency=self.max_concurrency,
                provisioned_pollers=self.provisioned_pollers,
            )


@dataclass(frozen=True)
class Account:
    """The account the function shares: its concurrency quota, and what else uses Lambda and
    SQS there this month. The free tiers (Lambda: 1M requests and 400,000 GB-s; SQS: 1M
    requests) and the GB-s price tiers apply to the account's total, once: the cost attributed
    to this function is the account's bill with it minus the bill without it, so a function in
    a busy account gets no free tier and may fall in a cheaper tier."""

    concurrency_limit: int = 1_000
    free_tier: bool = True
    other_gb_seconds: dict[Architecture, float] = field(default_factory=dict)
    other_lambda_requests: float = 0.0
    other_sqs_requests: float = 0.0

    def __post_init__(self) -> None:
        check_integer(self.concurrency_limit, "account.concurrency_limit", low=1)
        for arch, gbs in self.other_gb_seconds.items():
            if arch not in ARCHITECTURES:
                raise CostInputError(
                    f"unknown architecture {arch!r}", field="account.other_gb_seconds"
                )
            check_number(gbs, f"account.other_gb_seconds[{arch}]", low=0)
        check_number(self.other_lambda_requests, "account.other_lambda_requests", low=0)
        check_number(self.other_sqs_requests, "account.other_sqs_requests", low=0)


@dataclass(frozen=True)
class Assumptions:
    """What the model assumes where AWS publishes no number; every report prints these.

    ``cold_start_rate``: the fraction of invocations that start a new execution environment
    (AWS's INIT-billing post: "typically under 1%"). ``idle_pollers`` and ``long_poll_s``: an
    idle on-demand SQS mapping keeps this many pollers long-polling, each ReceiveMessage
    waiting this long (Lambda scales back to five, "and can optimize to as few as 2"; we assume
    five, the documented floor without that optimisation, and 20 s, SQS's maximum wait).
    ``send_batch``: messages per SendMessageBatch request of the producer (1 if it sends one at
    a time). ``arm64_speed``: arm64 CPU time relative to x86_64 for the same work (1: same).
    ``month_days``: days in the month the bill is for (365/12).
    """

    cold_start_rate: float = 0.01
    idle_pollers: int = 5
    long_poll_s: float = 20.0
    send_batch: int = 10
    arm64_speed: float = 1.0
    month_days: float = 365 / 12

    def __post_init__(self) -> None:
        check_number(self.cold_start_rate, "assumptions.cold_start_rate", low=0, high=1)
        check_integer(self.idle_pollers, "assumptions.idle_pollers", low=0)
        check_number(self.long_poll_s, "assumptions.long_poll_s", low=1, high=20)
        check_integer(self.send_batch, "assumptions.send_batch", low=1, high=10)
        check_number(self.arm64_speed, "assumptions.arm64_speed", low=0.1, high=10)
        check_number(self.month_days, "assumptions.month_days", low=28, high=31)
