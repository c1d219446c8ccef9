"""``lambdakit cost compat|plan|measure``: the planner on the command line.

The parser (``lambdakit.cli``) only reads numbers; bounds are the planner's own, checked where
its inputs are built (``lambdakit.cost._types``), so the command and the Python API refuse the
same values. A refusal from there names the dataclass field (``workload.messages_per_second``);
here it is renamed to the option the user typed (``--rate``), so every message points at what
to fix. Whatever is wrong with the input ends as a message on stderr and exit status 2
(``lambdakit.cli.main``), never a traceback.

``--html`` needs the ``lambdakit[cost]`` extra (Plotly); it is checked before any work, so a
long plan is not computed only to fail at the end.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

from lambdakit.cli import EXIT_MATCH, EXIT_NO_MATCH, InvalidInput
from lambdakit.cost._types import (
    Account,
    Grid,
    HandlerProfile,
    Workload,
    check_integer,
    check_number,
)
from lambdakit.errors import CostInputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator
    from typing import Any

# Workload and grid options (argparse's attribute) -> the field each sets, when given.
_WORKLOAD_OPTIONS = {
    "message_bytes": "message_bytes",
    "groups": "message_groups",
    "filter_pass": "filter_pass",
    "failure_rate": "failure_rate",
    "poison_rate": "poison_rate",
    "visibility_timeout": "visibility_timeout_s",
    "daily_profile": "daily_profile",
}
_GRID_OPTIONS = {
    "batch_sizes": "batch_sizes",
    "windows": "windows_s",
    "memory": "memory_mb",
    "arch": "architectures",
    "concurrency": "concurrency",
    "max_concurrency": "max_concurrency",
    "provisioned_pollers": "provisioned_pollers",
}


def _option(dest: str) -> str:
    return "--" + dest.replace("_", "-")


# Input fields (as the dataclasses name them in errors) -> the option that sets them.
_OPTIONS = {
    **{f"workload.{field}": _option(dest) for dest, field in _WORKLOAD_OPTIONS.items()},
    **{f"grid.{field}": _option(dest) for dest, field in _GRID_OPTIONS.items()},
    "workload.messages_per_second": "--rate",
    "workload.messages_per_day": "--per-day",
    "workload.max_receive_count": "--max-receive-count",
    # A Config's own fields, as a single setting names them.
    "batch_size": "--batch-sizes",
    "window_s": "--windows",
    "memory_mb": "--memory",
    "architecture": "--arch",
    "concurrency": "--concurrency",
    "max_concurrency": "--max-concurrency",
    "provisioned_pollers": "--provisioned-pollers",
    "account.concurrency_limit": "--account-concurrency",
    "batch_sizes": "--batch-sizes",  # lambdakit cost measure
    "repeats": "--repeats",
}

# Handler profile options (argparse's attribute) -> HandlerProfile's field.
_PROFILE_OPTIONS = {
    "overhead_ms": "overhead_cpu_ms",
    "overhead_io_ms": "overhead_io_ms",
    "cpu_ms_per_record": "cpu_ms_per_record",
    "io_ms_per_record": "io_ms_per_record",
    "mb_per_record": "mb_per_record",
    "base_memory_mb": "base_memory_mb",
    "init_ms": "init_ms",
}
_OPTIONS.update({f"profile.{field}": _option(dest) for dest, field in _PROFILE_OPTIONS.items()})


def run(arguments: argparse.Namespace) -> int:
    """Run ``lambdakit cost <action>``; the exit status."""
    if getattr(arguments, "html", None):
        from lambdakit._internal.extras import require

        require("cost", "lambdakit cost --html")
    action = {"compat": _compat, "plan": _plan, "measure": _measure}[arguments.action]
    return action(arguments)


@contextmanager
def _named_as_options() -> Iterator[None]:
    """Re-raise a refused input field as the option that set it (``--batch-sizes: must be at
    most 10000, got 20000``); errors that name a file and line pass unchanged."""
    try:
        yield
    except CostInputError as exc:
        if exc.source is not None or exc.field is None:
            raise
        base, bracket, rest = exc.field.partition("[")
        option = _OPTIONS.get(base)
        if option is None:
            raise
        raise CostInputError(exc.reason, field=option + bracket + rest) from None


def _emit(document: Any, text: str, arguments: argparse.Namespace, page: str | None) -> None:
    """Write the HTML page (when asked) first, so a bad path fails before anything prints;
    then print the JSON or the text."""
    if page is not None:
        try:
            with open(arguments.html, "w", encoding="utf-8") as out:
                out.write(page)
        except OSError as exc:
            raise InvalidInput(
                f"--html: cannot write {arguments.html!r} ({exc.strerror})"
            ) from None
    if arguments.json:
        print(json.dumps(document, indent=2, allow_nan=False))
    else:
        print(text)
        if page is not None:
            print(f"\nHTML report: {arguments.html}")


# --- compat -----------------------------------------------------------------------------------


def _compat(arguments: argparse.Namespace) -> int:
    from lambdakit.cost._compat import compat_rows, read_input_prop
    from lambdakit.cost._report import compat_json, compat_text

    inp = read_input_prop(arguments.input)
    rows = compat_rows(inp)
    page = None
    if arguments.html:
        from lambdakit.cost._html import compat_html

        page = compat_html(inp, rows)
    text = "" if arguments.json else compat_text(inp, rows)
    _emit(compat_json(rows) if arguments.json else None, text, arguments, page)
    return EXIT_MATCH


# --- plan -------------------------------------------------------------------------------------


def _plan(arguments: argparse.Namespace) -> int:
    from lambdakit.cost._prices import DEFAULT_PRICES, Prices
    from lambdakit.cost._report import plan_json, plan_text

    with _named_as_options():
        workload = _workload(arguments)
        grid = _grid(arguments)
        account = (
            Account()
            if arguments.account_concurrency is None
            else Account(concurrency_limit=arguments.account_concurrency)
        )
        profile = _given_profile(arguments)
    if arguments.measured is not None:
        profile = _measured_profile(arguments.measured)
    if arguments.max_latency is not None:
        check_number(arguments.max_latency, "--max-latency", low=0)
    if arguments.backlog is not None:
        check_integer(arguments.backlog, "--backlog", low=0)
    check_integer(arguments.top, "--top", low=1)
    prices = DEFAULT_PRICES if arguments.prices is None else Prices.from_file(arguments.prices)

    from lambdakit.cost._plan import plan

    with _named_as_options():
        result = plan(
            workload,
            profile,
            grid,
            prices=prices,
            account=account,
            max_latency_s=arguments.max_latency,
        )
    page = None
    if arguments.html:
        from lambdakit.cost._html import plan_html

        page = plan_html(result, top=arguments.top, backlog=arguments.backlog)
    document = plan_json(result, backlog=arguments.backlog) if arguments.json else None
    text = "" if arguments.json else plan_text(result, top=arguments.top, backlog=arguments.backlog)
    _emit(document, text, arguments, page)
    return EXIT_MATCH if result.best is not None else EXIT_NO_MATCH


def _workload(arguments: argparse.Namespace) -> Workload:
    fields: dict[str, Any] = {"fifo": arguments.fifo, **_given(arguments, _WORKLOAD_OPTIONS)}
    # --max-receive-count none means no redrive policy: None is a value, not "unset".
    if "max_receive_count" in vars(arguments):
        fields["max_receive_count"] = arguments.max_receive_count
    if arguments.rate is not None:
        return Workload(arguments.rate, **fields)
    return Workload.per_day(arguments.per_day, **fields)


def _grid(arguments: argparse.Namespace) -> Grid:
    return Grid(**_given(arguments, _GRID_OPTIONS))


def _given(arguments: argparse.Namespace, table: dict[str, str]) -> dict[str, Any]:
    """The fields of ``table`` (argparse attribute -> field) whose option was given."""
    return {
        field: getattr(arguments, dest)
        for dest, field in table.items()
        if getattr(arguments, dest) is not None
    }


def _given_profile(arguments: argparse.Namespace) -> HandlerProfile:
    """The profile the options give (unset ones are 0); refused next to ``--measured``."""
    given = {
        field: getattr(arguments, option)
        for option, field in _PROFILE_OPTIONS.items()
        if getattr(arguments, option) is not None
    }
    if given and arguments.measured is not None:
        option = "--" + next(o for o, f in _PROFILE_OPTIONS.items() if f in given).replace("_", "-")
        raise InvalidInput(
            f"--measured and {option}: the handler profile is measured or given, not both"
        )
    return HandlerProfile(**given)


def _measured_profile(path: str) -> HandlerProfile:
    """The profile in the JSON that ``lambdakit cost measure --json`` printed to ``path``."""
    # Plain json, not read_json_argument: the filter language's loader reads numbers as
    # Decimal (exact matching), which the planner's number checks refuse.
    from lambdakit.cost._types import read_json_file

    document = read_json_file(path)
    profile = document.get("profile") if isinstance(document, dict) else None
    if not isinstance(profile, dict):
        raise CostInputError(
            "not the JSON of 'lambdakit cost measure --json' (it has no 'profile' object)",
            field="--measured",
            source=path,
        )
    known = set(HandlerProfile.__dataclass_fields__)
    unknown = sorted(set(profile) - known)
    if unknown:
        raise CostInputError(f"unknown field {unknown[0]!r}", field="profile", source=path)
    try:
        return HandlerProfile(**profile)
    except CostInputError as exc:
        raise exc.located(path) from None


# --- measure ----------------------------------------------------------------------------------


def _measure(arguments: argparse.Namespace) -> int:
    from lambdakit.cost._measure import measure_profile
    from lambdakit.cost._report import jsonable, measurement_text

    options: dict[str, Any] = {}
    if arguments.batch_sizes is not None:
        options["batch_sizes"] = arguments.batch_sizes
    if arguments.repeats is not None:
        options["repeats"] = arguments.repeats
    with _named_as_options():
        measurement = measure_profile(arguments.handler, arguments.events, **options)
    _emit(
        jsonable(measurement) if arguments.json else None,
        "" if arguments.json else measurement_text(measurement),
        arguments,
        None,
    )
    return EXIT_MATCH
