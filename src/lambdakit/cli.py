"""The ``lambdakit`` command. One subcommand per utility; for now ``lambdakit filter check``.

``lambdakit filter check --pattern P --event E`` says whether an event matches a filter pattern
(``match``, exit 0) or not (``no match`` and the reason, exit 1). P and E are files or inline
JSON. ``--template T [--function F] [--event-source NAME]`` checks against the FilterCriteria a
SAM/CloudFormation template deploys instead of a pattern, and ``--source`` applies Lambda's
record view for a source (``sqs``, ``kinesis``, ``dynamodb``, ``kafka``, ``mq``). Invalid input
(an unreadable file, bad JSON, a pattern AWS would reject) exits 2 with the message on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

EXIT_MATCH, EXIT_NO_MATCH, EXIT_INVALID = 0, 1, 2


class InvalidInput(Exception):
    """Input the command cannot use; reported on stderr with exit status 2."""


def _json_argument(value: str, what: str) -> Any:
    """Inline JSON, or the JSON in the file ``value`` names (``-`` for stdin)."""
    from lambdakit.filtering._parse import load_json

    text = value
    stripped = value.lstrip()
    if value == "-":
        text = sys.stdin.read()
    elif not stripped.startswith(("{", "[", '"')) or Path(value).is_file():
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"{what}: cannot read {value!r} ({exc.strerror})") from None
    try:
        return load_json(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"{what}: not valid JSON ({exc})") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lambdakit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    filters = commands.add_parser("filter", help="AWS event-filter patterns")
    actions = filters.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "check",
        help="does an event match a pattern (or a template's FilterCriteria)?",
        description="Exit status: 0 match, 1 no match, 2 invalid input.",
    )
    criteria = check.add_mutually_exclusive_group(required=True)
    criteria.add_argument("--pattern", help="the pattern: a file, inline JSON, or - for stdin")
    criteria.add_argument("--template", help="a SAM/CloudFormation template (YAML or JSON)")
    check.add_argument("--event", required=True, help="the event or record: a file or JSON")
    check.add_argument("--function", help="the template's function (logical id)")
    check.add_argument(
        "--event-source", help="the function's event source (SAM event name, or mapping id)"
    )
    check.add_argument(
        "--source",
        choices=("sqs", "kinesis", "dynamodb", "kafka", "mq"),
        help="apply Lambda's record view for this source (as Lambda filters records)",
    )
    return parser


def filter_check(arguments: argparse.Namespace) -> int:
    from lambdakit.errors import FilterPatternError
    from lambdakit.filtering import FilterCriteria, compile_pattern

    event = _json_argument(arguments.event, "--event")
    try:
        if arguments.template is not None:
            criteria = FilterCriteria.from_template(
                arguments.template, arguments.function, arguments.event_source
            )
        else:
            if arguments.function or arguments.event_source:
                raise InvalidInput("--function and --event-source need --template")
            pattern = _json_argument(arguments.pattern, "--pattern")
            if arguments.source is None:
                compiled = compile_pattern(pattern)
                reason = compiled.explain(event)
                return _report(reason)
            criteria = FilterCriteria.from_dict(
                {"Filters": [{"Pattern": _dumps(pattern)}]}, source=arguments.source
            )
    except FilterPatternError as exc:
        raise InvalidInput(str(exc)) from None
    if arguments.source is None and criteria.source is None:
        return _report(None if criteria.matches(event) else _explain_all(criteria, event))
    return _report(criteria.explain_record(event, arguments.source))


def _explain_all(criteria: Any, event: Any) -> str:
    return "; ".join(
        f"filter {index}: {pattern.explain(event)}"
        for index, pattern in enumerate(criteria.patterns)
    )


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, default=str)


def _report(reason: str | None) -> int:
    if reason is None:
        print("match")
        return EXIT_MATCH
    print("no match")
    print(reason)
    return EXIT_NO_MATCH


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help exits 0, usage errors exit 2
        return int(exc.code) if isinstance(exc.code, int) else EXIT_INVALID
    try:
        if arguments.command == "filter" and arguments.action == "check":
            return filter_check(arguments)
    except InvalidInput as exc:
        print(f"lambdakit filter check: {exc}", file=sys.stderr)
        return EXIT_INVALID
    parser.error("unknown command")
    return EXIT_INVALID  # pragma: no cover - parser.error exits


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
