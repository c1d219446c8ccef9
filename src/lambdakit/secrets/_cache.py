"""The cache: per execution environment, keyed by everything that changes the answer.

- A hit is a dict lookup and a clock read. An entry expires ``max_age`` seconds after its fetch,
  shortened by up to ``jitter`` (10%) at random, so a fleet of environments started together
  does not refresh together.
- Single flight: one lock per key; the first thread fetches, the others wait for its answer.
  Different keys never wait on each other.
- Stale on error: when a refresh fails transiently and the entry still holds a value younger
  than ``max_stale``, that value is served (a warning names the key, never the value). Failed
  fetches back off exponentially (with jitter, capped), so an outage is not hammered: during the
  back-off the stale value (or the last error, without one) is answered at once.
- Values are kept in :class:`Entry` objects whose repr never shows them and which refuse to be
  pickled; in this module's frames they travel sealed (:mod:`lambdakit.secrets._sealed`), so a
  traceback's locals never show one. A container (the ``dict`` of ``transform="json"``) is
  handed out as a copy of its own at every read: a caller's mutation changes nothing cached.
"""

from __future__ import annotations

import time
from _thread import allocate_lock

from lambdakit._internal.logs import get_logger
from lambdakit._internal.metrics import STALE_SECRETS_SERVED, count
from lambdakit.errors import (
    SecretFetchError,
    SecretNotFoundError,
    SecretsConfigurationError,
    SecretTransformError,
)
from lambdakit.secrets._sealed import Sealed, decoded, frozen, refuse_pickling

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from lambdakit._internal.clock import Clock
    from lambdakit.secrets._backend import Backend
    from lambdakit.secrets._inject import ParameterRef, SecretRef

LOGGER = "lambdakit.secrets"
TRANSFORMS = (None, "json", "binary")
BACKOFF_FIRST = 1.0  # seconds before retrying after a first failure
BACKOFF_CAP = 60.0
GET_PARAMETERS_BATCH = 10  # SSM's limit per GetParameters call


class Entry:
    """One cached answer. ``repr`` shows when it was fetched, never what; pickling is refused.
    ``value`` is kept as :func:`~lambdakit.secrets._sealed.frozen` keeps it: a read is
    ``thaw(value)`` when ``thaw`` is set (a container: a copy per read), else ``value``."""

    __slots__ = ("error", "expires", "failures", "fetched", "retry_at", "thaw", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.thaw: Callable[[Any], Any] | None = None
        self.fetched: float | None = None  # None: never fetched successfully
        self.expires = 0.0
        self.failures = 0
        self.retry_at = 0.0
        self.error: BaseException | None = None

    def __repr__(self) -> str:
        return f"Entry(fetched={self.fetched}, failures={self.failures}, value=<hidden>)"

    __reduce_ex__ = __reduce__ = __getstate__ = refuse_pickling

    def read(self) -> Any:
        """The value, as the caller may keep it (the hit paths inline this)."""
        return self.value if self.thaw is None else self.thaw(self.value)


def _positive(option: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SecretsConfigurationError(f"{option}={value!r}: expected a number >= 0")
    return float(value)


def check_transform(transform: Any) -> None:
    if transform not in TRANSFORMS:
        raise SecretsConfigurationError(
            f"transform={transform!r}: expected None, 'json' or 'binary'"
        )


class SecretCache:
    """A cache of secrets and parameters. The module functions use a default one; build your
    own for other clients, a clock, a size limit or another default ``max_age``.

    ``backend``: ``"boto3"`` (default), ``"extension"`` (the AWS Parameters and Secrets Lambda
    Extension), or an object with the backend methods; ``LAMBDAKIT_SECRETS_BACKEND`` chooses when
    it is not given. ``clients``: boto3 clients by service name, for the boto3 backend.
    """

    def __init__(
        self,
        *,
        backend: Any = None,
        clients: dict[str, Any] | None = None,
        clock: Clock | None = None,
        max_age: float = 300,
        max_stale: float = 3600,
        max_items: int = 1024,
        jitter: float = 0.1,
    ) -> None:
        self.max_age = _positive("max_age", max_age)
        self.max_stale = _positive("max_stale", max_stale)
        self.jitter = _positive("jitter", jitter)
        if self.jitter >= 1:
            raise SecretsConfigurationError(f"jitter={jitter!r}: expected a fraction below 1")
        if isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1:
            raise SecretsConfigurationError(f"max_items={max_items!r}: expected an int >= 1")
        self.max_items = max_items
        self._clock: Clock = clock or time.monotonic
        self._backend_choice = backend
        self._clients = clients
        self._backend: Backend | None = None
        self._entries: dict[tuple[Any, ...], Entry] = {}
        self._locks: dict[tuple[Any, ...], Any] = {}
        self._lock = allocate_lock()
        import random  # here, not at import: ~1.5 ms of cold start a hit never needs

        self._random = random.Random()

    def __repr__(self) -> str:
        return f"SecretCache({len(self._entries)} entries, max_age={self.max_age:g})"

    __reduce_ex__ = __reduce__ = __getstate__ = refuse_pickling

    # --- the backend --------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = _make_backend(self._backend_choice, self._clients)
        return self._backend

    @backend.setter
    def backend(self, backend: Backend) -> None:
        self._backend = backend
        self.invalidate()

    # --- the core -------------------------------------------------------------------------------

    def _get(
        self, key: tuple[Any, ...], fetch: Callable[[], Sealed], max_age: float | None
    ) -> Sealed:
        """The value under ``key`` (the caller's own copy), fetched by ``fetch`` when needed."""
        entry = self._entries.get(key)
        now = self._clock()
        if entry is not None and entry.fetched is not None and now < entry.expires:
            return Sealed(entry.read())
        with self._key_lock(key):
            entry = self._entries.get(key)
            now = self._clock()
            if entry is not None and entry.fetched is not None and now < entry.expires:
                return Sealed(entry.read())  # another thread fetched it while we waited
            if entry is not None and entry.failures and now < entry.retry_at:
                return self._answer_failure(key, entry, now, None)
            age = self.max_age if max_age is None else _positive("max_age", max_age)
            try:
                fetched = fetch()
            except SecretFetchError as exc:
                entry = entry or self._new_entry(key)
                self._failed(entry, now, exc)
                return self._answer_failure(key, entry, now, exc)
            entry = entry or self._new_entry(key)
            self._store(entry, fetched.value, now, age)
            return Sealed(entry.read())

    def _store(self, entry: Entry, value: Any, fetched: float, age: float) -> None:
        entry.value, entry.thaw = frozen(value)
        entry.fetched = fetched
        entry.expires = fetched + age * (1 - self.jitter * self._random.random())
        entry.failures = 0
        entry.error = None

    def _answer_failure(
        self, key: tuple[Any, ...], entry: Entry, now: float, error: BaseException | None
    ) -> Sealed:
        if entry.fetched is not None and now - entry.fetched <= self.max_stale:
            count(STALE_SECRETS_SERVED)  # every read answered stale (batch summary, metrics)
            if error is not None:  # once per failed fetch, not on every read of the back-off
                get_logger(LOGGER).warning(
                    "serving the cached %s %s (%.0f s old): refreshing it failed: %s",
                    key[0],
                    key[1],
                    now - entry.fetched,
                    entry.error,
                )
            return Sealed(entry.read())
        if error is not None:
            raise error
        # During the back-off: a new error each time (re-raising the stored one would grow
        # its traceback with every call, and share it between threads).
        raise SecretFetchError(
            f"fetching {key[0]} {key[1]} failed recently; retrying after a back-off"
        ) from entry.error

    def _failed(self, entry: Entry, now: float, error: BaseException) -> None:
        entry.failures += 1
        entry.error = error
        delay = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (entry.failures - 1))
        entry.retry_at = now + delay * (0.5 + self._random.random() / 2)

    def _new_entry(self, key: tuple[Any, ...]) -> Entry:
        entry = Entry()
        with self._lock:
            if len(self._entries) >= self.max_items:
                oldest = next(iter(self._entries))
                del self._entries[oldest]
                self._locks.pop(oldest, None)
            self._entries[key] = entry
        return entry

    def _key_lock(self, key: tuple[Any, ...]) -> Any:
        lock = self._locks.get(key)
        if lock is None:
            with self._lock:
                lock = self._locks.setdefault(key, allocate_lock())
        return lock

    # --- the stores -----------------------------------------------------------------------------

    def get_secret(
        self,
        name: str,
        *,
        max_age: float | None = None,
        version_stage: str | None = "AWSCURRENT",
        version_id: str | None = None,
        transform: str | None = None,
    ) -> Any:
        """A Secrets Manager secret: ``str`` or ``bytes`` as stored, ``dict`` with
        ``transform="json"``, ``bytes`` with ``transform="binary"``."""
        stage = None if version_id is not None and version_stage == "AWSCURRENT" else version_stage
        key = ("secret", name, stage, version_id, transform)
        entry = self._entries.get(key)  # the hit path, before anything else is built
        if entry is not None and entry.fetched is not None and self._clock() < entry.expires:
            return entry.value if entry.thaw is None else entry.thaw(entry.value)  # Entry.read
        check_transform(transform)

        def fetch() -> Sealed:
            raw = Sealed(self.backend.secret(name, stage, version_id))
            return _transformed(raw, transform, f"secret {name}")

        return self._get(key, fetch, max_age).value

    def get_parameter(
        self,
        name: str,
        *,
        max_age: float | None = None,
        decrypt: bool = True,
        transform: str | None = None,
    ) -> Any:
        """An SSM parameter (``/aws/reference/secretsmanager/<name>`` reads a secret)."""
        key = ("parameter", name, bool(decrypt), transform)
        entry = self._entries.get(key)  # the hit path, before anything else is built
        if entry is not None and entry.fetched is not None and self._clock() < entry.expires:
            return entry.value if entry.thaw is None else entry.thaw(entry.value)  # Entry.read
        check_transform(transform)

        def fetch() -> Sealed:
            raw = Sealed(self.backend.parameter(name, bool(decrypt)))
            return _transformed(raw, transform, f"parameter {name}")

        return self._get(key, fetch, max_age).value

    def get_parameters(
        self,
        names: Iterable[str],
        *,
        max_age: float | None = None,
        decrypt: bool = True,
        transform: str | None = None,
        raise_on_missing: bool = True,
    ) -> dict[str, Any]:
        """Several SSM parameters, ``{name: value}``. Names not cached are fetched in
        GetParameters calls of at most 10 (every chunk kept). Missing names raise
        :class:`SecretNotFoundError` listing them all, or are left out with
        ``raise_on_missing=False``."""
        check_transform(transform)
        wanted = list(dict.fromkeys(names))
        found = Sealed({})  # {name: value}, filled from the cache and then by each chunk
        cold: list[str] = []
        now = self._clock()
        for name in wanted:
            entry = self._entries.get(("parameter", name, bool(decrypt), transform))
            if entry is not None and entry.fetched is not None and now < entry.expires:
                found.value[name] = entry.read()
            else:
                cold.append(name)
        missing: list[str] = []
        for start in range(0, len(cold), GET_PARAMETERS_BATCH):
            chunk = cold[start : start + GET_PARAMETERS_BATCH]
            missing += self._fetch_chunk(chunk, bool(decrypt), transform, max_age, found)
        if missing and raise_on_missing:
            raise SecretNotFoundError(
                f"parameters do not exist: {', '.join(sorted(missing))}", sorted(missing)
            )
        return {name: found.value[name] for name in wanted if name in found.value}

    def _fetch_chunk(
        self,
        chunk: list[str],
        decrypt: bool,
        transform: str | None,
        max_age: float | None,
        found: Sealed,
    ) -> list[str]:
        """One GetParameters call for ``chunk``: its values go into ``found`` and are stored
        under each name's key (so a later ``get_parameter`` of one of them is a hit); returns
        the names missing."""

        def fetch() -> Sealed:
            answer = Sealed(self.backend.parameters(chunk, decrypt))  # ({name: value}, missing)
            values = _each_transformed(Sealed(answer.value[0]), transform)
            return Sealed((values.value, answer.value[1]))

        chunk_key = ("parameters", tuple(chunk), decrypt, transform)
        answer = self._get(chunk_key, fetch, 0)
        chunk_entry = self._entries.get(chunk_key)
        fetched = chunk_entry.fetched if chunk_entry and chunk_entry.fetched is not None else 0.0
        age = self.max_age if max_age is None else _positive("max_age", max_age)
        for name in answer.value[0]:
            key = ("parameter", name, decrypt, transform)
            entry = self._entries.get(key)
            if entry is None or entry.fetched is None or entry.fetched <= fetched:
                # Stored as old as the answer is: a stale answer (served through an outage)
                # stays stale, so the next read retries and max_stale still counts from the
                # real fetch. An entry read alone since is newer than this answer: kept.
                entry = entry or self._new_entry(key)
                self._store(entry, answer.value[0][name], fetched, age)
            found.value[name] = entry.read()
        return list(answer.value[1])

    def get_parameters_by_path(
        self,
        path: str,
        *,
        recursive: bool = True,
        max_age: float | None = None,
        decrypt: bool = True,
        transform: str | None = None,
    ) -> dict[str, Any]:
        """Every parameter under ``path`` (all pages), ``{full name: value}``."""
        check_transform(transform)
        key = ("path", path, bool(recursive), bool(decrypt), transform)

        def fetch() -> Sealed:
            found = Sealed(self.backend.parameters_by_path(path, bool(recursive), bool(decrypt)))
            return _each_transformed(found, transform)

        values: dict[str, Any] = self._get(key, fetch, max_age).value
        return values

    def get_item_parameter(
        self,
        table: str,
        key: str | dict[str, Any],
        *,
        attribute: str = "value",
        key_attr: str = "id",
        max_age: float | None = None,
        transform: str | None = None,
    ) -> Any:
        """A parameter kept in a DynamoDB table: ``attribute`` of the item whose key is ``key``
        (a value of ``key_attr``, or the whole key as a dict)."""
        check_transform(transform)
        import json

        item_key = key if isinstance(key, dict) else {key_attr: key}
        cache_key = (
            "item",
            table,  # refresh(table) / invalidate(table) reach every item of the table
            json.dumps(item_key, sort_keys=True, default=str),
            attribute,
            transform,
        )

        def fetch() -> Sealed:
            raw = Sealed(self.backend.item(table, item_key, attribute))
            return _transformed(raw, transform, f"item {item_key!r} of table {table}")

        return self._get(cache_key, fetch, max_age).value

    def get_app_config(
        self,
        application: str,
        environment: str,
        profile: str,
        *,
        max_age: float | None = None,
        transform: str | None = None,
    ) -> Any:
        """An AppConfig configuration, through the AppConfig Lambda extension (``bytes`` as
        served; ``transform="json"`` parses it)."""
        check_transform(transform)
        key = ("appconfig", f"{application}/{environment}/{profile}", transform)

        def fetch() -> Sealed:
            from lambdakit.secrets._extension import fetch_app_config

            raw = Sealed(fetch_app_config(application, environment, profile))
            return _transformed(raw, transform, f"AppConfig configuration {key[1]}")

        return self._get(key, fetch, max_age).value

    # --- warming ------------------------------------------------------------------------------

    def warm(self, *refs: str | SecretRef | ParameterRef, max_age: float | None = None) -> None:
        """Fetch ``refs`` into this cache now, so that their first reads are hits: at init,
        where ``lambdakit.warm_up`` calls it, the fetch (and creating the backend's client,
        importing boto3 for the boto3 backend) does not land in the first invocation. A string
        names a secret, as in ``@inject_secrets``; ``max_age`` applies to refs without their
        own; what is cached and fresh is not fetched again (after a SnapStart restore,
        ``refresh(name)`` first: values in the snapshot may have rotated since). Raises what a
        read would raise: a ref that cannot be fetched now is refused now, by name, and
        leaves no back-off behind, so the first read fetches again. Nothing
        more is needed under provisioned concurrency: its environments run init, and so this,
        before their first request."""
        from lambdakit.secrets._inject import as_ref

        for ref in refs:
            resolved = as_ref(ref, "SecretCache.warm")
            try:
                resolved.read(self, max_age)
            except Exception:
                # A fetch that failed at init must not start the back-off the first invocation
                # would then meet milliseconds later: that invocation tries again, as it would
                # have without warming (a throttle at init has often cleared by then).
                self.refresh(resolved.name)
                raise

    # --- control --------------------------------------------------------------------------------

    def reseed(self) -> None:
        """New randomness for jitter and back-off (after a SnapStart restore, every restored
        environment would otherwise draw the same sequence)."""
        self._random.seed()

    def refresh(self, name: str) -> None:
        """Expire every entry for ``name`` now: the next read fetches it (all its variants).
        ``name`` is a secret or parameter name, a table (every item of it), or for AppConfig
        ``application/environment/profile``."""
        with self._lock:
            for key, entry in self._entries.items():
                if key[1] == name:
                    entry.expires = 0.0
                    entry.retry_at = 0.0

    def invalidate(self, name: str | None = None) -> None:
        """Forget ``name`` (every variant), or everything."""
        with self._lock:
            if name is None:
                self._entries.clear()
                self._locks.clear()
                return
            for key in [k for k in self._entries if k[1] == name]:
                del self._entries[key]
                self._locks.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


def _transformed(raw: Sealed, transform: str | None, what: str) -> Sealed:
    """``raw`` as ``transform`` asks; :class:`SecretTransformError` naming ``what`` if it
    cannot be."""
    if transform is None:
        return raw
    return decoded(raw, transform, lambda problem: SecretTransformError(f"{what} {problem}"))


def _each_transformed(found: Sealed, transform: str | None) -> Sealed:
    """``{parameter name: value}`` with every value transformed (one at a time, each sealed:
    when one fails, no frame on the way holds the others)."""
    if transform is None:
        return found
    values = Sealed({})
    for name in found.value:
        raw = Sealed(found.value[name])
        values.value[name] = _transformed(raw, transform, f"parameter {name}").value
    return values


def _make_backend(choice: Any, clients: dict[str, Any] | None) -> Backend:
    import os

    choice = choice if choice is not None else os.environ.get("LAMBDAKIT_SECRETS_BACKEND")
    if choice is None or choice == "boto3":
        from lambdakit.secrets._backend import Boto3Backend

        return Boto3Backend(clients)
    if choice == "extension":
        from lambdakit.secrets._extension import ExtensionBackend

        return ExtensionBackend()
    if isinstance(choice, str):
        raise SecretsConfigurationError(
            f"backend={choice!r}: expected 'boto3', 'extension' or a backend object"
        )
    return choice  # type: ignore[no-any-return]
