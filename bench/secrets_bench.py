"""Benchmark ``lambdakit.secrets`` against Powertools' ``parameters.get_secret`` and AWS's
``aws-secretsmanager-caching`` (``SecretCache``).

All three libraries read the same kind of secret from Secrets Manager served by moto in server
mode (``moto.server.ThreadedMotoServer``, started by this script on a free loopback port and
reached through ``AWS_ENDPOINT_URL`` with dummy credentials), side by side in one run. Each
library has its own boto3 client, and every request a client sends is counted on the wire with a
botocore ``before-send`` hook (so retries would count too):

- lambdakit: the module functions (``lambdakit.secrets.get_secret(name)``) on the default cache,
  whose client is lambdakit's shared one (``lambdakit._internal.clients.client``); a
  ``SecretCache(clock=FakeClock(), clients=...)`` of its own for case 3.
- Powertools: ``aws_lambda_powertools.utilities.parameters.get_secret(name)``, its default
  provider installed once as ``SecretsProvider(boto3_client=...)`` so the counted client is the
  one it uses (the same code path ``get_secret`` takes when it creates the provider itself).
- aws-secretsmanager-caching: ``SecretCache(config=SecretCacheConfig(), client=...)``,
  ``cache.get_secret_string(name)``. It caches per secret the DescribeSecret answer and, per
  version id, the GetSecretValue answer: a cold read is two requests.

The peers' clients get ``max_pool_connections=64`` like lambdakit's, so 64 threads do not open
and discard connections beyond botocore's default pool of 10. Every case uses secret names of its
own, so each starts cold in every library.

Cases:

1. Cache-hit latency: median ns per call after a first fetch, over timed loops of calls
   (garbage collection off while a loop runs; the libraries' loops alternate). Target: lambdakit
   <= 0.5x the fastest peer (one row per peer, target 0.5x on both, which is the same thing).
2. API calls when 64 threads read a cold secret at once (released together by a barrier);
   repeated on fresh secret names, median shown, every repetition's count in the notes. Target:
   exactly 1 for lambdakit in every repetition; the peers' counts are informational.
3. API calls over a simulated hour at 100 invocations per second (360,000 reads) with each
   library's default TTL, on a fake clock: lambdakit's ``FakeClock``; for the peers, their cache
   modules' ``datetime`` is patched with one that reads the same fake clock (Powertools compares
   ``datetime.now()`` in ``parameters.base``; aws-secretsmanager-caching
   ``datetime.now(timezone.utc)`` in ``cache.items``; neither reads time anywhere else on this
   path). Nothing sleeps. Informational; the counts are checked against what each library's
   documented default TTL implies, which also proves the fake clock drove it.

Checks (a failure stops the run with exit status 1): every value any library returned, in every
case, equals the stored secret; lambdakit's cold-stampede count; the simulated-hour counts lie
in the range each default TTL implies. Logging is disabled (``logging.disable``) for all three.

Run with ``make bench`` or ``.venv/bin/python bench/secrets_bench.py`` from the project root;
``--quick`` is a smaller smoke run (fewer timed loops, one stampede, 10 invocations per second
in the hour), ``--markdown`` prints the table as Markdown for the docs. Exits non-zero only when
a correctness check fails; a missed target is reported, not fatal.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import os
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any
from unittest import mock

from _report import RequestCounter, Row, arguments, check, powertools_defaults, print_header, render

HEADER = ["case", "lambdakit", "peer", "ratio (lk/peer)", "target", "met?"]
LIBRARIES = ("lambdakit", "powertools", "aws-caching")
PEER_NAMES = {"powertools": "Powertools", "aws-caching": "aws-secretsmanager-caching"}
THREADS = 64
HOUR = 3600
SECRET = json.dumps({"username": "orders", "password": "hunter2-not-a-real-one", "port": 5432})

Reader = Callable[[str], Any]


@dataclass(frozen=True)
class Sizes:
    hit_calls: int  # calls per timed loop
    hit_loops: int  # timed loops per library
    stampedes: int  # cold stampedes per library
    rate: int  # simulated invocations per second


FULL = Sizes(hit_calls=20_000, hit_loops=15, stampedes=5, rate=100)
QUICK = Sizes(hit_calls=2_000, hit_loops=5, stampedes=1, rate=10)


@dataclass(frozen=True)
class PeerRow(Row):
    """lambdakit against one named peer (the ``powertools`` field holds that peer's figure).
    ``exact``: an absolute target instead of a ratio; met when ``lambdakit_worst`` equals it."""

    peer: str = ""
    exact: int | None = None
    lambdakit_worst: float | None = None

    @property
    def within_target(self) -> bool:
        if self.exact is not None:
            return self.lambdakit_worst == self.exact
        return super().within_target

    def cells(self) -> list[str]:
        cells = super().cells()
        cells[1] = figure(self.lambdakit, self.unit)
        cells[2] = f"{figure(self.powertools, self.unit)} ({self.peer})"
        if self.exact is not None:
            cells[4] = f"lk = {self.exact}"
            cells[5] = "NO" if self.missed else "yes"
        return cells


def figure(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"


def describe(operations: list[str]) -> str:
    """``["DescribeSecret", "GetSecretValue"]`` -> ``"DescribeSecret 1 + GetSecretValue 1"``."""
    counts: dict[str, int] = {}
    for operation in operations:
        counts[operation] = counts.get(operation, 0) + 1
    return " + ".join(f"{op} {n}" for op, n in counts.items()) or "none"


class Subjects:
    """The three libraries, each on its own counted client, and the secrets they read."""

    def __init__(self) -> None:
        import boto3
        from aws_lambda_powertools.utilities.parameters import secrets as pt_secrets
        from botocore.config import Config

        from lambdakit._internal.clients import client as lambdakit_client

        config = Config(max_pool_connections=THREADS, retries={"mode": "standard"})
        self.admin = boto3.client("secretsmanager")
        self.clients = {
            "lambdakit": lambdakit_client("secretsmanager"),
            "powertools": boto3.client("secretsmanager", config=config),
            "aws-caching": boto3.client("secretsmanager", config=config),
        }
        self.counters = {name: RequestCounter(c) for name, c in self.clients.items()}
        pt_secrets.DEFAULT_PROVIDERS["secrets"] = pt_secrets.SecretsProvider(
            boto3_client=self.clients["powertools"]
        )
        self._created = 0

    def new_secret(self, label: str) -> str:
        """A secret no library has read yet."""
        self._created += 1
        name = f"bench/{label}-{self._created}"
        self.admin.create_secret(Name=name, SecretString=SECRET)
        return name

    def aws_cache(self, **options: Any) -> Any:
        from aws_secretsmanager_caching import SecretCache, SecretCacheConfig

        return SecretCache(config=SecretCacheConfig(**options), client=self.clients["aws-caching"])

    def readers(self) -> dict[str, Reader]:
        """Each library's read of a secret as a string, on its default (module-level) cache;
        aws-secretsmanager-caching has none, so a fresh ``SecretCache`` stands for it."""
        from aws_lambda_powertools.utilities.parameters import get_secret as pt_get_secret

        from lambdakit.secrets import get_secret as lk_get_secret

        return {
            "lambdakit": lk_get_secret,
            "powertools": pt_get_secret,
            "aws-caching": self.aws_cache().get_secret_string,
        }


# --- case 1: cache-hit latency -----------------------------------------------------------------


def timed_loop(read: Reader, name: str, calls: int) -> float:
    """ns per call over ``calls`` reads of ``name`` (garbage collection off while timing)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(calls):
            read(name)
        elapsed = time.perf_counter_ns() - start
    finally:
        if enabled:
            gc.enable()
    return elapsed / calls


def hit_case(subjects: Subjects, sizes: Sizes) -> tuple[list[Row], list[str]]:
    readers = subjects.readers()
    names = {lib: subjects.new_secret(f"hit-{lib}") for lib in LIBRARIES}
    sent: dict[str, list[str]] = {}
    for lib in LIBRARIES:
        with subjects.counters[lib].counting() as first:
            check(readers[lib](names[lib]) == SECRET, f"{lib}: the first read is not the secret")
        sent[lib] = first
        for _ in range(3):  # warm-up, and proof that hits send nothing
            with subjects.counters[lib].counting() as hits:
                check(readers[lib](names[lib]) == SECRET, f"{lib}: a cache hit is not the secret")
            check(not hits, f"{lib}: a cache hit sent {describe(hits)}")
    times: dict[str, list[float]] = {lib: [] for lib in LIBRARIES}
    for _ in range(sizes.hit_loops):
        for lib in LIBRARIES:
            with subjects.counters[lib].counting() as during:
                times[lib].append(timed_loop(readers[lib], names[lib], sizes.hit_calls))
            check(not during, f"{lib}: the timed hits sent {describe(during)}")
            check(readers[lib](names[lib]) == SECRET, f"{lib}: a cache hit is not the secret")
    median = {lib: statistics.median(times[lib]) for lib in LIBRARIES}
    rows: list[Row] = [
        PeerRow(
            "cache hit, median per call",
            median["lambdakit"],
            median[peer],
            "ns",
            0.5,
            peer=PEER_NAMES[peer],
        )
        for peer in PEER_NAMES
    ]
    notes = [
        f"cache hit: {sizes.hit_loops} timed loops of {sizes.hit_calls:,} calls per library, "
        "alternating; per-loop ns/call min-max: "
        + "; ".join(f"{lib} {min(times[lib]):,.0f}-{max(times[lib]):,.0f}" for lib in LIBRARIES),
        "first (cold) read: " + "; ".join(f"{lib} {describe(sent[lib])}" for lib in LIBRARIES),
    ]
    return rows, notes


# --- case 2: 64 threads on a cold cache ----------------------------------------------------------


def stampede(subjects: Subjects, lib: str, read: Reader, name: str) -> list[str]:
    """``THREADS`` threads released together read ``name``; the operations they caused."""
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = read(name)
        except BaseException as exc:  # reported below, after every thread is joined
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    with subjects.counters[lib].counting() as sent:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    check(not errors, f"{lib}: a stampede thread raised {errors[:1]!r}")
    wrong = sum(1 for value in results if value != SECRET)
    check(not wrong, f"{lib}: {wrong} of {THREADS} stampede threads did not get the secret")
    return sent


def stampede_case(subjects: Subjects, sizes: Sizes) -> tuple[list[Row], list[str]]:
    from aws_lambda_powertools.utilities.parameters import get_secret as pt_get_secret

    from lambdakit.secrets import get_secret as lk_get_secret

    counts: dict[str, list[int]] = {lib: [] for lib in LIBRARIES}
    operations: dict[str, list[str]] = {}
    for rep in range(sizes.stampedes):
        readers: dict[str, Reader] = {
            "lambdakit": lk_get_secret,
            "powertools": pt_get_secret,
            "aws-caching": subjects.aws_cache().get_secret_string,
        }
        for lib in LIBRARIES:
            name = subjects.new_secret(f"cold-{lib}-{rep}")
            sent = stampede(subjects, lib, readers[lib], name)
            counts[lib].append(len(sent))
            operations.setdefault(lib, sent)
    lk_worst = max(counts["lambdakit"])
    check(
        lk_worst == 1,
        f"lambdakit: {THREADS} threads on a cold secret sent {counts['lambdakit']} requests",
    )
    rows: list[Row] = [
        PeerRow(
            f"API calls, {THREADS} threads on a cold secret",
            statistics.median(counts["lambdakit"]),
            statistics.median(counts[peer]),
            "req",
            None,
            peer=PEER_NAMES[peer],
            exact=1,
            lambdakit_worst=lk_worst,
        )
        for peer in PEER_NAMES
    ]
    notes = [
        f"cold stampede: {THREADS} threads released by a barrier, {sizes.stampedes} repetition(s) "
        "on fresh secrets; requests per repetition: "
        + "; ".join(f"{lib} {counts[lib]}" for lib in LIBRARIES),
        "cold stampede, first repetition: "
        + "; ".join(f"{lib} {describe(operations[lib])}" for lib in LIBRARIES),
    ]
    return rows, notes


# --- case 3: a simulated hour --------------------------------------------------------------------


class FakeDatetime(dt.datetime):
    """``datetime`` whose ``now()`` reads a fake clock (seconds), for the peers' cache modules."""

    clock: Callable[[], float] = staticmethod(time.monotonic)
    base = dt.datetime(2026, 1, 1)

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
        moment = cls.base + dt.timedelta(seconds=cls.clock())
        return moment if tz is None else moment.replace(tzinfo=tz)


@contextmanager
def peer_clocks(clock: Callable[[], float]) -> Iterator[None]:
    """The peers' cache modules read ``clock`` for the duration."""
    import aws_lambda_powertools.utilities.parameters.base as pt_base
    import aws_secretsmanager_caching.cache.items as aws_items

    fake = type("FakeDatetime", (FakeDatetime,), {"clock": staticmethod(clock)})
    with (
        mock.patch.object(pt_base, "datetime", fake),
        mock.patch.object(aws_items, "datetime", fake),
    ):
        yield


def simulate_hour(read: Reader, name: str, advance: Callable[[float], None], rate: int) -> int:
    """One read per invocation, ``rate`` invocations per simulated second for an hour; returns
    how many reads were not the secret."""
    step = 1 / rate
    wrong = 0
    for _ in range(HOUR * rate):
        if read(name) != SECRET:
            wrong += 1
        advance(step)
    return wrong


def hour_case(subjects: Subjects, sizes: Sizes) -> tuple[list[Row], list[str]]:
    from aws_lambda_powertools.utilities.parameters import get_secret as pt_get_secret
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_MAX_AGE_SECS
    from aws_secretsmanager_caching import SecretCacheConfig

    from lambdakit.secrets import SecretCache
    from lambdakit.testing import FakeClock

    clocks = {lib: FakeClock(0.0) for lib in LIBRARIES}
    lk_cache = SecretCache(
        clock=clocks["lambdakit"], clients={"secretsmanager": subjects.clients["lambdakit"]}
    )
    readers: dict[str, Reader] = {
        "lambdakit": lk_cache.get_secret,
        "powertools": pt_get_secret,
        "aws-caching": subjects.aws_cache().get_secret_string,
    }
    counts: dict[str, int] = {}
    operations: dict[str, list[str]] = {}
    started = time.perf_counter()
    for lib in LIBRARIES:
        clock = clocks[lib]
        name = subjects.new_secret(f"hour-{lib}")
        with peer_clocks(clock), subjects.counters[lib].counting() as sent:
            wrong = simulate_hour(readers[lib], name, clock.advance, sizes.rate)
        check(not wrong, f"{lib}: {wrong} reads in the simulated hour were not the secret")
        counts[lib] = len(sent)
        operations[lib] = sent
    seconds = time.perf_counter() - started

    # What each default TTL implies for reads every 1/rate s from t=0 to t=3600.
    pt_ttl = int(DEFAULT_MAX_AGE_SECS)
    aws_ttl = SecretCacheConfig.OPTION_DEFAULTS["secret_refresh_interval"]
    lk_ttl, lk_jitter = lk_cache.max_age, lk_cache.jitter
    lk_low = -(-HOUR // int(lk_ttl))  # every refresh at the full TTL
    lk_high = -(-HOUR // int(lk_ttl * (1 - lk_jitter)))  # every refresh at the shortest
    pt_expected = -(-HOUR // (pt_ttl + 1 / sizes.rate))
    check(
        lk_low <= counts["lambdakit"] <= lk_high,
        f"lambdakit: {counts['lambdakit']} requests in the hour, expected {lk_low}-{lk_high}",
    )
    check(
        counts["powertools"] == pt_expected,
        f"powertools: {counts['powertools']} requests in the hour, expected {pt_expected}",
    )
    # DescribeSecret + GetSecretValue cold, then a DescribeSecret at each refresh, the first
    # after randint(1800, 3600) s: one refresh within the hour (none if that draw is 3600),
    # the next falls after it. The version does not change, so no second GetSecretValue.
    check(
        operations["aws-caching"][:2] == ["DescribeSecret", "GetSecretValue"]
        and set(operations["aws-caching"][2:]) <= {"DescribeSecret"}
        and 2 <= counts["aws-caching"] <= 3,
        f"aws-caching: {describe(operations['aws-caching'])} in the hour, expected "
        "DescribeSecret + GetSecretValue, then at most one DescribeSecret",
    )
    label = f"API calls, simulated hour at {sizes.rate}/s, default TTL"
    rows: list[Row] = [
        PeerRow(label, counts["lambdakit"], counts[peer], "req", None, peer=PEER_NAMES[peer])
        for peer in PEER_NAMES
    ]
    notes = [
        f"simulated hour: {HOUR * sizes.rate:,} reads per library on a fake clock "
        f"({seconds:.1f} s of real time for all three); requests: "
        + "; ".join(f"{lib} {describe(operations[lib])}" for lib in LIBRARIES),
        f"default TTLs: lambdakit max_age={lk_ttl:g} s less up to {lk_jitter:.0%} jitter "
        f"(so {lk_low}-{lk_high} fetches an hour); Powertools max_age={pt_ttl} s "
        f"(DEFAULT_MAX_AGE_SECS in {version('aws-lambda-powertools')}); "
        f"aws-secretsmanager-caching secret_refresh_interval={aws_ttl} s, each refresh after a "
        "random 1/2 to 1 of it (DescribeSecret; GetSecretValue only for a new version)",
        "peers' time: datetime in aws_lambda_powertools.utilities.parameters.base and "
        "aws_secretsmanager_caching.cache.items patched to read the fake clock (no sleeping)",
    ]
    return rows, notes


@contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode on a free loopback port, with dummy credentials and the endpoint in
    the environment before any client exists."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
            del os.environ[name]
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "LAMBDAKIT_SECRETS_BACKEND"):
            os.environ.pop(name, None)
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_REGION="us-east-1",
        )
        yield endpoint
    finally:
        server.stop()


def main() -> int:
    parser = arguments(
        __doc__, "fewer timed loops, one stampede, 10 invocations/s in the hour: a smoke test"
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL

    logging.disable(logging.CRITICAL)
    powertools_defaults()
    warnings.filterwarnings("ignore", module="aws_lambda_powertools")

    started = time.perf_counter()
    with moto_server() as endpoint:
        subjects = Subjects()
        hit_rows, hit_notes = hit_case(subjects, sizes)
        stampede_rows, stampede_notes = stampede_case(subjects, sizes)
        hour_rows, hour_notes = hour_case(subjects, sizes)
    rows = [*hit_rows, *stampede_rows, *hour_rows]

    print_header(
        f"aws-secretsmanager-caching {version('aws-secretsmanager-caching')}; "
        f"boto3 {version('boto3')}; moto {version('moto')} server at {endpoint} (same process)",
        "ratio: lambdakit / peer (lower is better); logging.disable(logging.CRITICAL) for all "
        "three" + (" [--quick]" if args.quick else ""),
    )
    print(render(rows, args.markdown, HEADER))
    print()
    for note in (*hit_notes, *stampede_notes, *hour_notes):
        print(f"- {note}" if args.markdown else note)
    print(f"(total {time.perf_counter() - started:.1f} s, moto server start included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
