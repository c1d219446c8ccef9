"""The ``lambdakit`` command: one subcommand per utility (``lambdakit filter check``,
``lambdakit cost compat|plan|measure``, ``lambdakit check``).

This module holds the parser, the text ``--help`` prints, and what every subcommand shares
(reading JSON arguments, exit statuses, reporting invalid input). Each subcommand's work lives
in its own module (``lambdakit._cli_filter``, ``lambdakit._cli_cost``,
``lambdakit._cli_check``), imported only when that subcommand runs, so ``lambdakit --help``
and ``lambdakit --version`` load nothing else.

Help text is written here as plain text, never taken from docstrings: argparse prints it as
written, and reST markup (double backticks, ``:class:`` roles) reads as noise in a terminal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lambdakit.errors import LambdakitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

EXIT_MATCH, EXIT_NO_MATCH, EXIT_INVALID = 0, 1, 2
EXIT_CLEAN, EXIT_FINDINGS = EXIT_MATCH, EXIT_NO_MATCH  # `lambdakit check`: nothing / something
EXIT_BROKEN_PIPE = 128 + 13  # as a shell reports a command killed by SIGPIPE

# The module that runs each command (its ``run(arguments) -> exit status``).
_COMMANDS = {
    ("filter", "check"): "lambdakit._cli_filter",
    ("cost", "compat"): "lambdakit._cli_cost",
    ("cost", "plan"): "lambdakit._cli_cost",
    ("cost", "measure"): "lambdakit._cli_cost",
    ("check",): "lambdakit._cli_check",
}

_DESCRIPTION = "lambdakit: utilities for AWS Lambda functions. Each command has --help."

_FILTER_CHECK = """\
Says whether Lambda would pass records to the function: checks them against
a filter pattern (--pattern), or against the FilterCriteria that a SAM or
CloudFormation template deploys (--template).

--event is one record, or a whole Lambda event: Records (SQS, Kinesis,
DynamoDB Streams), Kafka records by topic-partition, or Amazon MQ messages.
Each record of an event is checked and reported on its own line, as the event
source mapping filters each record.

Records are seen as Lambda sees them for their source (SQS body parsed,
Kinesis data decoded ...). The source is --source, else the template's event
source, else the eventSource the event names; a record from another source
than the template's or --source is invalid input.

Exit status: 0 when every record matches, 1 when any does not (with the
reason), 2 for invalid input (the message is on standard error)."""

_COST = """\
Cost and capacity of SQS -> Lambda processing: reproduce AWS's
aws-lambda-sqs-cost-estimator (compat), plan the cheapest settings for a
workload (plan), or measure the handler profile that plan uses (measure)."""

_COST_COMPAT = """\
Reads the input.prop file of AWS's aws-lambda-sqs-cost-estimator and prints
its numbers: for each batch size, the memory and duration of an invocation
and the monthly Lambda cost on x86_64 and arm64 at each volume of its grid
(0.1 to 250 million messages a day), with its conventions: 30.41 days a
month, its prices, the free tier applied to each row.

--json prints {"rows": [...]}, one row per (batch size, volume). --html FILE
writes a page with the estimator's charts (needs lambdakit[cost]).

Exit status: 0, or 2 for invalid input (the message names the file line)."""

_COST_PLAN = """\
Prices every combination of the settings to explore (batch sizes, batching
windows, memory sizes, architectures, in-handler concurrency) for a workload
and a handler profile, and recommends the cheapest that keeps up and meets
--max-latency: Lambda compute and requests, INIT, every SQS request, event
pollers; concurrency at the busiest hour, end-to-end latency, and the time to
drain --backlog messages.

The handler profile is given with the profile options (milliseconds of CPU
at one full vCPU, milliseconds of waiting, megabytes), or read from the JSON
that 'lambdakit cost measure --json' prints (--measured FILE), not both.

Lists are comma-separated (--memory 512,1024,1769). Prices are the package's
dated us-east-1 table unless --prices FILE overrides them; the report prints
the price date and every assumption the model makes.

Exit status: 0 with a recommendation, 1 when no setting keeps up or meets
--max-latency (the table says why), 2 for invalid input."""

_COST_MEASURE = """\
Runs your handler (module:function, imported from the current directory) on
SQS batches built from the records of --events (one JSON value a line: a
message body, or a whole SQS record) at several batch sizes, repeats each,
and fits a line: overhead per invocation plus time per record, CPU and
waiting apart, and memory per record (traced allocations). INIT is the time
to import the handler's module in a fresh interpreter. Prints the points,
the fit and its residuals; --json prints what 'lambdakit cost plan
--measured FILE' reads.

The handler runs for real: it must not reach production resources.

Exit status: 0, or 2 for invalid input."""


_CHECK = """\
Reads a SAM or CloudFormation template (YAML or JSON) and reports the
configuration that loses or re-runs records with partial batch responses:
ReportBatchItemFailures missing, a queue visibility timeout too short for the
function, no dead-letter queue, Kafka partial responses without provisioned
mode, FIFO limits, batch sizes and windows, FilterCriteria that AWS rejects
or that can never match, an idempotency table without TTL. Static values are
resolved (!Ref, !GetAtt, !Sub, parameters' defaults) and followed to the
queue or stream.

Which functions use process_batch: --batch-function ID (repeatable), or
--import to import each handler's module from its CodeUri and look; without
either, every function with an SQS, Kinesis, DynamoDB or Kafka event source
is treated as one (the finding says so).

Each finding names the template, the resource, the property path, the rule
id and the fix. --format json prints {"findings": [...]}; --format sarif
prints SARIF 2.1.0 for code scanning (GitHub). --ignore RULE (repeatable)
leaves a rule out. The rules, why, and AWS's pages: docs/check.md.

Exit status: 0 with no findings, 1 with findings, 2 when the template cannot
be read (the message is on standard error)."""


class InvalidInput(LambdakitError):
    """Input the command cannot use; reported on stderr with exit status 2."""


def read_json_argument(value: str, what: str) -> Any:
    """Inline JSON, or the JSON in the file ``value`` names (``-`` for stdin)."""
    from lambdakit.filtering._parse import load_json

    text = value
    if value == "-":
        text = sys.stdin.read()
    elif not value.lstrip().startswith(("{", "[", '"')) or _is_file(value):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"{what}: cannot read {value!r} ({exc.strerror})") from None
    try:
        return load_json(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"{what}: not valid JSON ({exc})") from None


def _is_file(value: str) -> bool:
    """Whether ``value`` names a file; inline JSON longer than a file name can be, or holding
    a NUL, names none (``Path.is_file`` raises for those instead of answering)."""
    try:
        return Path(value).is_file()
    except (OSError, ValueError):
        return False


def _parser() -> argparse.ArgumentParser:
    from lambdakit import __version__

    parser = argparse.ArgumentParser(prog="lambdakit", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"lambdakit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    filters = commands.add_parser(
        "filter",
        help="AWS event-filter patterns",
        description="AWS event-filter patterns, as Lambda applies them to records.",
    )
    actions = filters.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="does Lambda pass these records to the function?",
        description=_FILTER_CHECK,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    criteria = check.add_mutually_exclusive_group(required=True)
    criteria.add_argument("--pattern", help="the pattern: a file, inline JSON, or - for stdin")
    criteria.add_argument("--template", help="a SAM or CloudFormation template (YAML or JSON)")
    check.add_argument(
        "--event", required=True, help="one record or a whole Lambda event: a file or JSON"
    )
    check.add_argument("--function", help="the template's function (logical id)")
    check.add_argument(
        "--event-source", help="the function's event source (SAM event name, or mapping id)"
    )
    check.add_argument(
        "--source",
        choices=("sqs", "kinesis", "dynamodb", "kafka", "mq"),
        help="see records as Lambda does for this source (must agree with the template's)",
    )
    _cost_parser(commands)
    _check_parser(commands)
    return parser


def _check_parser(commands: Any) -> None:
    """``lambdakit check``: one command, no actions below it."""
    check = commands.add_parser(
        "check",
        help="find configuration that loses or re-runs records, in a SAM/CloudFormation template",
        description=_CHECK,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("template", metavar="TEMPLATE", help="a SAM or CloudFormation template")
    check.add_argument(
        "--function", metavar="ID", help="check only this function's event sources (logical id)"
    )
    check.add_argument(
        "--format", choices=("text", "json", "sarif"), default="text", help="default text"
    )
    check.add_argument(
        "--import",
        dest="import_handlers",
        action="store_true",
        help="import each handler's module to find which use process_batch",
    )
    check.add_argument(
        "--batch-function",
        dest="batch_functions",
        action="append",
        metavar="ID",
        help="a function (logical id) whose handler uses process_batch; repeatable",
    )
    check.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="RULE",
        help="leave out the findings of this rule (LK101); repeatable",
    )


def _cost_parser(commands: Any) -> None:
    """The ``lambdakit cost`` commands. Options read numbers only (the message names the option
    when one is not a number); their bounds are the planner's, checked where its inputs are built,
    and ``lambdakit._cli_cost`` names the option in those messages too."""
    cost = commands.add_parser(
        "cost",
        help="SQS -> Lambda cost and capacity planner",
        description=_COST,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = cost.add_subparsers(dest="action", required=True, metavar="ACTION")
    raw = argparse.RawDescriptionHelpFormatter

    compat = actions.add_parser(
        "compat",
        help="reproduce aws-lambda-sqs-cost-estimator from its input.prop",
        description=_COST_COMPAT,
        formatter_class=raw,
    )
    compat.add_argument("input", metavar="INPUT.prop", help="the estimator's input file")
    _output_options(compat)

    plan = actions.add_parser(
        "plan",
        help="the cheapest settings for a workload, with capacity and latency",
        description=_COST_PLAN,
        formatter_class=raw,
    )
    workload = plan.add_argument_group("workload")
    rate = workload.add_mutually_exclusive_group(required=True)
    rate.add_argument("--rate", type=_number, metavar="MSG/S", help="mean messages per second")
    rate.add_argument("--per-day", type=_number, metavar="N", help="messages per day")
    workload.add_argument(
        "--message-bytes", type=_whole, metavar="BYTES", help="mean message size (default 1024)"
    )
    workload.add_argument("--fifo", action="store_true", help="a FIFO queue (default standard)")
    workload.add_argument(
        "--groups", type=_whole, metavar="N", help="active FIFO message groups (default: many)"
    )
    workload.add_argument(
        "--filter-pass",
        type=_number,
        metavar="FRACTION",
        help="fraction of messages the mapping's filter passes to the function (default 1)",
    )
    workload.add_argument(
        "--failure-rate",
        type=_number,
        metavar="FRACTION",
        help="chance that one attempt at a record fails and is retried (default 0)",
    )
    workload.add_argument(
        "--poison-rate",
        type=_number,
        metavar="FRACTION",
        help="fraction of messages that fail every attempt and go to the DLQ (default 0)",
    )
    workload.add_argument(
        "--max-receive-count",
        type=_whole_or_none,
        default=argparse.SUPPRESS,  # absent unless given: 'none' (no DLQ) is a value
        metavar="N",
        help="the queue's redrive maxReceiveCount, or 'none' without a DLQ (default 5)",
    )
    workload.add_argument(
        "--visibility-timeout",
        type=_number,
        metavar="SECONDS",
        help="the queue's visibility timeout (default 30)",
    )
    workload.add_argument(
        "--daily-profile",
        type=_numbers,
        metavar="W0,...,W23",
        help="24 hourly weights shaping the day (any scale); capacity follows the busiest hour",
    )

    settings = plan.add_argument_group("settings to explore (every combination)")
    settings.add_argument(
        "--batch-sizes",
        type=_wholes,
        metavar="LIST",
        help="BatchSize values (default 1,10,50,100,500,1000)",
    )
    settings.add_argument(
        "--windows",
        type=_numbers,
        metavar="LIST",
        help="MaximumBatchingWindowInSeconds values (default 0,1,5,20)",
    )
    settings.add_argument(
        "--memory",
        type=_wholes,
        metavar="LIST",
        help="memory sizes in MB (default 128,256,512,1024,1769,3008)",
    )
    settings.add_argument(
        "--arch", type=_names, metavar="LIST", help="architectures (default x86_64,arm64)"
    )
    settings.add_argument(
        "--concurrency",
        type=_wholes,
        metavar="LIST",
        help="records a handler works on at once (default 1)",
    )
    settings.add_argument(
        "--max-concurrency",
        type=_whole,
        metavar="N",
        help="the mapping's ScalingConfig MaximumConcurrency (default unset)",
    )
    settings.add_argument(
        "--provisioned-pollers",
        type=_whole,
        metavar="N",
        help="provisioned mode's minimum pollers (needs provisioned_poller_hour in --prices)",
    )

    profile = plan.add_argument_group("handler profile (given, or --measured)")
    profile.add_argument(
        "--measured", metavar="FILE", help="the JSON of 'lambdakit cost measure --json'"
    )
    for option, what in (
        ("--overhead-ms", "CPU ms per invocation, at one full vCPU"),
        ("--overhead-io-ms", "waiting ms per invocation"),
        ("--cpu-ms-per-record", "CPU ms per record, at one full vCPU"),
        ("--io-ms-per-record", "waiting ms per record"),
        ("--mb-per-record", "memory each record of a batch adds, MB"),
        ("--base-memory-mb", "memory used with an empty batch, MB"),
        ("--init-ms", "INIT duration, ms"),
    ):
        profile.add_argument(option, type=_number, metavar="N", help=f"{what} (default 0)")

    target = plan.add_argument_group("target, account and prices")
    target.add_argument(
        "--max-latency", type=_number, metavar="SECONDS", help="p99 end-to-end latency target"
    )
    target.add_argument(
        "--backlog", type=_whole, metavar="N", help="report the time to drain N queued messages"
    )
    target.add_argument(
        "--account-concurrency",
        type=_whole,
        metavar="N",
        help="the account's concurrency quota (default 1000)",
    )
    target.add_argument("--prices", metavar="FILE", help="a JSON file overriding prices")
    target.add_argument(
        "--top", type=_whole, default=10, metavar="N", help="settings in the table (default 10)"
    )
    _output_options(plan)

    measure = actions.add_parser(
        "measure",
        help="measure a handler's profile for plan",
        description=_COST_MEASURE,
        formatter_class=raw,
    )
    measure.add_argument("handler", metavar="module:handler", help="the handler to run")
    measure.add_argument(
        "--events", required=True, metavar="FILE", help="sample records, one JSON value a line"
    )
    measure.add_argument(
        "--batch-sizes",
        type=_wholes,
        metavar="LIST",
        help="batch sizes to run (default 1,2,5,10,20,50)",
    )
    measure.add_argument(
        "--repeats", type=_whole, metavar="N", help="runs per batch size (default 5)"
    )
    measure.add_argument("--json", action="store_true", help="print JSON")


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--html", metavar="FILE", help="also write a self-contained HTML report (lambdakit[cost])"
    )


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _whole_or_none(text: str) -> int | None:
    return None if text.strip().lower() == "none" else _whole(text)


def _listed(text: str, parse: Callable[[str], Any]) -> tuple[Any, ...]:
    """Each comma-separated item of ``text`` read by ``parse``; the message quotes the item."""
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"not a comma-separated list: {text!r}")
    return tuple(parse(item) for item in items)


def _numbers(text: str) -> tuple[float, ...]:
    return _listed(text, _number)


def _wholes(text: str) -> tuple[int, ...]:
    return _listed(text, _whole)


def _names(text: str) -> tuple[str, ...]:
    return _listed(text, str)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` names (the console script's entry point); the exit status.
    Any lambdakit error is the input's fault: its message goes to stderr, with status 2."""
    parser = _parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help and --version exit 0, usage errors exit 2
        return int(exc.code) if isinstance(exc.code, int) else EXIT_INVALID
    words = (arguments.command, *_action(arguments))
    try:
        from importlib import import_module

        return int(import_module(_COMMANDS[words]).run(arguments))
    except LambdakitError as exc:  # the input is wrong: a pattern, a template, an event
        print(f"lambdakit {' '.join(words)}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:  # the reader left (`| head`): nothing more to say, no traceback
        _discard_stdout()
        return EXIT_BROKEN_PIPE


def _action(arguments: argparse.Namespace) -> tuple[str, ...]:
    """The action word under the command, for commands that have them (``cost plan``)."""
    action = getattr(arguments, "action", None)
    return () if action is None else (action,)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's own flush at exit does not fail
    a second time on the closed pipe (the recipe of Python's ``signal`` docs)."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
