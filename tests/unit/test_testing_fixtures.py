"""Every fixture of lambdakit's pytest plugin describes itself in ``pytest --fixtures``, and the
fixture table of docs/testing.md lists exactly the public ones."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.unit.test_testing_docs import section, table_names

PLUGIN = "lambdakit.testing.pytest_plugin"


@pytest.fixture(scope="module")
def plugin_fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``{name: description}`` of the plugin's fixtures as ``pytest --fixtures -v`` prints
    them, in a fresh pytest process on a project with one trivial test."""
    project = tmp_path_factory.mktemp("project")
    (project / "test_trivial.py").write_text("def test_nothing():\n    pass\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--fixtures", "-v", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    header = re.search(rf"^-+ fixtures defined from {re.escape(PLUGIN)} -+$", result.stdout, re.M)
    assert header is not None, result.stdout
    body = result.stdout[header.end() :].split("\n-", 1)[0]
    fixtures: dict[str, str] = {}
    name = None
    for line in body.splitlines():
        entry = re.match(r"(\w+)( \[\w+ scope\])? -- ", line)
        if entry is not None:
            name = entry.group(1)
            fixtures[name] = ""
        elif name is not None and line.strip():
            fixtures[name] += line.strip() + " "
    return fixtures


def test_the_plugin_fixtures_are_listed(plugin_fixtures: dict[str, str]) -> None:
    assert {"lambda_context", "fake_clock", "fake_secrets", "dynamodb_local"} <= set(
        plugin_fixtures
    )


def test_every_plugin_fixture_has_a_description(plugin_fixtures: dict[str, str]) -> None:
    undocumented = [
        name
        for name, description in plugin_fixtures.items()
        if not description or "no docstring available" in description
    ]
    assert undocumented == []


def test_the_docs_fixture_table_lists_every_public_fixture(
    plugin_fixtures: dict[str, str],
) -> None:
    public = sorted(name for name in plugin_fixtures if not name.startswith("_"))
    assert sorted(table_names(section("pytest fixtures"))) == public


def test_the_dynamodb_local_fixture_names_where_it_looks(plugin_fixtures: dict[str, str]) -> None:
    assert "LAMBDAKIT_DYNAMODB_LOCAL" in plugin_fixtures["dynamodb_local"]
