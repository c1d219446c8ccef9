"""``lambdakit check``: the configuration in a SAM or CloudFormation template that would lose or
re-run records, as findings in text, JSON or SARIF.

The rules live in :mod:`lambdakit.check`; this module turns the command line into one call of
:func:`lambdakit.check.check_template`, prints the report and chooses the exit status: 0 clean,
1 with findings, 2 when the template cannot be read or an option names no rule or function
(``check_template`` raises, and ``lambdakit.cli.main`` prints the message).
"""

from __future__ import annotations

import sys

from lambdakit.cli import EXIT_CLEAN, EXIT_FINDINGS

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def run(arguments: argparse.Namespace) -> int:
    """Check ``arguments.template``, print the findings in ``--format``; the exit status."""
    from lambdakit.check import RULES, check_template
    from lambdakit.check._report import render

    findings = check_template(
        arguments.template,
        function=arguments.function,
        batch_functions=arguments.batch_functions,
        import_handlers=arguments.import_handlers,
        ignore=arguments.ignore,
    )
    sys.stdout.write(render(findings, arguments.format, RULES))
    return EXIT_FINDINGS if findings else EXIT_CLEAN
