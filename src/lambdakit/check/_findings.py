"""What ``lambdakit check`` reports: one :class:`Finding` per problem, each from a :class:`Rule`
with a stable id, so that a finding can be ignored by id and traced to its reason and source."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One check: a stable ``id`` (``LK101``), a one-line ``title``, ``why`` it matters and
    the AWS documentation page it follows (``source``)."""

    id: str
    title: str
    why: str
    source: str


@dataclass(frozen=True)
class Finding:
    """A problem in a template: the ``rule`` broken, ``severity`` (``"error"``: will lose or
    re-run records; ``"warning"``: risky), the ``resource`` (logical id) and the property
    ``path`` in it (``Properties.VisibilityTimeout``), what is wrong (``message``) and how to
    fix it (``fix``); ``template`` is the file read."""

    rule: Rule
    severity: str
    resource: str
    path: str
    message: str
    fix: str
    template: str
