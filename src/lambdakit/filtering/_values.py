"""Value semantics shared by the matcher and the parser: numbers, IP addresses, wildcards, case.

Numbers follow aws/event-ruler's current rule: a number is *comparable* when it is a finite
double that round-trips to the same decimal (``5``, ``5.0`` and ``5e0`` are all 5.0); comparable
numbers compare by value, others only by their exact text. IP addresses are recognised as
event-ruler does (dotted-quad IPv4, or colon-hex IPv6 without a dotted tail or zone).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from lambdakit.errors import FilterPatternError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NOT_COMPARABLE = None

_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


def is_number(value: Any) -> bool:
    """JSON numbers as Python holds them (``bool`` is an ``int`` in Python, not in JSON)."""
    kind = value.__class__
    return kind is int or kind is float or kind is Decimal


def comparable(value: Any, path: str | None = None) -> float | None:
    """The value of a JSON number as a double, or ``None`` when it does not round-trip.

    With ``path`` (a pattern operand), a number that cannot be compared is an error.
    """
    kind = value.__class__
    if kind is float:
        result: float | None = value if math.isfinite(value) else None
    elif kind is int:
        result = float(value) if -(2**53) <= value <= 2**53 else _exact(Decimal(value))
    elif kind is Decimal:
        result = _exact(value)
    else:
        result = None
    if result is None and path is not None:
        raise FilterPatternError(
            path, f"Cannot compare number {number_text(value)}: it is not exactly a double"
        )
    return result


def operand(value: Any, path: str) -> float:
    """A pattern's number as a double; :class:`FilterPatternError` when it is not exactly one."""
    result = comparable(value, path)
    assert result is not None  # comparable() raised otherwise
    return result


def _exact(value: Decimal) -> float | None:
    try:
        result = float(value)
    except (OverflowError, ValueError):
        return None
    if not math.isfinite(result):
        return None
    try:
        return result if Decimal(repr(result)) == value else None
    except InvalidOperation:
        return None


def number_text(value: Any) -> str:
    """The JSON text of a number, as exact text comparison sees it."""
    if value.__class__ is float:
        return repr(value)
    return str(value)


# --- IP addresses ------------------------------------------------------------------------------


def ip_of(text: str) -> tuple[int, int] | None:
    """``(version, integer)`` when ``text`` is an IP address as event-ruler reads one.

    IPv4-mapped IPv6 addresses in hex form (``::ffff:a00:1``) are IPv4, as Java reads them.
    """
    parts = text.split(".")
    if len(parts) == 4:
        # Dotted quad, parsed by hand (this runs per event value under cidr patterns).
        number = 0
        for part in parts:
            if not part.isdigit() or not part.isascii():
                return None
            if len(part) > 1 and part[0] == "0":
                return None  # leading zeros: not an address (as Python's ipaddress decides)
            octet = int(part)
            if octet > 255:
                return None
            number = number << 8 | octet
        return 4, number
    if ":" in text and _IPV6.fullmatch(text):
        import ipaddress

        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            return None
        mapped = address.ipv4_mapped
        if mapped is not None:
            return 4, int(mapped)
        return 6, int(address)
    return None


def parse_cidr(text: str, path: str) -> tuple[int, int, int]:
    """``(version, first, last)`` of a CIDR block; host bits set are allowed (ignored)."""
    parts = list(text.split("/"))
    while parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()  # Java's split drops trailing empty strings
    if len(parts) != 2:
        raise FilterPatternError(path, f"Malformed CIDR, one '/' required: {text!r}")
    address, mask_text = parts
    digits = mask_text[1:] if mask_text[:1] in ("+", "-") else mask_text
    if not digits or not (digits.isascii() and digits.isdigit()):  # Java's parseInt rules
        raise FilterPatternError(path, f"Malformed CIDR, mask bits must be an integer: {text!r}")
    mask = int(mask_text)
    if mask < 0:
        raise FilterPatternError(path, f"Malformed CIDR, mask bits must not be negative: {text!r}")
    if not (_IPV4.fullmatch(address) or _IPV6.fullmatch(address)):
        raise FilterPatternError(path, f"Nonstandard IP address: {address}")
    found = ip_of(address)
    if found is None:
        raise FilterPatternError(path, f"Invalid IP address: {address}")
    version, number = found
    bits = 32 if version == 4 else 128
    if mask >= bits:
        raise FilterPatternError(
            path,
            f"IPv{version} mask bits must be < {bits} (use the address itself, as a plain "
            f"value, to match one address): {text!r}",
        )
    host = bits - mask
    first = (number >> host) << host
    return version, first, first + (1 << host) - 1


# --- wildcards ---------------------------------------------------------------------------------


def parse_wildcard(text: str, path: str) -> tuple[str, ...]:
    """The literal pieces between ``*``s (``"a*b"`` → ``("a", "b")``); ``\\*`` and ``\\\\`` are
    escapes, ``**`` and any other backslash are errors (positions are 1-based, as AWS says)."""
    pieces: list[str] = []
    current: list[str] = []
    index = 0
    previous_star = False
    while index < len(text):
        char = text[index]
        if char == "\\":
            following = text[index + 1] if index + 1 < len(text) else ""
            if following not in ("*", "\\"):
                raise FilterPatternError(
                    path, f"Invalid escape character at pos {_byte(text, index) + 1} in {text!r}"
                )
            current.append(following)
            index += 2
            previous_star = False
            continue
        if char == "*":
            if previous_star:
                raise FilterPatternError(
                    path, f"Consecutive wildcard characters at pos {_byte(text, index)} in {text!r}"
                )
            pieces.append("".join(current))
            current = []
            previous_star = True
        else:
            current.append(char)
            previous_star = False
        index += 1
    pieces.append("".join(current))
    return tuple(pieces)


def _byte(text: str, index: int) -> int:
    """The UTF-8 byte offset of ``text[index]`` (event-ruler counts positions in bytes)."""
    return len(text[:index].encode("utf-8", "surrogatepass"))


def wildcard_matches(pieces: tuple[str, ...], value: str) -> bool:
    """Whether ``value`` matches the glob whose literal pieces are ``pieces``."""
    if len(pieces) == 1:
        return value == pieces[0]
    first, last = pieces[0], pieces[-1]
    if len(value) < len(first) + len(last):
        return False
    if not value.startswith(first) or not value.endswith(last):
        return False
    position = len(first)
    end = len(value) - len(last)
    for piece in pieces[1:-1]:
        found = value.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


# --- equals-ignore-case -----------------------------------------------------------------------


class IgnoreCase:
    """event-ruler's equals-ignore-case: each pattern character matches its lower- or
    upper-case form (the event is not transformed), anchored as a whole value, a prefix or a
    suffix. ASCII patterns against ASCII values take a plain ``lower()`` comparison."""

    __slots__ = ("_regex", "ascii", "folded", "mode", "text")

    def __init__(self, text: str, mode: str = "equals") -> None:
        self.text = text
        self.mode = mode
        self.ascii = text.isascii()
        self.folded = text.lower()
        self._regex: re.Pattern[str] | None = None

    def matches(self, value: str) -> bool:
        if self.ascii and value.isascii():
            folded = value.lower()
            if self.mode == "equals":
                return folded == self.folded
            if self.mode == "prefix":
                return folded.startswith(self.folded)
            return folded.endswith(self.folded)
        regex = self._regex
        if regex is None:
            alternatives = []
            for char in self.text:
                forms = sorted({char.lower(), char.upper()}, key=len, reverse=True)
                alternatives.append("(?:" + "|".join(re.escape(f) for f in forms) + ")")
            body = "".join(alternatives)
            source = {"equals": f"(?:{body})\\Z", "prefix": body, "suffix": f"(?:{body})\\Z"}
            regex = self._regex = re.compile(source[self.mode], re.DOTALL)
        if self.mode == "suffix":
            return any(regex.match(value, start) for start in range(len(value), -1, -1))
        return regex.match(value) is not None
