"""What the benchmark scripts share: the results table, the correctness check, the header.

Imported as ``from _report import ...``: each script runs as ``python bench/<name>_bench.py``,
which puts ``bench/`` first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import os
import platform
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

HEADER = ["case", "lambdakit", "powertools", "ratio (lk/pt)", "target", "met?"]


@dataclass(frozen=True)
class Row:
    """One measurement of both libraries. ``target`` bounds lambdakit / powertools; a row whose
    target is ``None`` is informational: shown with "n/a" and "-", never counted as a miss."""

    case: str
    lambdakit: float
    powertools: float
    unit: str
    target: float | None

    @property
    def within_target(self) -> bool:
        """Whether the ratio is within the target (``True`` when there is no target)."""
        if self.target is None:
            return True
        if self.powertools == 0:
            return self.lambdakit == 0  # 0 vs 0: equal, so within any target >= 1
        return self.lambdakit / self.powertools <= self.target

    @property
    def missed(self) -> bool:
        return not self.within_target

    def ratio_cell(self) -> str:
        if self.powertools == 0:
            return "= (0/0)" if self.lambdakit == 0 else "inf"
        return f"{self.lambdakit / self.powertools:.3f}x"

    def cells(self) -> list[str]:
        if self.target is None:
            target, met = "n/a", "-"
        else:
            target, met = f"<= {self.target:g}x", "NO" if self.missed else "yes"
        return [
            self.case,
            f"{self.lambdakit:.3g} {self.unit}",
            f"{self.powertools:.3g} {self.unit}",
            self.ratio_cell(),
            target,
            met,
        ]


FLOOR_HEADER = [
    "case",
    "floor",
    "lambdakit",
    "Powertools",
    "lk / floor",
    "lk / Powertools",
    "target",
    "met?",
]


@dataclass(frozen=True)
class Target:
    """A bound on one of a row's ratios: lambdakit / ``against`` <= ``bound``, where
    ``against`` is ``"floor"`` or ``"peer"``."""

    against: str
    bound: float

    def __post_init__(self) -> None:
        if self.against not in ("floor", "peer"):
            raise ValueError(f"Target.against: 'floor' or 'peer', got {self.against!r}")


@dataclass(frozen=True)
class FloorRow:
    """One case measured three ways: the floor (the same semantics in a bare Python loop, or
    the raw client), lambdakit and the peer, in the same unit. A row without targets is
    informational ("-" in the met? column). ``floor`` is ``None`` when no floor applies; ``peer``
    is ``None`` when the peer has nothing of its own to measure beyond the floor (a raw client
    used directly is both), shown as "-" rather than the floor's figure twice."""

    case: str
    floor: float | None
    lambdakit: float
    peer: float | None
    unit: str
    targets: tuple[Target, ...] = ()
    peer_name: str = "Powertools"

    def ratio(self, against: str) -> float | None:
        """lambdakit / the floor or the peer; ``None`` when there is nothing to divide by."""
        base = self.floor if against == "floor" else self.peer
        if base is None or base <= 0:
            return None
        return self.lambdakit / base

    @property
    def missed(self) -> bool:
        """Whether some target is not met (a ratio that cannot be computed misses)."""
        return any(
            (ratio := self.ratio(t.against)) is None or ratio > t.bound for t in self.targets
        )

    def cells(self) -> list[str]:
        def value(v: float | None) -> str:
            return "-" if v is None else f"{v:.3g} {self.unit}"

        def ratio(against: str) -> str:
            r = self.ratio(against)
            return "-" if r is None else f"{r:.2f}x"

        if self.targets:
            names = {"floor": "floor", "peer": self.peer_name}
            target = ", ".join(f"<= {t.bound:g}x {names[t.against]}" for t in self.targets)
            met = "NO" if self.missed else "yes"
        else:
            target, met = "n/a", "-"
        return [
            self.case,
            value(self.floor),
            value(self.lambdakit),
            value(self.peer),
            ratio("floor"),
            ratio("peer"),
            target,
            met,
        ]


class RequestCounter:
    """Every HTTP request a boto3 client sends (retries included), by operation name."""

    def __init__(self, client: Any) -> None:
        self.operations: list[str] = []
        self._lock = threading.Lock()
        client.meta.events.register("before-send", self._sent)

    def _sent(self, request: Any, **_: Any) -> None:  # None: a value would replace the response
        target = request.headers.get("X-Amz-Target", b"")
        if isinstance(target, bytes):
            target = target.decode()
        with self._lock:
            self.operations.append(str(target).rpartition(".")[2] or "?")

    def __len__(self) -> int:
        return len(self.operations)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        """The operations sent inside the block (filled in when it exits)."""
        sent: list[str] = []
        start = len(self.operations)
        yield sent
        sent.extend(self.operations[start:])


def check(ok: bool, message: str) -> None:
    """Stop the run (exit status 1, message on stderr) when a correctness check fails."""
    if not ok:
        raise SystemExit(f"correctness check failed: {message}")


def render(rows: list[Any], markdown: bool, header: list[str] | None = None) -> str:
    """The rows (anything with ``cells()``: :class:`Row`, :class:`FloorRow`) as an aligned
    plain-text table, or as a Markdown table; ``header`` names the columns when they are not
    :data:`HEADER` (another peer, or a floor column)."""
    header = header or HEADER
    table = [header, *(row.cells() for row in rows)]
    for cells in table:
        if len(cells) != len(header):
            raise ValueError(
                f"render: {cells[0]!r} has {len(cells)} cells for {len(header)} columns"
            )
    if markdown:
        lines = ["| " + " | ".join(cells) + " |" for cells in table]
        lines.insert(1, "|" + "|".join(["---"] + ["---:"] * (len(header) - 2) + [":---:"]) + "|")
        return "\n".join(lines)
    widths = [max(len(cells[col]) for cells in table) for col in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)) for cells in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_header(*details: str) -> None:
    """Print the environment (Python, machine, both libraries' versions), then ``details``, one
    a line, then a blank line."""
    print(f"Python {platform.python_version()} ({platform.machine()}, {os.cpu_count()} CPUs)")
    print(f"aws-lambda-powertools {version('aws-lambda-powertools')}")
    print(f"lambdakit {version('lambdakit')}")
    for line in details:
        print(line)
    print()


def arguments(doc: str, quick: str) -> argparse.ArgumentParser:
    """The options every benchmark takes: ``--quick`` (what it shrinks: ``quick``) and
    ``--markdown``; a script adds its own before ``parse_args()``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    return parser


def powertools_defaults() -> None:
    """Powertools reads POWERTOOLS_* (debug logging, dev mode, idempotency disabled, parameter
    max age...) at import or per call, and subprocesses inherit them: measure its defaults."""
    for name in [n for n in os.environ if n.startswith("POWERTOOLS_")]:
        del os.environ[name]
