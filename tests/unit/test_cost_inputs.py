"""The planner's inputs refuse what cannot be planned, naming the field; prices are a dated
table that a JSON file overrides key by key, with tiers applied from where the month stands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdakit.cost import (
    DEFAULT_PRICES,
    Account,
    Assumptions,
    Config,
    Grid,
    HandlerProfile,
    Prices,
    Tier,
    Workload,
)
from lambdakit.cost._prices import tiered_cost
from lambdakit.errors import CostInputError, LambdakitError


@pytest.mark.parametrize(
    ("build", "field", "says"),
    [
        (lambda: Workload(-1), "workload.messages_per_second", "at least 0"),
        (lambda: Workload(1, message_bytes=0), "workload.message_bytes", "at least 1"),
        (lambda: Workload(1, message_bytes=2_000_000), "workload.message_bytes", "at most"),
        (lambda: Workload(1, filter_pass=1.5), "workload.filter_pass", "at most 1"),
        (lambda: Workload(1, failure_rate=1.0), "workload.failure_rate", "at most 0.999"),
        (lambda: Workload(1, max_receive_count=0), "workload.max_receive_count", "at least 1"),
        (lambda: Workload(1, message_groups=4), "workload.message_groups", "FIFO"),
        (lambda: Workload(1, daily_profile=(1.0,) * 23), "workload.daily_profile", "24"),
        (lambda: Workload(1, daily_profile=(0.0,) * 24), "workload.daily_profile", "one hour"),
        (lambda: Workload(float("nan")), "workload.messages_per_second", "finite"),
        (lambda: Workload.per_day(-5), "workload.messages_per_day", "at least 0"),
        (lambda: Config(batch_size=0), "batch_size", "at least 1"),
        (lambda: Config(batch_size=10_001), "batch_size", "at most 10000"),
        (lambda: Config(batch_size=2.5), "batch_size", "whole number"),  # type: ignore[arg-type]
        (lambda: Config(window_s=301), "window_s", "at most 300"),
        (lambda: Config(memory_mb=127), "memory_mb", "at least 128"),
        (lambda: Config(memory_mb=10_241), "memory_mb", "at most 10240"),
        (lambda: Config(architecture="sparc"), "architecture", "x86_64, arm64"),  # type: ignore[arg-type]
        (lambda: Config(concurrency=0), "concurrency", "at least 1"),
        (lambda: Config(max_concurrency=1), "max_concurrency", "at least 2"),
        (
            lambda: Config(max_concurrency=10, provisioned_pollers=2),
            "provisioned_pollers",
            "mutually exclusive",
        ),
        (lambda: Grid(batch_sizes=()), "grid.batch_sizes", "at least one"),
        (lambda: Grid(memory_mb=(128, 64)), "memory_mb", "at least 128"),
        (lambda: HandlerProfile(cpu_ms_per_record=-1), "profile.cpu_ms_per_record", "at least"),
        (lambda: HandlerProfile(init_ms=20_000), "profile.init_ms", "at most 10000"),
        (lambda: Account(concurrency_limit=0), "account.concurrency_limit", "at least 1"),
        (lambda: Assumptions(cold_start_rate=2), "assumptions.cold_start_rate", "at most 1"),
        (lambda: Assumptions(send_batch=11), "assumptions.send_batch", "at most 10"),
    ],
)
def test_a_bad_input_is_refused_with_its_field_named(build, field: str, says: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CostInputError) as caught:
        build()
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert says in str(caught.value)
    assert isinstance(caught.value, LambdakitError)
    assert isinstance(caught.value, ValueError)


def test_poison_messages_need_a_redrive_policy_to_be_planned() -> None:
    with pytest.raises(CostInputError, match="max_receive_count"):
        Workload(1, poison_rate=0.01, max_receive_count=None)


def test_a_daily_profile_shapes_the_hours_and_keeps_the_mean_rate() -> None:
    profile = (0.0,) * 12 + (2.0,) * 12
    workload = Workload(10, daily_profile=profile)
    rates = workload.hourly_rates()
    assert rates[:12] == (0.0,) * 12
    assert rates[12:] == (20.0,) * 12
    assert sum(rates) / 24 == pytest.approx(10)
    assert Workload(10).hourly_rates() == (10.0,) * 24


def test_a_workload_is_given_per_day_or_per_second() -> None:
    workload = Workload.per_day(8_640_000, fifo=True)
    assert workload.messages_per_second == pytest.approx(100)
    assert workload.messages_per_day == pytest.approx(8_640_000)
    assert workload.fifo


def test_a_grid_is_every_combination_in_a_stable_order() -> None:
    grid = Grid(
        batch_sizes=(10, 100),
        windows_s=(0, 5),
        memory_mb=(512,),
        architectures=("arm64", "x86_64"),
        max_concurrency=50,
    )
    configs = list(grid.configs())
    assert len(configs) == 8
    assert configs[0] == Config(10, 0, 512, "arm64", 1, max_concurrency=50)
    assert configs[-1] == Config(100, 5, 512, "x86_64", 1, max_concurrency=50)


def test_usage_is_priced_from_where_the_month_already_stands() -> None:
    tiers = (Tier(100, 1.0), Tier(300, 0.5), Tier(None, 0.25))
    assert tiered_cost(tiers, 0, 50) == 50
    assert tiered_cost(tiers, 80, 40) == 20 * 1.0 + 20 * 0.5
    assert tiered_cost(tiers, 250, 150) == 50 * 0.5 + 100 * 0.25
    assert tiered_cost(tiers, 1_000, 10) == 10 * 0.25


def test_the_price_table_is_dated_and_has_both_architectures_and_both_queue_types() -> None:
    assert DEFAULT_PRICES.region == "us-east-1"
    assert DEFAULT_PRICES.date
    assert DEFAULT_PRICES.lambda_gb_second["x86_64"][0] == Tier(6e9, 0.0000166667)
    assert DEFAULT_PRICES.lambda_gb_second["arm64"][0] == Tier(7.5e9, 0.0000133334)
    assert DEFAULT_PRICES.sqs_fifo_request[0].usd > DEFAULT_PRICES.sqs_standard_request[0].usd
    assert DEFAULT_PRICES.provisioned_poller_hour is None  # no made-up number


def test_a_prices_file_overrides_what_it_names_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "date": "2027-01-01",
                "region": "eu-west-1",
                "lambda_gb_second": {"arm64": [[None, 0.00001]]},
                "provisioned_poller_hour": 0.2,
            }
        )
    )
    prices = Prices.from_file(path)
    assert (prices.date, prices.region) == ("2027-01-01", "eu-west-1")
    assert prices.lambda_gb_second["arm64"] == (Tier(None, 0.00001),)
    assert prices.lambda_gb_second["x86_64"] == DEFAULT_PRICES.lambda_gb_second["x86_64"]
    assert prices.provisioned_poller_hour == 0.2
    assert prices.sqs_standard_request == DEFAULT_PRICES.sqs_standard_request


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"lambda_reqest": 1}', "unknown price 'lambda_reqest'"),
        ('{"lambda_request": -1}', "lambda_request: must be a non-negative number"),
        ('{"lambda_request": NaN}', "lambda_request: must be a non-negative number"),
        ('{"sqs_free_requests": Infinity}', "sqs_free_requests: must be a non-negative number"),
        ('{"sqs_chunk_bytes": 0.5}', "sqs_chunk_bytes: must be a whole number of bytes"),
        ('{"sqs_fifo_request": [[5, 1], [3, 1], [null, 1]]}', "sqs_fifo_request[1]: tier limits"),
        ('{"sqs_fifo_request": [[5, 1]]}', "the last tier must be unlimited"),
        ('{"sqs_fifo_request": [[null, 1], [null, 1]]}', "only the last tier may be unlimited"),
        ('{"lambda_gb_second": {"mips": []}}', "x86_64 and arm64"),
    ],
)
def test_a_bad_prices_file_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(CostInputError) as caught:
        Prices.from_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert says in str(caught.value)


def test_a_missing_prices_file_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(CostInputError, match="cannot read it"):
        Prices.from_file(tmp_path / "absent.json")


def test_a_number_too_large_for_a_float_is_refused_not_crashed_on() -> None:
    with pytest.raises(CostInputError, match=r"batch_size: must be at most 10000, got 10000000"):
        Config(batch_size=10**400)


def test_an_error_can_be_placed_at_the_file_line_it_was_read_from() -> None:
    with pytest.raises(CostInputError) as caught:
        Config(memory_mb=64)
    located = caught.value.located("plan.json", 3)
    assert str(located) == "plan.json:3: memory_mb: must be at least 128, got 64"
    assert (located.field, located.reason) == ("memory_mb", "must be at least 128, got 64")
