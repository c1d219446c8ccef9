"""The ``lambdakit`` command: one subcommand per utility; for now ``lambdakit filter check``.

This module holds the parser, the text ``--help`` prints, and what every subcommand shares
(reading JSON arguments, exit statuses, reporting invalid input). Each subcommand's work lives
in its own module (``lambdakit._cli_filter``), imported only when that subcommand runs, so
``lambdakit --help`` and ``lambdakit --version`` load nothing else.

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
    from collections.abc import Sequence
    from typing import Any

EXIT_MATCH, EXIT_NO_MATCH, EXIT_INVALID = 0, 1, 2

# The module that runs each command (its ``run(arguments) -> exit status``).
_COMMANDS = {("filter", "check"): "lambdakit._cli_filter"}

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` names (the console script's entry point); the exit status.
    Any lambdakit error is the input's fault: its message goes to stderr, with status 2."""
    parser = _parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help and --version exit 0, usage errors exit 2
        return int(exc.code) if isinstance(exc.code, int) else EXIT_INVALID
    words = (arguments.command, arguments.action)
    try:
        from importlib import import_module

        return int(import_module(_COMMANDS[words]).run(arguments))
    except LambdakitError as exc:  # the input is wrong: a pattern, a template, an event
        print(f"lambdakit {' '.join(words)}: {exc}", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
