"""``lambdakit cost compat`` reads aws-lambda-sqs-cost-estimator's ``input.prop`` as its
``load_properties`` does and reproduces its numbers (``code/LambdaPlotly.py``) to the cent.

The estimator is not a dependency: the expected values below are computed from its formulas,
written out here, in exact rational arithmetic (so they do not share the implementation's float
rounding). One formula per line, as the docs page "Cost and capacity" shows them:

    batch_size            in 1 5 10 20 50 100 200 400 500 600 1000 1500 2000 5000 10000, up to max_batch_size
    messages_per_day      in 0.1 0.5 1 5 10 15 20 50 100 200 250 million
    memory grid (MB)      = base_lambda_memory_mb, then +128 MB steps while <= 4096
    requested_mb          = base_lambda_memory_mb + batch_memory_overhead_mb x int(batch_size / batch_increment)
    memory_mb             = the first grid memory >= requested_mb, else the grid's last
    duration_ms           = warm_latency_ms + process_per_message_ms x batch_size
    invocations_per_month = messages_per_day x 30.41 / batch_size
    gb_seconds_per_month  = memory_mb / 1024 x invocations_per_month x duration_ms / 1000
    compute_usd (x86)     = max(0, gb_seconds_per_month - 400,000) x 0.0000166667
    compute_usd (arm64)   = max(0, gb_seconds_per_month - 400,000) x 0.0000133334
    requests_usd          = max(0, invocations_per_month - 1,000,000) x 0.0000002
    cost_<arch>_usd       = compute_usd (arch) + requests_usd

The free tiers (400,000 GB-s, 1M requests) are taken off every row on its own, as the estimator
does. Bad input is refused with a ``CostInputError`` naming ``file:line`` and the key.
"""  # noqa: E501

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from lambdakit.cost._compat import (
    BATCH_GRID,
    DAYS_IN_MONTH,
    TABLE_MESSAGES_PER_DAY,
    VOLUME_GRID_MILLIONS,
    CompatInput,
    CompatRow,
    batch_grid,
    compat_rows,
    memory_grid,
    read_input_prop,
    rows_at,
)
from lambdakit.errors import CostInputError

SAMPLE = Path(__file__).parent / "data" / "cost" / "input.prop"
SAMPLE_VALUES = {
    "base_lambda_memory_mb": 256,
    "warm_latency_ms": 20,
    "process_per_message_ms": 10,
    "max_batch_size": 1000,
    "batch_memory_overhead_mb": 128,
    "batch_increment": 300,
}
KEYS = (
    "batch_size",
    "messages_per_day",
    "memory_mb",
    "duration_ms",
    "invocations_per_month",
    "gb_seconds_per_month",
    "cost_x86_usd",
    "cost_arm64_usd",
)


# --- the formulas, written out ------------------------------------------------------------


def expected(values: dict[str, int], batch_size: int, millions: str) -> dict[str, Fraction]:
    """One row from the module docstring's formulas, exactly (``millions`` as written in the
    estimator's grid, so 0.1 is one tenth, not the nearest float)."""
    base = values["base_lambda_memory_mb"]
    grid = list(range(base, 4096 + 1, 128))
    requested = base + values["batch_memory_overhead_mb"] * int(
        batch_size / values["batch_increment"]
    )
    memory = next((m for m in grid if m >= requested), grid[-1])
    duration = values["warm_latency_ms"] + values["process_per_message_ms"] * batch_size
    messages = Fraction(millions) * 1_000_000
    invocations = messages * Fraction("30.41") / batch_size
    gb_seconds = Fraction(memory, 1024) * invocations * Fraction(duration, 1000)
    requests_usd = max(Fraction(0), invocations - 1_000_000) * Fraction("0.0000002")
    excess = max(Fraction(0), gb_seconds - 400_000)
    return {
        "batch_size": Fraction(batch_size),
        "messages_per_day": messages,
        "memory_mb": Fraction(memory),
        "duration_ms": Fraction(duration),
        "invocations_per_month": invocations,
        "gb_seconds_per_month": gb_seconds,
        "cost_x86_usd": excess * Fraction("0.0000166667") + requests_usd,
        "cost_arm64_usd": excess * Fraction("0.0000133334") + requests_usd,
    }


GRID_MILLIONS = ("0.1", "0.5", "1", "5", "10", "15", "20", "50", "100", "200", "250")


def cents(value: float | Fraction) -> str:
    return f"{float(value):.2f}"


def assert_row_equals(row: CompatRow, want: dict[str, Fraction]) -> None:
    got = row.as_dict()
    for key in ("batch_size", "messages_per_day", "memory_mb", "duration_ms"):
        assert got[key] == want[key], (key, row)
        assert isinstance(got[key], int), (key, row)
    for key in ("invocations_per_month", "gb_seconds_per_month", "cost_x86_usd", "cost_arm64_usd"):
        assert got[key] == pytest.approx(float(want[key]), rel=1e-12, abs=1e-12), (key, row)
    for key in ("cost_x86_usd", "cost_arm64_usd"):
        assert cents(got[key]) == cents(want[key]), (key, row)


# --- the sample input ---------------------------------------------------------------------


def test_the_estimators_sample_input_reads_as_its_load_properties_reads_it() -> None:
    inp = read_input_prop(SAMPLE)
    assert {key: getattr(inp, key) for key in SAMPLE_VALUES} == SAMPLE_VALUES
    assert inp.source == str(SAMPLE)


def test_the_sample_gives_one_row_per_batch_size_and_volume_in_the_estimators_order() -> None:
    rows = compat_rows(read_input_prop(SAMPLE))
    batches = (1, 5, 10, 20, 50, 100, 200, 400, 500, 600, 1000)
    volumes = [round(Fraction(m) * 1_000_000) for m in GRID_MILLIONS]
    assert [(r.batch_size, r.messages_per_day) for r in rows] == [
        (b, v) for b in batches for v in volumes
    ]


def test_every_row_of_the_sample_equals_the_estimators_formulas_to_the_cent() -> None:
    rows = compat_rows(read_input_prop(SAMPLE))
    batches = sorted({r.batch_size for r in rows})
    want = [expected(SAMPLE_VALUES, b, m) for b in batches for m in GRID_MILLIONS]
    assert len(rows) == len(want) == 121
    for row, row_want in zip(rows, want, strict=True):
        assert_row_equals(row, row_want)


def test_every_row_is_the_formulas_in_the_estimators_float_arithmetic_exactly() -> None:
    """The estimator evaluates the formulas above left to right in floats (``vol * 1000000 *
    DAYS_IN_MONTH / batch_size``, then ``memory / 1024 * requests * duration / 1000``); the
    rows hold the very same floats, not merely values within a cent."""
    for row in compat_rows(read_input_prop(SAMPLE)):
        millions = row.messages_per_day / 1_000_000
        requests = millions * 1000000 * 30.41 / row.batch_size
        gbs = row.memory_mb / 1024 * requests * (row.duration_ms / 1000)
        request_usd = max(requests - 1000000, 0) * 0.0000002
        assert (row.invocations_per_month, row.gb_seconds_per_month) == (requests, gbs)
        assert row.cost_x86_usd == max(gbs - 400000, 0) * 0.0000166667 + request_usd
        assert row.cost_arm64_usd == max(gbs - 400000, 0) * 0.0000133334 + request_usd


@pytest.mark.parametrize(
    ("batch_size", "messages_per_day", "worked"),
    [
        # 256 + 128 x int(10/300) = 256 MB; 20 + 10 x 10 = 120 ms; 1e7 x 30.41 / 10 = 30,410,000;
        # 0.25 x 30,410,000 x 0.12 = 912,300 GB-s; (912,300 - 400,000) x 0.0000166667 = 8.53835041
        # + (30,410,000 - 1,000,000) x 0.0000002 = 5.882; arm64: 6.83070082 + 5.882.
        pytest.param(
            10, 10_000_000, (256, 120, 30_410_000, 912_300, 14.42035041, 12.71270082), id="10@10M"
        ),
        # 256 + 128 x int(1000/300) = 640 MB (on the grid); 20 + 10 x 1000 = 10,020 ms;
        # 2.5e8 x 30.41 / 1000 = 7,602,500; 0.625 x 7,602,500 x 10.02 = 47,610,656.25 GB-s;
        # 47,210,656.25 x 0.0000166667 = 786.845844521875 + 6,602,500 x 0.0000002 = 1.3205.
        pytest.param(
            1000,
            250_000_000,
            (640, 10_020, 7_602_500, 47_610_656.25, 788.166344521875, 630.79906404375),
            id="1000@250M",
        ),
        # Compute inside the free tier: 0.25 x 3,041,000 x 0.03 = 22,807.5 GB-s < 400,000, so
        # only the requests are paid: 2,041,000 x 0.0000002 = 0.4082, on either architecture.
        pytest.param(1, 100_000, (256, 30, 3_041_000, 22_807.5, 0.4082, 0.4082), id="1@100k"),
        # Requests inside the free tier: 608,200 < 1,000,000; 256 + 128 x int(500/300) = 384 MB;
        # 0.375 x 608,200 x 5.02 = 1,144,936.5 GB-s; 744,936.5 x 0.0000166667 = 12.41563316455.
        pytest.param(
            500,
            10_000_000,
            (384, 5_020, 608_200, 1_144_936.5, 12.41563316455, 9.9325363291),
            id="500@10M",
        ),
    ],
)
def test_rows_worked_by_hand(
    batch_size: int, messages_per_day: int, worked: tuple[float, ...]
) -> None:
    (row,) = [
        r
        for r in compat_rows(read_input_prop(SAMPLE))
        if (r.batch_size, r.messages_per_day) == (batch_size, messages_per_day)
    ]
    memory, duration, invocations, gb_seconds, x86, arm64 = worked
    assert (row.memory_mb, row.duration_ms) == (memory, duration)
    assert row.invocations_per_month == pytest.approx(invocations, rel=1e-12)
    assert row.gb_seconds_per_month == pytest.approx(gb_seconds, rel=1e-12)
    assert row.cost_x86_usd == pytest.approx(x86, rel=1e-12)
    assert row.cost_arm64_usd == pytest.approx(arm64, rel=1e-12)


def test_the_10m_rows_show_what_the_estimators_table_shows() -> None:
    """The estimator's table (10 million messages a day) computes each column its own way:
    requests from ``10 * 1000000 * DAYS_IN_MONTH / batch_size``, the free tier subtracted before
    pricing, both money columns and the GB-s column printed with ``"{:.2f}"``. Written out in
    the estimator's float arithmetic, it shows what our rows give at that volume."""
    rows = rows_at(compat_rows(read_input_prop(SAMPLE)), 10_000_000)
    assert [r.batch_size for r in rows] == [1, 5, 10, 20, 50, 100, 200, 400, 500, 600, 1000]
    for row in rows:
        request_monthly = 10 * 1000000 * 30.41 / row.batch_size
        gbs = (row.memory_mb / 1024) * request_monthly * (row.duration_ms / 1000)
        usage = max(gbs - 400000, 0)
        requests = max(request_monthly - 1000000, 0)
        assert row.invocations_per_month == request_monthly
        assert f"{row.gb_seconds_per_month:.2f}" == f"{gbs:.2f}"
        x86 = f"{usage * 0.0000166667 + requests * 0.0000002:.2f}"
        arm = f"{usage * 0.0000133334 + requests * 0.0000002:.2f}"
        assert (cents(row.cost_x86_usd), cents(row.cost_arm64_usd)) == (x86, arm)


def test_the_estimators_table_at_10m_for_the_sample() -> None:
    """The sample's table as the estimator prints it (batch size, memory, duration, $ x86,
    $ arm64), worked from the formulas above."""
    table = [
        (r.batch_size, r.memory_mb, r.duration_ms, cents(r.cost_x86_usd), cents(r.cost_arm64_usd))
        for r in rows_at(compat_rows(read_input_prop(SAMPLE)))
    ]
    assert table[:3] == [
        (1, 256, 30, "91.97", "85.70"),
        (5, 256, 70, "23.04", "20.82"),
        (10, 256, 120, "14.42", "12.71"),
    ]
    assert table[-1] == (1000, 640, 10_020, "25.07", "20.06")


def test_the_table_volume_is_the_estimators() -> None:
    assert TABLE_MESSAGES_PER_DAY == 10_000_000
    assert DAYS_IN_MONTH == 30.41


def test_rows_at_a_volume_outside_the_grid_is_refused_with_the_grid() -> None:
    with pytest.raises(CostInputError, match=r"messages_per_day: .*250000000"):
        rows_at(compat_rows(read_input_prop(SAMPLE)), 12_345)


def test_a_row_as_a_dict_has_exactly_the_json_keys() -> None:
    row = compat_rows(read_input_prop(SAMPLE))[0]
    assert tuple(row.as_dict()) == KEYS


def test_the_grids_are_the_estimators() -> None:
    assert BATCH_GRID == (1, 5, 10, 20, 50, 100, 200, 400, 500, 600, 1000, 1500, 2000, 5000, 10000)
    assert tuple(Fraction(str(m)) for m in VOLUME_GRID_MILLIONS) == tuple(
        Fraction(m) for m in GRID_MILLIONS
    )


# --- the estimator's conventions, one at a time ---------------------------------------------


def sample(**overrides: int) -> CompatInput:
    given: dict[str, Any] = {**SAMPLE_VALUES, **overrides}
    return CompatInput(**given)


@pytest.mark.parametrize(
    ("max_batch_size", "batches"),
    [
        (1, (1,)),
        (7, (1, 5)),
        (50, (1, 5, 10, 20, 50)),
        (10_000, BATCH_GRID),
    ],
)
def test_the_batch_grid_stops_at_max_batch_size(
    max_batch_size: int, batches: tuple[int, ...]
) -> None:
    inp = sample(max_batch_size=max_batch_size)
    assert batch_grid(inp) == batches
    assert sorted({r.batch_size for r in compat_rows(inp)}) == list(batches)


@pytest.mark.parametrize(
    ("base", "first", "last", "count"),
    [(256, 256, 4096, 31), (128, 128, 4096, 32), (200, 200, 4040, 31), (4096, 4096, 4096, 1)],
)
def test_the_memory_grid_runs_from_the_base_to_4096_mb_in_128_mb_steps(
    base: int, first: int, last: int, count: int
) -> None:
    grid = memory_grid(sample(base_lambda_memory_mb=base))
    assert (grid[0], grid[-1], len(grid)) == (first, last, count)
    assert all(b - a == 128 for a, b in pairwise(grid))


def test_memory_is_the_first_grid_size_at_or_above_the_request() -> None:
    # batch 20: 256 + 100 x int(20 / 10) = 456 MB requested; the grid has 384 and 512.
    inp = sample(batch_memory_overhead_mb=100, batch_increment=10, max_batch_size=20)
    assert {r.batch_size: r.memory_mb for r in compat_rows(inp)} == {
        1: 256,
        5: 256,
        10: 384,  # 356 requested
        20: 512,
    }


def test_memory_is_the_grids_last_when_the_request_exceeds_it() -> None:
    # base 4000: the grid is (4000,) and every batch above 1 requests more than 4,000 MB.
    inp = sample(base_lambda_memory_mb=4000, batch_increment=1, max_batch_size=50)
    assert {r.memory_mb for r in compat_rows(inp)} == {4000}


def test_batch_size_over_increment_is_truncated_not_rounded() -> None:
    # int(500 / 300) = 1 and int(600 / 300) = 2: 384 and 512 MB, where rounding would give 512
    # for 500 as well.
    memory = {r.batch_size: r.memory_mb for r in compat_rows(sample())}
    assert (memory[200], memory[400], memory[500], memory[600]) == (256, 384, 384, 512)


def test_the_free_tier_is_taken_off_every_row_on_its_own() -> None:
    # Each of 121 rows is below or above the free tier by itself: the estimator's per-row
    # convention, not one free tier per account (that is the planner's).
    rows = compat_rows(sample())
    free = [r for r in rows if r.cost_x86_usd == 0]
    assert free, "small volumes fit the free tier"
    assert all(r.gb_seconds_per_month <= 400_000 and r.invocations_per_month <= 1e6 for r in free)


def test_another_input_matches_the_formulas_too() -> None:
    values: dict[str, Any] = {
        "base_lambda_memory_mb": 200,
        "warm_latency_ms": 3,
        "process_per_message_ms": 7,
        "max_batch_size": 10_000,
        "batch_memory_overhead_mb": 64,
        "batch_increment": 150,
    }
    rows = compat_rows(CompatInput(**values))
    want = [expected(values, b, m) for b in BATCH_GRID for m in GRID_MILLIONS]
    assert len(rows) == len(want)
    for row, row_want in zip(rows, want, strict=True):
        assert_row_equals(row, row_want)


# --- reading input.prop as load_properties does ---------------------------------------------


def test_comments_blank_lines_spaces_and_quotes_are_read_as_the_estimator_reads_them() -> None:
    text = (
        "\ufeff# a comment\n"
        "   # an indented comment\n"
        "\n"
        "  base_lambda_memory_mb = 256  \r\n"
        'warm_latency_ms="20"\r'
        'process_per_message_ms = " 10 "\n'
        "max_batch_size=1000\n"
        "\t\n"
        "batch_increment=300\n"
        "batch_memory_overhead_mb=128"
    )
    inp = CompatInput.from_text(text, source="x.prop")
    assert {key: getattr(inp, key) for key in SAMPLE_VALUES} == SAMPLE_VALUES
    assert inp.source == "x.prop"


def test_an_input_read_from_a_file_names_it_as_its_source(tmp_path: Path) -> None:
    path = tmp_path / "my.prop"
    path.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert read_input_prop(path).source == str(path)
    assert read_input_prop(str(path)) == read_input_prop(SAMPLE)


# --- bad input ------------------------------------------------------------------------------

LINES = [f"{key}={value}" for key, value in SAMPLE_VALUES.items()]
LINE_OF = {key: number for number, key in enumerate(SAMPLE_VALUES, start=1)}


def replacing(key: str, line: str) -> str:
    lines = list(LINES)
    lines[LINE_OF[key] - 1] = line
    return "\n".join(lines) + "\n"


def bad(name: str, key: str, line: str, *fragments: str, field: str | None = None) -> object:
    """The sample with ``key``'s line replaced by ``line``: refused at that line, naming
    ``field`` (default ``key``) and holding each fragment."""
    return pytest.param(replacing(key, line), LINE_OF[key], field or key, fragments, id=name)


@pytest.mark.parametrize(
    ("text", "line", "field", "fragments"),
    [
        bad("no-equals", "max_batch_size", "max_batch_size 1000", "no '='", "key=value"),
        bad("float", "warm_latency_ms", "warm_latency_ms=20.5", "not an integer", "'20.5'"),
        bad("exponent", "max_batch_size", "max_batch_size=1e3", "not an integer", "'1e3'"),
        bad("empty", "batch_increment", "batch_increment=", "not an integer", "''"),
        bad("equals-in-value", "batch_increment", "batch_increment=3=00", "not an integer"),
        bad(
            "inline-comment",
            "base_lambda_memory_mb",
            "base_lambda_memory_mb=256  # MB",
            "not an integer",
            "comments go on their own line",
        ),
        bad(
            "typo",
            "max_batch_size",
            "max_batchsize=1000",
            "unknown key",
            "did you mean max_batch_size",
            "base_lambda_memory_mb, warm_latency_ms, process_per_message_ms, max_batch_size, "
            "batch_memory_overhead_mb, batch_increment",
            field="max_batchsize",
        ),
        bad("empty-key", "max_batch_size", "=1000", "unknown key", field="<empty key>"),
        bad(
            "increment-0", "batch_increment", "batch_increment=0", "at least 1", "got 0", "divides"
        ),
        bad("memory-4097", "base_lambda_memory_mb", "base_lambda_memory_mb=4097", "at most 4096"),
        bad("memory-127", "base_lambda_memory_mb", "base_lambda_memory_mb=127", "at least 128"),
        bad("batch-0", "max_batch_size", "max_batch_size=0", "at least 1"),
        bad("batch-10001", "max_batch_size", "max_batch_size=10001", "at most 10000"),
        bad("warm-negative", "warm_latency_ms", "warm_latency_ms=-1", "at least 0"),
        bad("per-message-negative", "process_per_message_ms", "process_per_message_ms=-5", "least"),
        bad("overhead-negative", "batch_memory_overhead_mb", "batch_memory_overhead_mb=-128", "0"),
        bad("huge", "warm_latency_ms", "warm_latency_ms=" + "9" * 400, "at most 900000"),
        bad("huge-increment", "batch_increment", "batch_increment=" + "9" * 400, "at most 10000"),
        bad("huge-negative", "batch_increment", "batch_increment=-" + "9" * 400, "at least 1"),
    ],
)
def test_a_bad_line_is_refused_naming_file_line_and_key(
    text: str, line: int, field: str, fragments: tuple[str, ...]
) -> None:
    with pytest.raises(CostInputError) as caught:
        CompatInput.from_text(text, source="input.prop")
    message = str(caught.value)
    assert message.startswith(f"input.prop:{line}: {field}: "), message
    assert (caught.value.field, caught.value.source, caught.value.line) == (
        field,
        "input.prop",
        line,
    )
    for fragment in fragments:
        assert fragment in message, f"{message!r} lacks {fragment!r}"
    assert len(message) < 400, "a long value is shortened, not printed whole"


def test_a_key_given_twice_is_refused_at_its_second_line_naming_the_first() -> None:
    # The estimator keeps the last value silently; a planner should not guess which was meant.
    text = "\n".join([*LINES, "# again", "max_batch_size=10"]) + "\n"
    with pytest.raises(CostInputError) as caught:
        CompatInput.from_text(text, source="input.prop")
    assert str(caught.value).startswith("input.prop:8: max_batch_size: ")
    assert "already set on line 4" in str(caught.value)


def test_a_missing_key_is_refused_naming_the_file_the_key_and_the_others_missing() -> None:
    text = "\n".join(LINES[:3]) + "\n"
    with pytest.raises(CostInputError) as caught:
        CompatInput.from_text(text, source="input.prop")
    assert str(caught.value).startswith("input.prop: max_batch_size: missing")
    assert "batch_memory_overhead_mb, batch_increment" in str(caught.value)
    assert caught.value.line is None


def test_a_bad_line_in_a_file_names_the_files_path(tmp_path: Path) -> None:
    path = tmp_path / "input.prop"
    path.write_text(replacing("batch_increment", "batch_increment=0"), encoding="utf-8")
    with pytest.raises(CostInputError, match=rf"^{path}:6: batch_increment: "):
        read_input_prop(path)


def test_an_unreadable_file_is_refused_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.prop"
    with pytest.raises(CostInputError, match=rf"^{missing}: cannot read"):
        read_input_prop(missing)
    binary = tmp_path / "binary.prop"
    binary.write_bytes(b"\xff\xfe\x00base")
    with pytest.raises(CostInputError, match=rf"^{binary}: not UTF-8 text"):
        read_input_prop(binary)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("batch_increment", 0, "at least 1"),
        ("base_lambda_memory_mb", 8192, "at most 4096"),
        ("max_batch_size", True, "whole number"),
        ("warm_latency_ms", 2.5, "whole number"),
    ],
)
def test_an_input_built_directly_is_checked_the_same_way(
    field: str, value: object, fragment: str
) -> None:
    with pytest.raises(CostInputError, match=rf"^{field}: .*{fragment}"):
        CompatInput(**{**SAMPLE_VALUES, field: value})  # type: ignore[arg-type]
