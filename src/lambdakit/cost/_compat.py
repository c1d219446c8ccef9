"""``lambdakit cost compat``: AWS's aws-lambda-sqs-cost-estimator, reproduced to the cent.

The estimator (https://github.com/aws-samples/aws-lambda-sqs-cost-estimator,
``code/LambdaPlotly.py``, from the AWS post "Estimating cost for Amazon SQS message processing
using AWS Lambda") reads six integers from an ``input.prop`` file and prices every (batch size,
messages per day) pair of its two grids. Users who have its input files, or its charts in a
design document, can check them here and then move to :func:`lambdakit.cost.plan`, which models
what the estimator leaves out. So this module keeps the estimator's conventions exactly, even
where the planner differs:

- a month is 30.41 days;
- memory is the first size >= the request on a grid from the base memory to 4,096 MB in 128 MB
  steps (the last grid size when the request is above it; Lambda now allows up to 10,240 MB);
  the request is ``base + overhead x int(batch_size / batch_increment)``;
- duration is ``warm_latency_ms + process_per_message_ms x batch_size``: no INIT, no memory->CPU
  scaling, no batching window;
- its prices (us-east-1 when it was written; they still hold for the first GB-s tier), with no
  GB-s tiers (its largest row is far below the first tier's 6 billion GB-s);
- the free tier (400,000 GB-s and 1M requests) taken off every row on its own, as if each
  (batch size, volume) were the only function of the account;
- no SQS charges at all.

Its ``load_properties`` is forgiving in ways that hide mistakes: a misspelt key is ignored (and
the real one then fails with a bare ``KeyError``), a key given twice keeps its last value, a line
without ``=`` or with a non-integer value fails with a traceback, and a ``batch_increment`` of 0
or a base memory above 4,096 MB crash later. :func:`read_input_prop` reads the same format the
same way but refuses each of those with a :class:`~lambdakit.errors.CostInputError` naming the
file, the line and the key (``input.prop:6: batch_increment: must be at least 1, got 0``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from lambdakit.cost._types import MAX_BATCH_SIZE, MIN_MEMORY_MB, check_integer
from lambdakit.errors import CostInputError

if TYPE_CHECKING:
    import os

__all__ = [
    "BATCH_GRID",
    "COMPUTE_USD_PER_GB_SECOND_ARM64",
    "COMPUTE_USD_PER_GB_SECOND_X86",
    "DAYS_IN_MONTH",
    "FREE_GB_SECONDS",
    "FREE_REQUESTS",
    "MAX_MEMORY_MB",
    "MEMORY_STEP_MB",
    "REQUEST_USD",
    "TABLE_MESSAGES_PER_DAY",
    "VOLUME_GRID_MILLIONS",
    "CompatInput",
    "CompatRow",
    "batch_grid",
    "compat_rows",
    "memory_grid",
    "read_input_prop",
    "rows_at",
]

# The estimator's constants, with its names in comments (code/LambdaPlotly.py).
DAYS_IN_MONTH = 30.41  # DAYS_IN_MONTH: "Avg days in Month"
MAX_MEMORY_MB = 4_096  # MAX_LAMBDA_MEMORY: the memory grid's end
MEMORY_STEP_MB = 128  # memory_increments: the memory grid's step
COMPUTE_USD_PER_GB_SECOND_X86 = 0.0000166667  # COMPUTE_CHARGE_GBS_X86
COMPUTE_USD_PER_GB_SECOND_ARM64 = 0.0000133334  # COMPUTE_CHARGE_GBS_ARM
REQUEST_USD = 0.0000002  # REQUESTS_CHARGE_MONTHLY: $0.20 per million requests
FREE_GB_SECONDS = 400_000  # FREE_TIER_GBS, taken off every row on its own
FREE_REQUESTS = 1_000_000  # FREE_REQUESTS, likewise
# build_batch_range()'s possible_batch_ranges, kept up to max_batch_size.
BATCH_GRID = (1, 5, 10, 20, 50, 100, 200, 400, 500, 600, 1000, 1500, 2000, 5000, 10000)
# processCalculations()'s million_invocations_per_day (messages, despite the name).
VOLUME_GRID_MILLIONS: tuple[float, ...] = (0.1, 0.5, 1, 5, 10, 15, 20, 50, 100, 200, 250)
# The volume of the estimator's table ("Messages Per Day": 10000000).
TABLE_MESSAGES_PER_DAY = 10_000_000

# Every key of input.prop: (lowest, highest, why the bound). The estimator reads exactly these,
# in this order in its sample; all are integers (it calls int() on each value).
_MAX_INVOCATION_MS = 900_000  # Lambda's maximum timeout, 15 minutes
_KEYS: dict[str, tuple[int, int | None, str]] = {
    "base_lambda_memory_mb": (
        MIN_MEMORY_MB,
        MAX_MEMORY_MB,
        "Lambda's smallest memory is 128 MB and the estimator's memory grid ends at 4,096 MB",
    ),
    "warm_latency_ms": (0, _MAX_INVOCATION_MS, "Lambda stops an invocation after 900 s"),
    "process_per_message_ms": (0, _MAX_INVOCATION_MS, "Lambda stops an invocation after 900 s"),
    "max_batch_size": (
        1,
        MAX_BATCH_SIZE,
        "an SQS event source mapping takes batches of 1 to 10,000 messages",
    ),
    "batch_memory_overhead_mb": (
        0,
        MAX_MEMORY_MB,
        "the estimator's memory grid ends at 4,096 MB",
    ),
    "batch_increment": (
        1,
        MAX_BATCH_SIZE,
        "the estimator divides the batch size by it; beyond 10,000 no batch ever adds memory",
    ),
}


@dataclass(frozen=True)
class CompatInput:
    """The estimator's six inputs, as read from an ``input.prop`` file (``source``: its path,
    for messages; two inputs with the same numbers are equal wherever they were read from).

    Built directly, the fields are checked as when read from a file, without a line number.
    """

    base_lambda_memory_mb: int
    warm_latency_ms: int
    process_per_message_ms: int
    max_batch_size: int
    batch_memory_overhead_mb: int
    batch_increment: int
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for key in _KEYS:
            _check(key, getattr(self, key))

    @classmethod
    def from_text(cls, text: str, *, source: str = "<string>") -> CompatInput:
        """Read ``input.prop`` text as the estimator's ``load_properties`` does: one
        ``key=value`` a line, stripped; blank lines and lines starting with ``#`` skipped; the
        key is what precedes the first ``=``, the value everything after it, stripped of spaces
        and then of double quotes, read with ``int()``. Unlike it, refuse (naming ``source``,
        the line and the key) a line without ``=``, a non-integer value, an unknown key, a key
        given twice, a value out of range and a missing key."""
        values: dict[str, int] = {}
        line_of: dict[str, int] = {}
        for number, raw in enumerate(_lines(text), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, equals, rest = line.partition("=")
            key = key.strip()
            if not equals:
                raise CostInputError(
                    f"no '=' in {_shown(line)}; expected key=value",
                    field=line.split()[0],
                    source=source,
                    line=number,
                )
            if key not in _KEYS:
                raise CostInputError(
                    _unknown(key), field=key or "<empty key>", source=source, line=number
                )
            if key in line_of:
                raise CostInputError(
                    f"already set on line {line_of[key]}; give each key once",
                    field=key,
                    source=source,
                    line=number,
                )
            value = rest.strip().strip('"')
            try:
                values[key] = int(value)
            except ValueError:
                hint = "; comments go on their own line" if "#" in value else ""
                raise CostInputError(
                    f"not an integer: {_shown(value)}{hint}", field=key, source=source, line=number
                ) from None
            line_of[key] = number
            try:
                _check(key, values[key])
            except CostInputError as error:
                raise error.located(source, number) from None
        missing = [key for key in _KEYS if key not in values]
        if missing:
            others = f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""
            raise CostInputError(
                f"missing; add a line '{missing[0]}=N'{others}", field=missing[0], source=source
            )
        return cls(**values, source=source)


@dataclass(frozen=True)
class CompatRow:
    """One (batch size, messages per day) pair priced as the estimator prices it. Money and
    usage keep full precision; the estimator prints its table with ``"{:.2f}"``."""

    batch_size: int
    messages_per_day: int
    memory_mb: int
    duration_ms: int
    invocations_per_month: float
    gb_seconds_per_month: float
    cost_x86_usd: float
    cost_arm64_usd: float

    def as_dict(self) -> dict[str, int | float]:
        """The row for ``--json``, keys in field order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def read_input_prop(path: str | os.PathLike[str]) -> CompatInput:
    """Read an estimator ``input.prop`` file (see :meth:`CompatInput.from_text`); errors name
    the path as given."""
    source = str(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            text = file.read()
    except OSError as error:
        raise CostInputError(f"cannot read: {error.strerror or error}", source=source) from None
    except UnicodeDecodeError as error:
        raise CostInputError(
            f"not UTF-8 text (byte {error.start}); input.prop is key=value lines", source=source
        ) from None
    return CompatInput.from_text(text, source=source)


def batch_grid(inp: CompatInput) -> tuple[int, ...]:
    """The estimator's batch sizes up to ``max_batch_size`` (``build_batch_range``)."""
    return tuple(size for size in BATCH_GRID if size <= inp.max_batch_size)


def memory_grid(inp: CompatInput) -> tuple[int, ...]:
    """The memory sizes the estimator chooses from: the base, then 128 MB steps up to
    4,096 MB (``build_memory_range``); never empty, since the base is at most 4,096 MB."""
    return tuple(range(inp.base_lambda_memory_mb, MAX_MEMORY_MB + 1, MEMORY_STEP_MB))


def compat_rows(inp: CompatInput) -> list[CompatRow]:
    """Every (batch size, messages per day) row of the estimator, batch size first, in its grid
    order, computed with its formulas in its float arithmetic and operation order (so each
    value is the one it plots, bit for bit)."""
    grid = memory_grid(inp)
    rows: list[CompatRow] = []
    for batch_size in batch_grid(inp):
        duration_ms = inp.warm_latency_ms + inp.process_per_message_ms * batch_size
        # int(batch_size / batch_increment) in the estimator: the same as // for positive ints.
        requested_mb = inp.base_lambda_memory_mb + inp.batch_memory_overhead_mb * (
            batch_size // inp.batch_increment
        )
        memory_mb = next((size for size in grid if size >= requested_mb), grid[-1])
        for millions in VOLUME_GRID_MILLIONS:
            messages_per_day = millions * 1_000_000  # exact for every value of the grid
            invocations = messages_per_day * DAYS_IN_MONTH / batch_size
            gb_seconds = memory_mb / 1024 * invocations * (duration_ms / 1000)
            billed_gb_seconds = max(gb_seconds - FREE_GB_SECONDS, 0)
            requests_usd = max(invocations - FREE_REQUESTS, 0) * REQUEST_USD
            rows.append(
                CompatRow(
                    batch_size=batch_size,
                    messages_per_day=int(messages_per_day),
                    memory_mb=memory_mb,
                    duration_ms=duration_ms,
                    invocations_per_month=invocations,
                    gb_seconds_per_month=gb_seconds,
                    cost_x86_usd=billed_gb_seconds * COMPUTE_USD_PER_GB_SECOND_X86 + requests_usd,
                    cost_arm64_usd=billed_gb_seconds * COMPUTE_USD_PER_GB_SECOND_ARM64
                    + requests_usd,
                )
            )
    return rows


def rows_at(
    rows: list[CompatRow], messages_per_day: float = TABLE_MESSAGES_PER_DAY
) -> list[CompatRow]:
    """The rows at one volume of the grid: by default the estimator's table (10 million
    messages a day), one row per batch size."""
    found = [row for row in rows if row.messages_per_day == messages_per_day]
    if not found:
        volumes = ", ".join(str(v) for v in sorted({row.messages_per_day for row in rows}))
        raise CostInputError(
            f"{messages_per_day:g} is not a volume of the estimator's grid; choose one of "
            f"{volumes}",
            field="messages_per_day",
        )
    return found


# --- helpers --------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    """The lines as iterating over a file opened in text mode yields them (universal newlines:
    ``\\r\\n``, ``\\r`` and ``\\n``, and nothing else, unlike ``str.splitlines``), so line
    numbers are those an editor shows. A leading byte order mark is dropped."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _check(key: str, value: int) -> None:
    """Refuse ``value`` for ``key`` outside its bounds, saying why the bound exists."""
    low, high, why = _KEYS[key]
    try:
        check_integer(value, key, low=low, high=high)
    except CostInputError as error:
        raise CostInputError(f"{error.reason} ({why})", field=key) from None


def _unknown(key: str) -> str:
    """Name the known keys, and the nearest one when ``key`` looks like a typo of it."""
    import difflib  # only on this error path

    close = difflib.get_close_matches(key, _KEYS, n=1)
    guess = f"did you mean {close[0]}? " if close else ""
    return f"unknown key; {guess}the estimator reads {', '.join(_KEYS)}"


def _shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, shortened so a pasted blob does not flood the terminal."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
