"""Measuring a handler's profile (``lambdakit cost measure``): a sample of records read from a
``.jsonl`` file, a ``module:attr`` handler, invocations at several batch sizes, and the line
fitted through them (CPU and wall apart, memory per record), its residuals and R².

The fit is checked to exact numbers on points given by hand. The measurement is checked on
fixture handlers whose cost per record is controlled (``data/cost/measured_handlers.py``), by
properties of the fitted line (a positive slope where work grows with the batch, a line that
fits), not by timings.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdakit.cost import HandlerProfile, Measurement
from lambdakit.cost._measure import (
    InitCost,
    fit,
    fit_summary,
    load_records,
    measure,
    measure_init,
    measure_profile,
    resolve_handler,
)
from lambdakit.errors import CostInputError
from lambdakit.testing import EventSourceMapping, SQSQueue, sqs_event
from lambdakit.testing.esm import Summary

DATA = Path(__file__).parent / "data" / "cost"
MIB = 1024 * 1024


@pytest.fixture
def handlers_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The fixture handlers' directory as the current directory, as a user runs the CLI next to
    their code; sys.path and the modules imported from there are restored afterwards."""
    monkeypatch.chdir(DATA)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield DATA
    for name, module in list(sys.modules.items()):
        if Path(getattr(module, "__file__", None) or "/").parent == DATA:
            del sys.modules[name]


@pytest.fixture
def handlers(handlers_dir: Path) -> Any:
    """The fixture handler module, imported from the current directory."""
    import importlib

    sys.path.insert(0, str(handlers_dir))
    return importlib.import_module("measured_handlers")


def records(count: int = 3) -> list[dict[str, Any]]:
    return list(sqs_event([{"n": i} for i in range(count)])["Records"])


# --- fit: the line through the points -----------------------------------------------------------


def test_fit_on_exact_lines_gives_overhead_per_record_io_and_memory() -> None:
    # CPU = 1 + 2n ms, wall = 3 + 4n ms, peak = 0.1 + 0.1n MB.
    points = [(1, 3.0, 7.0, 0.2), (2, 5.0, 11.0, 0.3), (4, 9.0, 19.0, 0.5)]
    result = fit(points, handler="app:handler")
    assert isinstance(result, Measurement)
    profile = result.profile
    assert profile.overhead_cpu_ms == pytest.approx(1.0)
    assert profile.cpu_ms_per_record == pytest.approx(2.0)
    assert profile.overhead_io_ms == pytest.approx(2.0)  # wall minus CPU
    assert profile.io_ms_per_record == pytest.approx(2.0)
    assert profile.base_memory_mb == pytest.approx(0.1)
    assert profile.mb_per_record == pytest.approx(0.1)
    assert result.residuals_ms == pytest.approx((0.0, 0.0, 0.0), abs=1e-12)
    assert result.r_squared == pytest.approx(1.0)
    assert result.points == tuple(points)
    assert result.handler == "app:handler"
    assert profile.source == "measured: app:handler, 3 batch sizes"


def test_fit_reports_the_cpu_residuals_and_r_squared_of_least_squares() -> None:
    # OLS through (1, 2), (2, 4), (3, 5): slope 3/2, intercept 2/3; residuals -1/6, 1/3, -1/6;
    # SSE 1/6 over a total sum of squares of 14/3: R² = 27/28.
    result = fit([(1, 2.0, 2.0, 0.0), (2, 4.0, 4.0, 0.0), (3, 5.0, 5.0, 0.0)])
    assert result.profile.overhead_cpu_ms == pytest.approx(2 / 3)
    assert result.profile.cpu_ms_per_record == pytest.approx(1.5)
    assert result.residuals_ms == pytest.approx((-1 / 6, 1 / 3, -1 / 6))
    assert result.r_squared == pytest.approx(27 / 28)
    assert result.profile.source == "measured: 3 batch sizes"


def test_repeated_batch_sizes_are_all_fitted() -> None:
    # Two points at n=1 (2 and 4 ms) weigh as two: the line passes through their mean.
    result = fit([(1, 2.0, 2.0, 0.0), (1, 4.0, 4.0, 0.0), (3, 7.0, 7.0, 0.0)])
    assert result.profile.overhead_cpu_ms == pytest.approx(1.0)
    assert result.profile.cpu_ms_per_record == pytest.approx(2.0)
    assert result.residuals_ms == pytest.approx((-1.0, 1.0, 0.0))


def test_a_negative_intercept_is_refitted_through_zero_and_its_residuals_reported() -> None:
    # OLS through (1, 1), (2, 3), (3, 5) is -1 + 2n: no handler runs in negative time. The best
    # line with a non-negative intercept passes through 0 with slope Σxy/Σx² = 22/14, and the
    # residuals and R² are those of that line, the one the profile uses.
    result = fit([(1, 1.0, 1.0, 0.0), (2, 3.0, 3.0, 0.0), (3, 5.0, 5.0, 0.0)])
    assert result.profile.overhead_cpu_ms == 0.0
    assert result.profile.cpu_ms_per_record == pytest.approx(11 / 7)
    assert result.residuals_ms == pytest.approx((-4 / 7, -1 / 7, 2 / 7))
    assert result.r_squared == pytest.approx(1 - (3 / 7) / 8)


def test_a_negative_slope_is_refitted_flat_at_the_mean() -> None:
    # Less time for more records is noise: the best non-negative line is flat at the mean.
    result = fit([(1, 4.0, 4.0, 0.5), (2, 2.0, 2.0, 0.3)])
    assert result.profile.cpu_ms_per_record == 0.0
    assert result.profile.overhead_cpu_ms == pytest.approx(3.0)
    assert result.residuals_ms == pytest.approx((1.0, -1.0))
    assert result.r_squared == pytest.approx(0.0)
    assert result.profile.mb_per_record == 0.0
    assert result.profile.base_memory_mb == pytest.approx(0.4)


def test_io_is_never_negative_when_wall_time_grows_slower_than_cpu() -> None:
    # A handler using threads spends more CPU than wall time; waiting is then zero, not less.
    result = fit([(1, 4.0, 1.5, 0.0), (3, 10.0, 3.5, 0.0)])  # CPU 1 + 3n, wall 0.5 + 1n
    assert result.profile.overhead_io_ms == 0.0
    assert result.profile.io_ms_per_record == 0.0


def test_points_that_do_not_vary_fit_exactly() -> None:
    result = fit([(1, 2.0, 2.0, 0.0), (5, 2.0, 2.0, 0.0)])
    assert result.profile.overhead_cpu_ms == pytest.approx(2.0)
    assert result.profile.cpu_ms_per_record == 0.0
    assert result.r_squared == 1.0


@pytest.mark.parametrize(
    ("points", "says"),
    [
        ([], "at least two different batch sizes"),
        ([(5, 1.0, 1.0, 0.0), (5, 2.0, 2.0, 0.0)], "at least two different batch sizes"),
        ([(0, 1.0, 1.0, 0.0), (2, 2.0, 2.0, 0.0)], r"points\[0\]\.batch_size: must be at least 1"),
        ([(1, -1.0, 1.0, 0.0), (2, 2.0, 2.0, 0.0)], r"points\[0\]\.cpu_ms: must be at least 0"),
        ([(1, 1.0, 1.0, 0.0), (2, 2.0, float("nan"), 0.0)], r"points\[1\]\.wall_ms: .*finite"),
        ([(1, 1.0, 1.0, 0.0), (2, 2.0, 2.0)], r"points\[1\]: expected \(batch size"),
    ],
)
def test_fit_refuses_points_it_cannot_fit(points: Any, says: str) -> None:
    with pytest.raises(CostInputError, match=says):
        fit(points)


# --- load_records: the sample ---------------------------------------------------------------------


def test_a_sample_holds_full_sqs_records_and_bodies_wrapped_into_records() -> None:
    loaded = load_records(DATA / "sample.jsonl")
    assert len(loaded) == 3  # the blank line is skipped
    full = json.loads((DATA / "sample.jsonl").read_text().splitlines()[0])
    assert loaded[0] == full  # used as it is
    assert loaded[1]["body"] == "plain text body"  # a string body as it is
    assert loaded[2]["body"] == '{"order":2,"items":["a","b"]}'  # as the builders encode
    for record in loaded[1:]:
        assert record["eventSource"] == "aws:sqs"
        assert set(record) == set(sqs_event(["x"])["Records"][0])
    assert loaded[1]["messageId"] != loaded[2]["messageId"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('"ok"\n\n{"order": \n', r"bad\.jsonl:3: not valid JSON"),
        ('{"messageId": "m-1", "body": 3}\n', r"bad\.jsonl:1: body: must be a string"),
        ('"ok"\n""\n', r"bad\.jsonl:2: body: SQS takes 1 byte to 1 MiB, got 0"),
        ("\n  \n", r"bad\.jsonl: no records"),
        ("", r"bad\.jsonl: no records"),
    ],
)
def test_a_bad_sample_is_refused_naming_the_file_and_line(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(CostInputError, match=says):
        load_records(path)


def test_a_missing_sample_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(CostInputError, match=r"nothing\.jsonl: cannot read"):
        load_records(tmp_path / "nothing.jsonl")


# --- resolve_handler ----------------------------------------------------------------------------


def test_a_handler_spec_is_imported_from_the_current_directory(handlers_dir: Path) -> None:
    sys.path[:] = [p for p in sys.path if p not in ("", str(handlers_dir))]
    handler = resolve_handler("measured_handlers:cpu_bound")
    assert handler.__name__ == "cpu_bound"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("measured_handlers", "expected module:function"),
        ("measured_handlers:", "expected module:function"),
        ("measured handlers:x", "expected module:function"),
        ("no_such_module_here:handler", "no module named 'no_such_module_here'"),
        ("measured_handlers:nothing", "'measured_handlers' has no attribute 'nothing'"),
        ("measured_handlers:SETTINGS", r"SETTINGS is not callable \(type dict\)"),
        ("fails_at_import:handler", "raised RuntimeError: TABLE_NAME is not set"),
        ("needs_missing_dependency:handler", "lambdakit_no_such_dependency"),
    ],
)
def test_a_handler_that_cannot_be_resolved_is_named_in_the_error(
    handlers_dir: Path, spec: str, says: str
) -> None:
    with pytest.raises(CostInputError, match=f"handler: '{spec}': .*{says}"):
        resolve_handler(spec)


# --- measure: invocations at several batch sizes -------------------------------------------------


def test_cpu_work_per_record_fits_a_line_with_a_positive_slope(handlers: Any) -> None:
    result = measure(handlers.cpu_bound, records(), batch_sizes=(1, 2, 5, 10, 20), repeats=3)
    profile = result.profile
    assert [point[0] for point in result.points] == [1, 2, 5, 10, 20]
    assert profile.cpu_ms_per_record > 0
    assert result.r_squared > 0.9
    assert profile.overhead_cpu_ms < 50 * profile.cpu_ms_per_record
    assert len(result.residuals_ms) == 5
    assert result.handler == "measured_handlers:cpu_bound"
    assert profile.source == "measured: measured_handlers:cpu_bound, 5 batch sizes"
    for _, cpu_ms, wall_ms, _ in result.points:
        assert wall_ms >= cpu_ms * 0.5  # wall and CPU were taken around the same invocation


def test_waiting_per_record_shows_as_io_not_cpu(handlers: Any) -> None:
    result = measure(handlers.waits, records(), batch_sizes=(1, 2, 5, 10), repeats=3)
    sleep_ms = handlers.SLEEP_S * 1000
    assert result.profile.io_ms_per_record >= 0.8 * sleep_ms
    assert result.profile.io_ms_per_record < 5 * sleep_ms
    assert result.profile.cpu_ms_per_record < 0.25 * sleep_ms


def test_memory_held_per_record_shows_as_mb_per_record(handlers: Any) -> None:
    result = measure(handlers.holds_memory, records(), batch_sizes=(1, 5, 10, 20), repeats=2)
    assert result.profile.mb_per_record == pytest.approx(handlers.HELD_BYTES / MIB, rel=0.05)
    for size, _, _, peak_mb in result.points:
        assert peak_mb >= size * handlers.HELD_BYTES / MIB


def test_each_invocation_gets_a_batch_of_its_size_with_new_message_ids(handlers: Any) -> None:
    # A sample shorter than the batch is cycled; every record of every invocation carries a
    # new messageId, as new messages do (a handler idempotent on the id would otherwise
    # measure cache hits). Warm-up + 2 timed + 2 traced invocations per size.
    handlers.SEEN.clear()
    sample = records(2)
    measure(handlers.remembers_ids, sample, batch_sizes=(1, 3), repeats=2)
    assert len(handlers.SEEN) == 5 * (1 + 3)
    assert len(set(handlers.SEEN)) == len(handlers.SEEN)
    assert not {record["messageId"] for record in sample} & set(handlers.SEEN)


def test_a_handler_that_raises_is_refused_naming_the_batch_size(handlers: Any) -> None:
    with pytest.raises(
        CostInputError, match=r"raised ValueError: downstream refused .*batch size 5"
    ):
        measure(handlers.fails_from_five, records(), batch_sizes=(1, 2, 5, 10), repeats=1)


def test_records_reported_failed_are_allowed_and_noted_in_the_profile_source(
    handlers: Any,
) -> None:
    result = measure(handlers.reports_the_first, records(), batch_sizes=(1, 4), repeats=1)
    # Each of the 2 timed invocations (1 per size) reported one of its records failed.
    assert result.profile.source.endswith(
        "; the handler reported 2 of 5 records failed (batchItemFailures)"
    )


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"batch_sizes": (1, 0)}, r"batch_sizes\[1\]: must be at least 1"),
        ({"batch_sizes": (1, 20_000)}, r"batch_sizes\[1\]: must be at most 10000"),
        ({"batch_sizes": (3, 3)}, "at least two different batch sizes"),
        ({"repeats": 0}, "repeats: must be at least 1"),
        ({"source": "kinesis"}, "source: only 'sqs'"),
    ],
)
def test_measure_refuses_settings_it_cannot_measure(
    handlers: Any, kwargs: dict[str, Any], says: str
) -> None:
    with pytest.raises(CostInputError, match=says):
        measure(handlers.cpu_bound, records(), **kwargs)


def test_measure_needs_records(handlers: Any) -> None:
    with pytest.raises(CostInputError, match="records: needs at least one"):
        measure(handlers.cpu_bound, [])


# --- fit_summary: a run of the event source mapping model ---------------------------------------


def test_fit_summary_pairs_each_invocations_records_with_its_cpu_time() -> None:
    # Invocation 1 had 2 records, 2 had 4 (one a redelivery), 3 had 2; a filtered record
    # (invocation 0) never reached the handler. Medians per batch size: 2 records -> 4 ms CPU,
    # 7 ms wall; 4 records -> 6 ms CPU, 11 ms wall. CPU = 2 + 1n, wall = 3 + 2n.
    summary = Summary()
    for key, invocation, outcome in [
        ("m-1", 1, "succeeded"),
        ("m-2", 1, "failed"),
        ("m-0", 0, "filtered"),
        ("m-2", 2, "succeeded"),
        ("m-3", 2, "succeeded"),
        ("m-4", 2, "succeeded"),
        ("m-5", 2, "succeeded"),
        ("m-6", 3, "succeeded"),
        ("m-7", 3, "succeeded"),
    ]:
        summary.record(key, 0.0, invocation, outcome)
    summary.invocations = 3
    summary.cpu_seconds = [0.003, 0.006, 0.005]
    summary.wall_seconds = [0.006, 0.011, 0.008]
    result = fit_summary(summary)
    assert result.points == ((2, 4.0, 7.0, 0.0), (4, 6.0, 11.0, 0.0))
    profile = result.profile
    assert profile.overhead_cpu_ms == pytest.approx(2.0)
    assert profile.cpu_ms_per_record == pytest.approx(1.0)
    assert profile.overhead_io_ms == pytest.approx(1.0)
    assert profile.io_ms_per_record == pytest.approx(1.0)
    assert profile.mb_per_record == 0.0
    assert profile.base_memory_mb == 0.0
    assert result.handler == "esm summary"
    assert profile.source == "measured: esm summary, 2 batch sizes"
    assert result.r_squared == pytest.approx(1.0)


def test_messages_the_function_sent_itself_are_not_records_it_handled() -> None:
    # A quarantine copy sent during invocation 1 (an SQSClient "sent" entry) is not a delivery:
    # invocation 1 still handled 1 record, invocation 2 handled 2.
    summary = Summary()
    for key, invocation, outcome in [
        ("m-1", 1, "deleted_by_function"),
        ("copy-1", 1, "sent"),
        ("copy-2", 1, "sent"),
        ("m-2", 2, "succeeded"),
        ("m-3", 2, "succeeded"),
    ]:
        summary.record(key, 0.0, invocation, outcome)
    summary.invocations = 2
    summary.cpu_seconds = [0.003, 0.004]
    summary.wall_seconds = [0.003, 0.004]
    assert [point[0] for point in fit_summary(summary).points] == [1, 2]


def test_fit_summary_without_wall_times_takes_wall_as_cpu() -> None:
    summary = Summary()
    for key, invocation in [("a", 1), ("b", 2), ("c", 2)]:
        summary.record(key, 0.0, invocation, "succeeded")
    summary.cpu_seconds = [0.001, 0.003]
    result = fit_summary(summary)
    assert result.points == ((1, 1.0, 1.0, 0.0), (2, 3.0, 3.0, 0.0))
    assert result.profile.io_ms_per_record == 0.0


@pytest.mark.parametrize(
    ("history", "cpu", "says"),
    [
        ([], [], "no invocations"),
        ([("a", 1)], [0.001, 0.002], "invocation 2 has CPU time but no record"),
        ([("a", 1), ("b", 3)], [0.001, 0.002], r"history\['b'\] names invocation 3"),
        ([("a", 1), ("b", 2)], [0.001, 0.002], "needs at least two different batch sizes"),
    ],
)
def test_fit_summary_refuses_a_summary_it_cannot_pair(
    history: list[tuple[str, int]], cpu: list[float], says: str
) -> None:
    summary = Summary()
    for key, invocation in history:
        summary.record(key, 0.0, invocation, "succeeded")
    summary.cpu_seconds = cpu
    with pytest.raises(CostInputError, match=f"summary: {says}"):
        fit_summary(summary)


def test_a_real_event_source_mapping_run_fits_the_cpu_cost_per_record(handlers: Any) -> None:
    # Bursts of 1, 2, 5 and 10 messages, each drained before the next, make invocations of
    # those sizes (five of each: each point is their median, so one invocation slowed by the
    # machine does not bend the line); messages the filter drops never reach the handler and
    # must not count in their invocation's size.
    queue = SQSQueue("orders")
    mapping = EventSourceMapping(
        queue, handlers.cpu_bound, batch_size=10, filter_criteria={"body": {"keep": [True]}}
    )
    for size in (1, 2, 5, 10):
        for _ in range(5):
            for _ in range(size):
                queue.send({"keep": True})
            queue.send({"keep": False})
            mapping.run()
    assert mapping.summary.filtered == 20
    result = fit_summary(mapping.summary)
    assert [point[0] for point in result.points] == [1, 2, 5, 10]
    assert result.profile.cpu_ms_per_record > 0
    assert result.r_squared > 0.9


# --- measure_init and measure_profile: the whole `lambdakit cost measure` ------------------------


def test_init_is_measured_in_a_fresh_interpreter_with_the_callers_sys_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The module is importable only through this process's sys.path, not from the directory.
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(DATA))
    heavy = measure_init("heavy_init")
    light = measure_init("json")
    assert isinstance(heavy, InitCost)
    assert heavy.ms >= 50  # the module waits 50 ms at import
    assert heavy.rss_mb - light.rss_mb >= 60  # and keeps 64 MiB
    assert "heavy_init" not in sys.modules  # never imported here


@pytest.mark.parametrize(
    ("module", "says"),
    [
        ("no_such_module_here", "ModuleNotFoundError: No module named 'no_such_module_here'"),
        ("fails_at_import", "RuntimeError: TABLE_NAME is not set"),
        ("not a module", "expected a module name"),
    ],
)
def test_an_init_that_fails_is_refused_naming_the_module(
    handlers_dir: Path, module: str, says: str
) -> None:
    with pytest.raises(CostInputError, match=f"^handler: '{module}': .*{says}"):
        measure_init(module)


def test_measure_profile_runs_the_whole_pipeline_from_a_spec_and_a_sample(
    handlers_dir: Path,
) -> None:
    result = measure_profile(
        "measured_handlers:cpu_bound", "sample.jsonl", batch_sizes=(1, 5, 10), repeats=2
    )
    assert result.handler == "measured_handlers:cpu_bound"
    assert [point[0] for point in result.points] == [1, 5, 10]
    profile = result.profile
    assert isinstance(profile, HandlerProfile)
    assert profile.cpu_ms_per_record > 0
    assert profile.init_ms > 0
    # The process's resident memory after import, plus what an invocation holds anyway.
    assert profile.base_memory_mb > 5
    assert profile.source.startswith("measured: measured_handlers:cpu_bound, 3 batch sizes")
