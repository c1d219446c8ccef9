"""An in-memory secrets backend for tests: preload values, count fetches, simulate outages.

``fake_secrets({...})`` returns a :class:`FakeSecrets`, a backend with the methods
:class:`~lambdakit.secrets.SecretCache` calls. Keys of the mapping name what they are:

- a key starting with ``/`` is an SSM parameter (``"/app/cfg"``);
- any other key is a Secrets Manager secret (``"prod/db"``), stored as its ``AWSCURRENT``
  version.

Values are ``str`` (or ``bytes`` for a binary secret); a ``dict`` or ``list`` is stored as its
JSON text, so ``get_secret(name, transform="json")`` and ``SecretRef(name, field=...)`` work on
it. ``/aws/reference/secretsmanager/<name>`` reads the secret ``<name>`` as a parameter, as SSM
does. A name that is not stored raises :class:`~lambdakit.errors.SecretNotFoundError`, like the
real backends.

As a context manager it installs itself as the backend of the default cache (or of ``cache=``),
emptying that cache, and puts the previous backend back on exit::

    with fake_secrets({"prod/db": {"password": "pw"}}) as fake:
        assert handler(event, context) == ...
        assert fake.calls["secret"] == 1

The pytest plugin's ``fake_secrets`` fixture does the same for one test and yields the fake.
Every fetch is counted per method in ``calls`` (``"secret"``, ``"parameter"``, ``"parameters"``,
``"parameters_by_path"``, ``"item"``) and recorded in ``requests``; ``fail()`` makes every fetch
raise :class:`~lambdakit.errors.SecretFetchError` (an outage) until ``recover()``.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from lambdakit.errors import SecretFetchError, SecretNotFoundError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType

    from lambdakit.secrets import SecretCache

__all__ = ["FakeSecrets", "fake_secrets"]

REFERENCE_PREFIX = "/aws/reference/secretsmanager/"
ENCRYPTED = "<encrypted>"  # what a SecureString reads as without decryption
MAX_GET_PARAMETERS = 10  # SSM rejects larger GetParameters calls; so does the fake


def _text(value: Any, what: str) -> str | bytes:
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    raise TypeError(f"{what}: expected str, bytes, dict or list, got {type(value).__name__}")


class _Secret:
    """The versions of one secret, and which version each staging label points at."""

    __slots__ = ("stages", "versions")

    def __init__(self) -> None:
        self.versions: dict[str, str | bytes] = {}
        self.stages: dict[str, str] = {}


class FakeSecrets:
    """An in-memory store of secrets, parameters and DynamoDB items (see the module docs)."""

    def __init__(
        self, values: Mapping[str, Any] | None = None, *, cache: SecretCache | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, _Secret] = {}
        self._parameters: dict[str, tuple[str, bool]] = {}
        self._items: dict[tuple[str, str], dict[str, Any]] = {}
        self._versions = 0
        self._failure: BaseException | type[BaseException] | None = None
        self._cache = cache
        self._installed: list[tuple[SecretCache, Any]] = []
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, Any]] = []
        for name, value in (values or {}).items():
            if name.startswith("/"):
                self.set_parameter(name, value)
            else:
                self.set_secret(name, value)

    def __repr__(self) -> str:
        return (
            f"FakeSecrets({len(self._secrets)} secrets, {len(self._parameters)} parameters, "
            f"{len(self._items)} items, {sum(self.calls.values())} fetches)"
        )

    # --- preloading and changing values ---------------------------------------------------------

    def set_secret(
        self,
        name: str,
        value: Any,
        *,
        version_id: str | None = None,
        version_stage: str = "AWSCURRENT",
    ) -> str:
        """Store a new version of secret ``name`` and return its version id. Like Secrets
        Manager's PutSecretValue, a new ``AWSCURRENT`` version moves ``AWSPREVIOUS`` to the one
        it replaces (so this is how a test rotates a secret)."""
        stored = _text(value, f"secret {name}")
        with self._lock:
            secret = self._secrets.setdefault(name, _Secret())
            if version_id is None:
                self._versions += 1
                version_id = f"v{self._versions}"
            secret.versions[version_id] = stored
            current = secret.stages.get("AWSCURRENT")
            if version_stage == "AWSCURRENT" and current is not None and current != version_id:
                secret.stages["AWSPREVIOUS"] = current
            secret.stages[version_stage] = version_id
        return version_id

    def set_parameter(self, name: str, value: Any, *, secure: bool = False) -> None:
        """Store parameter ``name`` (replacing it). A ``secure`` one (SecureString) reads as
        ``"<encrypted>"`` when fetched with ``decrypt=False``."""
        if not name.startswith("/"):
            raise ValueError(f"parameter {name}: names of parameters start with '/'")
        stored = _text(value, f"parameter {name}")
        text = stored.decode() if isinstance(stored, bytes) else stored
        with self._lock:
            self._parameters[name] = (text, secure)

    def set_item(
        self,
        table: str,
        key: str | dict[str, Any],
        value: Any,
        *,
        attribute: str = "value",
        key_attr: str = "id",
    ) -> None:
        """Set ``attribute`` of the item with ``key`` in ``table`` (what
        ``get_item_parameter(table, key, attribute=..., key_attr=...)`` reads)."""
        item_key = key if isinstance(key, dict) else {key_attr: key}
        with self._lock:
            item = self._items.setdefault((table, _key_text(item_key)), dict(item_key))
            item[attribute] = value

    def delete(self, name: str) -> None:
        """Forget the secret or parameter ``name`` (later fetches raise not found)."""
        with self._lock:
            self._secrets.pop(name, None)
            self._parameters.pop(name, None)

    def fail(self, error: BaseException | type[BaseException] = SecretFetchError) -> None:
        """Make every fetch raise ``error`` until :meth:`recover`: by default a
        :class:`SecretFetchError`, the transient failure (throttling, network, 5xx) that the
        cache answers with a stale value. An exception class is instantiated per fetch."""
        self._failure = error

    def recover(self) -> None:
        """End :meth:`fail`: fetches answer again."""
        self._failure = None

    def reset_calls(self) -> None:
        """Zero ``calls`` and empty ``requests``."""
        with self._lock:
            self.calls.clear()
            self.requests.clear()

    # --- the backend methods SecretCache calls ----------------------------------------------

    def _record(self, method: str, subject: Any) -> None:
        with self._lock:
            self.calls[method] += 1
            self.requests.append((method, subject))
        failure = self._failure
        if isinstance(failure, type):
            raise failure(f"fetching {method} {subject!r} failed (the fake store is failing)")
        if failure is not None:
            raise failure

    def secret(self, name: str, version_stage: str | None, version_id: str | None) -> str | bytes:
        self._record("secret", name)
        return self._secret(name, version_stage, version_id)

    def _secret(self, name: str, version_stage: str | None, version_id: str | None) -> str | bytes:
        with self._lock:
            secret = self._secrets.get(name)
            if secret is None:
                raise SecretNotFoundError(f"secret {name} does not exist", [name])
            if version_id is None:
                version_id = secret.stages.get(version_stage or "AWSCURRENT")
            elif version_stage is not None and secret.stages.get(version_stage) != version_id:
                version_id = None
            if version_id is None or version_id not in secret.versions:
                raise SecretNotFoundError(f"secret {name} has no such version", [name])
            return secret.versions[version_id]

    def _parameter(self, name: str, decrypt: bool) -> str:
        if name.startswith(REFERENCE_PREFIX):
            value = self._secret(name[len(REFERENCE_PREFIX) :], None, None)
            return value.decode() if isinstance(value, bytes) else value
        with self._lock:
            found = self._parameters.get(name)
        if found is None:
            raise SecretNotFoundError(f"parameter {name} does not exist", [name])
        text, secure = found
        return ENCRYPTED if secure and not decrypt else text

    def parameter(self, name: str, decrypt: bool) -> str:
        self._record("parameter", name)
        return self._parameter(name, decrypt)

    def parameters(self, names: list[str], decrypt: bool) -> tuple[dict[str, str], list[str]]:
        self._record("parameters", tuple(names))
        if len(names) > MAX_GET_PARAMETERS:
            raise ValueError(f"GetParameters takes at most 10 names, got {len(names)}")
        found: dict[str, str] = {}
        missing: list[str] = []
        for name in names:
            try:
                found[name] = self._parameter(name, decrypt)
            except SecretNotFoundError:
                missing.append(name)
        return found, missing

    def parameters_by_path(self, path: str, recursive: bool, decrypt: bool) -> dict[str, str]:
        self._record("parameters_by_path", path)
        prefix = path.rstrip("/") + "/"
        with self._lock:
            names = sorted(self._parameters)
        found: dict[str, str] = {}
        for name in names:
            rest = name[len(prefix) :]
            if name.startswith(prefix) and rest and (recursive or "/" not in rest):
                found[name] = self._parameter(name, decrypt)
        return found

    def item(self, table: str, key: dict[str, Any], attribute: str) -> Any:
        self._record("item", (table, _key_text(key)))
        with self._lock:
            item = self._items.get((table, _key_text(key)))
        if item is None or attribute not in item:
            missing = "item" if item is None else f"attribute {attribute!r} of item"
            raise SecretNotFoundError(f"{missing} {key!r} of table {table} does not exist")
        return item[attribute]

    # --- installing -------------------------------------------------------------------------------

    def install(self, cache: SecretCache | None = None) -> FakeSecrets:
        """Make this the backend of ``cache`` (the default cache unless given), emptying it."""
        if cache is None:
            cache = self._cache
        if cache is None:
            from lambdakit.secrets import default_cache

            cache = default_cache()
        # The backend as it was chosen: None when the cache has not chosen one yet, so that
        # uninstalling leaves the choice (parameter or environment) to be made again.
        self._installed.append((cache, cache._backend))
        cache.backend = self
        return self

    def uninstall(self) -> None:
        """Put back the backend :meth:`install` replaced (emptying the cache again)."""
        cache, previous = self._installed.pop()
        cache.backend = previous

    def __enter__(self) -> FakeSecrets:
        return self.install()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.uninstall()


def _key_text(key: dict[str, Any]) -> str:
    return json.dumps(key, sort_keys=True, default=str)


def fake_secrets(
    values: Mapping[str, Any] | None = None, *, cache: SecretCache | None = None
) -> FakeSecrets:
    """A preloaded :class:`FakeSecrets`; use it as a context manager to install it on the
    default cache (or on ``cache``) for the duration of a block."""
    return FakeSecrets(values, cache=cache)
