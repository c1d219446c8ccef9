"""docs/cost.md says what the code does: its Python example runs, its prices file loads, every
option it names exists, and its estimator formulas are the ones the compat tests check."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

from lambdakit.cli import main
from lambdakit.cost import Prices

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "cost.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", PAGE, re.M | re.S)


def test_the_python_example_runs() -> None:
    [example] = blocks("python")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(example, "docs/cost.md", "exec"), {})
    assert "Recommendation" in output.getvalue()


def test_the_prices_file_example_loads() -> None:
    [example] = blocks("json")
    prices = Prices.from_mapping(json.loads(example))
    assert (prices.region, prices.provisioned_poller_hour) == ("eu-west-1", 0.185)


def test_the_estimator_formulas_are_the_ones_the_compat_tests_check() -> None:
    [formulas] = blocks("text")[:1]
    checked = (ROOT / "tests" / "unit" / "test_cost_compat.py").read_text(encoding="utf-8")
    for line in formulas.splitlines():
        assert f"    {line}\n" in checked, line


def help_of(*command: str) -> str:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert main([*command, "--help"]) == 0
    return output.getvalue()


def test_every_option_the_page_names_exists() -> None:
    named = set(re.findall(r"`(--[a-z-]+)", PAGE))
    known = set()
    for each in ("plan", "measure", "compat"):
        known |= set(re.findall(r"(--[a-z-]+)", help_of("cost", each)))
    assert named <= known, named - known


def test_the_page_shows_the_reports_screenshot() -> None:
    [image] = re.findall(r"!\[[^]]*\]\((img/[^)]+)\)", PAGE)
    assert (ROOT / "docs" / image).stat().st_size > 10_000
