"""Lazily created, process-wide boto3 clients.

A Lambda execution environment lives for many invocations, so a client is created on first use
and reused until the environment dies. Creating one costs tens of milliseconds (and importing
boto3 far more), which is why nothing here runs at import time: a function that only uses
``lambdakit.batch`` never pays for boto3 at all.

Clients use botocore's standard retry mode unless ``AWS_RETRY_MODE`` says otherwise.

Endpoints follow AWS's standard variables (``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>``), which boto3 honours itself. They are part of the cache key, so a
test that points a service at a fresh local server gets a fresh client rather than one still
aimed at the previous server. The process id is part of the key too: a client must not be shared
with a forked child.
"""

from __future__ import annotations

import os
from _thread import allocate_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["client", "endpoint_env_var", "reset_clients"]

# boto3 reads AWS_ENDPOINT_URL_<SERVICE ID> where the service id is upper-cased and spaces become
# underscores; for the services lambdakit uses the id differs from the client name only here.
_SERVICE_ENV_NAMES = {
    "secretsmanager": "SECRETS_MANAGER",
    "appconfigdata": "APPCONFIGDATA",
    "dynamodbstreams": "DYNAMODB_STREAMS",
}

# botocore keeps 10 connections per client by default; process_batch(concurrency=N) with N > 10
# threads would then open and discard a connection per request beyond that ("Connection pool
# is full" warnings, and a TLS handshake each). Connections are opened only when needed.
MAX_POOL_CONNECTIONS = 64

_clients: dict[tuple[str, str | None, str | None, str | None, str | None, int], Any] = {}
_lock = allocate_lock()


def endpoint_env_var(service: str) -> str:
    """The service-specific endpoint variable boto3 reads for ``service``."""
    return "AWS_ENDPOINT_URL_" + _SERVICE_ENV_NAMES.get(service, service.upper().replace("-", "_"))


def client(service: str, *, region_name: str | None = None, endpoint_url: str | None = None) -> Any:
    """Return the shared boto3 client for ``service`` (at ``endpoint_url`` when given, else where
    the environment points), creating it on first use."""
    key = (
        service,
        region_name,
        endpoint_url,
        os.environ.get(endpoint_env_var(service)),
        os.environ.get("AWS_ENDPOINT_URL"),
        os.getpid(),
    )
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(key)
        if found is None:
            import boto3.session  # deferred: boto3 costs ~100 ms of cold start
            from botocore.config import Config

            found = boto3.session.Session().client(
                service,
                region_name=region_name,
                endpoint_url=endpoint_url,
                config=Config(retries=_retries(), max_pool_connections=MAX_POOL_CONNECTIONS),
            )
            _clients[key] = found
        return found


def _retries() -> dict[str, Any]:
    """botocore's *standard* retry mode (jittered back-off on throttling and transient errors,
    with a retry quota) unless the environment chose a mode: ``legacy``, the default botocore
    would otherwise pick, retries fewer error kinds."""
    mode = os.environ.get("AWS_RETRY_MODE")
    return {"mode": mode if mode in ("legacy", "standard", "adaptive") else "standard"}


def reset_clients() -> None:
    """Forget every cached client (tests that restart a local server use this)."""
    with _lock:
        _clients.clear()
