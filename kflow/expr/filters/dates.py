"""Date filters: ``date``, ``dateAdd``, ``timestamp*`` with Java DateTimeFormatter patterns.

Values accepted as dates: ``datetime`` (naive = UTC), ``date``, ISO-8601 strings (with
``Z``/offset/``[Zone]``, date only, or local date-time interpreted in ``timeZone``), epoch
numbers (by magnitude, as Kestra: seconds, milliseconds, microseconds or nanoseconds), and
strings in ``existingFormat``. Formatting follows Java's DateTimeFormatter through kflow.javatime
(Babel, honouring ``locale``); parsing an ``existingFormat`` uses Python's strptime, so month and
day names are read in English only.
"""

from __future__ import annotations

import datetime as _dt
import calendar
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kflow.javatime import STYLES, format_pattern, format_style, tokens
from kflow.javatime.instants import format_offset

from ..values import UTC, instant_str
from ._util import fail, need, text, to_int

PRESETS = {
    "iso": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "iso_milli": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "iso_sec": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "sql": "yyyy-MM-dd HH:mm:ss.SSSSSS",
    "sql_milli": "yyyy-MM-dd HH:mm:ss.SSS",
    "sql_sec": "yyyy-MM-dd HH:mm:ss",
}
# `short`, `medium`, `long` and `full` are Java's FormatStyle, in the given locale (javatime.STYLES).


# --------------------------------------------------------------------------- zones


def zone(name: Any) -> _dt.tzinfo | None:
    if name is None:
        return None
    name = text(name).strip()
    if name in ("UTC", "Z", "GMT", "Etc/UTC", "UT"):
        return UTC
    m = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?", name)
    if m:
        delta = _dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        return _dt.timezone(-delta if m.group(1) == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"unknown time zone {name!r}")


# --------------------------------------------------------------------------- parsing


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=UTC)


def _from_epoch(num: float) -> _dt.datetime:
    """Kestra guesses the unit from the magnitude: s, ms, µs or ns."""
    mag = abs(num)
    if mag < 1e11:
        return _EPOCH + _dt.timedelta(seconds=num)
    if mag < 1e14:
        return _EPOCH + _dt.timedelta(milliseconds=num)
    if mag < 1e17:
        return _EPOCH + _dt.timedelta(microseconds=num)
    return _EPOCH + _dt.timedelta(microseconds=int(num) // 1000)


_ISO_ZONE_SUFFIX = re.compile(r"\[([^\]]+)\]$")
_FRACTION = re.compile(r"(\.\d{6})\d+")


def _parse_iso(s: str, tz: _dt.tzinfo | None) -> _dt.datetime | None:
    raw = s.strip()
    zone_suffix = None
    m = _ISO_ZONE_SUFFIX.search(raw)
    if m:
        zone_suffix = m.group(1)
        raw = raw[: m.start()]
    raw = _FRACTION.sub(r"\1", raw)
    if raw.endswith(("z", "Z")):
        raw = raw[:-1] + "+00:00"
    try:
        dt = _dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone(zone_suffix) if zone_suffix else (tz or UTC))
    elif zone_suffix:
        dt = dt.astimezone(zone(zone_suffix))
    return dt


_STRPTIME = {
    "y": lambda n: "%y" if n == 2 else "%Y",
    "u": lambda n: "%y" if n == 2 else "%Y",
    "M": lambda n: "%B" if n >= 4 else "%b" if n == 3 else "%m",
    "L": lambda n: "%B" if n >= 4 else "%b" if n == 3 else "%m",
    "d": lambda n: "%d",
    "D": lambda n: "%j",
    "H": lambda n: "%H",
    "k": lambda n: "%H",
    "h": lambda n: "%I",
    "K": lambda n: "%I",
    "m": lambda n: "%M",
    "s": lambda n: "%S",
    "S": lambda n: "%f",
    "a": lambda n: "%p",
    "E": lambda n: "%A" if n >= 4 else "%a",
    "X": lambda n: "%z",
    "x": lambda n: "%z",
    "Z": lambda n: "%z",
    "z": lambda n: "%Z",
}


def _parse_with(s: str, pattern: str, tz: _dt.tzinfo | None) -> _dt.datetime:
    key = pattern.lower()
    if key == "rfc_1123_date_time":
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(s)
        except (TypeError, ValueError):
            fail(f"cannot parse {s!r} as an RFC 1123 date")
    if key.startswith("iso") or key in ("sql", "sql_milli", "sql_sec"):
        dt = _parse_iso(s, tz)
        if dt is None:
            fail(f"cannot parse {s!r} as {pattern}")
        return dt
    pattern = PRESETS.get(pattern, pattern)
    fmt = []
    for kind, tok in tokens(pattern):
        if kind == "lit":
            fmt.append(tok.replace("%", "%%"))
        else:
            conv = _STRPTIME.get(tok[0])
            if conv is None:
                fail(f"unsupported pattern letter {tok[0]!r} in existingFormat {pattern!r}")
            fmt.append(conv(len(tok)))
    fmt_s = "".join(fmt)
    s2 = s.strip()
    if "%z" in fmt_s and s2.endswith("Z"):
        s2 = s2[:-1] + "+0000"
    try:
        dt = _dt.datetime.strptime(s2, fmt_s)
    except ValueError as e:
        fail(f"cannot parse {s!r} with format {pattern!r}: {e}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz or UTC)
    return dt


def to_datetime(value: Any, existing_format: Any = None, time_zone: Any = None) -> _dt.datetime:
    need(value)
    tz = zone(time_zone)
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz or UTC)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=tz or UTC)
    if isinstance(value, bool) or value is None:
        fail(f"cannot convert {text(value) or 'null'!r} to a date")
    if isinstance(value, (int, float)):
        try:
            return _from_epoch(value)
        except (OverflowError, ValueError):
            fail(f"{value} is out of the supported date range")
    if isinstance(value, str):
        if existing_format is not None:
            return _parse_with(value, text(existing_format), tz)
        dt = _parse_iso(value, tz)
        if dt is not None:
            return dt
        if re.fullmatch(r"-?\d+", value.strip()):
            return _from_epoch(int(value.strip()))
        fail(f"cannot parse {value!r} as a date (use existingFormat=...)")
    fail(f"cannot convert a {type(value).__name__} to a date")


# --------------------------------------------------------------------------- formatting


def _fraction_min(dt: _dt.datetime) -> str:
    if not dt.microsecond:
        return ""
    return "." + f"{dt.microsecond:06d}".rstrip("0")


def _iso_offset(dt: _dt.datetime) -> str:
    seconds = int((dt.utcoffset() or _dt.timedelta(0)).total_seconds())
    return "Z" if seconds == 0 else format_offset(seconds)


def _iso_zone(dt: _dt.datetime) -> str:
    out = _iso_offset(dt)
    if isinstance(dt.tzinfo, ZoneInfo):
        out += f"[{dt.tzinfo.key}]"
    return out


def _rfc_1123(dt: _dt.datetime) -> str:
    zero = not (dt.utcoffset() or _dt.timedelta(0))
    return format_pattern(dt, "EEE, d MMM yyyy HH:mm:ss " + ("'GMT'" if zero else "Z"), "en")


def _iso_builtin(dt: _dt.datetime, key: str) -> str | None:
    date = dt.strftime("%Y-%m-%d")
    time = dt.strftime("%H:%M:%S") + _fraction_min(dt)
    table = {
        "iso_local_date": lambda: date,
        "iso_local_time": lambda: time,
        "iso_local_date_time": lambda: f"{date}T{time}",
        "iso_date": lambda: date + _iso_offset(dt),
        "iso_time": lambda: time + _iso_offset(dt),
        "iso_offset_time": lambda: time + _iso_offset(dt),
        "iso_offset_date": lambda: date + _iso_offset(dt),
        "iso_offset_date_time": lambda: f"{date}T{time}{_iso_offset(dt)}",
        "iso_date_time": lambda: f"{date}T{time}{_iso_zone(dt)}",
        "iso_zoned_date_time": lambda: f"{date}T{time}{_iso_zone(dt)}",
        "iso_instant": lambda: instant_str(dt),
        "iso_ordinal_date": lambda: f"{dt.year:04d}-{dt.timetuple().tm_yday:03d}{_iso_offset(dt)}",
        "iso_week_date": lambda: "{:04d}-W{:02d}-{}".format(*dt.isocalendar()) + _iso_offset(dt),
        "basic_iso_date": lambda: dt.strftime("%Y%m%d") + format_pattern(dt, "XX"),
        "rfc_1123_date_time": lambda: _rfc_1123(dt),
    }
    fn = table.get(key)
    return fn() if fn else None


def format_datetime(dt: _dt.datetime, pattern: str, locale: Any = None) -> str:
    """`dt` in a Java pattern, a preset (`iso`, `sql`...), or a FormatStyle, in `locale` (Babel)."""
    builtin = _iso_builtin(dt, pattern.lower())
    if builtin is not None:
        return builtin
    where = None if locale is None else text(locale)
    try:
        if pattern in STYLES:
            return format_style(dt, pattern, where)
        return format_pattern(dt, PRESETS.get(pattern, pattern), where)
    except ValueError as err:
        fail(str(err))


def _in_zone(dt: _dt.datetime, time_zone: Any) -> _dt.datetime:
    tz = zone(time_zone)
    return dt.astimezone(tz) if tz is not None else dt


def date(value: Any, format: Any = None, existingFormat: Any = None, timeZone: Any = None, locale: Any = None) -> Any:
    """``date(format='iso', existingFormat=None, timeZone=None, locale=None)``."""
    need(value)
    if value is None:
        return None
    dt = _in_zone(to_datetime(value, existingFormat, timeZone), timeZone)
    return format_datetime(dt, "iso" if format is None else text(format), locale)


_UNITS = {
    "NANOS": _dt.timedelta(microseconds=0.001),
    "MICROS": _dt.timedelta(microseconds=1),
    "MILLIS": _dt.timedelta(milliseconds=1),
    "SECONDS": _dt.timedelta(seconds=1),
    "MINUTES": _dt.timedelta(minutes=1),
    "HOURS": _dt.timedelta(hours=1),
    "HALF_DAYS": _dt.timedelta(hours=12),
}
_CALENDAR_DAYS = {"DAYS": 1, "WEEKS": 7}
_CALENDAR_MONTHS = {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1200, "MILLENNIA": 12000}


def add(dt: _dt.datetime, amount: int, unit: str) -> _dt.datetime:
    unit = unit.upper()
    try:
        if unit in _UNITS:
            utc = dt.astimezone(UTC) + _UNITS[unit] * amount
            return utc.astimezone(dt.tzinfo)
        if unit in _CALENDAR_DAYS:
            # aware arithmetic in Python is wall-clock arithmetic, like ZonedDateTime.plusDays
            return dt + _dt.timedelta(days=_CALENDAR_DAYS[unit] * amount)
        if unit in _CALENDAR_MONTHS:
            months = dt.year * 12 + (dt.month - 1) + _CALENDAR_MONTHS[unit] * amount
            year, month = divmod(months, 12)
            month += 1
            day = min(dt.day, calendar.monthrange(year, month)[1])
            return dt.replace(year=year, month=month, day=day)
    except (OverflowError, ValueError):
        fail("dateAdd: result is out of the supported date range")
    fail(f"dateAdd: unknown unit {unit!r} (use DAYS, HOURS, MINUTES, SECONDS, MILLIS, WEEKS, MONTHS, YEARS...)")


def date_add(value: Any, amount: Any, unit: Any, format: Any = None, existingFormat: Any = None, timeZone: Any = None) -> Any:
    """Kestra's ``dateAdd(amount, unit)``: returns the date formatted (default ``iso``)."""
    need(value)
    if value is None:
        return None
    dt = _in_zone(to_datetime(value, existingFormat, timeZone), timeZone)
    out = add(dt, to_int(amount, "amount"), text(unit))
    return format_datetime(out, "iso" if format is None else text(format))


def _epoch_micros(value: Any, existingFormat: Any, timeZone: Any) -> int:
    dt = to_datetime(value, existingFormat, timeZone)
    delta = dt - _dt.datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def timestamp(value: Any, existingFormat: Any = None, timeZone: Any = None) -> int:
    return _epoch_micros(value, existingFormat, timeZone) // 1_000_000


def timestamp_milli(value: Any, existingFormat: Any = None, timeZone: Any = None) -> int:
    return _epoch_micros(value, existingFormat, timeZone) // 1000


def timestamp_micro(value: Any, existingFormat: Any = None, timeZone: Any = None) -> int:
    return _epoch_micros(value, existingFormat, timeZone)


def timestamp_nano(value: Any, existingFormat: Any = None, timeZone: Any = None) -> int:
    return _epoch_micros(value, existingFormat, timeZone) * 1000


FILTERS = {
    "date": date,
    "dateAdd": date_add,
    "timestamp": timestamp,
    "timestampMilli": timestamp_milli,
    "timestampMicro": timestamp_micro,
    "timestampNano": timestamp_nano,
}
