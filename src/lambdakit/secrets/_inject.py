"""``@inject_secrets``: values as keyword arguments, read from the cache at every invocation.

Reading at every call (a dictionary hit almost always) is what lets rotation reach a running
function after ``max_age``; a decorator that captured values at import would serve the old
password until the environment died. ``prefetch=True`` fetches every ref concurrently when the
decorator is applied (during Lambda's init phase), raising if one cannot be fetched;
``lambdakit.warm_up(handler)`` does the same within a time budget and never raises, leaving
what is slow or failing to the first read.

``refresh_on=(AuthError, ...)``: when the handler raises one of these, the injected values are
re-fetched once and the handler runs once more (the rotation race). Side effects the handler
had before raising happen twice; use it only around calls that fail before any.
"""

from __future__ import annotations

from lambdakit._internal.aio import is_coroutine_function
from lambdakit._internal.lazy import wraps
from lambdakit._internal.signature import accepts, describe
from lambdakit._internal.stacking import SUPPLIED, check_stack, mark, supplied_to
from lambdakit.errors import SecretsConfigurationError
from lambdakit.secrets._cache import check_transform
from lambdakit.secrets._sealed import Sealed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from lambdakit.secrets._cache import SecretCache

    F = TypeVar("F", bound=Callable[..., Any])


class _Injected:
    """The default of a parameter ``@inject_secrets`` fills (see :data:`INJECTED`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "INJECTED"

    def __reduce__(self) -> str:
        return "INJECTED"


INJECTED: Any = _Injected()
"""Default for a keyword-only parameter that ``@inject_secrets`` fills:
``def charge(record, *, api_key: str = INJECTED)``. Typed ``Any``, so the parameter keeps its
own type and callers (type-checked with ``mypy --strict``) call the decorated function without
it; at run time the decorator always passes the real value."""


class SecretRef:
    """A Secrets Manager secret to inject; ``field`` picks one key of a JSON secret."""

    __slots__ = ("field", "max_age", "name", "transform")

    def __init__(
        self,
        name: str,
        *,
        field: str | None = None,
        transform: str | None = None,
        max_age: float | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise SecretsConfigurationError(f"SecretRef: name={name!r}: expected a secret name")
        check_transform(transform)
        if field is not None and transform == "binary":
            raise SecretsConfigurationError(f"SecretRef({name!r}): field= needs a JSON secret")
        self.name = name
        self.field = field
        self.transform = "json" if field is not None else transform
        self.max_age = max_age

    def read(self, cache: SecretCache, max_age: float | None) -> Any:
        # Sealed: when the field is missing, this frame is in the traceback (its locals shown).
        found = Sealed(
            cache.get_secret(
                self.name,
                transform=self.transform,
                max_age=self.max_age if self.max_age is not None else max_age,
            )
        )
        if self.field is None:
            return found.value
        if not isinstance(found.value, dict) or self.field not in found.value:
            from lambdakit.errors import SecretNotFoundError

            raise SecretNotFoundError(f"secret {self.name} has no field {self.field!r}")
        return found.value[self.field]

    def __repr__(self) -> str:
        field = f", field={self.field!r}" if self.field else ""
        return f"SecretRef({self.name!r}{field})"


class ParameterRef:
    """An SSM parameter to inject."""

    __slots__ = ("decrypt", "max_age", "name", "transform")

    def __init__(
        self,
        name: str,
        *,
        decrypt: bool = True,
        transform: str | None = None,
        max_age: float | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise SecretsConfigurationError(f"ParameterRef: name={name!r}: expected a name")
        check_transform(transform)
        self.name = name
        self.decrypt = decrypt
        self.transform = transform
        self.max_age = max_age

    def read(self, cache: SecretCache, max_age: float | None) -> Any:
        return cache.get_parameter(
            self.name,
            decrypt=self.decrypt,
            transform=self.transform,
            max_age=self.max_age if self.max_age is not None else max_age,
        )

    def __repr__(self) -> str:
        return f"ParameterRef({self.name!r})"


# Where @inject_secrets keeps what it injects, on the function it returns (warm_up reads it).
INJECTION = "__lambdakit_secrets__"


def as_ref(ref: object, where: str) -> SecretRef | ParameterRef:
    """``ref`` as a ref: a plain string names a secret."""
    if isinstance(ref, str):
        return SecretRef(ref)
    if not isinstance(ref, (SecretRef, ParameterRef)):
        raise SecretsConfigurationError(
            f"{where}: expected a secret name, SecretRef or ParameterRef, got {type(ref).__name__}"
        )
    return ref


class Injection:
    """What one ``@inject_secrets`` injects: its refs (by keyword), the cache they are read
    from and their default ``max_age``. Kept on the decorated function (:data:`INJECTION`), so
    that ``lambdakit.warm_up`` can prefetch exactly what the function will read."""

    __slots__ = ("_cache", "max_age", "refs")

    def __init__(
        self,
        refs: dict[str, SecretRef | ParameterRef],
        cache: SecretCache | None,
        max_age: float | None,
    ) -> None:
        self.refs = refs
        self._cache = cache
        self.max_age = max_age

    def cache(self) -> SecretCache:
        """The cache given to the decorator, else the default one (created on first use)."""
        if self._cache is not None:
            return self._cache
        from lambdakit.secrets import default_cache

        return default_cache()

    def values(self) -> dict[str, Any]:
        store = self.cache()
        return {argument: ref.read(store, self.max_age) for argument, ref in self.refs.items()}

    def refresh(self) -> None:
        store = self.cache()
        for ref in self.refs.values():
            store.refresh(ref.name)

    def __repr__(self) -> str:
        return f"inject_secrets({', '.join(f'{k}={v!r}' for k, v in self.refs.items())})"


def inject_secrets(
    *,
    max_age: float | None = None,
    prefetch: bool = False,
    refresh_on: tuple[type[BaseException], ...] = (),
    cache: SecretCache | None = None,
    **refs: str | SecretRef | ParameterRef,
) -> Callable[[F], F]:
    """Pass secrets and parameters to a Lambda handler as keyword arguments.

    ``@inject_secrets(db="prod/db", api_key=SecretRef("prod/api", field="key"),
    cfg=ParameterRef("/app/cfg", transform="json"))``: a plain string names a secret.
    ``max_age`` is the default for every ref (the cache's own default otherwise).
    """
    if not refs:
        raise SecretsConfigurationError("inject_secrets: name at least one secret or parameter")
    if not isinstance(refresh_on, tuple) or not all(
        isinstance(t, type) and issubclass(t, BaseException) for t in refresh_on
    ):
        raise SecretsConfigurationError(
            f"refresh_on={refresh_on!r}: expected a tuple of exception classes"
        )
    resolved = {
        argument: as_ref(ref, f"inject_secrets({argument}=...)") for argument, ref in refs.items()
    }
    injection = Injection(resolved, cache, max_age)
    values = injection.values
    refresh = injection.refresh

    if prefetch:
        _prefetch(resolved, injection.cache(), max_age)

    def decorate(function: F) -> F:
        check_stack("inject_secrets", function)
        _check_accepts(function, resolved)
        if is_coroutine_function(function):

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await function(*args, **kwargs, **values())
                except refresh_on:
                    refresh()
                    return await function(*args, **kwargs, **values())

            wrapper: Callable[..., Any] = async_wrapper
        else:

            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    return function(*args, **kwargs, **values())
                except refresh_on:
                    refresh()
                    return function(*args, **kwargs, **values())

            wrapper = sync_wrapper
        wraps(wrapper, function)
        mark(wrapper, "inject_secrets", function)
        setattr(wrapper, SUPPLIED, frozenset(resolved) | supplied_to(function))
        setattr(wrapper, INJECTION, injection)
        return wrapper  # type: ignore[return-value]

    return decorate


def _check_accepts(function: Callable[..., Any], refs: dict[str, SecretRef | ParameterRef]) -> None:
    """Each injected keyword must be a parameter that can be passed by keyword (or the
    function takes ``**kwargs``): otherwise every call would raise ``TypeError``."""
    found = accepts(function)
    if found is None:
        return
    missing = [name for name in refs if not found.takes_keyword(name)]
    if missing:
        raise SecretsConfigurationError(
            f"inject_secrets: {describe(function)} has no parameter "
            f"{', '.join(missing)} to receive the injected value; add it, keyword-only with "
            f"the INJECTED default (def handler(event, context, *, {missing[0]}: str = "
            "INJECTED)), or accept **kwargs"
        )


def _prefetch(
    refs: dict[str, SecretRef | ParameterRef], cache: SecretCache, max_age: float | None
) -> None:
    """Fetch every ref at once, on threads: init time is the sum of none of them."""
    from concurrent.futures import ThreadPoolExecutor

    from lambdakit._internal.invocation import carrying_context

    with ThreadPoolExecutor(max_workers=min(8, len(refs))) as pool:
        futures = [
            pool.submit(carrying_context(_reader(ref, cache, max_age))) for ref in refs.values()
        ]
        for future in futures:
            future.result()


def _reader(
    ref: SecretRef | ParameterRef, cache: SecretCache, max_age: float | None
) -> Callable[[], None]:
    def read() -> None:  # the value stays in the cache, not in a Future's result
        cache.warm(ref, max_age=max_age)

    return read
