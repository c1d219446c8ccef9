"""What ``lambdakit check`` prints: its findings as text for a terminal, as JSON for scripts, or
as SARIF 2.1.0 for code-scanning tools (GitHub code scanning shows each result on the line of
the template it names).

Every format carries the same facts per finding: the template, the resource (logical id), the
property path in it, the rule id, severity, what is wrong and the fix. Text and SARIF also give
the line of the template where the resource is declared, found by reading the file again:
findings come from resolved data, which has no line numbers, and a reader (or GitHub) needs one
to land on the right place. A line that cannot be found is left out (text, JSON) or is line 1
(SARIF, where GitHub needs one).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from lambdakit.check._findings import Finding, Rule

FORMATS = ("text", "json", "sarif")

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_VERSION = "2.1.0"
TOOL_URI = "https://lambdakit.github.io/lambdakit/check/"
# SARIF result levels (schema: "none", "note", "warning", "error") for the findings' severities.
_LEVELS = {"error": "error", "warning": "warning"}


def render(findings: Sequence[Finding], fmt: str, rules: Mapping[str, Rule]) -> str:
    """``findings`` in the format ``fmt`` (one of :data:`FORMATS`), ending with a newline.
    ``rules`` is every rule the check knows, which SARIF lists whether or not it fired."""
    if fmt == "text":
        return text_report(findings)
    if fmt == "json":
        return json.dumps(json_report(findings), indent=2) + "\n"
    if fmt == "sarif":
        return json.dumps(sarif_report(findings, rules), indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def text_report(findings: Sequence[Finding]) -> str:
    """One block per finding (``file:line: id severity: title``, then the resource, the path,
    the problem, the fix and the AWS page), blank lines between, and a count at the end."""
    lines = _Lines()
    blocks = []
    for finding in findings:
        line = lines.of(finding)
        where = finding.template if line is None else f"{finding.template}:{line}"
        rule = finding.rule
        blocks.append(
            f"{where}: {rule.id} {finding.severity}: {rule.title}\n"
            f"  resource: {finding.resource}\n"
            f"  path:     {finding.path}\n"
            f"  problem:  {finding.message}\n"
            f"  fix:      {finding.fix}\n"
            f"  see:      {rule.source}\n"
        )
    return "\n".join([*blocks, _summary(findings) + "\n"])


def _summary(findings: Sequence[Finding]) -> str:
    if not findings:
        return "no findings"
    errors = sum(1 for finding in findings if finding.severity == "error")
    counted = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
    return f"{counted} ({errors} error{'s' if errors != 1 else ''}, {len(findings) - errors} other)"


def json_report(findings: Sequence[Finding]) -> dict[str, Any]:
    """``{"findings": [...]}``: each finding with the same keys in the same order, always
    (``line`` is ``null`` when the resource's line cannot be found)."""
    lines = _Lines()
    return {
        "findings": [
            {
                "rule": finding.rule.id,
                "severity": finding.severity,
                "title": finding.rule.title,
                "template": finding.template,
                "line": lines.of(finding),
                "resource": finding.resource,
                "path": finding.path,
                "message": finding.message,
                "fix": finding.fix,
                "source": finding.rule.source,
            }
            for finding in findings
        ]
    }


def sarif_report(findings: Sequence[Finding], rules: Mapping[str, Rule]) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run: the tool (``lambdakit``) with every rule as a reporting
    descriptor, and one result per finding pointing at the template file, the resource's line
    and, as a logical location, ``resource.path``."""
    from lambdakit import __version__

    known = dict(rules)
    for finding in findings:  # a finding's rule is described even if the mapping lacks it
        known.setdefault(finding.rule.id, finding.rule)
    ordered = sorted(known.values(), key=lambda rule: rule.id)
    index = {rule.id: position for position, rule in enumerate(ordered)}
    lines = _Lines()
    results = []
    for finding in findings:
        results.append(
            {
                "ruleId": finding.rule.id,
                "ruleIndex": index[finding.rule.id],
                "level": _LEVELS.get(finding.severity, "note"),
                "message": {"text": f"{finding.message} Fix: {finding.fix}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(finding.template)},
                            "region": {"startLine": lines.of(finding) or 1},
                        },
                        "logicalLocations": [
                            {
                                "name": finding.path,
                                "fullyQualifiedName": f"{finding.resource}.{finding.path}",
                                "kind": "member",
                            }
                        ],
                    }
                ],
                "properties": {
                    "resource": finding.resource,
                    "path": finding.path,
                    "fix": finding.fix,
                },
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lambdakit",
                        "version": __version__,
                        "informationUri": TOOL_URI,
                        "rules": [_descriptor(rule) for rule in ordered],
                    }
                },
                "results": results,
            }
        ],
    }


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.why},
        "helpUri": rule.source,
        "help": {"text": f"{rule.why} See {rule.source}"},
    }


def _uri(template: str) -> str:
    """The template as a URI reference: relative paths stay relative (as GitHub matches them
    against the repository), with forward slashes; absolute ones become ``file:`` URIs."""
    path = Path(template)
    return path.as_uri() if path.is_absolute() else path.as_posix()


class _Lines:
    """The line where each finding's resource is declared, each template read once."""

    def __init__(self) -> None:
        self._texts: dict[str, list[str] | None] = {}

    def of(self, finding: Finding) -> int | None:
        if finding.template not in self._texts:
            try:
                text = Path(finding.template).read_text(encoding="utf-8")
            except (OSError, ValueError):
                self._texts[finding.template] = None
            else:
                self._texts[finding.template] = text.splitlines()
        lines = self._texts[finding.template]
        return None if lines is None else resource_line(lines, finding.resource)


def resource_line(lines: Sequence[str], resource: str) -> int | None:
    """The 1-based line declaring ``resource`` as a key (``Orders:`` in YAML, ``"Orders":``
    in JSON), the first such line under ``Resources``; ``None`` when there is none."""
    key = re.compile(
        rf"""^\s*(?:{re.escape(resource)}|"{re.escape(resource)}"|'{re.escape(resource)}')\s*:"""
    )
    section = re.compile(r"""^\s*(?:Resources|"Resources")\s*:""")
    seen_resources = False
    first = None
    for number, line in enumerate(lines, 1):
        if section.match(line):
            seen_resources = True
        elif key.match(line):
            if seen_resources:
                return number
            first = first or number
    return first
