"""The ``--html`` report of ``lambdakit cost compat`` and ``lambdakit cost plan``: one
self-contained page (Plotly's JavaScript embedded once, so it opens offline and can be mailed
or attached to a ticket), needing the ``lambdakit[cost]`` extra.

Both pages show the views of AWS's aws-lambda-sqs-cost-estimator, so a reader who knows it
finds them again: monthly cost against messages a day per batch size and architecture, the
table at one volume, memory and duration against batch size. The plan's page computes them
with lambdakit's model (each (batch size, architecture) line is its best setting re-estimated
over the estimator's volume grid) and adds what the estimator leaves out: the cost breakdown of
the top settings, concurrency per hour of the day against the limit, and drain time.

Tables are HTML tables (text a reader can search and copy), charts are Plotly figures; every
number comes from the model or the estimator's formulas through ``_report``'s helpers, never
from a formula written here.
"""

from __future__ import annotations

import html
from dataclasses import replace

from lambdakit.cost._report import (
    BREAKDOWN_PARTS,
    COMPAT_CONVENTIONS,
    COMPAT_TABLE_HEADER,
    PLAN_HEADER,
    assumptions_line,
    compat_table_cells,
    config_label,
    drain_at_peak,
    input_items,
    is_number,
    plan_rows,
    prices_line,
    profile_line,
    ranked,
    recommendation_lines,
    workload_line,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from lambdakit.cost._compat import CompatInput, CompatRow
    from lambdakit.cost._results import Estimate, Plan
    from lambdakit.cost._types import Config

CHART_HEIGHT = 460
# Settings shown in the breakdown and drain charts: enough to compare, few enough to read.
CHART_TOP = 10

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f0f0f0; text-align: left; } td.text { text-align: left; }
p.note { color: #555; font-size: 0.9em; }
pre { background: #f6f6f6; padding: 0.6em; font-size: 0.85em; }
"""


class _Page:
    """An HTML page being built: sections of text, tables and charts. Plotly's JavaScript is
    embedded with the first chart only (``include_plotlyjs=True``), the rest reuse it."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]
        self.charts = 0

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def paragraph(self, text: str, *, note: bool = False) -> None:
        css = ' class="note"' if note else ""
        self.parts.append(f"<p{css}>{html.escape(text)}</p>")

    def preformatted(self, lines: Sequence[str]) -> None:
        self.parts.append(f"<pre>{html.escape(chr(10).join(lines))}</pre>")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td{'' if is_number(cell) else ' class=text'}>{html.escape(cell)}</td>"
                for cell in row
            )
            + "</tr>"
            for row in rows
        )
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def chart(self, figure: Any, name: str) -> None:
        import plotly.io as pio

        figure.update_layout(height=CHART_HEIGHT, margin={"t": 60})
        self.parts.append(
            '<div class="lk-chart">'
            + pio.to_html(
                figure,
                include_plotlyjs=self.charts == 0,
                full_html=False,
                div_id=f"chart-{name}",
                default_height=f"{CHART_HEIGHT}px",
                config={"displaylogo": False, "responsive": True},
            )
            + "</div>"
        )
        self.charts += 1

    def render(self) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head>"
            f"<body>{''.join(self.parts)}</body></html>\n"
        )


def _cost_figure(title: str, *, log_cost: bool) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.update_layout(
        title=title,
        xaxis={"title": "messages per day", "type": "log"},
        yaxis={"title": "USD per month", "type": "log" if log_cost else "linear"},
        legend={"font": {"size": 10}},
    )
    return figure


def _cost_line(
    figure: Any,
    volumes: Sequence[float],
    costs: Sequence[float | None],
    batch: int,
    arch: str,
    hover: str | None = None,
) -> None:
    """One line of the cost chart: a colour per batch size (both architectures share it, so a
    batch size reads as a pair), solid for x86_64 and dotted for arm64, as one legend group."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    palette = qualitative.Dark24
    figure.add_trace(
        go.Scatter(
            x=list(volumes),
            y=list(costs),
            name=f"batch {batch}, {arch}",
            legendgroup=str(batch),
            hovertext=hover,
            line={
                "color": palette[_batch_index(batch) % len(palette)],
                "dash": "solid" if arch == "x86_64" else "dot",
            },
        )
    )


def _batch_index(batch: int) -> int:
    """A stable colour index for a batch size, the same on every page: its place in the
    estimator's batch grid (which holds the planner's defaults too)."""
    from lambdakit.cost._compat import BATCH_GRID

    return sum(1 for size in BATCH_GRID if size < batch)


def _memory_duration_figure(
    batches: Sequence[int], memory: dict[str, Sequence[float]], duration_ms: Sequence[float]
) -> Any:
    """Memory (one line per series of ``memory``) and duration against batch size, on two
    y axes, as the estimator draws them."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(specs=[[{"secondary_y": True}]])
    for name, values in memory.items():
        figure.add_trace(go.Scatter(x=list(batches), y=list(values), name=name), secondary_y=False)
    figure.add_trace(
        go.Scatter(x=list(batches), y=list(duration_ms), name="duration (ms)"), secondary_y=True
    )
    figure.update_layout(title="Memory and duration of an invocation by batch size")
    figure.update_xaxes(title_text="batch size", type="log")
    figure.update_yaxes(title_text="memory (MB)", rangemode="tozero", secondary_y=False)
    figure.update_yaxes(title_text="duration (ms)", rangemode="tozero", secondary_y=True)
    return figure


# --- compat -----------------------------------------------------------------------------------


def compat_html(inp: CompatInput, rows: Sequence[CompatRow]) -> str:
    """The estimator's page for ``inp``: cost against volume per batch size on x86_64 and
    arm64, its table at 10 million messages a day, memory and duration against batch size,
    and the inputs."""
    page = _Page("aws-lambda-sqs-cost-estimator, reproduced by lambdakit")
    page.paragraph(f"Inputs from {inp.source or 'the caller'}. {COMPAT_CONVENTIONS}", note=True)
    batches = sorted({row.batch_size for row in rows})
    # Linear, as the estimator draws it (its free-tier rows are $0, which a log axis hides).
    cost = _cost_figure("Monthly Lambda cost by messages a day, per batch size", log_cost=False)
    for batch in batches:
        mine = sorted(
            (row for row in rows if row.batch_size == batch), key=lambda r: r.messages_per_day
        )
        volumes = [row.messages_per_day for row in mine]
        _cost_line(cost, volumes, [row.cost_x86_usd for row in mine], batch, "x86_64")
        _cost_line(cost, volumes, [row.cost_arm64_usd for row in mine], batch, "arm64")
    page.heading("Cost against volume")
    page.chart(cost, "cost-vs-volume")

    from lambdakit.cost._compat import rows_at

    at_table = rows_at(list(rows))
    page.heading("At 10,000,000 messages a day")
    page.table(COMPAT_TABLE_HEADER, [compat_table_cells(row) for row in at_table])

    page.heading("Memory and duration against batch size")
    page.chart(
        _memory_duration_figure(
            [row.batch_size for row in at_table],
            {"memory (MB)": [row.memory_mb for row in at_table]},
            [row.duration_ms for row in at_table],
        ),
        "memory-duration",
    )
    page.heading("Inputs")
    page.table(("input", "value"), [list(item) for item in input_items(inp)])
    return page.render()


# --- plan -------------------------------------------------------------------------------------


def plan_html(plan: Plan, *, top: int = 10, backlog: int | None = None) -> str:
    """The plan's page (settings re-estimated over the volume grid and the hours of the day
    with the plan's own prices, account and assumptions)."""
    import plotly.graph_objects as go

    from lambdakit.cost._compat import VOLUME_GRID_MILLIONS
    from lambdakit.cost._model import estimate
    from lambdakit.cost._types import SECONDS_PER_DAY

    def again(config: Config, messages_per_second: float, hourly: bool = False) -> Estimate:
        workload = replace(plan.workload, messages_per_second=messages_per_second)
        if hourly:
            workload = replace(workload, daily_profile=None)
        return estimate(
            workload,
            config,
            plan.profile,
            prices=plan.prices,
            account=plan.account,
            assumptions=plan.assumptions,
        )

    order = ranked(plan)
    rate = plan.workload.messages_per_second
    page = _Page(f"lambdakit cost plan ({plan.prices.region}, prices of {plan.prices.date})")
    page.paragraph(prices_line(plan))
    page.paragraph(profile_line(plan))
    page.paragraph(f"Workload: {workload_line(plan.workload)}")
    page.preformatted(recommendation_lines(plan, backlog))

    # View 1: cost against volume, the best setting of each (batch size, architecture).
    planned = plan.workload.messages_per_day
    grid = {millions * 1e6 for millions in VOLUME_GRID_MILLIONS}
    volumes = sorted(grid | {planned} if planned > 0 else grid)  # a log axis has no 0
    # Log-log: the planner's costs are never 0 (idle polls) and span decades over the grid.
    cost = _cost_figure(
        "Monthly cost by messages a day: the best setting of each batch size and architecture",
        log_cost=True,
    )
    first_of: dict[tuple[int, str], Estimate] = {}
    for ranked_estimate in order:
        config = ranked_estimate.config
        first_of.setdefault((config.batch_size, config.architecture), ranked_estimate)
    for (batch, arch), chosen in sorted(first_of.items()):
        points = [again(chosen.config, volume / SECONDS_PER_DAY) for volume in volumes]
        _cost_line(
            cost,
            volumes,
            [point.cost.total if point.feasible else None for point in points],
            batch,
            arch,
            hover=config_label(chosen.config),
        )
    if planned > 0:
        cost.add_vline(x=planned, line_dash="dot")
    page.heading("Cost against volume")
    page.paragraph(
        "Each line is the setting ranked first for its batch size and architecture at the "
        "planned volume (dotted), re-estimated at each volume; a gap means it cannot keep up "
        "there.",
        note=True,
    )
    page.chart(cost, "cost-vs-volume")

    # View 2: the ranked table at the planned volume.
    page.heading(f"The cheapest settings at {plan.workload.messages_per_day:,.0f} messages a day")
    page.table(PLAN_HEADER, plan_rows(plan, top))

    # View 3: memory and duration against batch size, every other setting as recommended (so
    # the line shows what the batch size alone changes, batching window included).
    base = plan.best or order[0]
    batches = sorted({e.config.batch_size for e in plan.estimates})
    varied = [again(replace(base.config, batch_size=batch), rate) for batch in batches]
    page.heading("Memory and duration against batch size")
    page.paragraph(
        f"Other settings as in {config_label(base.config)}; a batch holds fewer records than "
        "its size when the batching window closes first.",
        note=True,
    )
    page.chart(
        _memory_duration_figure(
            batches,
            {
                "memory needed (MB)": [e.memory_required_mb for e in varied],
                "memory set (MB)": [e.config.memory_mb for e in varied],
            },
            [e.duration_ms for e in varied],
        ),
        "memory-duration",
    )

    # The cost breakdown of the top settings.
    shown = order[: min(top, CHART_TOP)]
    labels = [f"{rank}. {config_label(e.config)}" for rank, e in enumerate(shown, start=1)]
    breakdown = go.Figure(
        [
            go.Bar(x=labels, y=[getattr(e.cost, name) for e in shown], name=title)
            for title, name in BREAKDOWN_PARTS
        ]
    )
    breakdown.update_layout(
        barmode="stack", title="What each setting pays for", yaxis={"title": "USD per month"}
    )
    page.heading("Cost breakdown")
    page.chart(breakdown, "breakdown")

    # Capacity: concurrency per hour of the day against the limit.
    capacity = go.Figure()
    hours = list(range(24))
    focus = [e for e in (plan.best, plan.runner_up) if e is not None] or order[:1]
    for chosen in focus:
        needed = [again(chosen.config, rate, hourly=True) for rate in plan.workload.hourly_rates()]
        capacity.add_trace(
            go.Scatter(
                x=hours,
                y=[point.concurrency for point in needed],
                name=config_label(chosen.config),
                mode="lines+markers",
            )
        )
    if focus:
        capacity.add_trace(
            go.Scatter(
                x=hours,
                y=[focus[0].concurrency_limit] * 24,
                name="concurrency limit",
                line={"dash": "dash"},
            )
        )
    capacity.update_layout(
        title="Concurrent invocations needed in each hour of the day",
        xaxis={"title": "hour of the day", "dtick": 2},
        # Log: a few invocations against a limit of a thousand must both be readable.
        yaxis={"title": "concurrent invocations", "type": "log"},
    )
    page.heading("Capacity")
    page.chart(capacity, "capacity")

    if backlog is not None:
        drains = [drain_at_peak(plan, e, backlog) for e in shown]
        drain = go.Figure(
            go.Bar(
                x=labels,
                y=[None if s is None else s / 60 for s in drains],
                text=["never" if s is None else f"{s / 60:.1f} min" for s in drains],
                name="drain time",
            )
        )
        drain.update_layout(
            title=f"Minutes to drain a backlog of {backlog:,} messages at the busiest hour",
            yaxis={"title": "minutes"},
        )
        page.heading("Drain time")
        page.chart(drain, "drain")

    page.heading("Assumptions")
    page.paragraph(assumptions_line(plan), note=True)
    return page.render()
