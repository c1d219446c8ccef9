"""`lambdakit cost compat|plan|measure` on the command line: what each prints (the tables, the
recommendation, the price date and assumptions), what --json holds (and that it round-trips),
that --html writes a self-contained page or names the extra, and that every bad input ends as
one message on stderr naming the option (or the file and line) with exit status 2, never a
traceback.

The commands run in-process through `lambdakit.cli.main(argv)`. The expected estimator numbers
are computed in the tests from the estimator's formulas (code/LambdaPlotly.py), written out.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from lambdakit.cli import main
from lambdakit.cost import DEFAULT_PRICES, Account, Grid, HandlerProfile, Workload
from lambdakit.cost._report import jsonable, table

DATA = Path(__file__).parent / "data" / "cost"
INPUT_PROP = DATA / "input.prop"
HANDLERS = "tests.unit.data.cost.measured_handlers"
COMPAT_KEYS = {
    "batch_size",
    "messages_per_day",
    "memory_mb",
    "duration_ms",
    "invocations_per_month",
    "gb_seconds_per_month",
    "cost_x86_usd",
    "cost_arm64_usd",
}

# A small grid, so that each plan runs in milliseconds: 3 x 2 x 2 x 2 = 24 settings.
SMALL_GRID = (
    "--batch-sizes",
    "1,10,100",
    "--windows",
    "0,1",
    "--memory",
    "256,1024",
    "--arch",
    "x86_64,arm64",
)
PROFILE = (
    "--overhead-ms",
    "5",
    "--overhead-io-ms",
    "20",
    "--cpu-ms-per-record",
    "2",
    "--io-ms-per-record",
    "10",
    "--base-memory-mb",
    "60",
    "--mb-per-record",
    "0.1",
    "--init-ms",
    "200",
)
TEN_MILLION = ("--per-day", "10000000")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["cost", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def plan_args(*extra: str) -> tuple[str, ...]:
    return ("plan", *TEN_MILLION, *SMALL_GRID, *PROFILE, *extra)


def api_plan(**workload: Any) -> Any:
    """The plan the Python API makes for `plan_args()`: the CLI must agree with it."""
    from lambdakit.cost import plan

    return plan(
        Workload.per_day(10_000_000, **workload),
        HandlerProfile(
            overhead_cpu_ms=5,
            overhead_io_ms=20,
            cpu_ms_per_record=2,
            io_ms_per_record=10,
            base_memory_mb=60,
            mb_per_record=0.1,
            init_ms=200,
        ),
        Grid(
            batch_sizes=(1, 10, 100),
            windows_s=(0.0, 1.0),
            memory_mb=(256, 1024),
            architectures=("x86_64", "arm64"),
        ),
    )


def refused(code: int, err: str) -> str:
    """The one message of a refused input: exit 2, no traceback, one line."""
    assert code == 2, err
    assert "Traceback" not in err
    return err


def chart_count(page: str) -> int:
    return page.count('<div class="lk-chart">')


# --- compat -----------------------------------------------------------------------------------


def estimator_cost(
    batch: int, memory_mb: int, duration_ms: int, per_day: float
) -> tuple[float, float]:
    """The estimator's calculate_monthly_cost, written out: 30.41 days, GB-s and requests
    after the free tier (400,000 GB-s, 1M requests), per row; x86 and arm prices."""
    requests = per_day * 30.41 / batch
    gbs = memory_mb / 1024 * requests * (duration_ms / 1000)
    request_usd = max(requests - 1_000_000, 0) * 0.0000002
    billed = max(gbs - 400_000, 0)
    return billed * 0.0000166667 + request_usd, billed * 0.0000133334 + request_usd


class TestCompat:
    def test_the_table_at_ten_million_a_day_has_the_estimators_cents(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(capsys, "compat", str(INPUT_PROP))
        assert code == 0, err
        # Sample input: base 256 MB, warm 20 ms, 10 ms a message, +128 MB per 300 in a batch.
        # Batch 100: 20 + 10 x 100 = 1,020 ms, 256 + 128 x int(100/300) = 256 MB.
        x86, arm = estimator_cost(100, 256, 1020, 10_000_000)
        assert (f"{x86:.2f}", f"{arm:.2f}") == ("6.67", "5.41")
        row = next(line for line in out.splitlines() if line.split()[:3] == ["100", "256", "1,020"])
        assert f"${x86:.2f}" in row
        assert f"${arm:.2f}" in row
        # Batch 400: int(400/300) = 1, so 384 MB.
        x86, arm = estimator_cost(400, 384, 4020, 10_000_000)
        row = next(line for line in out.splitlines() if line.split()[:2] == ["400", "384"])
        assert f"${x86:.2f}" in row
        assert f"${arm:.2f}" in row

    def test_the_text_shows_the_inputs_and_a_cost_grid_per_architecture(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _, out, _ = run(capsys, "compat", str(INPUT_PROP))
        assert "base_lambda_memory_mb = 256" in out
        assert "$ per month on x86_64" in out
        assert "$ per month on arm64" in out
        assert re.search(r"batch +0\.1M .* 250M$", out, re.M)
        assert "30.41 days a month" in out

    def test_json_has_one_row_per_batch_size_and_volume_with_exactly_the_issues_keys(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(capsys, "compat", str(INPUT_PROP), "--json")
        assert code == 0
        document = json.loads(out)
        assert set(document) == {"rows"}
        rows = document["rows"]
        # max_batch_size=1000: 11 of the estimator's batch sizes, times its 11 volumes.
        assert len(rows) == 11 * 11
        assert all(set(row) == COMPAT_KEYS for row in rows)
        row = next(r for r in rows if r["batch_size"] == 100 and r["messages_per_day"] == 10**7)
        x86, arm = estimator_cost(100, 256, 1020, 10_000_000)
        assert (round(row["cost_x86_usd"], 2), round(row["cost_arm64_usd"], 2)) == (
            round(x86, 2),
            round(arm, 2),
        )

    def test_a_malformed_line_is_refused_naming_the_file_and_line(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        bad = tmp_path / "input.prop"
        bad.write_text("# sample\nbase_lambda_memory_mb=256\nwarm_latency_ms 20\n")
        code, out, err = run(capsys, "compat", str(bad))
        assert f"{bad}:3:" in refused(code, err)
        assert out == ""

    def test_a_missing_file_is_refused_with_its_name(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        code, _, err = run(capsys, "compat", str(tmp_path / "nope.prop"))
        assert "nope.prop" in refused(code, err)

    def test_html_writes_a_self_contained_page_with_the_estimators_charts_and_tables(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        page_path = tmp_path / "compat.html"
        code, out, _ = run(capsys, "compat", str(INPUT_PROP), "--html", str(page_path))
        assert code == 0
        page = page_path.read_text()
        # Cost against volume, memory and duration against batch size; tables are HTML.
        assert chart_count(page) == 2
        assert "<script src=" not in page  # Plotly is embedded: the page works offline
        assert page.count("Plotly.newPlot") == 2
        assert "At 10,000,000 messages a day" in page
        assert "batch_increment" in page
        assert str(page_path) in out


# --- plan -------------------------------------------------------------------------------------


class TestPlanText:
    def test_the_report_says_what_to_choose_and_why(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(capsys, *plan_args("--backlog", "100000"))
        assert code == 0, err
        expected = api_plan()
        for words in (
            "Recommendation:",
            "Runner-up:",
            "saves",
            "Lambda compute",
            "Lambda requests",
            "INIT",
            "SQS",
            "Event pollers",
            "Capacity:",
            "Drain: a backlog of 100,000 messages",
            "Latency: p50",
            f"dated {DEFAULT_PRICES.date}",
            DEFAULT_PRICES.region,
            "Assumptions:",
            "cold",
            "long-polling",
        ):
            assert words in out, words
        assert f"${expected.best.cost.total:,.2f} a month" in out
        assert f"${expected.saving_usd:,.2f} a month" in out

    def test_the_table_ranks_the_top_settings_and_its_first_row_is_the_recommendation(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _, out, _ = run(capsys, *plan_args("--top", "3"))
        expected = api_plan()
        lines = out.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("#  "))
        _, rule, *rows, after = lines[start : start + 6]
        assert set(rule) <= {"-", " "}
        assert all(rows)
        assert after == ""  # three rows, then the blank line
        first = rows[0].split()
        best = expected.best.config
        assert first[:4] == ["1", str(best.batch_size), f"{best.window_s:g}", "s"]
        assert f"{best.memory_mb}" in first
        assert best.architecture in first
        assert first[-2:] == [f"${expected.best.cost.total:,.2f}", "yes"]
        assert f"of {len(expected.estimates)} settings keep up. The first 3, cheapest" in out

    def test_no_setting_meeting_the_latency_target_exits_1_and_says_so(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(capsys, *plan_args("--max-latency", "0.001"))
        assert code == 1
        assert "No explored setting keeps up and meets a p99 latency of 0.001 s" in out
        assert re.search(r"^  #1: p99 latency over 0\.001 s$", out, re.M)  # each row says why

    def test_a_measured_profile_is_read_from_the_json_measure_prints(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        code, out, err = run(
            capsys,
            "measure",
            f"{HANDLERS}:cpu_bound",
            "--events",
            str(DATA / "sample.jsonl"),
            "--batch-sizes",
            "1,5",
            "--repeats",
            "1",
            "--json",
        )
        assert code == 0, err
        measured = json.loads(out)
        saved = tmp_path / "profile.json"
        saved.write_text(out)
        code, out, err = run(capsys, "plan", *TEN_MILLION, *SMALL_GRID, "--measured", str(saved))
        assert code == 0, err
        assert f"Handler ({measured['profile']['source']})" in out

    def test_max_receive_count_none_means_no_redrive_policy(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(capsys, *plan_args("--max-receive-count", "none", "--json"))
        assert code == 0
        assert json.loads(out)["workload"]["max_receive_count"] is None


class TestPlanJson:
    def test_json_is_the_plan_as_dataclasses_with_the_price_date(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(capsys, *plan_args("--json"))
        assert code == 0
        document = json.loads(out)
        expected = api_plan()
        assert document["price_date"] == DEFAULT_PRICES.date == document["prices"]["date"]
        assert document["price_region"] == DEFAULT_PRICES.region
        assert set(asdict(expected)) <= set(document)
        assert document["best"]["config"] == asdict(expected.best.config)
        assert document["runner_up"]["config"] == asdict(expected.runner_up.config)
        assert document["saving_usd"] == pytest.approx(expected.saving_usd)
        assert len(document["estimates"]) == len(expected.estimates)
        cost = document["best"]["cost"]
        assert set(cost) == {"lambda_compute", "lambda_requests", "init", "sqs", "pollers", "total"}
        assert cost["total"] == pytest.approx(expected.best.cost.total)

    def test_json_is_strict_json_that_round_trips(self, capsys: pytest.CaptureFixture[str]) -> None:
        _, out, _ = run(capsys, *plan_args("--json", "--backlog", "1000000"))
        document = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
        assert json.loads(json.dumps(document)) == document
        assert document["backlog"] == 1_000_000
        assert document["drain_seconds"] is None or document["drain_seconds"] > 0

    def test_non_finite_numbers_become_null(self) -> None:
        assert jsonable({"a": (float("inf"), 1.5, float("nan"))}) == {"a": [None, 1.5, None]}


class TestPlanHtml:
    def test_html_has_the_three_views_the_breakdown_and_the_capacity_view(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        page_path = tmp_path / "plan.html"
        code, _, err = run(capsys, *plan_args("--html", str(page_path), "--backlog", "100000"))
        assert code == 0, err
        page = page_path.read_text()
        # cost vs volume, memory/duration, breakdown, capacity, drain; the ranked table is HTML.
        assert chart_count(page) == 5
        for chart in ("cost-vs-volume", "memory-duration", "breakdown", "capacity", "drain"):
            assert f'id="chart-{chart}"' in page
        assert "<script src=" not in page
        assert DEFAULT_PRICES.date in page
        assert "<table>" in page

    def test_without_a_backlog_there_is_no_drain_chart(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        page_path = tmp_path / "plan.html"
        run(capsys, *plan_args("--html", str(page_path)))
        assert chart_count(page_path.read_text()) == 4

    def test_text_from_the_inputs_is_escaped_in_the_page(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        saved = tmp_path / "profile.json"
        saved.write_text(json.dumps({"profile": {"cpu_ms_per_record": 1, "source": "<b>x</b>"}}))
        page_path = tmp_path / "plan.html"
        code, _, err = run(
            capsys,
            "plan",
            *TEN_MILLION,
            *SMALL_GRID,
            "--measured",
            str(saved),
            "--html",
            str(page_path),
        )
        assert code == 0, err
        page = page_path.read_text()
        assert "Handler (&lt;b&gt;x&lt;/b&gt;)" in page
        assert "<b>x</b>" not in page

    @pytest.mark.parametrize("command", ["compat", "plan"])
    def test_html_without_plotly_names_the_extra_and_writes_nothing(
        self,
        command: str,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setitem(sys.modules, "plotly", None)  # import plotly now fails
        page_path = tmp_path / "report.html"
        argv = ("compat", str(INPUT_PROP)) if command == "compat" else plan_args()
        code, out, err = run(capsys, *argv, "--html", str(page_path))
        assert "pip install 'lambdakit[cost]'" in refused(code, err)
        assert "lambdakit cost --html" in err
        assert not page_path.exists()
        assert out == ""

    def test_an_unwritable_html_path_is_refused_naming_the_option(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        target = tmp_path / "missing-dir" / "report.html"
        code, out, err = run(capsys, "compat", str(INPUT_PROP), "--html", str(target))
        assert "--html: cannot write" in refused(code, err)
        assert out == ""


# --- bad input --------------------------------------------------------------------------------


class TestBadInput:
    @pytest.mark.parametrize(
        ("argv", "says"),
        [
            (("--rate", "-1"), "--rate: must be at least 0"),
            (("--per-day", "-5"), "--per-day: must be at least 0"),
            (("--batch-sizes", "0"), "--batch-sizes: must be at least 1, got 0"),
            (("--batch-sizes", "10,10001"), "--batch-sizes: must be at most 10000, got 10001"),
            (("--windows", "0,301"), "--windows: must be at most 300, got 301"),
            (("--memory", "127"), "--memory: must be at least 128, got 127"),
            (("--memory", "10241"), "--memory: must be at most 10240, got 10241"),
            (("--arch", "sparc"), "--arch: must be one of x86_64, arm64"),
            (("--concurrency", "0"), "--concurrency: must be at least 1"),
            (("--failure-rate", "1"), "--failure-rate: must be at most 0.999"),
            (("--filter-pass", "2"), "--filter-pass: must be at most 1"),
            (("--message-bytes", "0"), "--message-bytes: must be at least 1"),
            (("--groups", "4"), "--groups: message groups exist only on FIFO queues"),
            (("--daily-profile", "1,2,3"), "--daily-profile: needs 24 hourly weights, got 3"),
            (("--daily-profile", ",".join(["1"] * 23 + ["-1"])), "--daily-profile[23]"),
            (("--overhead-ms", "-1"), "--overhead-ms: must be at least 0"),
            (("--init-ms", "20000"), "--init-ms: must be at most 10000"),
            (("--account-concurrency", "0"), "--account-concurrency: must be at least 1"),
            (("--max-concurrency", "1"), "--max-concurrency: must be at least 2"),
            (("--max-latency", "-1"), "--max-latency: must be at least 0"),
            (("--backlog", "-1"), "--backlog: must be at least 0"),
            (("--top", "0"), "--top: must be at least 1"),
        ],
    )
    def test_a_value_out_of_bounds_is_refused_naming_the_option(
        self, argv: tuple[str, ...], says: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # The bad option comes last: it overrides the default or the small grid's value.
        rate = argv[0] in ("--rate", "--per-day")
        full = ("plan", *argv, *SMALL_GRID, *PROFILE) if rate else plan_args(*argv)
        code, out, err = run(capsys, *full)
        assert refused(code, err).startswith(f"lambdakit cost plan: {says}"), err
        assert out == ""

    @pytest.mark.parametrize(
        ("argv", "says"),
        [
            (("--rate", "fast"), "argument --rate: not a number: 'fast'"),
            (
                ("--per-day", "1e7", "--batch-sizes", "10,x"),
                "--batch-sizes: not a whole number: 'x'",
            ),
            (("--per-day", "1e7", "--memory", "512,"), "--memory: not a comma-separated list"),
            (("--per-day", "1e7", "--max-receive-count", "some"), "--max-receive-count"),
        ],
    )
    def test_a_value_that_is_not_a_number_is_refused_naming_the_option(
        self, argv: tuple[str, ...], says: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(capsys, "plan", *argv)
        assert says in refused(code, err)

    def test_the_rate_is_required_once(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run(capsys, "plan")
        assert "--rate" in refused(code, err)
        code, _, err = run(capsys, "plan", "--rate", "1", "--per-day", "5")
        assert "not allowed with argument" in refused(code, err)

    def test_a_profile_is_measured_or_given_not_both(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        saved = tmp_path / "profile.json"
        saved.write_text(json.dumps({"profile": {"cpu_ms_per_record": 1}}))
        code, _, err = run(capsys, *plan_args("--measured", str(saved)))
        assert "--measured and --overhead-ms" in refused(code, err)

    @pytest.mark.parametrize(
        ("content", "says"),
        [
            ("[1, 2]", "no 'profile' object"),
            ('{"profile": {"cpu_ms_per_record": -1}}', "cpu_ms_per_record: must be at least 0"),
            ('{"profile": {"speed": 1}}', "unknown field 'speed'"),
            ("{nope", "not valid JSON"),
        ],
    )
    def test_a_bad_measured_file_is_refused_naming_it(
        self, content: str, says: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        saved = tmp_path / "profile.json"
        saved.write_text(content)
        code, _, err = run(capsys, "plan", *TEN_MILLION, "--measured", str(saved))
        message = refused(code, err)
        assert says in message
        assert "--measured" in message or str(saved) in message

    def test_a_bad_prices_file_is_refused_naming_it(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        prices = tmp_path / "prices.json"
        prices.write_text('{"lambda_request": -1}')
        code, _, err = run(capsys, *plan_args("--prices", str(prices)))
        assert f"{prices}: lambda_request" in refused(code, err)

    def test_a_prices_file_changes_the_price_date_reported(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        prices = tmp_path / "prices.json"
        prices.write_text('{"date": "2030-01-01", "region": "eu-west-1"}')
        code, out, _ = run(capsys, *plan_args("--prices", str(prices)))
        assert code == 0
        assert "Prices: eu-west-1, dated 2030-01-01" in out


# --- measure ----------------------------------------------------------------------------------


class TestMeasure:
    def test_measure_prints_the_points_and_the_fit(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(
            capsys,
            "measure",
            f"{HANDLERS}:cpu_bound",
            "--events",
            str(DATA / "sample.jsonl"),
            "--batch-sizes",
            "1,4",
            "--repeats",
            "1",
        )
        assert code == 0, err
        assert f"Handler: {HANDLERS}:cpu_bound" in out
        assert re.search(r"^\s+1\s", out, re.M)
        assert re.search(r"^\s+4\s", out, re.M)
        assert "ms per record" in out
        assert "r^2 =" in out

    @pytest.mark.parametrize(
        ("argv", "says"),
        [
            (("--repeats", "0"), "--repeats: must be at least 1"),
            (("--batch-sizes", "1,0"), "--batch-sizes[1]: must be at least 1"),
            (("--batch-sizes", "1,20000"), "--batch-sizes[1]: must be at most 10000"),
        ],
    )
    def test_bad_measure_options_are_refused_naming_the_option(
        self, argv: tuple[str, ...], says: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(
            capsys,
            "measure",
            f"{HANDLERS}:cpu_bound",
            "--events",
            str(DATA / "sample.jsonl"),
            *argv,
        )
        assert says in refused(code, err)

    def test_a_handler_that_cannot_be_imported_is_refused(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(
            capsys, "measure", "no_such_module:handler", "--events", str(DATA / "sample.jsonl")
        )
        assert "no_such_module" in refused(code, err)


# --- help and start-up ------------------------------------------------------------------------


def help_of(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    return " ".join(out.split())  # argparse wraps lines


class TestHelp:
    def test_the_defaults_the_help_states_are_the_planners(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from lambdakit.cost._measure import DEFAULT_BATCH_SIZES, measure

        def listed(values: tuple[Any, ...]) -> str:
            return ",".join(
                f"{value:g}" if isinstance(value, float) else str(value) for value in values
            )

        grid, workload = Grid(), Workload(1)
        text = help_of(capsys, "plan")
        assert f"BatchSize values (default {listed(grid.batch_sizes)})" in text
        assert f"MaximumBatchingWindowInSeconds values (default {listed(grid.windows_s)})" in text
        assert f"memory sizes in MB (default {listed(grid.memory_mb)})" in text
        assert f"architectures (default {listed(grid.architectures)})" in text
        assert f"at once (default {listed(grid.concurrency)})" in text
        assert f"mean message size (default {workload.message_bytes})" in text
        assert f"visibility timeout (default {workload.visibility_timeout_s:g})" in text
        assert f"without a DLQ (default {workload.max_receive_count})" in text
        assert f"concurrency quota (default {Account().concurrency_limit})" in text
        text = help_of(capsys, "measure")
        assert f"batch sizes to run (default {listed(DEFAULT_BATCH_SIZES)})" in text
        import inspect

        repeats = inspect.signature(measure).parameters["repeats"].default
        assert f"runs per batch size (default {repeats})" in text

    def test_help_and_parsing_import_nothing_of_the_planner(self) -> None:
        script = (
            "import sys\n"
            "from lambdakit.cli import main\n"
            "for argv in (['cost', '--help'], ['cost', 'plan', '--help']):\n"
            "    try:\n"
            "        main(argv)\n"
            "    except SystemExit:\n"
            "        pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('lambdakit.cost', 'plotly'))))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        assert done.stdout.strip().splitlines()[-1] == "[]"


def test_text_tables_align_numbers_right_and_words_left() -> None:
    assert table(("name", "cost"), [["a", "$1.00"], ["bb", "$10.00"]]).splitlines() == [
        "name    cost",
        "----  ------",
        "a      $1.00",
        "bb    $10.00",
    ]
