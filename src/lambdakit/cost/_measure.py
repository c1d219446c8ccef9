"""Measuring what a handler costs, so that the planner's inputs are the user's own numbers and
not the guesses aws-lambda-sqs-cost-estimator asks for (``lambdakit cost measure``).

The handler is invoked, on this machine, with SQS events of several batch sizes built from a
sample of the user's records, and a line is fitted through the results: a fixed part per
invocation plus a part per record. CPU time (``time.process_time``) and elapsed time
(``time.perf_counter``) are fitted apart, because Lambda scales them differently: CPU time
stretches below one vCPU, waiting does not (see :class:`~lambdakit.cost.HandlerProfile`).
Memory per record is the slope of the peak memory an invocation allocates (``tracemalloc``),
measured in a pass of its own because tracing every allocation slows the handler down.
INIT is measured apart too, in a fresh interpreter (:func:`measure_init`), since the handler's
module is already imported here. A run of the event source mapping model
(:class:`~lambdakit.testing.esm.Summary`) feeds the same fit (:func:`fit_summary`).

The fitted line is constrained to what a handler can cost: a least-squares line whose
intercept and slope are both at least zero (a negative overhead is noise, not a refund), with
the residuals and R² of that line, so a reader sees how well it describes the points.

Nothing here runs in a Lambda function; the standard-library modules it needs are still
imported where they are used, so that ``import lambdakit.cost`` stays cheap.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lambdakit.cost._results import Measurement
from lambdakit.cost._types import (
    MAX_BATCH_SIZE,
    MAX_SQS_MESSAGE_BYTES,
    HandlerProfile,
    check_integer,
    check_number,
)
from lambdakit.errors import CostInputError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from lambdakit.testing.esm import Summary

Point = tuple[int, float, float, float]
"""``(batch size, CPU ms, wall ms, peak traced MB)`` of one invocation (or a median)."""

DEFAULT_BATCH_SIZES = (1, 2, 5, 10, 20, 50)
_MIB = 1024 * 1024  # Lambda's "MB" of memory are mebibytes
_INIT_TIMEOUT_S = 120.0  # a fresh interpreter importing the handler; INIT itself stops at 10 s


@dataclass(frozen=True)
class InitCost:
    """What importing the handler's module costs in a fresh interpreter: ``ms`` to import it
    (the median of the runs, bytecode already compiled, as on Lambda) and ``rss_mb``, the
    process's resident memory afterwards (interpreter, imports, module-level clients), in MiB.

    ``rss_mb`` is read from ``/proc/self/statm`` (Linux, as on Lambda). Not the peak that
    ``getrusage`` reports: on Linux a child's ``ru_maxrss`` keeps the high-water mark of the
    process it was forked from, so it would report the caller's memory (``getrusage`` is the
    fallback elsewhere; 0 where neither exists, on Windows). They give
    :attr:`HandlerProfile.init_ms` and the start of :attr:`HandlerProfile.base_memory_mb`."""

    ms: float
    rss_mb: float


@dataclass(frozen=True)
class _Line:
    """``y = intercept + slope * x`` and how well it fits."""

    intercept: float
    slope: float
    residuals: tuple[float, ...]
    r_squared: float


# --- fitting --------------------------------------------------------------------------------


def fit(points: Iterable[Point], *, handler: str = "") -> Measurement:
    """Fit a handler profile through ``points``, ``(batch size, CPU ms, wall ms, peak MB)``
    per invocation (or per batch size, medians), in any order, batch sizes repeated or not.

    CPU ms = a + b·n gives ``overhead_cpu_ms`` (a) and ``cpu_ms_per_record`` (b); wall ms =
    a' + b'·n gives the waiting, ``overhead_io_ms`` = a' - a and ``io_ms_per_record`` = b' - b
    (at least 0: a handler with threads can spend more CPU than wall time); peak MB = m + k·n
    gives ``mb_per_record`` (k) and ``base_memory_mb`` (m, what an invocation allocates
    whatever its size; :func:`measure_profile` adds the process's memory after import). Each
    line is the least-squares line with a non-negative intercept and slope; ``residuals_ms``
    and ``r_squared`` are the CPU line's. At least two different batch sizes are needed to
    tell the per-record part from the fixed one."""
    return _fit(points, handler)


def _fit(
    points: Iterable[Point], handler: str, note: str = "", field: str = "points"
) -> Measurement:
    checked = _checked_points(points)
    sizes = len({point[0] for point in checked})
    if sizes < 2:
        raise CostInputError(
            "needs at least two different batch sizes to tell the cost per record from the "
            f"cost per invocation, got {sizes}",
            field=field,
        )
    xs = [float(point[0]) for point in checked]
    cpu = _line(xs, [point[1] for point in checked])
    wall = _line(xs, [point[2] for point in checked])
    memory = _line(xs, [point[3] for point in checked])
    named = f"{handler}, " if handler else ""
    profile = HandlerProfile(
        overhead_cpu_ms=cpu.intercept,
        cpu_ms_per_record=cpu.slope,
        overhead_io_ms=max(0.0, wall.intercept - cpu.intercept),
        io_ms_per_record=max(0.0, wall.slope - cpu.slope),
        base_memory_mb=memory.intercept,
        mb_per_record=memory.slope,
        source=f"measured: {named}{sizes} batch sizes{note}",
    )
    return Measurement(
        handler=handler,
        points=checked,
        profile=profile,
        residuals_ms=cpu.residuals,
        r_squared=cpu.r_squared,
    )


def _checked_points(points: Iterable[Point]) -> tuple[Point, ...]:
    checked: list[Point] = []
    for index, point in enumerate(points):
        where = f"points[{index}]"
        if not isinstance(point, (tuple, list)) or len(point) != 4:
            raise CostInputError(
                f"expected (batch size, CPU ms, wall ms, peak MB), got {point!r}", field=where
            )
        size, cpu_ms, wall_ms, peak_mb = point
        check_integer(size, f"{where}.batch_size", low=1)
        check_number(cpu_ms, f"{where}.cpu_ms", low=0)
        check_number(wall_ms, f"{where}.wall_ms", low=0)
        check_number(peak_mb, f"{where}.peak_mb", low=0)
        checked.append((size, float(cpu_ms), float(wall_ms), float(peak_mb)))
    return tuple(checked)


def _line(xs: Sequence[float], ys: Sequence[float]) -> _Line:
    """The least-squares line through ``(xs, ys)`` with intercept >= 0 and slope >= 0.

    The squared error is convex in (intercept, slope), so when the unconstrained optimum
    (ordinary least squares) breaks a bound, the constrained one lies on that bound: the best
    line through the origin (slope Σxy/Σx²), or the best flat line (the mean), or zero. The
    one of those with the least squared error is the answer. ``xs`` hold two values at least.
    """
    count = len(xs)
    mean_x, mean_y = sum(xs) / count, sum(ys) / count
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    if intercept < 0 or slope < 0:
        through_origin = max(
            0.0, sum(x * y for x, y in zip(xs, ys, strict=True)) / sum(x * x for x in xs)
        )
        candidates = [(0.0, through_origin), (max(0.0, mean_y), 0.0), (0.0, 0.0)]
        intercept, slope = min(candidates, key=lambda line: _squared_error(xs, ys, *line))
    residuals = tuple(y - (intercept + slope * x) for x, y in zip(xs, ys, strict=True))
    total = sum((y - mean_y) ** 2 for y in ys)
    error = sum(r * r for r in residuals)
    # Points that do not vary are fitted exactly by the flat line through them.
    r_squared = 1.0 - error / total if total > 0 else 1.0
    return _Line(intercept, slope, residuals, r_squared)


def _squared_error(xs: Sequence[float], ys: Sequence[float], a: float, b: float) -> float:
    return sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys, strict=True))


def fit_summary(summary: Summary) -> Measurement:
    """Fit a handler profile from a run of :class:`~lambdakit.testing.esm.EventSourceMapping`.

    The records of each invocation are counted from ``summary.history`` (every delivery names
    its invocation; records the filter dropped never reached the handler and are not counted)
    and paired with that invocation's ``cpu_seconds`` and ``wall_seconds`` (the summary keeps
    one of each per invocation, in order; a summary without wall times counts none as
    waiting). Invocations of the same size give one point, their medians. Memory is not
    traced by the model: the memory terms are 0. Every invocation counts, failed ones too; a
    handler that waits on the mapping's :class:`~lambdakit.testing.FakeClock` spends no real
    time, so that waiting does not show as I/O."""
    from lambdakit.testing.esm._summary import NOT_DELIVERIES

    cpu = list(summary.cpu_seconds)
    wall = list(summary.wall_seconds) or cpu
    if not cpu:
        raise CostInputError("no invocations to fit", field="summary")
    if len(wall) != len(cpu):
        raise CostInputError(
            f"{len(cpu)} cpu_seconds but {len(wall)} wall_seconds; one of each per invocation",
            field="summary",
        )
    sizes = [0] * len(cpu)
    for key, deliveries in summary.history.items():
        for delivery in deliveries:
            if delivery.outcome in NOT_DELIVERIES:
                continue
            if not 1 <= delivery.invocation <= len(cpu):
                raise CostInputError(
                    f"history[{key!r}] names invocation {delivery.invocation}, but "
                    f"cpu_seconds has {len(cpu)}",
                    field="summary",
                )
            sizes[delivery.invocation - 1] += 1
    for number, size in enumerate(sizes, 1):
        if not size:
            raise CostInputError(
                f"invocation {number} has CPU time but no record in history", field="summary"
            )
    by_size: dict[int, list[tuple[float, float]]] = {}
    for size, cpu_s, wall_s in zip(sizes, cpu, wall, strict=True):
        by_size.setdefault(size, []).append((cpu_s * 1000, wall_s * 1000))
    return _fit(_medians(by_size, {}), "esm summary", field="summary")


def _medians(
    timings: dict[int, list[tuple[float, float]]], peaks: dict[int, list[float]]
) -> list[Point]:
    """One point per batch size, ascending: the median CPU and wall ms, and peak MB (0 when
    not traced). The one place measurements become points, for :func:`measure` and
    :func:`fit_summary`."""
    from statistics import median

    return [
        (
            size,
            median(cpu for cpu, _ in timings[size]),
            median(wall for _, wall in timings[size]),
            median(peaks[size]) if peaks.get(size) else 0.0,
        )
        for size in sorted(timings)
    ]


# --- measuring ------------------------------------------------------------------------------


def measure(
    handler: Callable[..., Any],
    records: Sequence[dict[str, Any]],
    *,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    repeats: int = 5,
    source: str = "sqs",
) -> Measurement:
    """Invoke ``handler(event, context)`` with SQS events of each of ``batch_sizes`` records
    and :func:`fit` a profile through the medians.

    Each event is built from ``records`` (cycled when the sample is shorter than the batch;
    every record of every invocation gets a new ``messageId``, as new messages carry, so a
    handler deduplicating on the id does real work each time) with a
    :class:`~lambdakit.testing.LambdaContext` far from its deadline. Per batch size: one
    warm-up invocation (first-call caches, lazy imports), then ``repeats`` timed ones (CPU and
    wall ms), and in a separate pass ``repeats`` traced ones (peak MB allocated during the
    invocation). A handler that raises is refused, naming the batch size: a profile of
    failures is not the handler's. Records it reports failed (``batchItemFailures``) are
    allowed and counted in the profile's ``source``."""
    return _measure(handler, records, _name_of(handler), batch_sizes, repeats, source)


def _measure(
    handler: Callable[..., Any],
    records: Sequence[dict[str, Any]],
    name: str,
    batch_sizes: Sequence[int],
    repeats: int,
    source: str,
) -> Measurement:
    import gc
    import time

    if source != "sqs":
        raise CostInputError(f"only 'sqs' events can be built, got {source!r}", field="source")
    if not records:
        raise CostInputError("needs at least one record to build batches from", field="records")
    for index, size in enumerate(batch_sizes):
        check_integer(size, f"batch_sizes[{index}]", low=1, high=MAX_BATCH_SIZE)
    check_integer(repeats, "repeats", low=1)
    sizes = sorted(set(batch_sizes))
    if len(sizes) < 2:
        raise CostInputError(
            f"needs at least two different batch sizes to fit a line, got {len(sizes)}",
            field="batch_sizes",
        )
    timings: dict[int, list[tuple[float, float]]] = {}
    reported = invoked = 0
    for size in sizes:
        gc.collect()  # start each size without the previous size's garbage
        _invoke(handler, name, _event(records, size), size, _context())  # warm-up
        timings[size] = []
        for _ in range(repeats):
            event, context = _event(records, size), _context()
            cpu, wall = time.process_time(), time.perf_counter()
            response = _invoke(handler, name, event, size, context)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            timings[size].append((cpu * 1000, wall * 1000))
            reported += _reported_failures(response, size)
            invoked += size
    note = (
        f"; the handler reported {reported} of {invoked} records failed (batchItemFailures)"
        if reported
        else ""
    )
    return _fit(_medians(timings, _peaks(handler, name, records, sizes, repeats)), name, note)


def _peaks(
    handler: Callable[..., Any],
    name: str,
    records: Sequence[dict[str, Any]],
    sizes: Sequence[int],
    repeats: int,
) -> dict[int, list[float]]:
    """Peak MB allocated during each invocation, above what was allocated before it."""
    import tracemalloc

    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        peaks: dict[int, list[float]] = {}
        for size in sizes:
            peaks[size] = []
            for _ in range(repeats):
                event, context = _event(records, size), _context()
                tracemalloc.reset_peak()
                before = tracemalloc.get_traced_memory()[0]
                _invoke(handler, name, event, size, context)
                peak = tracemalloc.get_traced_memory()[1]
                peaks[size].append(max(0, peak - before) / _MIB)
        return peaks
    finally:
        if started:
            tracemalloc.stop()


def _invoke(
    handler: Callable[..., Any],
    name: str,
    event: dict[str, Any],
    size: int,
    context: Any,
) -> Any:
    """One invocation (``async def`` handlers run to completion); a handler that raises is
    refused with the batch size it failed at."""
    try:
        response = handler(event, context)
        if hasattr(response, "__await__"):
            import asyncio

            from lambdakit.testing.esm._invoke import awaited

            response = asyncio.run(awaited(response))
    except Exception as exc:  # the user's handler: anything it raises ends the measurement
        raise CostInputError(
            f"{name} raised {type(exc).__name__}: {exc} at batch size {size}; measure a "
            "handler on records it processes (a measurement of failures is not a profile)",
            field="handler",
        ) from exc
    return response


def _event(records: Sequence[dict[str, Any]], size: int) -> dict[str, Any]:
    """An SQS event of ``size`` records cycled from ``records``, each a copy with a new
    ``messageId`` (built before the timers start: it is the model's work, not the handler's)."""
    import copy
    import uuid

    batch = []
    for index in range(size):
        record = copy.deepcopy(records[index % len(records)])
        if "messageId" in record:
            record["messageId"] = str(uuid.uuid4())
        batch.append(record)
    return {"Records": batch}


def _context() -> Any:
    from lambdakit.testing.context import LambdaContext

    return LambdaContext()  # 900 s, Lambda's maximum: no deadline cuts a measurement short


def _reported_failures(response: Any, size: int) -> int:
    """How many records a partial batch response reports failed (0 for any other response)."""
    if isinstance(response, dict):
        failures = response.get("batchItemFailures")
        if isinstance(failures, list):
            return min(len(failures), size)
    return 0


def _name_of(handler: Callable[..., Any]) -> str:
    """``module:qualname`` of a handler, as a spec names it."""
    qualname = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    module = getattr(handler, "__module__", None)
    return f"{module}:{qualname}" if module else str(qualname)


# --- the sample and the handler, as the CLI names them --------------------------------------


def load_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The sample of ``--events sample.jsonl``: one JSON value per line, blank lines skipped.

    A line holding a full SQS record (an object with ``messageId`` and ``body``) is used as it
    is; any other line is a message body (a string as it is, anything else encoded as JSON),
    wrapped into an SQS record by :func:`lambdakit.testing.sqs_event`. A line that is not
    JSON, a body SQS would refuse or a file without records is refused, naming the file and
    line."""
    from pathlib import Path

    from lambdakit.testing.builders.sqs import sqs_event

    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise CostInputError(f"cannot read the sample: {exc.strerror}", source=source) from None
    except UnicodeDecodeError as exc:
        raise CostInputError(f"not UTF-8 text ({exc.reason})", source=source) from None
    import json

    loaded: list[tuple[int, dict[str, Any] | None]] = []  # (line, full record or None)
    bodies: list[Any] = []  # what the other lines hold, in order
    # split("\n"), not splitlines(): a JSON string may hold U+2028 and other line breaks.
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CostInputError(
                f"not valid JSON ({exc.msg} at column {exc.colno})", source=source, line=number
            ) from None
        if isinstance(value, dict) and "messageId" in value and "body" in value:
            for key in ("messageId", "body"):
                if not isinstance(value[key], str):
                    raise CostInputError(
                        f"must be a string, got {type(value[key]).__name__}",
                        field=key,
                        source=source,
                        line=number,
                    )
            loaded.append((number, value))
        else:
            loaded.append((number, None))
            bodies.append(value)
    if not loaded:
        raise CostInputError(
            "no records (one JSON value per line: a message body, or a full SQS record)",
            source=source,
        )
    built = iter(sqs_event(bodies)["Records"] if bodies else [])
    records: list[dict[str, Any]] = []
    for number, full in loaded:
        record = full if full is not None else next(built)
        size = len(record["body"].encode())
        if not 1 <= size <= MAX_SQS_MESSAGE_BYTES:
            raise CostInputError(
                f"SQS takes 1 byte to 1 MiB, got {size} bytes",
                field="body",
                source=source,
                line=number,
            )
        records.append(record)
    return records


def resolve_handler(spec: str) -> Callable[..., Any]:
    """The handler ``spec`` names, ``module:function`` (``function`` may be dotted,
    ``app:Handler.handle``), imported with the current directory on ``sys.path`` (where a user
    runs ``lambdakit cost measure`` next to their code, which the console script's path
    would not include). Anything that stops it is a :class:`CostInputError` naming the spec."""
    import importlib

    module_name, attribute = _split_spec(spec)
    sys.path[:] = _import_path()
    try:
        target: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == module_name or module_name.startswith(missing + "."):
            raise CostInputError(
                f"{spec!r}: no module named {missing!r} (looked in {os.getcwd()} and on sys.path)",
                field="handler",
            ) from None
        raise CostInputError(
            f"{spec!r}: importing {module_name!r} failed: {exc}", field="handler"
        ) from exc
    except Exception as exc:  # the user's module: whatever its import raises
        raise CostInputError(
            f"{spec!r}: importing {module_name!r} raised {type(exc).__name__}: {exc}",
            field="handler",
        ) from exc
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise CostInputError(
                f"{spec!r}: {module_name!r} has no attribute {attribute!r}", field="handler"
            ) from None
    if not callable(target):
        raise CostInputError(
            f"{spec!r}: {attribute} is not callable (type {type(target).__name__}); name a "
            "function taking (event, context)",
            field="handler",
        )
    return target  # type: ignore[no-any-return]


def _import_path() -> list[str]:
    """``sys.path`` with the current directory in front unless it is there already: where the
    handler is imported from, here (:func:`resolve_handler`) and in a fresh interpreter
    (:func:`measure_init`)."""
    here = os.getcwd()
    if "" in sys.path or here in sys.path:
        return list(sys.path)
    return [here, *sys.path]


def _split_spec(spec: str) -> tuple[str, str]:
    module_name, _, attribute = spec.partition(":")
    if not (_dotted(module_name) and _dotted(attribute)):
        raise CostInputError(
            f"{spec!r}: expected module:function, e.g. app:handler", field="handler"
        )
    return module_name, attribute


def _dotted(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


# --- INIT -----------------------------------------------------------------------------------

# Run in a fresh interpreter: import the module with the caller's sys.path, report on a copy of
# the original stdout (what the module prints goes to stderr, so it cannot garble the report).
_INIT_SCRIPT = """\
import json, os, sys, time
sys.path[:] = json.loads(sys.argv[1])
report = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr
import importlib
started = time.perf_counter()
importlib.import_module(sys.argv[2])
ms = (time.perf_counter() - started) * 1000
try:
    with open("/proc/self/statm") as statm:
        rss_mb = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1048576
except OSError:
    try:
        import resource
    except ImportError:
        rss_mb = 0.0
    else:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rss_mb = rss / (1048576 if sys.platform == "darwin" else 1024)
report.write(json.dumps({"ms": ms, "rss_mb": rss_mb}))
report.flush()
"""


def measure_init(module_name: str, *, runs: int = 3) -> InitCost:
    """What importing ``module_name`` costs in a fresh interpreter (``sys.executable``, this
    process's ``sys.path``, environment and current directory): the median over ``runs`` of
    the import's milliseconds and of the resident memory afterwards. A first, unmeasured
    run compiles the bytecode, as a deployment package ships it."""
    import json
    import subprocess
    from statistics import median

    if not _dotted(module_name):
        raise CostInputError(
            f"{module_name!r}: expected a module name (dotted identifiers)", field="handler"
        )
    check_integer(runs, "runs", low=1)
    command = [sys.executable, "-c", _INIT_SCRIPT, json.dumps(_import_path()), module_name]
    results: list[InitCost] = []
    for _ in range(runs + 1):
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=_INIT_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise CostInputError(
                f"{module_name!r}: importing it took over {_INIT_TIMEOUT_S:g} s",
                field="handler",
            ) from None
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            raise CostInputError(
                f"{module_name!r}: importing it in a fresh interpreter failed: "
                f"{lines[-1] if lines else f'exit status {done.returncode}'}",
                field="handler",
            )
        report = json.loads(done.stdout)
        results.append(InitCost(float(report["ms"]), float(report["rss_mb"])))
    measured = results[1:]
    return InitCost(median(cost.ms for cost in measured), median(cost.rss_mb for cost in measured))


def measure_profile(
    spec: str,
    records_path: str | os.PathLike[str],
    *,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    repeats: int = 5,
    init_runs: int = 3,
) -> Measurement:
    """``lambdakit cost measure SPEC --events RECORDS_PATH``: resolve the handler, load the
    sample, :func:`measure` it, and complete the profile with :func:`measure_init`:
    ``init_ms`` is the import's time and ``base_memory_mb`` the process's memory after import
    plus the fitted memory an invocation allocates whatever its size."""
    handler = resolve_handler(spec)
    records = load_records(records_path)
    measurement = _measure(handler, records, spec, batch_sizes, repeats, "sqs")
    init = measure_init(_split_spec(spec)[0], runs=init_runs)
    profile = measurement.profile
    return replace(
        measurement,
        profile=replace(
            profile,
            init_ms=init.ms,
            base_memory_mb=init.rss_mb + profile.base_memory_mb,
        ),
    )
