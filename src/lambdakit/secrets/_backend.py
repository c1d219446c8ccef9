"""Where values come from: the AWS APIs through boto3 (the default backend).

A backend answers five questions, each with one request (or one paginated series); the cache
above it decides when to ask. Service errors are translated here into lambdakit's typed errors,
whose messages name the secret or parameter and never carry its value: not found, access denied,
and everything transient (throttling beyond botocore's retries, network, 5xx) as
:class:`~lambdakit.errors.SecretFetchError`, which the cache may answer with a stale value.
Responses are held :class:`~lambdakit.secrets._sealed.Sealed` (a failing second page must not
show the first page's values among a traceback's locals).
"""

from __future__ import annotations

from lambdakit.errors import (
    SecretAccessError,
    SecretFetchError,
    SecretNotFoundError,
    SecretsConfigurationError,
)
from lambdakit.secrets._sealed import Sealed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol

    class Backend(Protocol):
        """What :class:`~lambdakit.secrets.SecretCache` needs from a store."""

        def secret(
            self, name: str, version_stage: str | None, version_id: str | None
        ) -> str | bytes: ...

        def parameter(self, name: str, decrypt: bool) -> str: ...

        def parameters(self, names: list[str], decrypt: bool) -> tuple[dict[str, str], list[str]]:
            """At most 10 names: the values found, and the names missing."""
            ...

        def parameters_by_path(
            self, path: str, recursive: bool, decrypt: bool
        ) -> dict[str, str]: ...

        def item(self, table: str, key: dict[str, Any], attribute: str) -> Any: ...


_NOT_FOUND = {"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound"}
_DENIED = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "KMSAccessDeniedException",
    "DecryptionFailure",
}


def _errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else None
    return None


def translate(exc: BaseException, what: str) -> Exception:
    """lambdakit's error for a failed request about ``what`` (its kind and name)."""
    code = _code(exc)
    if code not in _NOT_FOUND and (code in _DENIED or _status(exc) == 403):
        return SecretAccessError(f"access to {what} was denied ({code or 'HTTP 403'})")
    if code in _NOT_FOUND:
        return SecretNotFoundError(f"{what} does not exist ({code})", [what.split(" ", 1)[-1]])
    if code in _DENIED:
        return SecretAccessError(f"access to {what} was denied ({code})")
    detail = code or type(exc).__name__
    return SecretFetchError(f"fetching {what} failed ({detail})")


class Boto3Backend:
    """Secrets Manager, SSM Parameter Store and DynamoDB through lambdakit's shared clients
    (created on first use; standard retry mode; ``AWS_ENDPOINT_URL*`` honoured), or through
    ``clients`` given as ``{"secretsmanager": ..., "ssm": ..., "dynamodb": ...}``."""

    def __init__(self, clients: dict[str, Any] | None = None) -> None:
        self._clients = dict(clients or {})

    def client(self, service: str) -> Any:
        found = self._clients.get(service)
        if found is not None:
            return found
        from lambdakit._internal.clients import client

        return client(service)

    def _call(self, what: str, request: Callable[[], Any]) -> Sealed:
        _quiet_botocore_bodies()
        _calling.active = True
        try:
            return Sealed(request())
        except _errors() as exc:
            raise translate(exc, what) from exc
        finally:
            _calling.active = False

    def secret(self, name: str, version_stage: str | None, version_id: str | None) -> str | bytes:
        options: dict[str, Any] = {"SecretId": name}
        if version_id is not None:
            options["VersionId"] = version_id
        if version_stage is not None:
            options["VersionStage"] = version_stage
        client = self.client("secretsmanager")
        response = self._call(f"secret {name}", lambda: client.get_secret_value(**options))
        if response.value.get("SecretString") is not None:
            return str(response.value["SecretString"])
        if response.value.get("SecretBinary") is not None:
            return bytes(response.value["SecretBinary"])
        raise SecretNotFoundError(f"secret {name} has no value in that version", [name])

    def parameter(self, name: str, decrypt: bool) -> str:
        client = self.client("ssm")
        response = self._call(
            f"parameter {name}",
            lambda: client.get_parameter(Name=name, WithDecryption=decrypt),
        )
        return str(response.value["Parameter"]["Value"])

    def parameters(self, names: list[str], decrypt: bool) -> tuple[dict[str, str], list[str]]:
        client = self.client("ssm")
        response = self._call(
            f"parameters {', '.join(names)}",
            lambda: client.get_parameters(Names=names, WithDecryption=decrypt),
        )
        return _values(response), list(response.value.get("InvalidParameters", []))

    def parameters_by_path(self, path: str, recursive: bool, decrypt: bool) -> dict[str, str]:
        client = self.client("ssm")
        found = Sealed({})
        token: str | None = None
        while True:
            options: dict[str, Any] = {
                "Path": path,
                "Recursive": recursive,
                "WithDecryption": decrypt,
            }
            if token:
                options["NextToken"] = token
            response = self._call(
                f"parameters under {path}", _bound(client.get_parameters_by_path, options)
            )
            found.value.update(_values(response))
            token = response.value.get("NextToken")
            if not token:
                values: dict[str, str] = found.value
                return values

    def item(self, table: str, key: dict[str, Any], attribute: str) -> Any:
        from lambdakit.events._attributes import deserialize

        client = self.client("dynamodb")
        typed_key = {name: _key_value(value) for name, value in key.items()}
        what = f"item {key!r} of table {table}"
        response = self._call(
            what,
            lambda: client.get_item(TableName=table, Key=typed_key, ConsistentRead=True),
        )
        item = Sealed(response.value.get("Item"))  # other attributes may be secrets too
        if item.value is None or attribute not in item.value:
            missing = "item" if item.value is None else f"attribute {attribute!r} of item"
            raise SecretNotFoundError(f"{missing} {key!r} of table {table} does not exist")
        return deserialize(item.value[attribute])


class _Calling:
    """Per thread: whether this backend's request is in flight (the log filter's question)."""

    def __init__(self) -> None:
        import threading

        self._local = threading.local()

    @property
    def active(self) -> bool:
        return bool(getattr(self._local, "active", False))

    @active.setter
    def active(self, value: bool) -> None:
        self._local.active = value


_calling = _Calling()
_filter_installed = False


def _quiet_botocore_bodies() -> None:
    """Keep secret values out of botocore's DEBUG log: it logs every response body
    (``botocore.parsers``), which for these requests holds the values. Only records made while
    one of this backend's requests is in flight on the same thread are dropped."""
    global _filter_installed
    if _filter_installed:
        return
    import logging

    class DropSecretBodies(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return not _calling.active

    logging.getLogger("botocore.parsers").addFilter(DropSecretBodies())
    _filter_installed = True


def _values(response: Sealed) -> dict[str, str]:
    """``{name: value}`` of the parameters in a GetParameters(ByPath) response."""
    return {p["Name"]: str(p["Value"]) for p in response.value.get("Parameters", [])}


def _bound(method: Callable[..., Any], options: dict[str, Any]) -> Callable[[], Any]:
    return lambda: method(**options)


def _key_value(value: Any) -> dict[str, Any]:
    """A key attribute in DynamoDB's typed form (keys are strings, numbers or binary)."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray)):
        return {"B": bytes(value)}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"N": str(value)}
    from decimal import Decimal

    if isinstance(value, Decimal):
        return {"N": str(value)}
    raise SecretsConfigurationError(
        f"a key must be a string, number or bytes, not {type(value).__name__}"
    )
