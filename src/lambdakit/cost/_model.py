"""The cost and capacity model: what one :class:`~lambdakit.cost.Config` costs a month for a
:class:`~lambdakit.cost.Workload` and a :class:`~lambdakit.cost.HandlerProfile`, whether it
keeps up, how late messages are, and how long a backlog takes to drain.

Every term is a small function below whose docstring gives its source (an AWS page) and says
what is assumed where AWS publishes no number; the docs page "Cost and capacity" is written
from them. The work is computed for each hour of the day (:meth:`Workload.hourly_rates`):
monthly totals are the sum over the 24 hours x 3,600 s x ``month_days``; capacity and latency
are taken at the busiest hour, where they bind. Rates below are per second unless named
otherwise; durations in milliseconds (``_ms``) or seconds (``_s``).

Infeasible settings (too little memory, more concurrency than allowed, a FIFO batching
window...) are not errors: :func:`estimate` prices them anyway and lists the problems, so a
plan can show why a cheaper setting was not recommended. Missing inputs (a provisioned-mode
rate) are errors (:class:`~lambdakit.errors.CostInputError`), because no number can be given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lambdakit.cost._prices import DEFAULT_PRICES, Prices, Tier, tiered_cost
from lambdakit.cost._results import Breakdown, Estimate
from lambdakit.cost._types import (
    ARCHITECTURES,
    MAX_FIFO_BATCH_SIZE,
    Account,
    Architecture,
    Assumptions,
    Config,
    HandlerProfile,
    Workload,
    check_integer,
    check_number,
)
from lambdakit.errors import CostInputError

MIB = 1_048_576
INVOKE_PAYLOAD_BYTES = 6 * MIB
"""Lambda's synchronous invocation payload limit, which also closes an SQS batch."""
FULL_VCPU_MB = 1_769
"""The memory size at which a function has the equivalent of one vCPU."""
RECEIVE_MAX_MESSAGES = 10
"""ReceiveMessage and DeleteMessageBatch handle at most 10 messages per request."""
INITIAL_POLLERS = 5
"""An on-demand SQS mapping starts with five concurrent batches (pollers)."""
ON_DEMAND_MAX_CONCURRENCY, PROVISIONED_MAX_CONCURRENCY = 1_250, 20_000
ON_DEMAND_SCALE_UP_PER_MINUTE, PROVISIONED_SCALE_UP_PER_MINUTE = 300, 1_000
SECONDS_PER_HOUR = 3_600.0
P50, P99 = 0.50, 0.99
FIXED_POINT_ITERATIONS = 50
DEFAULT_ACCOUNT = Account()
"""A function alone in an account with the default quota and the free tier."""
DEFAULT_ASSUMPTIONS = Assumptions()


# --- 1. arrivals ----------------------------------------------------------------------------


def function_rate(messages_per_second: float, workload: Workload) -> float:
    """Messages per second that pass the mapping's filter criteria and reach the function.

    Source: https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html (for
    SQS, "Lambda automatically deletes" messages that do not match the filter). Filtered
    messages are still received and deleted by the mapping, so they count in
    :func:`sqs_request_rate`, not here.
    """
    return messages_per_second * workload.filter_pass


# --- 2. effective batch ---------------------------------------------------------------------


def batch_cap(workload: Workload, config: Config) -> int:
    """The most records one invocation can get: the batch size, what fits in the 6 MB
    invocation payload, and 10 when one poll makes the batch (no batching window) or on FIFO
    queues.

    Sources: https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html
    #invocation-eventsourcemapping-batching (a batch closes when the window ends, the batch
    size is reached or the payload reaches 6 MB);
    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html (FIFO: at most
    10); ReceiveMessage returns at most 10 messages. The 6 MB is counted as 6 MiB of message
    bodies (the event's JSON envelope is not counted: an assumption).
    """
    cap = min(config.batch_size, INVOKE_PAYLOAD_BYTES // workload.message_bytes)
    if workload.fifo or config.window_s == 0:
        cap = min(cap, MAX_FIFO_BATCH_SIZE)
    return max(1, cap)


def initial_pollers(config: Config) -> int:
    """Concurrent pollers of a mapping that has just found work: five on demand, the minimum
    pollers in provisioned mode.

    Source: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html ("Lambda
    starts processing five batches at a time with five concurrent invocations"). Assumption:
    one provisioned poller runs one invocation at a time at the start (AWS documents "up to
    10"; the low end keeps drain times conservative).
    """
    return config.provisioned_pollers or INITIAL_POLLERS


def effective_batch(
    workload: Workload,
    config: Config,
    profile: HandlerProfile,
    assumptions: Assumptions,
    rate: float,
) -> float:
    """Records per invocation when ``rate`` messages per second reach the function.

    With a batching window: b = max(1, min(cap, rate x window_s)) (:func:`batch_cap`): the
    batch closes at the end of the window unless it filled first. Source: the batching
    section of https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html.

    Without a window, a poll returns what arrived since that poller's previous poll, and
    Lambda invokes with it at once. Assumption (AWS publishes no number): the
    :func:`initial_pollers` each poll once per invocation, so
    b = clamp(rate x D(b) / 1000 / pollers, 1, cap), where D(b) (:func:`invocation_ms`) grows
    with b; solved by fixed-point iteration from b = 1 (at most 50 steps).

    Assumption: batches fill at the rate of first deliveries; redeliveries also fill them, so
    with failures real batches are a little larger and the invocation count here a little high.
    """
    cap = batch_cap(workload, config)
    if config.window_s > 0:
        return float(max(1.0, min(cap, rate * config.window_s)))
    pollers = initial_pollers(config)
    batch = 1.0
    for _ in range(FIXED_POINT_ITERATIONS):
        duration = invocation_ms(workload, config, profile, assumptions, batch)
        following = min(max(rate * duration / 1000 / pollers, 1.0), float(cap))
        if abs(following - batch) <= 1e-12 * following:
            return following
        batch = following
    return batch


def mapping_problems(workload: Workload, config: Config) -> list[str]:
    """Settings the event source mapping refuses.

    Sources: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html (FIFO:
    batch size at most 10, "Batching window is not supported for FIFO queues");
    https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html ("When you
    set BatchSize to a value greater than 10, you must set MaximumBatchingWindowInSeconds to at
    least 1"). A batch over 6 MB cannot happen (:func:`batch_cap`), nor a single message over
    it (SQS allows 1 MiB).
    """
    problems: list[str] = []
    if workload.fifo:
        if config.batch_size > MAX_FIFO_BATCH_SIZE:
            problems.append(
                f"FIFO queues take batches of at most {MAX_FIFO_BATCH_SIZE} messages "
                f"(batch_size {config.batch_size})"
            )
        if config.window_s > 0:
            problems.append(
                f"FIFO queues do not support a batching window (window_s {config.window_s:g})"
            )
    elif config.batch_size > RECEIVE_MAX_MESSAGES and config.window_s < 1:
        problems.append(
            f"batch_size {config.batch_size} needs a batching window of at least 1 s "
            f"(window_s {config.window_s:g})"
        )
    return problems


# --- 3. failures ----------------------------------------------------------------------------


def records_per_group(workload: Workload, batch: float) -> float:
    """m, the records of one FIFO message group in a batch: b / min(groups, b), so 1 when
    there are at least as many active groups as records (and when ``message_groups`` is None:
    as many groups as messages). Assumption: records spread evenly over the groups."""
    if workload.message_groups is None:
        return 1.0
    return batch / min(float(workload.message_groups), batch)


def run_fraction(attempt_failure: float, per_group: float) -> float:
    """r, the fraction of a FIFO batch's delivered records the handler actually runs.

    lambdakit stops a FIFO message group at its first failed record and returns the rest of
    the group unprocessed (AWS's advice for FIFO: https://docs.aws.amazon.com/lambda/latest/dg/
    services-sqs-errorhandling.html). The record at position j of its group runs if none of
    the j - 1 before it failed: (1 - q)^(j-1), q = :func:`attempt_failure`; averaged over
    j = 1..m: r = (1 - (1 - q)^m) / (m q). r = 1 for standard queues (m = 1) or q = 0.
    Assumption: failures independent between records.
    """
    if attempt_failure <= 0 or per_group <= 1:
        return 1.0
    return (1 - math.pow(1 - attempt_failure, per_group)) / (per_group * attempt_failure)


def attempt_failure(workload: Workload) -> float:
    """q = 1 - (1 - f)(1 - p): the chance one attempt at a record fails, transiently (f) or
    because it is poison (p)."""
    return 1 - (1 - workload.failure_rate) * (1 - workload.poison_rate)


@dataclass(frozen=True)
class MessageFate:
    """What happens to one message that reaches the function, on average: how many times it
    is delivered (``deliveries``), the fraction of deliveries the handler runs
    (``run_fraction``), the chance it ends ``succeeded`` or ``dead_lettered``, and
    ``retry_failure``: the chance a delivery of a healthy message is not completed."""

    retry_failure: float
    run_fraction: float
    deliveries: float
    succeeded: float
    dead_lettered: float


def message_fate(workload: Workload, batch: float) -> MessageFate:
    """Deliveries, retries and dead-lettering per message reaching the function.

    Standard queues: a healthy message fails an attempt with f and is redelivered after the
    visibility timeout until its receive count reaches maxReceiveCount R, so it is delivered
    a = 1 + f + ... + f^(R-1) = (1 - f^R) / (1 - f) times (1 / (1 - f) with no redrive
    policy) and dead-lettered with probability f^R. A poison message (fraction p) is delivered
    R times and dead-lettered. Source: https://docs.aws.amazon.com/AWSSimpleQueueService/
    latest/SQSDeveloperGuide/sqs-dead-letter-queues.html.

    FIFO queues: a healthy record is also returned, unrun, when an earlier record of its group
    in the batch failed (:func:`run_fraction`), so its delivery is not completed with
    f' = 1 - (1 - f) r, used in place of f above; f' = f when m = 1 and grows with m.
    Approximation: each delivery is treated as independent, as if the record met fresh
    neighbours each time.
    """
    per_group = records_per_group(workload, batch) if workload.fifo else 1.0
    ran = run_fraction(attempt_failure(workload), per_group)
    fails = 1 - (1 - workload.failure_rate) * ran
    limit = workload.max_receive_count
    healthy = 1 - workload.poison_rate
    if limit is None:  # the workload refuses poison messages without a redrive policy
        return MessageFate(fails, ran, healthy / (1 - fails), healthy, 0.0)
    exhausted = fails**limit
    return MessageFate(
        retry_failure=fails,
        run_fraction=ran,
        deliveries=healthy * (1 - exhausted) / (1 - fails) + workload.poison_rate * limit,
        succeeded=healthy * (1 - exhausted),
        dead_lettered=healthy * exhausted + workload.poison_rate,
    )


# --- 4. duration ----------------------------------------------------------------------------


def cpu_slowdown(config: Config, assumptions: Assumptions) -> float:
    """How many times longer CPU work takes than on one full vCPU: max(1, 1769 / memory_mb),
    times ``arm64_speed`` on arm64.

    Source: https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory-computing.html
    ("At 1,769 MB, a function has the equivalent of one vCPU"); CPU is allocated in proportion
    to memory. Assumption: the handler is single-threaded (Python's GIL), so more than one
    vCPU makes it no faster.
    """
    slowdown = max(1.0, FULL_VCPU_MB / config.memory_mb)
    if config.architecture == "arm64":
        slowdown *= assumptions.arm64_speed
    return slowdown


def invocation_ms(
    workload: Workload,
    config: Config,
    profile: HandlerProfile,
    assumptions: Assumptions,
    batch: float,
) -> float:
    """D, one invocation's duration for a batch of ``batch`` records:
    overhead_cpu x s + overhead_io + b r cpu_per_record x s + b r io_per_record / min(c, b),
    s = :func:`cpu_slowdown`, r = the records run (:func:`message_fate`), c = the handler's
    in-handler concurrency.

    I/O waits overlap across the records a handler works on at once; CPU time does not (the
    GIL), and it stretches with less than one vCPU while waiting does not. The profile is a
    line fitted to measurements (``lambdakit cost measure``) or given.
    """
    slowdown = cpu_slowdown(config, assumptions)
    run = batch * message_fate(workload, batch).run_fraction
    return (
        profile.overhead_cpu_ms * slowdown
        + profile.overhead_io_ms
        + run * profile.cpu_ms_per_record * slowdown
        + run * profile.io_ms_per_record / min(float(config.concurrency), batch)
    )


def billed_ms(duration_ms: float) -> float:
    """Lambda bills duration rounded up to the nearest millisecond, for invocations and INIT
    alike. Source: https://aws.amazon.com/lambda/pricing/."""
    return float(math.ceil(duration_ms - 1e-9))


def init_ms(profile: HandlerProfile, config: Config, assumptions: Assumptions) -> float:
    """The INIT phase's duration: the profile's ``init_ms`` (measured at one full vCPU) x
    :func:`cpu_slowdown`. Assumption: INIT is CPU-bound (imports, module-level set-up)."""
    return profile.init_ms * cpu_slowdown(config, assumptions)


# --- 5. memory ------------------------------------------------------------------------------


def memory_required_mb(profile: HandlerProfile, workload: Workload, batch: float) -> float:
    """base_memory_mb + mb_per_record x b + b x message_bytes / 2^20: the runtime and
    handler, what each record adds, and the event itself (its bodies; the JSON envelope is
    not counted: an assumption)."""
    return (
        profile.base_memory_mb
        + profile.mb_per_record * batch
        + batch * workload.message_bytes / MIB
    )


# --- 6. GB-seconds --------------------------------------------------------------------------


def gb_seconds(count: float, duration_ms: float, memory_mb: int) -> float:
    """count x billed duration (:func:`billed_ms`) in seconds x memory in GB (MB / 1024), for
    invocations and for INIT phases. INIT is billed like invocations since 2025-08-01
    (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/);
    its count is invocations x ``cold_start_rate`` (an assumption: AWS says "typically under
    1%")."""
    return count * billed_ms(duration_ms) / 1000 * memory_mb / 1024


# --- 7. Lambda and SQS charges, once per account --------------------------------------------


def attributed_cost(
    tiers: tuple[Tier, ...],
    amount: float,
    *,
    free: float,
    used_before: float,
    tier_start: float | None = None,
) -> float:
    """What ``amount`` units add to the account's monthly bill: the bill with them minus the
    bill without them. The account's other usage (``used_before``) takes the ``free`` units
    first; the rest is priced from the tier the other usage reached (``tier_start``; by
    default the other usage beyond the free units).

    Source: https://aws.amazon.com/lambda/pricing/ and https://aws.amazon.com/sqs/pricing/
    (free tiers and price tiers are per account and month). So a function alone in its
    account gets the free tier, and the same function in a busy account does not.
    """
    free_left = max(0.0, free - used_before)
    start = max(0.0, used_before - free) if tier_start is None else tier_start
    return tiered_cost(tiers, start, max(0.0, amount - free_left))


def gb_seconds_cost(
    gb_s: float, architecture: Architecture, prices: Prices, account: Account
) -> float:
    """The attributed cost (:func:`attributed_cost`) of ``gb_s`` GB-s on ``architecture``.

    The 400,000 free GB-s are shared by both architectures and every function; the price
    tiers are per architecture. Source: https://aws.amazon.com/lambda/pricing/. Assumption
    (AWS does not say in which order): the account's other usage takes the free GB-s first,
    x86_64 before arm64, then this function.
    """
    free = prices.lambda_free_gb_seconds if account.free_tier else 0.0
    free_left, others_billed = free, 0.0
    for arch in ARCHITECTURES:  # the other usage's billed GB-s reach this tier
        used = account.other_gb_seconds.get(arch, 0.0)
        if arch == architecture:
            others_billed = max(0.0, used - free_left)
        free_left = max(0.0, free_left - used)
    return attributed_cost(
        prices.lambda_gb_second[architecture],
        gb_s,
        free=free,
        used_before=sum(account.other_gb_seconds.values()),
        tier_start=others_billed,
    )


def lambda_request_cost(invocations: float, prices: Prices, account: Account) -> float:
    """The attributed cost of ``invocations`` requests: one flat price, 1M free requests a
    month per account (used by its other functions first). Retried batches are new
    invocations. Source: https://aws.amazon.com/lambda/pricing/."""
    return attributed_cost(
        (Tier(None, prices.lambda_request),),
        invocations,
        free=prices.lambda_free_requests if account.free_tier else 0.0,
        used_before=account.other_lambda_requests,
    )


# --- 8. SQS requests ------------------------------------------------------------------------


def chunks(messages: int, workload: Workload, prices: Prices) -> int:
    """Billed requests for one request carrying ``messages`` messages: ceil(n x size / 64 KB).
    Source: https://aws.amazon.com/sqs/pricing/ ("Each 64 KB chunk of a payload is billed as
    1 request"; a batch request of up to 10 messages is one request per chunk)."""
    return max(1, math.ceil(messages * workload.message_bytes / prices.sqs_chunk_bytes))


def idle_pollers(config: Config, assumptions: Assumptions) -> int:
    """Pollers long-polling an empty queue: ``assumptions.idle_pollers`` on demand (Lambda
    scales back to five, "and can optimize to as few as 2": https://docs.aws.amazon.com/lambda/
    latest/dg/services-sqs-scaling.html), the minimum pollers in provisioned mode
    (assumption)."""
    return config.provisioned_pollers or assumptions.idle_pollers


def sqs_request_rate(
    workload: Workload,
    config: Config,
    assumptions: Assumptions,
    prices: Prices,
    messages_per_second: float,
    batch: float,
    fate: MessageFate,
) -> float:
    """Billed SQS requests per second (every API action is a request, each 64 KB chunk of a
    payload one more: https://aws.amazon.com/sqs/pricing/):

    - sends: messages / send_batch x :func:`chunks` (send_batch) (the producer's
      SendMessageBatch; ``assumptions.send_batch``);
    - receives: every delivery (filtered messages once, passing ones with their redeliveries)
      / 10 x chunks(10). Assumption: each ReceiveMessage returns 10 messages while there is
      traffic; at low traffic real receives return fewer, so this is a lower bound;
    - deletes: Lambda deletes a batch's succeeded records after its invocation with
      DeleteMessageBatch (10 entries, a small payload): ceil(b / 10) requests per b records;
      filtered messages in batches of 10;
    - idle long polls, only in hours with no traffic: :func:`idle_pollers` x 1 / long_poll_s.
      Assumption: while messages arrive, polls return them and are counted above.
    """
    if messages_per_second == 0:
        return idle_pollers(config, assumptions) / assumptions.long_poll_s
    send = assumptions.send_batch
    passing = function_rate(messages_per_second, workload)
    filtered = messages_per_second - passing
    sends = messages_per_second / send * chunks(send, workload, prices)
    receives = (
        (filtered + passing * fate.deliveries)
        / RECEIVE_MAX_MESSAGES
        * chunks(RECEIVE_MAX_MESSAGES, workload, prices)
    )
    deletes = (
        passing * fate.succeeded * math.ceil(batch / RECEIVE_MAX_MESSAGES - 1e-9) / batch
        + filtered / RECEIVE_MAX_MESSAGES
    )
    return sends + receives + deletes


def sqs_cost(requests: float, workload: Workload, prices: Prices, account: Account) -> float:
    """The attributed cost of ``requests`` SQS requests at the FIFO or standard tiers, with
    the account's 1M free requests a month (used by its other requests first). Source:
    https://aws.amazon.com/sqs/pricing/."""
    return attributed_cost(
        prices.sqs_fifo_request if workload.fifo else prices.sqs_standard_request,
        requests,
        free=prices.sqs_free_requests if account.free_tier else 0.0,
        used_before=account.other_sqs_requests,
    )


# --- 9. provisioned pollers -----------------------------------------------------------------


def poller_cost(config: Config, prices: Prices, assumptions: Assumptions) -> float:
    """Provisioned mode: provisioned_pollers x 24 x month_days x the hourly rate of an event
    poller. Source: https://aws.amazon.com/lambda/pricing/ (Event Poller Units). The rate is
    not in the dated table, so it must be given. Assumption: the minimum pollers all month
    (busy hours that scale beyond it cost more)."""
    if config.provisioned_pollers is None:
        return 0.0
    if prices.provisioned_poller_hour is None:
        raise CostInputError(
            "provisioned mode is billed per event poller hour and the price table has no rate; "
            "give the Event Poller Unit rate for your region (--prices, "
            '{"provisioned_poller_hour": ...})',
            field="prices.provisioned_poller_hour",
        )
    hours = 24 * assumptions.month_days
    return config.provisioned_pollers * hours * prices.provisioned_poller_hour


# --- 10. capacity ---------------------------------------------------------------------------


def concurrency_needed(invocations_per_second: float, duration_ms: float) -> float:
    """Concurrent invocations = invocations per second x duration in seconds (Little's law)."""
    return invocations_per_second * duration_ms / 1000


def concurrency_limit(workload: Workload, config: Config, account: Account) -> tuple[int, str]:
    """The most concurrent invocations the mapping can run, and what sets it: the smallest of
    the account's concurrency quota, the mapping's MaximumConcurrency, its ceiling (1,250 on
    demand, 20,000 in provisioned mode) and, on FIFO queues, the active message groups (one
    invocation per group at a time).

    Sources: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html and
    https://aws.amazon.com/blogs/aws/aws-lambda-enhances-sqs-processing-with-new-provisioned-mode-3x-faster-scaling-16x-higher-capacity
    """
    limits = [(account.concurrency_limit, "the account's concurrency limit")]
    if config.provisioned_pollers is None:
        limits.append((ON_DEMAND_MAX_CONCURRENCY, "an on-demand SQS mapping's maximum"))
    else:
        limits.append((PROVISIONED_MAX_CONCURRENCY, "a provisioned-mode mapping's maximum"))
    if config.max_concurrency is not None:
        limits.append((config.max_concurrency, "the mapping's max_concurrency"))
    if workload.fifo and workload.message_groups is not None:
        limits.append((workload.message_groups, "the FIFO queue's active message groups"))
    return min(limits, key=lambda limit: limit[0])


def scale_up_per_minute(config: Config) -> int:
    """Concurrent invocations the mapping adds per minute while messages wait: "up to 300
    more" on demand, 1,000 in provisioned mode (same sources as
    :func:`concurrency_limit`)."""
    if config.provisioned_pollers is None:
        return ON_DEMAND_SCALE_UP_PER_MINUTE
    return PROVISIONED_SCALE_UP_PER_MINUTE


# --- 11. latency ----------------------------------------------------------------------------


def batch_fill_seconds(
    workload: Workload, config: Config, rate: float, duration_ms: float
) -> float:
    """T, how long a batch stays open: with a window, min(window_s, cap / rate), the window or
    the time to fill the batch (:func:`batch_cap`); without one, a poll cycle, which is one
    invocation (the assumption of :func:`effective_batch`)."""
    if config.window_s == 0:
        return duration_ms / 1000
    if rate <= 0:
        return config.window_s
    return min(config.window_s, batch_cap(workload, config) / rate)


def retries_at(quantile: float, retry_failure: float, max_receive_count: int | None) -> int:
    """k_q, the retries the ``quantile``-th message needs: the smallest k >= 0 with
    P(more than k retries) = f'^(k+1) <= 1 - quantile (f' = ``retry_failure``), and at most
    R - 1: a message that fails R times is dead-lettered, not late."""
    if retry_failure <= 0:
        return 0
    tail = 1 - quantile
    retries = max(0, math.ceil(math.log(tail) / math.log(retry_failure)) - 1)
    while retries > 0 and retry_failure**retries <= tail * (1 + 1e-9):
        retries -= 1
    while retry_failure ** (retries + 1) > tail * (1 + 1e-9):
        retries += 1
    if max_receive_count is not None:
        retries = min(retries, max_receive_count - 1)
    return retries


def queue_wait_s(
    quantile: float, invocations_per_second: float, duration_ms: float, limit: int
) -> float:
    """How long the ``quantile``-th batch waits for a free invocation slot when the mapping
    runs at most ``limit`` at once: the Erlang C (M/M/c) waiting time, c = ``limit`` servers,
    each busy for one duration. P(wait > t) = C e^(-(c/D - rate) t), so the quantile's wait is
    ln(C / (1 - quantile)) / (c/D - rate) when C > 1 - quantile, else 0.

    Far below the limit the wait is nil; it grows without bound as the concurrency needed
    approaches the limit (at or over it the setting is infeasible: ``inf``). Assumption:
    batches arrive at random (Poisson); durations are taken as exponential, which makes the
    wait about twice what constant durations give, so the term errs on the late side.
    Source: the Erlang C formula (A. K. Erlang, 1917; any queueing text).
    """
    if invocations_per_second <= 0 or duration_ms <= 0:
        return 0.0
    service_s = duration_ms / 1000
    load = invocations_per_second * service_s  # erlangs: the concurrency needed
    if load >= limit:
        return math.inf
    waiting = erlang_c(limit, load)
    tail = 1 - quantile
    if waiting <= tail:
        return 0.0
    return math.log(waiting / tail) / (limit / service_s - invocations_per_second)


def erlang_c(servers: int, load: float) -> float:
    """The probability that an arrival waits in an M/M/c queue with ``servers`` and ``load``
    erlangs (< servers), through the Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)),
    which is numerically stable; it stops early once B is negligible (then C is too), so a
    limit of 20,000 costs only about ``load`` steps."""
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
        if blocking < 1e-15 and k > load:
            return 0.0
    return servers * blocking / (servers - load * (1 - blocking))


def latency_s(
    quantile: float,
    workload: Workload,
    fill_s: float,
    duration_ms: float,
    retry_failure: float,
    queue_s: float = 0.0,
) -> float:
    """End-to-end latency of the ``quantile``-th healthy message: the wait for its batch to
    close (uniform on [0, T], so quantile x T; T = :func:`batch_fill_seconds`), the batch's
    wait for a free invocation slot (``queue_s``, :func:`queue_wait_s` at the same quantile),
    one invocation, and a visibility timeout per retry (:func:`retries_at`); a failed message
    becomes visible again when its visibility timeout ends
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html).
    Assumption: the quantiles of the parts are added, which overstates the quantile of their
    sum a little (they are not all at their worst at once)."""
    retries = retries_at(quantile, retry_failure, workload.max_receive_count)
    return (
        quantile * fill_s + queue_s + duration_ms / 1000 + retries * workload.visibility_timeout_s
    )


# --- 12. drain time -------------------------------------------------------------------------


def drain_time(
    backlog: float,
    arrivals: float,
    *,
    per_invocation: float,
    start: float,
    limit: float,
    scale_up_per_minute: float,
) -> float | None:
    """Seconds to clear ``backlog`` messages while ``arrivals`` per second keep coming, when
    each concurrent invocation clears ``per_invocation`` messages per second and concurrency
    ramps as c(t) = min(start + scale_up_per_minute / 60 x t, limit) (the mapping scales up
    while messages wait: :func:`scale_up_per_minute`). ``None`` if limit x per_invocation <=
    arrivals: it never catches up.

    Closed form: during the ramp the backlog falls by (start x v - arrivals) t + s v t^2 / 2
    (v = per_invocation, s the ramp per second), a quadratic solved for t; after it, linearly
    at limit x v - arrivals.
    """
    if backlog <= 0:
        return 0.0
    if math.isinf(per_invocation):
        return 0.0
    if limit * per_invocation <= arrivals:
        return None
    start = min(start, limit)
    ramp = scale_up_per_minute / 60
    ramp_s = (limit - start) / ramp if ramp > 0 else 0.0
    linear = start * per_invocation - arrivals
    if ramp_s > 0:
        half_accel = ramp * per_invocation / 2
        # half_accel t^2 + linear t - backlog = 0, the numerically stable root
        root = math.sqrt(linear * linear + 4 * half_accel * backlog)
        t = 2 * backlog / (linear + root) if linear >= 0 else (root - linear) / (2 * half_accel)
        if t <= ramp_s:
            return t
        backlog -= linear * ramp_s + half_accel * ramp_s * ramp_s
    return ramp_s + backlog / (limit * per_invocation - arrivals)


def drain_seconds(estimate: Estimate, backlog: int, messages_per_second: float) -> float | None:
    """Seconds for ``estimate``'s setting to clear ``backlog`` queued messages while
    ``messages_per_second`` keep arriving (:func:`drain_time`), starting from the
    :func:`initial_pollers` and scaling up to its concurrency limit; ``None`` if it never
    catches up.

    A backlog fills every batch: each invocation takes the estimate's ``full_batch`` in its
    ``full_duration_ms``. Retries and filtered messages are not counted.
    """
    check_integer(backlog, "backlog", low=0)
    check_number(messages_per_second, "messages_per_second", low=0)
    per_invocation = (
        math.inf
        if estimate.full_duration_ms <= 0
        else estimate.full_batch / (estimate.full_duration_ms / 1000)
    )
    return drain_time(
        backlog,
        messages_per_second,
        per_invocation=per_invocation,
        start=initial_pollers(estimate.config),
        limit=estimate.concurrency_limit,
        scale_up_per_minute=estimate.scale_up_per_minute,
    )


# --- the estimate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hour:
    """One hour of the day at ``rate`` messages per second: the per-invocation figures and
    every monthly quantity as a rate per second."""

    rate: float
    passing: float
    batch: float
    duration_ms: float
    fate: MessageFate
    invocations: float
    records_run: float
    dead_lettered: float
    gb_seconds: float
    init_gb_seconds: float
    sqs_requests: float


def _hour(
    rate: float,
    workload: Workload,
    config: Config,
    profile: HandlerProfile,
    prices: Prices,
    assumptions: Assumptions,
) -> _Hour:
    passing = function_rate(rate, workload)
    batch = effective_batch(workload, config, profile, assumptions, passing)
    fate = message_fate(workload, batch)
    duration = invocation_ms(workload, config, profile, assumptions, batch)
    deliveries = passing * fate.deliveries
    invocations = deliveries / batch
    return _Hour(
        rate=rate,
        passing=passing,
        batch=batch,
        duration_ms=duration,
        fate=fate,
        invocations=invocations,
        records_run=deliveries * fate.run_fraction,
        dead_lettered=passing * fate.dead_lettered,
        gb_seconds=gb_seconds(invocations, duration, config.memory_mb),
        init_gb_seconds=gb_seconds(
            invocations * assumptions.cold_start_rate,
            init_ms(profile, config, assumptions),
            config.memory_mb,
        ),
        sqs_requests=sqs_request_rate(workload, config, assumptions, prices, rate, batch, fate),
    )


def estimate(
    workload: Workload,
    config: Config,
    profile: HandlerProfile,
    *,
    prices: Prices = DEFAULT_PRICES,
    account: Account = DEFAULT_ACCOUNT,
    assumptions: Assumptions = DEFAULT_ASSUMPTIONS,
) -> Estimate:
    """What ``config`` costs a month for ``workload`` and ``profile``, whether it keeps up
    and how late messages are (every term above, with its source).

    Raises :class:`~lambdakit.errors.CostInputError` only for a missing input (the
    provisioned-mode rate); a setting that cannot run the workload is returned with
    ``feasible=False`` and its ``problems``.
    """
    pollers = poller_cost(config, prices, assumptions)
    hours: dict[float, _Hour] = {}
    for rate in {*workload.hourly_rates(), workload.messages_per_second}:
        hours[rate] = _hour(rate, workload, config, profile, prices, assumptions)
    day = [hours[rate] for rate in workload.hourly_rates()]
    month = SECONDS_PER_HOUR * assumptions.month_days

    def total(value: float) -> float:
        return value * month

    invocations = total(sum(hour.invocations for hour in day))
    gb_s = total(sum(hour.gb_seconds for hour in day))
    init_gb_s = total(sum(hour.init_gb_seconds for hour in day))
    sqs_requests = total(sum(hour.sqs_requests for hour in day))

    lambda_gb_s_cost = gb_seconds_cost(gb_s + init_gb_s, config.architecture, prices, account)
    init_share = init_gb_s / (gb_s + init_gb_s) if gb_s + init_gb_s > 0 else 0.0
    cost = Breakdown(
        lambda_compute=lambda_gb_s_cost * (1 - init_share),
        lambda_requests=lambda_request_cost(invocations, prices, account),
        init=lambda_gb_s_cost * init_share,
        sqs=sqs_cost(sqs_requests, workload, prices, account),
        pollers=pollers,
    )

    mean = hours[workload.messages_per_second]
    busiest = max(day, key=lambda hour: hour.rate)
    concurrency = concurrency_needed(busiest.invocations, busiest.duration_ms)
    limit, limited_by = concurrency_limit(workload, config, account)
    full_batch = float(batch_cap(workload, config))
    full_duration_ms = invocation_ms(workload, config, profile, assumptions, full_batch)
    memory = memory_required_mb(profile, workload, full_batch)

    problems = mapping_problems(workload, config)
    if config.memory_mb < memory:
        problems.append(
            f"memory_mb {config.memory_mb} MB is below the {memory:,.2f} MB a full batch of "
            f"{full_batch:g} records needs"
        )
    if concurrency > limit:
        problems.append(
            f"needs {concurrency:,.1f} concurrent invocations at the busiest hour, over the "
            f"limit of {limit:,} ({limited_by})"
        )

    fill_s = batch_fill_seconds(workload, config, busiest.passing, busiest.duration_ms)
    return Estimate(
        config=config,
        effective_batch=mean.batch,
        duration_ms=mean.duration_ms,
        memory_required_mb=memory,
        invocations=invocations,
        records_run=total(sum(hour.records_run for hour in day)),
        gb_seconds=gb_s,
        init_gb_seconds=init_gb_s,
        sqs_requests=sqs_requests,
        dead_lettered=total(sum(hour.dead_lettered for hour in day)),
        cost=cost,
        concurrency=concurrency,
        concurrency_limit=limit,
        scale_up_per_minute=scale_up_per_minute(config),
        latency_p50_s=latency_s(
            P50,
            workload,
            fill_s,
            busiest.duration_ms,
            busiest.fate.retry_failure,
            queue_wait_s(P50, busiest.invocations, busiest.duration_ms, limit),
        ),
        latency_p99_s=latency_s(
            P99,
            workload,
            fill_s,
            busiest.duration_ms,
            busiest.fate.retry_failure,
            queue_wait_s(P99, busiest.invocations, busiest.duration_ms, limit),
        ),
        feasible=not problems,
        problems=tuple(problems),
        full_batch=full_batch,
        full_duration_ms=full_duration_ms,
    )
