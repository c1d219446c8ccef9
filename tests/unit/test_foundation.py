"""Foundation: cheap imports, one error root, lazy reusable boto3 clients."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lambdakit
from lambdakit import errors
from lambdakit._internal import clients


@pytest.mark.parametrize(
    "module",
    [
        "lambdakit",
        "lambdakit.batch",
        "lambdakit.events",
        "lambdakit.idempotency",
        "lambdakit.filtering",
    ],
)
def test_importing_does_not_import_boto3(module: str) -> None:
    code = f"import sys, {module}; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_process_batch_is_reachable_from_the_top_level_package() -> None:
    from lambdakit.batch import process_batch

    assert lambdakit.process_batch is process_batch


def test_unknown_top_level_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = lambdakit.no_such_thing  # type: ignore[attr-defined]


def test_every_public_error_derives_from_lambdakit_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.LambdakitError), name


def test_batch_errors_share_one_base() -> None:
    for error in (
        errors.NotABatchEventError,
        errors.UnknownEventSourceError,
        errors.EventSourceMismatchError,
        errors.InvalidRecordError,
        errors.AllRecordsFailedError,
        errors.BatchConfigurationError,
    ):
        assert issubclass(error, errors.BatchError)


class TestLazyClients:
    @pytest.fixture(autouse=True)
    def _fresh(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)
        clients.reset_clients()

    def test_a_client_is_created_once_and_reused(self) -> None:
        first = clients.client("sqs")
        assert clients.client("sqs") is first

    def test_clients_retry_in_standard_mode_with_room_for_concurrent_batches(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
        config = clients.client("dynamodb").meta.config
        assert config.retries["mode"] == "standard"
        assert config.max_pool_connections >= 32  # process_batch(concurrency=32) threads

    def test_the_retry_mode_chosen_in_the_environment_wins(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
        assert clients.client("dynamodb").meta.config.retries["mode"] == "adaptive"

    def test_the_service_endpoint_variable_is_honoured(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:4999")
        assert clients.client("sqs").meta.endpoint_url == "http://127.0.0.1:4999"

    def test_changing_the_endpoint_gives_a_new_client(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4001")
        first = clients.client("secretsmanager")
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4002")
        second = clients.client("secretsmanager")
        assert first is not second
        assert second.meta.endpoint_url == "http://127.0.0.1:4002"

    def test_service_endpoint_variable_names_follow_boto3(self) -> None:
        assert clients.endpoint_env_var("secretsmanager") == "AWS_ENDPOINT_URL_SECRETS_MANAGER"
        assert clients.endpoint_env_var("dynamodb") == "AWS_ENDPOINT_URL_DYNAMODB"
