"""Java's ISO printing of instants, offset date-times and local times, and their parsing.

Checked against OpenJDK 17 (tests/flow/javatime_table.jsonl): `Instant.toString()` prints UTC
with `Z` and a fraction of none, 3, 6 or 9 digits. Values are (seconds since the epoch,
nanoseconds) or nanoseconds of the day, since Python's datetime stops at microseconds.

Where kflow differs on purpose: a local time always prints its seconds (`10:15:00`, where Java's
`LocalTime.toString()` prints `10:15`); parsing takes a naive date-time as UTC and accepts a
space for `T`.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta, timezone

from .durations import NANOS_PER_SECOND

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

Instant = tuple[int, int]
"""(seconds since the epoch, nanoseconds 0..999,999,999)."""


def fraction(nanos: int) -> str:
    """Java's ISO fraction of a second: nothing, or 3, 6 or 9 digits."""
    if nanos == 0:
        return ""
    if nanos % 1_000_000 == 0:
        return f".{nanos // 1_000_000:03d}"
    if nanos % 1_000 == 0:
        return f".{nanos // 1_000:06d}"
    return f".{nanos:09d}"


def instant_of(value: datetime) -> Instant:
    """A datetime as an instant; a naive one is taken as UTC."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    delta = aware - EPOCH
    return delta.days * 86400 + delta.seconds, delta.microseconds * 1000


def format_epoch(instant: Instant) -> str:
    """Java's `Instant.toString()`; ValueError outside the years 1 to 9999."""
    seconds, nanos = instant
    try:
        m = EPOCH + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise ValueError("expected a date-time between the years 1 and 9999") from None
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}{fraction(nanos)}Z"


def format_instant(value: datetime) -> str:
    """2024-03-01T10:15:30Z, as Java's `Instant.toString()` (how Kestra renders dates)."""
    return format_epoch(instant_of(value))


def format_offset(total_seconds: int) -> str:
    """An ISO offset as Java prints it: +01:00, -05:30, +05:30:15 (Z is the caller's choice)."""
    sign = "+" if total_seconds >= 0 else "-"
    hours, rest = divmod(abs(total_seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


def format_date_time(value: datetime) -> str:
    """UTC (or naive) as an `Instant`; another offset as Java's `OffsetDateTime.toString()`."""
    offset = value.utcoffset()
    if value.tzinfo is None or offset == timedelta(0):
        return format_instant(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S") + fraction(value.microsecond * 1000) + format_offset(int(offset.total_seconds()))


_DATE_TIME = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[Tt ](?P<h>\d{2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
    r"(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$"
)


def _offset_seconds(text: str) -> int:
    if text in ("Z", "z"):
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes, seconds = int(digits[0:2]), int(digits[2:4] or 0), int(digits[4:6] or 0)
    if hours > 18 or minutes > 59 or seconds > 59:
        raise ValueError("offset out of range")
    return sign * (hours * 3600 + minutes * 60 + seconds)


def parse_instant(text: str) -> Instant | None:
    """An ISO-8601 date-time (offset optional, then UTC); None if it is not one, ValueError if out of range."""
    match = _DATE_TIME.match(text.strip())
    if not match:
        return None
    g = match.groupdict()
    local = datetime(int(g["y"]), int(g["mo"]), int(g["d"]), int(g["h"]), int(g["mi"]), int(g["s"] or 0))
    offset = _offset_seconds(g["tz"]) if g["tz"] else 0
    return calendar.timegm(local.timetuple()) - offset, int((g["f"] or "0").ljust(9, "0"))


_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_local_date(text: str) -> date | None:
    """An ISO local date; None if it is not one, ValueError if out of range."""
    match = _DATE.match(text.strip())
    return date(int(match[1]), int(match[2]), int(match[3])) if match else None


_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?$")


def parse_local_time(text: str) -> int | None:
    """Nanoseconds of the day in an ISO local time; None if it is not one, ValueError if out of range."""
    match = _TIME.match(text.strip())
    if not match:
        return None
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError("out of range")
    return (hours * 3600 + minutes * 60 + seconds) * NANOS_PER_SECOND + int((match[4] or "0").ljust(9, "0"))


def format_local_time(nanos_of_day: int) -> str:
    """10:15:30, 10:15:00.5: Java's `LocalTime.toString()`, except that seconds always print."""
    seconds, nanos = divmod(nanos_of_day, NANOS_PER_SECOND)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{fraction(nanos)}"
