"""Java's `Duration`: `Duration.parse` and `Duration.toString`, on a whole number of nanoseconds.

Java's rules, checked against OpenJDK 17 (tests/flow/javatime_table.jsonl):
- the text is `[-+]P[nD][T[nH][nM][n[.f]S]]`, case-insensitive, each number with its own
  optional sign (`PT-1H-30M`, `-PT5S`, `P-1D`); a fraction (up to 9 digits, `.` or `,`) only on
  seconds; at least one part, and something after `T`;
- no weeks, months or years: `P1W` is refused (Java's `Period` has weeks, `Duration` has not);
- the value is a Java `long` of seconds plus nanoseconds; larger values are refused;
- `toString()` prints hours (not days), minutes and seconds, each part carrying the sign:
  -5,400 s is `PT-1H-30M`, -0.5 s is `PT-0.5S`, 0.0005 s is `PT0.0005S`.

kflow is lenient in one way only, everywhere: blanks around the text are ignored.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

NANOS_PER_SECOND = 1_000_000_000
_LONG_MAX = 2**63 - 1
_LONG_MIN = -(2**63)

_DURATION = re.compile(
    r"^(?P<sign>[-+]?)P(?:(?P<d>[-+]?\d+)D)?"
    r"(?P<t>T(?:(?P<h>[-+]?\d+)H)?(?:(?P<m>[-+]?\d+)M)?(?:(?P<s>[-+]?\d+)(?:[.,](?P<f>\d{0,9}))?S)?)?$",
    re.IGNORECASE,
)
_WEEKS = re.compile(r"^[-+]?P(?:[-+]?\d+W)", re.IGNORECASE)
EXPECTED = "expected an ISO-8601 duration such as PT30S, PT1H30M or P2D"


class DurationError(ValueError):
    """A text that is not a Java duration; `reason` says why when more than the form is wrong."""

    def __init__(self, text: str, reason: str | None = None):
        self.text, self.reason = text, reason
        super().__init__(f"{EXPECTED}, got {text!r}" + (f" ({reason})" if reason else ""))


def _long(value: int, text: str) -> int:
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise DurationError(text, "out of range: too large for a Java Duration")
    return value


def parse_duration_nanos(text: str) -> int:
    """Nanoseconds in a Java `Duration` text; raises DurationError saying what was expected."""
    stripped = text.strip()
    match = _DURATION.match(stripped)
    if not match:
        if _WEEKS.match(stripped):
            raise DurationError(text, "a Java Duration has no weeks: write P7D for P1W")
        raise DurationError(text)
    g = match.groupdict()
    if g["t"] is not None and not (g["h"] or g["m"] or g["s"]):
        raise DurationError(text, "nothing after T")
    if not (g["d"] or g["h"] or g["m"] or g["s"]):
        raise DurationError(text)
    seconds = 0
    for key, unit in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if g[key]:
            seconds = _long(seconds + _long(_long(int(g[key]), text) * unit, text), text)
    fraction = int((g["f"] or "0").ljust(9, "0"))
    if g["s"] and g["s"].startswith("-"):
        fraction = -fraction
    total = seconds * NANOS_PER_SECOND + fraction
    if g["sign"] == "-":
        total = -total
    _long(total // NANOS_PER_SECOND, text)
    return total


def format_duration_nanos(total_nanos: int) -> str:
    """Java's `Duration.toString()`: PT1H30M, PT0.5S, PT48H, PT-1H-30M, PT-0.5S, PT0S."""
    if total_nanos == 0:
        return "PT0S"
    seconds, nanos = divmod(total_nanos, NANOS_PER_SECOND)  # floor, as Duration stores them
    effective = seconds + 1 if seconds < 0 and nanos > 0 else seconds
    sign = -1 if effective < 0 else 1
    hours, rest = divmod(abs(effective), 3600)  # Java's division truncates towards zero
    minutes, secs = divmod(rest, 60)
    hours, minutes, secs = sign * hours, sign * minutes, sign * secs
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    if secs == 0 and nanos == 0 and len(out) > 2:
        return out
    out += "-0" if seconds < 0 and nanos > 0 and secs == 0 else str(secs)
    if nanos > 0:
        digits = str(2 * NANOS_PER_SECOND - nanos if seconds < 0 else nanos + NANOS_PER_SECOND)
        out += "." + digits[1:].rstrip("0")
    return out + "S"


def seconds_to_nanos(seconds: float | int | Decimal) -> int:
    """A number of seconds as whole nanoseconds (a float is read as the decimal it prints as)."""
    if isinstance(seconds, float):
        seconds = Decimal(repr(seconds))
    return int((Decimal(seconds) * NANOS_PER_SECOND).to_integral_value())


def timedelta_to_nanos(value: timedelta) -> int:
    return (value.days * 86400 + value.seconds) * NANOS_PER_SECOND + value.microseconds * 1000


def parse_duration(text: str) -> float:
    """Seconds in a Java `Duration` text (what timeouts and delays are written as)."""
    return parse_duration_nanos(text) / NANOS_PER_SECOND


def format_duration(value: float | int | timedelta) -> str:
    """Java's `Duration.toString()` of a number of seconds or a timedelta."""
    if isinstance(value, timedelta):
        return format_duration_nanos(timedelta_to_nanos(value))
    return format_duration_nanos(seconds_to_nanos(value))
