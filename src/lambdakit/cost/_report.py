"""What ``lambdakit cost`` prints: terminal tables and ``--json`` documents for the estimator's
rows, a :class:`~lambdakit.cost.Plan` and a :class:`~lambdakit.cost.Measurement`.

Reports read fields of the result dataclasses and never recompute a cost: every number comes
from the model (``lambdakit.cost._model``) or the estimator's formulas (``_compat``), so the
table, the JSON and the HTML page (``_html``) cannot disagree with each other or with the
Python API. The helpers here that choose and label what is shown (:func:`ranked`,
:func:`config_label`, :func:`plan_rows`, :func:`drain_at_peak`) are shared with the HTML page
for the same reason.

JSON is ``dataclasses.asdict`` of the results, with the non-finite floats a model may return
(an unbounded latency) written as ``null``: ``json.loads`` in any language reads it back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, fields, is_dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from lambdakit.cost._compat import CompatInput, CompatRow
    from lambdakit.cost._results import Estimate, Measurement, Plan
    from lambdakit.cost._types import Config, Workload

# --- shared formatting ------------------------------------------------------------------------


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``rows`` under ``header`` in aligned columns: a column of numbers (a cell starting with a
    digit, a sign or ``$``) is aligned right, header included, so digits line up; text left."""
    widths = [len(title) for title in header]
    numeric = [False] * len(header)
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
        numeric = [was or is_number(cell) for was, cell in zip(numeric, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if right else cell.ljust(width)
            for width, cell, right in zip(widths, cells, numeric, strict=True)
        ).rstrip()

    rule = ["-" * width for width in widths]
    return "\n".join([line(header), line(rule), *(line(row) for row in rows)])


def is_number(cell: str) -> bool:
    """Whether a table cell shows a number (and is aligned right)."""
    return cell[:1].isdigit() or cell[:1] in "$-+"


def usd(value: float) -> str:
    """Dollars to the cent, as the estimator rounds them (``"{:.2f}"``), with thousands."""
    return f"${value:,.2f}"


def number(value: float | None, digits: int = 1, unit: str = "") -> str:
    """``value`` with ``digits`` decimals and thousands separators; ``n/a`` when the model has
    no finite value (a backlog never drained, a latency without bound)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def duration(seconds: float | None) -> str:
    """A time a person reads: ``850 ms``, ``42.0 s``, ``12 min 30 s``, ``3 h 05 min``."""
    if seconds is None or not math.isfinite(seconds):
        return "never"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def jsonable(value: Any) -> Any:
    """``value`` (dataclasses, tuples, dicts, floats) as JSON types, non-finite floats as
    ``None``, so ``json.dumps(..., allow_nan=False)`` succeeds and any reader parses it."""
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- compat -----------------------------------------------------------------------------------


def compat_json(rows: Sequence[CompatRow]) -> dict[str, Any]:
    """``{"rows": [...]}``: every row with exactly the keys the estimator's table has."""
    return {"rows": [jsonable(row.as_dict()) for row in rows]}


COMPAT_CONVENTIONS = (
    "The estimator's conventions: 30.41 days a month, its prices, the free tier applied to "
    "each row on its own, Lambda charges only (no SQS, no INIT)."
)

COMPAT_TABLE_HEADER = (
    "batch",
    "memory MB",
    "duration ms",
    "invocations/month",
    "GB-s/month",
    "x86_64 $/month",
    "arm64 $/month",
)


def compat_table_cells(row: CompatRow) -> list[str]:
    """One row of the estimator's table as it prints it (money to the cent)."""
    return [
        str(row.batch_size),
        str(row.memory_mb),
        number(row.duration_ms, 0),
        number(row.invocations_per_month, 0),
        number(row.gb_seconds_per_month, 2),
        usd(row.cost_x86_usd),
        usd(row.cost_arm64_usd),
    ]


def input_items(inp: CompatInput) -> list[tuple[str, str]]:
    """The estimator's inputs as (key, value) pairs, in the dataclass's order (not the path)."""
    return [
        (field.name, str(getattr(inp, field.name)))
        for field in fields(inp)
        if field.name != "source"
    ]


def compat_text(inp: CompatInput, rows: Sequence[CompatRow]) -> str:
    """The terminal report of ``lambdakit cost compat``: the inputs, the estimator's table at
    10 million messages a day, and the monthly cost at each volume of its grid per batch
    size and architecture (its first chart, as numbers)."""
    from lambdakit.cost._compat import rows_at

    parts = [
        f"aws-lambda-sqs-cost-estimator inputs ({inp.source or 'given'}):",
        *(f"  {key} = {value}" for key, value in input_items(inp)),
        "",
        "At 10,000,000 messages a day (the estimator's table):",
        table(COMPAT_TABLE_HEADER, [compat_table_cells(row) for row in rows_at(list(rows))]),
    ]
    by_batch: dict[int, list[CompatRow]] = {}
    for row in rows:  # in the estimator's order: batch size, then volume
        by_batch.setdefault(row.batch_size, []).append(row)
    volumes = list(dict.fromkeys(row.messages_per_day for row in rows))
    header = ["batch", *(f"{volume / 1e6:g}M" for volume in volumes)]
    for title, attribute in (("x86_64", "cost_x86_usd"), ("arm64", "cost_arm64_usd")):
        cells = [
            [str(batch), *(usd(getattr(row, attribute)) for row in mine)]
            for batch, mine in by_batch.items()
        ]
        parts += ["", f"$ per month on {title}, by messages a day:", table(header, cells)]
    parts += ["", COMPAT_CONVENTIONS]
    return "\n".join(parts)


# --- plan -------------------------------------------------------------------------------------


def config_label(config: Config) -> str:
    """A setting in a few words, for table rows and chart legends."""
    label = (
        f"batch {config.batch_size}, window {config.window_s:g} s, {config.memory_mb} MB, "
        f"{config.architecture}"
    )
    if config.concurrency != 1:
        label += f", concurrency {config.concurrency}"
    return label


def meets_target(plan: Plan, estimate: Estimate) -> bool:
    """Whether ``estimate`` could be recommended (the planner's own test: it keeps up and
    meets the plan's latency target)."""
    from lambdakit.cost._plan import meets

    return meets(estimate, plan.max_latency_s)


def shortfall(plan: Plan, estimate: Estimate) -> str:
    """Why a setting is not recommendable, in a phrase ('' when it is)."""
    if not estimate.feasible:
        return "; ".join(estimate.problems) or "cannot run this workload"
    if not meets_target(plan, estimate):
        return f"p99 latency over {plan.max_latency_s:g} s"
    return ""


def ranked(plan: Plan) -> list[Estimate]:
    """The estimates in the order reports show them: those that could be recommended first,
    cheapest first (the plan's order), then the rest, so a cheap setting that cannot keep up
    never hides the ones that can."""
    good = [estimate for estimate in plan.estimates if meets_target(plan, estimate)]
    bad = [estimate for estimate in plan.estimates if not meets_target(plan, estimate)]
    return good + bad


PLAN_HEADER = (
    "#",
    "batch",
    "window",
    "memory",
    "arch",
    "conc",
    "records/inv",
    "duration",
    "needs MB",
    "concurrency",
    "p99 latency",
    "$/month",
    "note",
)


def plan_rows(plan: Plan, top: int) -> list[list[str]]:
    """The first ``top`` settings of :func:`ranked`, as table cells (shared by the terminal
    table and the HTML page's table)."""
    return [
        [
            str(rank),
            str(estimate.config.batch_size),
            f"{estimate.config.window_s:g} s",
            f"{estimate.config.memory_mb} MB",
            estimate.config.architecture,
            str(estimate.config.concurrency),
            number(estimate.effective_batch, 1),
            number(estimate.duration_ms, 0, " ms"),
            number(estimate.memory_required_mb, 0),
            number(estimate.concurrency, 1),
            duration(estimate.latency_p99_s),
            usd(estimate.cost.total),
            shortfall(plan, estimate),
        ]
        for rank, estimate in enumerate(ranked(plan)[:top], start=1)
    ]


BREAKDOWN_PARTS = (
    ("Lambda compute", "lambda_compute"),
    ("Lambda requests", "lambda_requests"),
    ("INIT", "init"),
    ("SQS", "sqs"),
    ("Event pollers", "pollers"),
)


def peak_rate(workload: Workload) -> float:
    """Messages per second in the busiest hour (the mean without a daily profile)."""
    return max(workload.hourly_rates())


def drain_at_peak(plan: Plan, estimate: Estimate, backlog: int) -> float | None:
    """Seconds for ``estimate``'s setting to drain ``backlog`` messages while the busiest
    hour's traffic keeps arriving (the worst time of day for a backlog); ``None``: never."""
    return estimate.drain_seconds(backlog, peak_rate(plan.workload))


def workload_line(workload: Workload) -> str:
    """What arrives, in one line: volume, mean and busiest rates, size, queue type, failures."""
    queue = "FIFO" if workload.fifo else "standard"
    if workload.fifo and workload.message_groups is not None:
        queue += f" ({workload.message_groups} message groups)"
    line = (
        f"{number(workload.messages_per_day, 0)} messages a day "
        f"({number(workload.messages_per_second, 2)}/s mean, "
        f"{number(peak_rate(workload), 2)}/s in the busiest hour), "
        f"{workload.message_bytes:,} bytes each, {queue} queue"
    )
    extras = []
    if workload.filter_pass != 1:
        extras.append(f"{workload.filter_pass:.1%} pass the filter")
    if workload.failure_rate:
        extras.append(f"{workload.failure_rate:.2%} of attempts fail")
    if workload.poison_rate:
        extras.append(
            f"{workload.poison_rate:.2%} poison (DLQ after {workload.max_receive_count} receives)"
        )
    return line + ("; " + ", ".join(extras) if extras else "")


def profile_line(plan: Plan) -> str:
    """The handler profile the plan used, and where it came from."""
    p = plan.profile
    return (
        f"Handler ({p.source}): per invocation {p.overhead_cpu_ms:.3g} ms CPU + "
        f"{p.overhead_io_ms:.3g} ms waiting; per record {p.cpu_ms_per_record:.3g} ms CPU + "
        f"{p.io_ms_per_record:.3g} ms waiting; memory {p.base_memory_mb:.3g} MB + "
        f"{p.mb_per_record:.3g} MB a record; INIT {p.init_ms:.3g} ms"
    )


def prices_line(plan: Plan) -> str:
    """Where and when the prices are from: every report prints it."""
    return f"Prices: {plan.prices.region}, dated {plan.prices.date}"


def assumptions_line(plan: Plan) -> str:
    """Every assumption the model makes where AWS publishes no number."""
    a = plan.assumptions
    return (
        f"Assumptions: {a.cold_start_rate:.1%} of invocations start cold (INIT billed); "
        f"an idle mapping keeps {a.idle_pollers} pollers long-polling {a.long_poll_s:g} s; "
        f"producers send {a.send_batch} messages per SendMessageBatch; arm64 CPU time "
        f"{a.arm64_speed:g}x x86_64's; {a.month_days:.2f} days a month; CPU time scales "
        "with memory up to one vCPU at 1,769 MB; free tiers counted once per account."
    )


def recommendation_lines(plan: Plan, backlog: int | None) -> list[str]:
    """The recommendation, the runner-up and the saving, the breakdown, capacity, drain time
    and latency, one fact a line."""
    best = plan.best
    if best is None:
        target = (
            f" and meets a p99 latency of {plan.max_latency_s:g} s"
            if plan.max_latency_s is not None
            else ""
        )
        return [f"No explored setting keeps up{target}: see the notes above."]
    lines = [f"Recommendation: {config_label(best.config)}: {usd(best.cost.total)} a month"]
    if plan.runner_up is not None:
        saving = (
            ""
            if plan.saving_usd is None
            else f"; the recommendation saves {usd(plan.saving_usd)} a month"
        )
        lines.append(
            f"Runner-up: {config_label(plan.runner_up.config)}: "
            f"{usd(plan.runner_up.cost.total)} a month{saving}"
        )
    else:
        lines.append("Runner-up: none (no other setting qualifies)")
    lines.append("Breakdown of the recommendation (per month):")
    parts = [(title, usd(getattr(best.cost, name))) for title, name in BREAKDOWN_PARTS]
    parts.append(("Total", usd(best.cost.total)))
    width = max(len(title) for title, _ in parts)
    lines += [f"  {title.ljust(width)}  {amount.rjust(12)}" for title, amount in parts]
    lines.append(
        f"  {number(best.invocations, 0)} invocations of {number(best.effective_batch, 1)} "
        f"records, {number(best.duration_ms, 0)} ms each; {number(best.gb_seconds, 0)} GB-s; "
        f"{number(best.sqs_requests, 0)} SQS requests; "
        f"{number(best.dead_lettered, 0)} messages dead-lettered"
    )
    lines.append(
        f"Capacity: {number(best.concurrency, 1)} concurrent invocations at the busiest hour, "
        f"limit {best.concurrency_limit:,}; scale-up {best.scale_up_per_minute:,} a minute"
    )
    if backlog is not None:
        lines.append(
            f"Drain: a backlog of {backlog:,} messages is worked off in "
            f"{duration(drain_at_peak(plan, best, backlog))} while the busiest hour's "
            f"{number(peak_rate(plan.workload), 2)} messages/s keep arriving"
        )
    target = "" if plan.max_latency_s is None else f" (target {plan.max_latency_s:g} s)"
    lines.append(
        f"Latency: p50 {duration(best.latency_p50_s)}, p99 {duration(best.latency_p99_s)}{target}"
    )
    return lines


def plan_text(plan: Plan, *, top: int = 10, backlog: int | None = None) -> str:
    """The terminal report of ``lambdakit cost plan``."""
    good = sum(1 for estimate in plan.estimates if meets_target(plan, estimate))
    rows = plan_rows(plan, top)
    # The reasons a setting is refused can be long: a yes/no column, the reasons below.
    cells = [[*row[:-1], "no" if row[-1] else "yes"] for row in rows]
    reasons = [f"  #{row[0]}: {row[-1]}" for row in rows if row[-1]]
    target = "" if plan.max_latency_s is None else " and meet the target"
    parts = [
        f"Workload: {workload_line(plan.workload)}",
        profile_line(plan),
        prices_line(plan),
        "",
        f"{good} of {len(plan.estimates)} settings keep up{target}. The first {len(rows)}, "
        "cheapest first (those that keep up ahead):",
        table((*PLAN_HEADER[:-1], "ok"), cells),
        *(["Not recommendable:", *reasons] if reasons else []),
        "",
        *recommendation_lines(plan, backlog),
        "",
        assumptions_line(plan),
    ]
    return "\n".join(parts)


def plan_json(plan: Plan, *, backlog: int | None = None) -> dict[str, Any]:
    """``dataclasses.asdict`` of ``plan``, each breakdown with its ``total``, plus the price
    date and region at the top and, with ``backlog``, the recommendation's drain time."""
    document: dict[str, Any] = {
        "price_date": plan.prices.date,
        "price_region": plan.prices.region,
        **jsonable(plan),
    }
    for estimate in document["estimates"] + [document["best"], document["runner_up"]]:
        if estimate is not None:
            estimate["cost"]["total"] = sum(estimate["cost"].values())
    if backlog is not None:
        document["backlog"] = backlog
        document["drain_seconds"] = (
            None if plan.best is None else jsonable(drain_at_peak(plan, plan.best, backlog))
        )
    return document


# --- measure ----------------------------------------------------------------------------------


def measurement_text(measurement: Measurement) -> str:
    """The terminal report of ``lambdakit cost measure``: the points, the fitted profile and
    how well a line fits them."""
    rows = [
        [str(batch), number(cpu, 3), number(wall, 3), number(mb, 3), number(residual, 3)]
        for (batch, cpu, wall, mb), residual in zip(
            measurement.points, measurement.residuals_ms, strict=True
        )
    ]
    p = measurement.profile
    return "\n".join(
        [
            f"Handler: {measurement.handler} ({p.source})",
            table(("batch", "CPU ms", "wall ms", "peak MB", "CPU residual ms"), rows),
            "",
            f"Fit (CPU, r^2 = {measurement.r_squared:.4f}): {p.overhead_cpu_ms:.3f} ms per "
            f"invocation + {p.cpu_ms_per_record:.3f} ms per record",
            f"Waiting: {p.overhead_io_ms:.3f} ms per invocation + {p.io_ms_per_record:.3f} ms "
            "per record",
            f"Memory: {p.base_memory_mb:.3f} MB + {p.mb_per_record:.4f} MB per record; "
            f"INIT {p.init_ms:.1f} ms",
            "",
            "Feed it to the planner: lambdakit cost measure ... --json > profile.json; "
            "lambdakit cost plan --measured profile.json ...",
        ]
    )
