"""The AWS Parameters and Secrets Lambda Extension as a backend, and AppConfig's extension.

The extension serves Secrets Manager and Parameter Store over HTTP on localhost (port
``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT``, default 2773), authenticated by the
``X-Aws-Parameters-Secrets-Token`` header carrying ``AWS_SESSION_TOKEN``. It answers a request
made before it is ready (early in the init phase) with an error saying so; those are retried
for a short while. Path queries and DynamoDB items are not served by the extension and go to
the boto3 backend. AppConfig's own extension serves configurations on port 2772
(``AWS_APPCONFIG_EXTENSION_HTTP_PORT``).
"""

from __future__ import annotations

import os
import time

from lambdakit.errors import SecretAccessError, SecretFetchError, SecretNotFoundError
from lambdakit.secrets._sealed import Sealed, decoded

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
NOT_READY_WAIT = 2.0  # seconds to keep retrying while the extension is starting
NOT_READY_STEP = 0.05


def _request(url: str, what: str, headers: dict[str, str], timeout: float = 5.0) -> bytes:
    """GET ``url``; errors become lambdakit's typed errors (naming ``what``, never a value)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + NOT_READY_WAIT
    while True:
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            if "not ready" in detail.lower() and time.monotonic() < deadline:
                time.sleep(NOT_READY_STEP)
                continue
            if exc.code == 404 or "NotFound" in detail:
                name = what.split(" ", 1)[-1]
                raise SecretNotFoundError(
                    f"{what} does not exist (HTTP {exc.code})", [name]
                ) from exc
            if exc.code in (401, 403) or "AccessDenied" in detail:
                raise SecretAccessError(f"access to {what} was denied (HTTP {exc.code})") from exc
            raise SecretFetchError(f"fetching {what} failed (HTTP {exc.code})") from exc
        except OSError as exc:
            if time.monotonic() < deadline:
                time.sleep(NOT_READY_STEP)
                continue
            raise SecretFetchError(f"fetching {what} failed ({type(exc).__name__})") from exc


class ExtensionBackend:
    """Secrets and parameters through the Parameters and Secrets Lambda Extension."""

    def __init__(self, port: int | None = None, host: str = "localhost") -> None:
        self._port = port
        self._host = host
        self._fallback: Any = None

    @property
    def base(self) -> str:
        port = self._port or int(os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773"))
        return f"http://{self._host}:{port}"

    def _get(self, path: str, what: str) -> Sealed:
        """The extension's answer, parsed (it holds the value: sealed)."""
        headers = {TOKEN_HEADER: os.environ.get("AWS_SESSION_TOKEN", "")}
        body = Sealed(_request(f"{self.base}{path}", what, headers))
        return decoded(body, "json", _answer_error(what, "the answer"))

    def secret(self, name: str, version_stage: str | None, version_id: str | None) -> str | bytes:
        from urllib.parse import urlencode

        query: dict[str, str] = {"secretId": name}
        if version_id is not None:
            query["versionId"] = version_id
        if version_stage is not None:
            query["versionStage"] = version_stage
        what = f"secret {name}"
        response = self._get(f"/secretsmanager/get?{urlencode(query)}", what)
        if response.value.get("SecretString") is not None:
            return str(response.value["SecretString"])
        if response.value.get("SecretBinary") is not None:
            binary = Sealed(response.value["SecretBinary"])  # base64 in the extension's JSON
            value: bytes = decoded(binary, "binary", _answer_error(what, "its SecretBinary")).value
            return value
        raise SecretNotFoundError(f"secret {name} has no value in that version", [name])

    def parameter(self, name: str, decrypt: bool) -> str:
        from urllib.parse import urlencode

        query = urlencode({"name": name, "withDecryption": "true" if decrypt else "false"})
        response = self._get(f"/systemsmanager/parameters/get?{query}", f"parameter {name}")
        return str(response.value["Parameter"]["Value"])

    def parameters(self, names: list[str], decrypt: bool) -> tuple[dict[str, str], list[str]]:
        found = Sealed({})  # when a later name fails, the values before it stay out of sight
        missing: list[str] = []
        for name in names:  # the extension reads one parameter per request
            try:
                found.value[name] = self.parameter(name, decrypt)
            except SecretNotFoundError:
                missing.append(name)
        values: dict[str, str] = found.value
        return values, missing

    def _boto3(self) -> Any:
        if self._fallback is None:
            from lambdakit.secrets._backend import Boto3Backend

            self._fallback = Boto3Backend()
        return self._fallback

    def parameters_by_path(self, path: str, recursive: bool, decrypt: bool) -> dict[str, str]:
        result: dict[str, str] = self._boto3().parameters_by_path(path, recursive, decrypt)
        return result

    def item(self, table: str, key: dict[str, Any], attribute: str) -> Any:
        return self._boto3().item(table, key, attribute)


def _answer_error(what: str, part: str) -> Callable[[str], Exception]:
    """The error for an answer about ``what`` that cannot be decoded (a broken extension)."""
    return lambda problem: SecretFetchError(f"fetching {what} failed ({part} {problem})")


def fetch_app_config(application: str, environment: str, profile: str) -> bytes:
    """A configuration from the AppConfig Lambda extension (its documented HTTP API)."""
    from urllib.parse import quote

    port = int(os.environ.get("AWS_APPCONFIG_EXTENSION_HTTP_PORT", "2772"))
    path = "/".join(
        (
            "applications",
            quote(application, safe=""),
            "environments",
            quote(environment, safe=""),
            "configurations",
            quote(profile, safe=""),
        )
    )
    what = f"AppConfig configuration {application}/{environment}/{profile}"
    return _request(f"http://localhost:{port}/{path}", what, {})
