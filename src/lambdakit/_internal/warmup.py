"""``lambdakit.warm_up``: do at init what would otherwise land in the first invocation.

A function's first invocation pays for what lambdakit creates lazily: importing boto3 (about
100 ms), creating clients, fetching secrets, connecting a Kafka producer (an idempotent
producer's first message waits for its producer id). Called at module level, ``warm_up``
does that work during Lambda's init phase instead, for a handler's whole decorator stack.

It never fails init: every dependency is warmed on its own thread, all at once, and
``warm_up`` returns when they are done or ``budget_s`` has passed, whichever comes first. A
dependency that failed, or was still working at the deadline, is left lazy (the first
invocation that needs it does the work, as without ``warm_up``) and named in one warning.
Work still running at the deadline cannot be interrupted: it carries on in the background,
and an invocation that needs it meanwhile waits for it (a secret's fetch) or does it again.

What it costs: since August 2025 Lambda bills the init phase of on-demand functions like the
invocation, so warming moves that time from the first request's latency to init, at about the
same price; it adds cost only for what an environment never uses, and, at worst, the budget
when a dependency is down (then every cold start waits for it, up to ``budget_s``).

Under SnapStart the init phase runs once, before the snapshot: connections made then are dead
in every restored environment and secrets may have rotated since, so ``warm_up`` registers an
after-restore hook that replaces lambdakit's boto3 clients and producer clients and warms
everything again, with the same budget (refreshing the secrets). Under provisioned concurrency
init runs before an environment's first request, so nothing else is needed.
"""

from __future__ import annotations

import sys
import time

from lambdakit._internal.logs import get_logger
from lambdakit._internal.reprs import describe_error
from lambdakit.errors import WarmUpConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

__all__ = ["WarmUpConfigurationError", "WarmUpReport", "WarmUpStep", "warm_up"]

LOGGER = "lambdakit.warm_up"
DEFAULT_BUDGET_S = 2.0

WARMED = "warmed"
FAILED = "failed"
TIMED_OUT = "timed out"
NOT_STARTED = "not started"
NOTHING = "nothing to warm"
_LEFT_LAZY = (FAILED, TIMED_OUT, NOT_STARTED)


class WarmUpStep:
    """One dependency: ``what`` it is (its repr: names, never values), its ``outcome``
    (``"warmed"``, ``"failed"``, ``"timed out"``, ``"not started"``, ``"nothing to warm"``),
    the ``seconds`` it took (until the deadline, if it did not finish) and ``why`` it was not
    warmed (empty when it was)."""

    __slots__ = ("outcome", "seconds", "what", "why")

    def __init__(self, what: str, outcome: str, seconds: float = 0.0, why: str = "") -> None:
        self.what = what
        self.outcome = outcome
        self.seconds = seconds
        self.why = why

    def __repr__(self) -> str:
        why = f", why={self.why!r}" if self.why else ""
        return f"WarmUpStep({self.what!r}, {self.outcome!r}, seconds={self.seconds:.3f}{why})"


class WarmUpReport:
    """What :func:`warm_up` did: one :class:`WarmUpStep` per dependency, in the order found,
    the ``seconds`` it took and the ``budget_s`` it had. ``str(report)`` is one line."""

    __slots__ = ("budget_s", "seconds", "steps")

    def __init__(self, steps: list[WarmUpStep], seconds: float, budget_s: float) -> None:
        self.steps = tuple(steps)
        self.seconds = seconds
        self.budget_s = budget_s

    @property
    def warmed(self) -> list[str]:
        """The dependencies warmed."""
        return [step.what for step in self.steps if step.outcome == WARMED]

    @property
    def skipped(self) -> dict[str, str]:
        """The dependencies left lazy, each with why (failed, timed out, not started)."""
        return {step.what: step.why for step in self.steps if step.outcome in _LEFT_LAZY}

    @property
    def complete(self) -> bool:
        """Whether nothing was left lazy."""
        return not self.skipped

    def __str__(self) -> str:
        text = (
            f"warm_up: {len(self.warmed)} warmed, {len(self.skipped)} left lazy in "
            f"{self.seconds:.3f} s of {self.budget_s:g} s"
        )
        if self.skipped:
            text += ": " + "; ".join(f"{what} ({why})" for what, why in self.skipped.items())
        return text

    def __repr__(self) -> str:
        return f"<WarmUpReport {self}>"


def warm_up(
    *targets: Any, budget_s: float = DEFAULT_BUDGET_S, kafka_topics: Iterable[str] = ()
) -> WarmUpReport:
    """Do now, at init, what the first invocation would otherwise do; at most ``budget_s``
    seconds, and never raising because a dependency is slow or down.

    ``targets``: decorated handlers (their lambdakit stack is walked: the store of
    ``@idempotent``, the secrets of ``@inject_secrets``, the producers of ``@flush_kafka``),
    or the objects themselves: a :class:`~lambdakit.kafka.Producer`, an idempotency store
    (one with a ``warm(timeout)`` method, as :class:`~lambdakit.idempotency.DynamoDBStore`
    has), a :class:`~lambdakit.secrets.SecretRef` / :class:`~lambdakit.secrets.ParameterRef`
    or a secret's name (prefetched into the default cache). A function the handler *calls*
    is not part of its stack: pass it too (``warm_up(handler, charge_order)``).

    For each: boto3 is imported and the client created (by one request: a store's GetItem, a
    secret's fetch, which also opens the connection), secrets are fetched into the cache the
    handler reads, producers connect and fetch metadata (of ``kafka_topics`` too, whose
    partitions and leaders are then known). Everything runs at once, on threads; whatever
    failed or was still running at the deadline is left lazy and named in one warning on the
    ``lambdakit.warm_up`` logger. Returns a :class:`WarmUpReport`.

    Raises :class:`WarmUpConfigurationError` only for arguments that can never work (a target
    it cannot warm, a budget that is not a number of seconds >= 0).
    """
    budget = _budget(budget_s)
    # Read once: a generator checked and then read again would give no topics the second time.
    topics = () if isinstance(kafka_topics, str) else tuple(kafka_topics)
    if isinstance(kafka_topics, str) or not all(isinstance(t, str) for t in topics):
        raise WarmUpConfigurationError(
            f"kafka_topics={kafka_topics!r}: expected a list of topic names"
        )
    plan = _Plan(topics)
    for target in targets:
        plan.add(target)
    report = plan.run(budget)
    if plan.tasks:
        from lambdakit._internal.snapstart import after_restore

        def rewarm() -> None:
            plan.run(budget, restoring=True)

        after_restore(rewarm)
    return report


def _budget(budget_s: Any) -> float:
    if (
        isinstance(budget_s, bool)
        or not isinstance(budget_s, (int, float))
        or not budget_s >= 0  # NaN too
        or budget_s == float("inf")
    ):
        raise WarmUpConfigurationError(
            f"budget_s={budget_s!r}: expected a number of seconds >= 0 (init has 10 s in all)"
        )
    return float(budget_s)


class _Task:
    """One dependency to warm: ``warm(seconds_left)`` raises when it cannot; ``boto3`` says it
    needs boto3 imported first; ``forget()`` drops what a SnapStart snapshot made stale."""

    __slots__ = ("boto3", "forget", "warm", "what")

    def __init__(
        self,
        what: str,
        warm: Callable[[float], object],
        *,
        boto3: bool,
        forget: Callable[[], None] | None = None,
    ) -> None:
        self.what = what
        self.warm = warm
        self.boto3 = boto3
        self.forget = forget


class _Plan:
    """The dependencies found in ``warm_up``'s targets, each once, in the order found."""

    def __init__(self, kafka_topics: tuple[str, ...]) -> None:
        self.kafka_topics = kafka_topics
        self.tasks: list[_Task] = []
        self._seen: set[tuple[int, str]] = set()
        self._order: list[_Task | str] = []

    def _once(self, owner: object, what: str) -> bool:
        key = (id(owner), what)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def add(self, target: Any) -> None:
        producer_type = _loaded("lambdakit.kafka._producer", "Producer")
        if producer_type is not None and isinstance(target, producer_type):
            self._producer(target)
            return
        inject = _loaded("lambdakit.secrets._inject", None)
        if isinstance(target, str) or (
            inject is not None and isinstance(target, (inject.SecretRef, inject.ParameterRef))
        ):
            from lambdakit.secrets import default_cache
            from lambdakit.secrets._inject import as_ref

            self._secret(default_cache(), as_ref(target, "warm_up"), None)
            return
        cache_type = _loaded("lambdakit.secrets._cache", "SecretCache")
        if cache_type is not None and isinstance(target, cache_type):
            raise WarmUpConfigurationError(
                f"warm_up({target!r}): a cache holds nothing to prefetch until told what; pass "
                "the secrets (names, SecretRef, ParameterRef) or the handler decorated with "
                "@inject_secrets(cache=...)"
            )
        if callable(getattr(target, "warm", None)):
            self._object(target)
        elif _is_store(target):
            if self._once(target, "store"):  # InMemoryStore: no client, no connection
                self._nothing(repr(target))
        elif callable(target):
            self._handler(target)
        else:
            raise WarmUpConfigurationError(
                f"warm_up({target!r}): expected a decorated handler, a Producer, an idempotency "
                "store, a SecretRef/ParameterRef or a secret's name"
            )

    def _handler(self, handler: Callable[..., Any]) -> None:
        from lambdakit._internal.signature import describe, wrapping_chain
        from lambdakit._internal.stacking import stack_of

        inject = _loaded("lambdakit.secrets._inject", None)  # no @inject_secrets without it
        found = False
        for link in wrapping_chain(handler):
            # Each decorator keeps its object on the function it returns, and functools-style
            # wrapping copies it onto every wrapper above: the same object, added once.
            store = getattr(getattr(link, "idempotency", None), "store", None)
            if store is not None and _is_store(store):
                found = True
                self.add(store)
            injection = getattr(link, inject.INJECTION, None) if inject else None
            if injection is not None:
                found = True
                cache = injection.cache()
                for ref in injection.refs.values():
                    self._secret(cache, ref, injection.max_age)
        for name, key in stack_of(handler):
            if name.startswith("flush_kafka"):
                found = True
                self.add(key)
        if not found and self._once(handler, "handler"):
            self._nothing(describe(handler))

    def _nothing(self, what: str) -> None:
        self._order.append(what)

    def _producer(self, producer: Any) -> None:
        if not self._once(producer, "producer"):
            return
        topics = self.kafka_topics
        self._add(
            _Task(
                producer.describe(),
                lambda left: producer.warm(left, topics),
                # An MSK IAM token is signed with botocore's credentials.
                boto3=producer._credentials is not None,
                forget=producer.reset,
            )
        )

    def _secret(self, cache: Any, ref: Any, max_age: float | None) -> None:
        if not self._once(cache, repr(ref)):
            return
        from lambdakit.secrets._backend import Boto3Backend

        try:
            boto3 = isinstance(cache.backend, Boto3Backend)
        except Exception:  # a backend that cannot be made: the fetch reports it
            boto3 = False
        self._add(
            _Task(
                repr(ref),
                lambda left: cache.warm(ref, max_age=max_age),
                boto3=boto3,
                forget=lambda: cache.refresh(ref.name),  # the next read fetches it again
            )
        )

    def _object(self, target: Any) -> None:
        if not self._once(target, "object"):
            return
        dynamodb = _loaded("lambdakit.idempotency._dynamodb", "DynamoDBStore")
        # lambdakit's DynamoDBStore creates its client through boto3 unless it was given one.
        boto3 = dynamodb is not None and isinstance(target, dynamodb) and target._client is None
        self._add(_Task(repr(target), target.warm, boto3=boto3))

    def _add(self, task: _Task) -> None:
        self.tasks.append(task)
        self._order.append(task)

    # --- running ------------------------------------------------------------------------------

    def run(self, budget: float, restoring: bool = False) -> WarmUpReport:
        """Warm every task at once; return at the budget's end at the latest."""
        started = time.monotonic()
        deadline = started + budget
        if restoring:
            _forget(self.tasks)
        runs = {id(task): _Run(task) for task in self.tasks}
        importing = _Run(_Task("import boto3", _import_boto3, boto3=False))
        if any(task.boto3 for task in self.tasks):
            importing.start(deadline)
        for run in runs.values():
            run.start(deadline, after=importing if run.task.boto3 else None)
        for run in [importing, *runs.values()]:
            run.join(deadline)
        steps = [importing.step(budget)] if importing.state != _PENDING else []
        for entry in self._order:
            if isinstance(entry, _Task):
                steps.append(runs[id(entry)].step(budget))
            else:
                steps.append(WarmUpStep(entry, NOTHING))
        report = WarmUpReport(steps, time.monotonic() - started, budget)
        logger = get_logger(LOGGER)
        if report.skipped:
            logger.warning(
                "warm_up%s: left lazy (the first invocation that needs it does the work): %s",
                " after the SnapStart restore" if restoring else "",
                "; ".join(f"{what} ({why})" for what, why in report.skipped.items()),
            )
        elif logger.isEnabledFor(20):  # INFO
            logger.info("%s", report)
        return report


def _forget(tasks: list[_Task]) -> None:
    """After a SnapStart restore: lambdakit's boto3 clients hold connections made before the
    snapshot, producers' clients too, and cached secrets may have rotated since."""
    if any(task.boto3 for task in tasks) or "lambdakit._internal.clients" in sys.modules:
        from lambdakit._internal.clients import reset_clients

        reset_clients()
    for task in tasks:
        if task.forget is not None:
            try:
                task.forget()
            except Exception as exc:  # the rest is still forgotten; warming reports the rest
                get_logger(LOGGER).warning("warm_up: after the restore, %s: %r", task.what, exc)


_PENDING = "pending"  # not started: no budget left
_WAITING = "waiting"  # for boto3's import
_RUNNING = "running"
_DONE = "done"


class _Run:
    """One task on its own daemon thread (a hung dependency must not keep the process alive)."""

    __slots__ = ("after", "began", "ended", "error", "state", "task", "thread")

    def __init__(self, task: _Task) -> None:
        self.task = task
        self.state = _PENDING
        self.thread: Any = None
        self.after: _Run | None = None
        self.began = 0.0
        self.ended = 0.0
        self.error: BaseException | None = None

    def start(self, deadline: float, after: _Run | None = None) -> None:
        if time.monotonic() >= deadline:
            return
        import threading

        self.after = after
        self.state = _WAITING if after is not None else _RUNNING
        self.began = time.monotonic()
        self.thread = threading.Thread(
            target=self._main, args=(deadline,), name="lambdakit-warm-up", daemon=True
        )
        self.thread.start()

    def _main(self, deadline: float) -> None:
        after = self.after
        if after is not None:
            after.join(deadline)
            if after.state != _DONE or after.error is not None:
                return  # boto3 is not there (yet): not started
            self.began = time.monotonic()
            self.state = _RUNNING
        try:
            self.task.warm(max(0.0, deadline - self.began))
        except BaseException as exc:  # reported, never raised: init must not fail
            self.error = exc
        finally:
            self.ended = time.monotonic()
            self.state = _DONE

    def join(self, deadline: float) -> None:
        if self.thread is not None:
            self.thread.join(max(0.0, deadline - time.monotonic()))

    def step(self, budget: float) -> WarmUpStep:
        what, state = self.task.what, self.state
        if state == _PENDING:
            return WarmUpStep(what, NOT_STARTED, 0.0, f"no budget left (budget_s={budget:g})")
        if state == _WAITING:
            after = self.after
            why = f"boto3 was still being imported at the deadline (budget_s={budget:g})"
            if after is not None and after.error is not None:
                why = f"boto3 could not be imported: {describe_error(after.error)}"
            return WarmUpStep(what, NOT_STARTED, 0.0, why)
        if state == _RUNNING:
            seconds = time.monotonic() - self.began
            why = f"still running at the deadline (budget_s={budget:g})"
            return WarmUpStep(what, TIMED_OUT, seconds, why)
        seconds = self.ended - self.began
        if self.error is not None:
            return WarmUpStep(what, FAILED, seconds, describe_error(self.error))
        return WarmUpStep(what, WARMED, seconds)


def _import_boto3(left: float) -> None:
    import boto3.session  # noqa: F401  (what lambdakit's clients import first)
    from botocore.config import Config  # noqa: F401


def _loaded(module: str, name: str | None) -> Any:
    """``module.name`` (or the module) if that module was imported: a target cannot be an
    instance of a class whose module nobody imported, so checking costs no import."""
    found = sys.modules.get(module)
    if found is None or name is None:
        return found
    return getattr(found, name, None)


def _is_store(target: object) -> bool:
    return all(callable(getattr(target, m, None)) for m in ("acquire", "complete", "release"))
