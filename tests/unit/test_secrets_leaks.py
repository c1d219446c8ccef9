"""Secret values stay out of reach of traceback reporters, exception chains and pickling.

An error reporter (Sentry, Rollbar), ``pytest -l`` or ``traceback.TracebackException(...,
capture_locals=True)`` shows more than an exception's message: the ``repr`` of every local of
every frame in its traceback, and every exception chained to it as ``__cause__`` or
``__context__``, with their arguments and attributes (``JSONDecodeError.doc`` is the whole
document). For every public entry point of :mod:`lambdakit.secrets` and each way it fails, this
suite stores a distinctive value, makes the read fail, and looks for the value everywhere such a
reporter could reach from the exception (:func:`exposures`). Where a test involves a handler of
the user's, only lambdakit's frames are searched: the user's locals are the user's.

Everything runs on in-memory fakes (``FakeSecrets``, stub boto3 clients, a stubbed extension
request): no network.
"""

from __future__ import annotations

import base64
import json
import pickle
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import lambdakit
import lambdakit.secrets as secrets
from lambdakit.errors import SecretFetchError, SecretPicklingError, SecretsError
from lambdakit.secrets import ParameterRef, SecretCache, SecretRef, inject_secrets
from lambdakit.secrets import _extension as extension_module
from lambdakit.testing import FakeClock, FakeSecrets

CANARY = "s3cr3t-CANARY-7f3a"
LAMBDAKIT = str(Path(lambdakit.__file__).parent)

# What each transform cannot read, and a value it reads, per store; a good value is read before
# the bad one fails wherever one call reads several (GetParameters chunks, path queries).
BAD = {"json": "not-json", "binary": "not-base64"}
GOOD = {"json": "json", "binary": "base64"}


# --- the harness --------------------------------------------------------------------------------


def chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception reachable from it: causes, contexts (suppressed or not:
    ``__suppress_context__`` hides a context from the printed traceback, not from a reporter
    walking ``__context__``) and the members of exception groups."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__, *getattr(current, "exceptions", ())]


def everywhere(frame: FrameType) -> bool:
    return True


def lambdakits(frame: FrameType) -> bool:
    return frame.f_code.co_filename.startswith(LAMBDAKIT)


def exposures(error: BaseException, frames: Callable[[FrameType], bool] = everywhere) -> list[str]:
    """Every place CANARY shows when ``error`` is reported, as ``where: text`` lines.

    Per exception of the chain: ``str``, ``repr``, each argument and attribute (``doc`` of a
    JSONDecodeError, ``object`` of a UnicodeDecodeError), the traceback formatted with
    ``capture_locals=True`` (when every frame is searched), and the ``repr`` of every local of
    every frame of its traceback that ``frames`` selects.
    """
    found: list[str] = []

    def look(where: str, text: str) -> None:
        if CANARY in text:
            found.append(f"{where}: {text[:160]!r}")

    for exc in chain(error):
        name = type(exc).__name__
        look(f"str({name})", str(exc))
        look(f"repr({name})", repr(exc))
        for index, argument in enumerate(exc.args):
            look(f"{name}.args[{index}]", repr(argument))
        attributes = dict(vars(exc))
        for attribute in ("doc", "object", "__notes__"):
            if hasattr(exc, attribute):
                attributes[attribute] = getattr(exc, attribute)
        for attribute, value in attributes.items():
            look(f"{name}.{attribute}", repr(value))
        if frames is everywhere:
            report = traceback.TracebackException(
                type(exc), exc, exc.__traceback__, capture_locals=True
            )
            look(f"{name} formatted with capture_locals", "".join(report.format()))
        for frame, _ in traceback.walk_tb(exc.__traceback__):
            if frames(frame):
                for local, value in frame.f_locals.items():
                    look(f"{name}: local {local} of {frame.f_code.co_name}()", repr(value))
    return found


def failure(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("the call did not fail")


# --- the fixtures -------------------------------------------------------------------------------


class World:
    """A cache of the test's own and the default cache (the module functions'), both on
    ``store``; ``extension`` answers like the Parameters and Secrets extension would."""

    def __init__(self, store: FakeSecrets, monkeypatch: pytest.MonkeyPatch) -> None:
        self.store = store
        self.clock = FakeClock()
        self.cache = SecretCache(backend=store, clock=self.clock, jitter=0)
        self.monkeypatch = monkeypatch
        self.bodies: dict[str, bytes] = {}

    def extension(self) -> SecretCache:
        """A cache on the extension backend, its HTTP requests answered from ``bodies`` (by
        the name in the query); a name not there fails as an outage would."""

        def request(url: str, what: str, headers: dict[str, str], timeout: float = 5.0) -> bytes:
            query = parse_qs(urlsplit(url).query)
            name = (query.get("secretId") or query["name"])[0]
            if name not in self.bodies:
                raise SecretFetchError(f"fetching {what} failed (HTTP 500)")
            return self.bodies[name]

        self.monkeypatch.setattr(extension_module, "_request", request)
        return SecretCache(backend="extension", clock=self.clock)


@pytest.fixture
def world(fake_secrets: FakeSecrets, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.delenv("LAMBDAKIT_SECRETS_BACKEND", raising=False)
    store = fake_secrets
    store.set_secret("db/not-json", f"{CANARY} is not JSON")
    store.set_secret("db/not-base64", f"{CANARY}!")
    store.set_secret("db/fields", {"password": CANARY, "user": "app"})
    store.set_secret("db/list", [CANARY])
    store.set_secret("db/nested-too-deeply", "[" * 100_000 + json.dumps(CANARY))
    store.set_secret("db/json", json.dumps(CANARY))
    values = {
        "plain": CANARY,
        "json": json.dumps(CANARY),
        "base64": base64.b64encode(CANARY.encode()).decode(),
        "not-json": f"{CANARY} is not JSON",
        "not-base64": f"{CANARY}!",
    }
    for name, value in values.items():
        store.set_parameter(f"/p/{name}", value)
    for transform in ("json", "binary"):
        store.set_parameter(f"/tree-{transform}/a-good", values[GOOD[transform]])
        store.set_parameter(f"/tree-{transform}/b-bad", values[BAD[transform]])
        store.set_item("config", BAD[transform], values[BAD[transform]])
    return World(store, monkeypatch)


# --- the entry points and their failures ------------------------------------------------------

Case = Callable[[World], object]


def transform_failures(transform: str) -> dict[str, Case]:
    """A read of a value that ``transform`` cannot decode, through every entry point."""
    bad, good = BAD[transform], GOOD[transform]
    t = transform

    def cached_then_chunk(w: World) -> object:
        w.cache.get_parameter(f"/p/{good}", transform=t)
        return w.cache.get_parameters([f"/p/{good}", f"/p/{bad}"], transform=t)

    def injected(w: World) -> object:
        @inject_secrets(
            cache=w.cache,
            first=ParameterRef(f"/p/{good}", transform=t),
            second=SecretRef(f"db/{bad}", transform=t),
        )
        def handler(first: Any, second: Any) -> None:
            raise AssertionError("the handler ran without its values")

        return handler()

    def prefetched(w: World) -> object:
        return inject_secrets(
            cache=w.cache,
            prefetch=True,
            first=ParameterRef(f"/p/{good}", transform=t),
            second=ParameterRef(f"/p/{bad}", transform=t),
        )

    return {
        "SecretCache.get_secret": lambda w: w.cache.get_secret(f"db/{bad}", transform=t),
        "get_secret": lambda w: secrets.get_secret(f"db/{bad}", transform=t),
        "SecretCache.get_parameter": lambda w: w.cache.get_parameter(f"/p/{bad}", transform=t),
        "get_parameter": lambda w: secrets.get_parameter(f"/p/{bad}", transform=t),
        "SecretCache.get_parameters": lambda w: w.cache.get_parameters(
            [f"/p/{good}", f"/p/{bad}"], transform=t
        ),
        "get_parameters": lambda w: secrets.get_parameters(
            [f"/p/{good}", f"/p/{bad}"], transform=t
        ),
        "get_parameters, one name cached": cached_then_chunk,
        "SecretCache.get_parameters_by_path": lambda w: w.cache.get_parameters_by_path(
            f"/tree-{t}", transform=t
        ),
        "get_parameters_by_path": lambda w: secrets.get_parameters_by_path(
            f"/tree-{t}", transform=t
        ),
        "SecretCache.get_item_parameter": lambda w: w.cache.get_item_parameter(
            "config", bad, transform=t
        ),
        "get_item_parameter": lambda w: secrets.get_item_parameter("config", bad, transform=t),
        "SecretRef.read": lambda w: SecretRef(f"db/{bad}", transform=t).read(w.cache, None),
        "ParameterRef.read": lambda w: ParameterRef(f"/p/{bad}", transform=t).read(w.cache, None),
        "inject_secrets": injected,
        "inject_secrets(prefetch=True)": prefetched,
    }


def app_config_not_json(w: World) -> object:
    w.monkeypatch.setattr(
        extension_module, "fetch_app_config", lambda *names: f"{CANARY} not JSON".encode()
    )
    return w.cache.get_app_config("orders", "prod", "flags", transform="json")


def missing_field_injected(w: World) -> object:
    @inject_secrets(cache=w.cache, first="db/json", password=SecretRef("db/fields", field="pw"))
    def handler(first: str, password: str) -> None:
        raise AssertionError("the handler ran without its values")

    return handler()


def missing_name_with_a_hit(w: World) -> object:
    w.cache.get_parameter("/p/plain")
    return w.cache.get_parameters(["/p/plain", "/p/json", "/p/none"])


def outage_with_a_hit(w: World) -> object:
    w.cache.get_parameter("/p/plain")
    w.store.fail()
    return w.cache.get_parameters(["/p/plain", "/p/json"])


def back_off_after_the_value_aged(w: World) -> object:
    w.cache.get_secret("db/fields", transform="json")
    w.store.fail()
    w.clock.advance(w.cache.max_stale + w.cache.max_age + 1)
    with pytest.raises(SecretFetchError):
        w.cache.get_secret("db/fields", transform="json")
    return w.cache.get_secret("db/fields", transform="json")  # answered from the back-off


def second_page_fails(w: World) -> object:
    from botocore.exceptions import ClientError

    class PagedSSM:
        def get_parameters_by_path(self, **options: Any) -> dict[str, Any]:
            if "NextToken" not in options:
                page = [{"Name": "/tree/a", "Value": CANARY}]
                return {"Parameters": page, "NextToken": "page-2"}
            error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
            raise ClientError(error, "GetParametersByPath")  # type: ignore[arg-type]

    return SecretCache(clients={"ssm": PagedSSM()}).get_parameters_by_path("/tree")


def item_without_the_attribute(w: World) -> object:
    class Table:
        def get_item(self, **options: Any) -> dict[str, Any]:
            return {"Item": {"id": {"S": "db"}, "previous": {"S": CANARY}}}

    return SecretCache(clients={"dynamodb": Table()}).get_item_parameter("config", "db")


def extension_outage_after_a_value(w: World) -> object:
    w.bodies["/p/good"] = json.dumps({"Parameter": {"Value": CANARY}}).encode()
    return w.extension().get_parameters(["/p/good", "/p/down"])


def extension_answer_cut_short(w: World) -> object:
    w.bodies["db"] = json.dumps({"SecretString": CANARY}).encode()[:-2]
    return w.extension().get_secret("db")


def extension_binary_not_base64(w: World) -> object:
    w.bodies["db"] = json.dumps({"SecretBinary": f"{CANARY}x"}).encode()
    return w.extension().get_secret("db")


CASES: dict[str, Case] = {
    **{f"{name}, not JSON": case for name, case in transform_failures("json").items()},
    **{f"{name}, not base64": case for name, case in transform_failures("binary").items()},
    "get_app_config, not JSON": app_config_not_json,
    "get_secret, JSON nested too deeply": lambda w: w.cache.get_secret(
        "db/nested-too-deeply", transform="json"
    ),
    "SecretRef.read, missing field": lambda w: SecretRef("db/fields", field="pw").read(
        w.cache, None
    ),
    "SecretRef.read, field of a JSON list": lambda w: SecretRef("db/list", field="pw").read(
        w.cache, None
    ),
    "inject_secrets, missing field": missing_field_injected,
    "SecretCache.get_parameters, a name missing": lambda w: w.cache.get_parameters(
        ["/p/plain", "/p/json", "/p/none"]
    ),
    "get_parameters, a name missing": lambda w: secrets.get_parameters(
        ["/p/plain", "/p/json", "/p/none"]
    ),
    "get_parameters, a name missing, one cached": missing_name_with_a_hit,
    "get_parameters, an outage, one name cached": outage_with_a_hit,
    "get_secret, during the back-off": back_off_after_the_value_aged,
    "boto3 get_parameters_by_path, the second page fails": second_page_fails,
    "boto3 get_item_parameter, attribute missing": item_without_the_attribute,
    "extension get_parameters, an outage after a value": extension_outage_after_a_value,
    "extension get_secret, answer cut short": extension_answer_cut_short,
    "extension get_secret, SecretBinary not base64": extension_binary_not_base64,
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_failed_read_shows_the_value_nowhere_a_reporter_looks(world: World, case: str) -> None:
    error = failure(lambda: CASES[case](world))
    assert isinstance(error, SecretsError), f"{type(error).__name__}: {error}"
    assert exposures(error) == []


def test_transform_errors_chain_nothing_from_the_parser(world: World) -> None:
    """``raise ... from None`` inside the ``except`` clause only hides the parser's exception:
    it stays reachable as ``__context__`` (and JSONDecodeError.doc is the whole value)."""
    for call in (
        lambda: world.cache.get_secret("db/not-json", transform="json"),
        lambda: world.cache.get_secret("db/not-base64", transform="binary"),
    ):
        error = failure(call)
        assert error.__cause__ is None
        assert error.__context__ is None


def test_the_position_of_a_json_error_is_still_named(world: World) -> None:
    error = failure(lambda: world.cache.get_secret("db/not-json", transform="json"))
    assert str(error) == "secret db/not-json is not valid JSON at position 0"


def test_lambdakits_frames_hold_no_value_when_the_handler_raises(world: World) -> None:
    class AuthError(Exception):
        pass

    @inject_secrets(
        cache=world.cache,
        refresh_on=(AuthError,),
        password=SecretRef("db/fields", field="password"),
        token=ParameterRef("/p/plain"),
    )
    def handler(password: str, token: str) -> None:
        raise AuthError("login failed")

    error = failure(handler)
    assert isinstance(error, AuthError)
    assert exposures(error, frames=lambdakits) == []


# --- pickling -----------------------------------------------------------------------------------


def test_cache_entries_and_the_cache_refuse_to_be_pickled(world: World) -> None:
    cache = world.cache
    cache.get_secret("db/json")
    cache.get_secret("db/fields", transform="json")
    cache.get_parameters(["/p/plain", "/p/json"])
    cache.get_parameters_by_path("/tree-json")
    cache.get_item_parameter("config", "not-json")
    assert len(cache._entries) >= 5
    for thing in [*cache._entries.values(), cache]:
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            with pytest.raises(SecretPicklingError, match="cannot be pickled"):
                pickle.dumps(thing, protocol)
