"""Cached secrets and parameters: fetched once per execution environment, refreshed after
``max_age``, single-flight under threads, served stale through outages, never logged.

The module functions use one default :class:`SecretCache`; ``refresh(name)`` and
``invalidate(name=None)`` act on it. Under Lambda SnapStart the default cache is emptied after
a restore (values fetched before the snapshot may have rotated since). boto3 is imported on the
first fetch, not by importing this package.
"""

from __future__ import annotations

from _thread import allocate_lock

from lambdakit.errors import (
    SecretAccessError,
    SecretFetchError,
    SecretNotFoundError,
    SecretPicklingError,
    SecretsConfigurationError,
    SecretsError,
    SecretTransformError,
)
from lambdakit.secrets._cache import SecretCache
from lambdakit.secrets._inject import INJECTED, ParameterRef, SecretRef, inject_secrets

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

__all__ = [
    "INJECTED",
    "ParameterRef",
    "SecretAccessError",
    "SecretCache",
    "SecretFetchError",
    "SecretNotFoundError",
    "SecretPicklingError",
    "SecretRef",
    "SecretTransformError",
    "SecretsConfigurationError",
    "SecretsError",
    "default_cache",
    "get_item_parameter",
    "get_parameter",
    "get_parameters",
    "get_parameters_by_path",
    "get_secret",
    "inject_secrets",
    "invalidate",
    "refresh",
]

_default: SecretCache | None = None
_default_lock = allocate_lock()


def default_cache() -> SecretCache:
    """The cache the module functions use (created on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = SecretCache()
                _register_snapstart_hook()
    return _default


def _register_snapstart_hook() -> None:
    """Empty the default cache after a SnapStart restore, when the runtime supports hooks."""
    from lambdakit._internal.snapstart import after_restore

    after_restore(_after_restore)


def _after_restore() -> None:
    if _default is not None:
        _default.invalidate()
        _default.reseed()


def get_secret(
    name: str,
    *,
    max_age: float = 300,
    version_stage: str | None = "AWSCURRENT",
    version_id: str | None = None,
    transform: str | None = None,
) -> Any:
    """A Secrets Manager secret (``str``/``bytes``; ``dict`` for ``transform="json"``)."""
    return default_cache().get_secret(
        name,
        max_age=max_age,
        version_stage=version_stage,
        version_id=version_id,
        transform=transform,
    )


def get_parameter(
    name: str, *, max_age: float = 300, decrypt: bool = True, transform: str | None = None
) -> Any:
    """An SSM parameter (``/aws/reference/secretsmanager/<secret>`` reads a secret)."""
    return default_cache().get_parameter(
        name, max_age=max_age, decrypt=decrypt, transform=transform
    )


def get_parameters(
    names: Iterable[str],
    *,
    max_age: float = 300,
    decrypt: bool = True,
    transform: str | None = None,
    raise_on_missing: bool = True,
) -> dict[str, Any]:
    """SSM parameters by name, in GetParameters calls of at most 10 names."""
    return default_cache().get_parameters(
        names,
        max_age=max_age,
        decrypt=decrypt,
        transform=transform,
        raise_on_missing=raise_on_missing,
    )


def get_parameters_by_path(
    path: str,
    *,
    recursive: bool = True,
    max_age: float = 300,
    decrypt: bool = True,
    transform: str | None = None,
) -> dict[str, Any]:
    """Every SSM parameter under ``path`` (all pages), by full name."""
    return default_cache().get_parameters_by_path(
        path, recursive=recursive, max_age=max_age, decrypt=decrypt, transform=transform
    )


def get_item_parameter(
    table: str,
    key: str | dict[str, Any],
    *,
    attribute: str = "value",
    key_attr: str = "id",
    max_age: float = 300,
    transform: str | None = None,
) -> Any:
    """A parameter kept in a DynamoDB table (``attribute`` of the item with ``key``)."""
    return default_cache().get_item_parameter(
        table, key, attribute=attribute, key_attr=key_attr, max_age=max_age, transform=transform
    )


def refresh(name: str) -> None:
    """Make the next read of ``name`` (every variant) fetch it again."""
    default_cache().refresh(name)


def invalidate(name: str | None = None) -> None:
    """Forget ``name`` (every variant), or every cached value."""
    default_cache().invalidate(name)
