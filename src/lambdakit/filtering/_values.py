"""Value semantics shared by the matcher and the parser: numbers, IP addresses, wildcards, case.

Numbers follow aws/event-ruler's current rule: a number is *comparable* when it is a finite
double that round-trips to the same decimal (``5``, ``5.0`` and ``5e0`` are all 5.0); comparable
numbers compare by value, others only by their exact text. IP addresses are recognised as
event-ruler does (dotted-quad IPv4, or colon-hex IPv6 without a dotted tail or zone).

Event values are chosen by whoever sends the event, so everything here takes time linear in
the value (or bounded by the pattern): no backtracking regular expression, no conversion of an
integer of unbounded length to text, no matching attempt at every position of a string.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from lambdakit.errors import FilterPatternError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NOT_COMPARABLE = None

# AWS parses patterns with Jackson, whose default limits refuse a number written with more than
# 1,000 characters; an event number longer than that can therefore equal no pattern literal.
MAX_NUMBER_CHARS = 1000
_MAX_LITERAL_BITS = 3400  # an integer of more bits has more than 1,000 digits
_TEN_TO_MAX = 10**MAX_NUMBER_CHARS  # the smallest integer of more than 1,000 digits


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
        result = float(value) if -(2**53) <= value <= 2**53 else _exact_int(value)
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


def _exact_int(value: int) -> float | None:
    """:func:`_exact` for an integer beyond 2**53. One beyond double range is refused before
    any conversion (converting an integer of unbounded length is slow, or refused)."""
    try:
        float(value)
    except OverflowError:
        return None
    return _exact(Decimal(value))  # at most 309 digits


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
    """The JSON text of a number, as exact text comparison sees it (a pattern's number: at
    most :data:`MAX_NUMBER_CHARS` characters, see :func:`event_number_text` for events')."""
    if value.__class__ is float:
        return repr(value)
    if value.__class__ is int:
        return int_text(value)
    return str(value)


def is_finite(value: Any) -> bool:
    """Whether a number is finite (JSON has no NaN or infinities; Python's floats and
    ``Decimal`` do)."""
    if value.__class__ is float:
        return math.isfinite(value)
    if value.__class__ is Decimal:
        return bool(value.is_finite())
    return True


def is_nan(value: Any) -> bool:
    """Whether a float or ``Decimal`` is a NaN (a signalling one included, which ``!=`` would
    raise on)."""
    return bool(value.is_nan()) if value.__class__ is Decimal else value != value


def too_long(value: Any) -> bool:
    """Whether a (finite) number takes more than :data:`MAX_NUMBER_CHARS` characters to write,
    not counting a minus sign; an integer's length is found without writing it."""
    if value.__class__ is int:
        return bool(abs(value) >= _TEN_TO_MAX)
    if value.__class__ is Decimal:
        return len(str(value).lstrip("-")) > MAX_NUMBER_CHARS
    return False


def event_number_text(value: Any) -> str | None:
    """:func:`number_text` of an event's number, or ``None`` for an integer too long to be
    written in a pattern (it equals no literal, and Python refuses to convert it to text)."""
    if value.__class__ is int and value.bit_length() > _MAX_LITERAL_BITS:
        return None
    return number_text(value)


def int_text(value: int) -> str:
    """``str(value)``, also when ``sys.set_int_max_str_digits()`` is set below its length (as
    CPython advises services reading untrusted input to do): ``Decimal`` is not limited."""
    try:
        return str(value)
    except ValueError:
        return str(Decimal(value))


def text_int(text: str) -> int:
    """``int(text)`` for decimal digits, whatever ``sys.set_int_max_str_digits()`` says."""
    try:
        return int(text)
    except ValueError:
        return int(Decimal(text))


# --- IP addresses ------------------------------------------------------------------------------


# The longest text either kind of address can be: 8 groups of 4 hex digits and 7 colons (a
# dotted-quad IPv4 address is at most 15 characters). Longer strings are not addresses, and are
# refused before any parsing, so a long string costs nothing here.
MAX_IP_TEXT = 39
_HEX_AND_COLON = "0123456789abcdefABCDEF:"


def looks_like_ip(text: str) -> bool:
    """event-ruler's test before it parses an address: ``[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+``
    or ``[0-9a-fA-F:]*:[0-9a-fA-F:]*``, decided in one pass over ``text`` (run as regular
    expressions, the second backtracks: quadratic on a long run of colons)."""
    if ":" in text:
        return not text.strip(_HEX_AND_COLON)
    parts = text.split(".")
    return len(parts) == 4 and all(part.isascii() and part.isdigit() for part in parts)


def ip_of(text: str) -> tuple[int, int] | None:
    """``(version, integer)`` when ``text`` is an IP address as event-ruler reads one.

    IPv4-mapped IPv6 addresses in hex form (``::ffff:a00:1``) are IPv4, as Java reads them.
    Constant time for strings longer than an address can be; parsed by hand otherwise (this
    runs for every event string under a ``cidr`` pattern or an address in a value list).
    """
    if len(text) > MAX_IP_TEXT:
        return None
    parts = text.split(".")
    if len(parts) == 4:
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
    if ":" not in text or text.strip(_HEX_AND_COLON):
        return None
    address = _ipv6(text.split(":"))
    if address is None:
        return None
    if address >> 32 == 0xFFFF:  # ::ffff:a.b.c.d in hex
        return 4, address & 0xFFFFFFFF
    return 6, address


def _ipv6(parts: list[str]) -> int | None:
    """The address of the hextets ``parts`` (the text split on colons; hex digits only), by the
    rules of Python's ``ipaddress``: at most one ``::``, which may stand at either end, 8
    hextets of 1 to 4 digits in all."""
    if not 3 <= len(parts) <= 9:
        return None
    empty = [index for index in range(1, len(parts) - 1) if not parts[index]]
    if len(empty) > 1:
        return None
    if empty:
        high = empty[0]
        low = len(parts) - high - 1
        if not parts[0]:
            high -= 1
            if high:
                return None
        if not parts[-1]:
            low -= 1
            if low:
                return None
        if high + low > 7:
            return None
    elif len(parts) != 8 or not parts[0] or not parts[-1]:
        return None
    else:
        high, low = 8, 0
    groups = parts[:high] + ["0"] * (8 - high - low) + (parts[len(parts) - low :] if low else [])
    number = 0
    for group in groups:
        if not 1 <= len(group) <= 4:
            return None
        number = number << 16 | int(group, 16)
    return number


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
    if not looks_like_ip(address):
        raise FilterPatternError(path, f"Nonstandard IP address: {_clip(address)}")
    found = ip_of(address)
    if found is None:
        raise FilterPatternError(path, f"Invalid IP address: {_clip(address)}")
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


def _clip(text: str, limit: int = 60) -> str:
    """``text`` for a message, shortened when long (a pattern's operand may be any length)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


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
    suffix. ASCII patterns against ASCII values take a plain ``lower()`` comparison.

    Otherwise the pattern is run over the value as an automaton: the set of positions the
    characters matched so far can end at, one pattern character at a time (from the end of the
    value for a suffix). No form of a character is a prefix of another, so the set holds one
    position in practice; the work is bounded by the pattern's length, whatever the value's.
    """

    __slots__ = ("ascii", "folded", "forms", "mode", "text")

    def __init__(self, text: str, mode: str = "equals") -> None:
        self.text = text
        self.mode = mode
        self.ascii = text.isascii()
        self.folded = text.lower()
        # Per pattern character, its forms; reversed for a suffix, which is matched backwards.
        forms = [tuple(sorted({char.lower(), char.upper()})) for char in text]
        self.forms = tuple(reversed(forms)) if mode == "suffix" else tuple(forms)

    def matches(self, value: str) -> bool:
        if self.ascii and value.isascii():
            folded = value.lower()
            if self.mode == "equals":
                return folded == self.folded
            if self.mode == "prefix":
                return folded.startswith(self.folded)
            return folded.endswith(self.folded)
        if self.mode == "suffix":
            ends = {len(value)}  # where the part of the value still to match ends
            for forms in self.forms:
                ends = {
                    end - len(form)
                    for end in ends
                    for form in forms
                    if value.endswith(form, 0, end)
                }
                if not ends:
                    return False
            return True
        starts = {0}  # where the part of the value still to match starts
        for forms in self.forms:
            starts = {
                start + len(form)
                for start in starts
                for form in forms
                if value.startswith(form, start)
            }
            if not starts:
                return False
        return self.mode == "prefix" or len(value) in starts
