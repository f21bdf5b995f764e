"""Java `DateTimeFormatter` patterns (`yyyy-MM-dd HH:mm`, `EEEE d MMMM`) and styles, on Babel.

Java's pattern letters are CLDR's, so Babel (CLDR data and formatting) prints most fields as
Java does, in the requested locale. Compared with OpenJDK 17 in tests/flow/javatime_table.jsonl;
where they differ kflow prints these fields itself, as Java does:
- `S` and `n` (fractions and nano-of-second: Python stops at microseconds, Java prints nanos);
- `VV` (Babel prints `Etc/UTC` for UTC), `z` (Babel falls back to `+0100` where Java prints the
  tz database abbreviation `CET`), `O`/`OOOO`/`ZZZZ` (Java prints just `GMT` at offset zero);
- `e`/`c` as numbers and `W` (Java counts weeks from Sunday unless the locale names a region
  that starts them on another day; Babel differs), `F` (Java 17 prints the aligned day of the
  week in the month);
- the `full` and `long` styles join date and time with CLDR's "atTime" glue (`at`, `à`, `um`),
  which Babel's data lacks: kflow carries it for English, French and German.
Known differences left to Babel (its CLDR is newer than Java 17's): long zone names (`zzzz`,
e.g. French capitalisation), day periods (`B`), German `GGGG`, generic zone names (`v`, `vvvv`:
Babel prints "France Time" where Java prints "CET"); and in the styles CLDR 42+ (Babel, and
Java 20+, which Kestra runs on) put a narrow no-break space (U+202F) before AM/PM where Java 17
prints a space. Parsing (`existingFormat`) is not here: kflow.expr reads it with strptime.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Literal

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates

DEFAULT_LOCALE = "en_US"  # the JVM default of Kestra's images
STYLES = ("short", "medium", "long", "full")
# Java's pattern letters (java.time.format.DateTimeFormatter); others are refused, as Java does.
LETTERS = set("GuyDMLdQqYwWEecFahKkHmsSAnNVvzOXxZB")
_UTC_NAMES = {"UTC", "Etc/UTC", "Z", "GMT", "Etc/GMT", "UT", "Zulu", "Universal", "Etc/Universal", "Etc/Zulu"}

Token = tuple[Literal["field", "lit"], str]


def tokens(pattern: str) -> Iterator[Token]:
    """A Java pattern as ('field', 'yyyy') runs of one letter and ('lit', text) literals.

    Quoted text is literal (`''` is a quote); optional-section brackets print their content.
    """
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":
            if i + 1 < n and pattern[i + 1] == "'":
                yield ("lit", "'")
                i += 2
                continue
            j, buf = i + 1, []
            while j < n:
                if pattern[j] == "'":
                    if j + 1 < n and pattern[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(pattern[j])
                j += 1
            yield ("lit", "".join(buf))
            i = j + 1
        elif c.isascii() and c.isalpha():  # Java reserves A-Z and a-z only
            j = i
            while j < n and pattern[j] == c:
                j += 1
            yield ("field", pattern[i:j])
            i = j
        elif c in "[]":
            i += 1
        else:
            yield ("lit", c)
            i += 1


@lru_cache(maxsize=256)
def _tokenized(pattern: str) -> tuple[Token, ...]:
    return tuple(tokens(pattern))


@lru_cache(maxsize=64)
def locale_of(tag: str | None) -> Locale:
    """A Java locale tag (`fr`, `fr-FR`, `fr_FR`) as a Babel Locale; ValueError if unknown."""
    text = (tag or DEFAULT_LOCALE).strip().replace("-", "_")
    try:
        return Locale.parse(text)
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(f"unknown locale {tag!r}") from None


def _offset_seconds(value: datetime) -> int:
    return int((value.utcoffset() or timedelta(0)).total_seconds())


def _zone_id(value: datetime) -> str:
    key = getattr(value.tzinfo, "key", None)
    if key:
        return key
    seconds = _offset_seconds(value)
    if value.tzinfo is timezone.utc or seconds == 0:
        return "Z"
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


def _localized_gmt(value: datetime, locale: Locale, short: bool) -> str:
    gmt = locale.zone_formats["gmt"]
    seconds = _offset_seconds(value)
    if seconds == 0:
        return gmt % ""
    sign = "+" if seconds > 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if short:
        text = f"{sign}{hours}" + (f":{minutes:02d}" if minutes or secs else "") + (f":{secs:02d}" if secs else "")
    else:
        text = f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")
    return gmt % text


def _short_zone_name(value: datetime, locale: Locale) -> str:
    if _zone_id(value) in _UTC_NAMES:
        return "UTC"
    name = babel_dates.get_timezone_name(value, "short", locale=locale)
    if name and name[0] not in "+-":
        return name
    return value.tzname() or name


def _first_day(locale: Locale) -> int:
    """Java's first day of the week: the region's, else Sunday (0 = Monday ... 6 = Sunday)."""
    return locale.first_week_day if locale.territory else 6


def _day_of_week(value: datetime, locale: Locale) -> int:
    """1 to 7, counted from the locale's first day of the week."""
    return (value.weekday() - _first_day(locale)) % 7 + 1


def _week_of_month(value: datetime, locale: Locale) -> int:
    """Java's `WeekFields.weekOfMonth()`: week 1 holds at least the locale's minimal days."""
    minimal = locale.min_week_days if locale.territory else 1
    week_start = (value.day - _day_of_week(value, locale)) % 7
    offset = 7 - week_start if week_start + 1 > minimal else -week_start
    return (7 + offset + value.day - 1) // 7


def _own_field(value: datetime, token: str, locale: Locale) -> str | None:
    """The fields kflow prints itself, as Java does; None for those Babel prints."""
    letter, count = token[0], len(token)
    nanos = value.microsecond * 1000
    if letter == "S":
        return f"{nanos:09d}"[:count].ljust(count, "0")
    if letter == "n":
        return str(nanos).zfill(count)
    if letter == "N":
        return str(((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000_000 + nanos).zfill(count)
    if letter == "V":
        if count != 2:
            raise ValueError("pattern letter V must be written VV")
        return _zone_id(value)
    if letter == "O":
        if count not in (1, 4):
            raise ValueError("pattern letter O must be written O or OOOO")
        return _localized_gmt(value, locale, short=count == 1)
    if letter == "Z" and count == 4:
        return _localized_gmt(value, locale, short=False)
    if letter == "z" and count < 4:
        return _short_zone_name(value, locale)
    if letter in "ec" and count <= 2:
        return str(_day_of_week(value, locale)).zfill(count)
    if letter == "F":  # Java 17 prints the aligned day of the week in the month here
        return str((value.day - 1) % 7 + 1).zfill(count)
    if letter == "W":
        return str(_week_of_month(value, locale)).zfill(count)
    return None


_QUOTE = "\ue000"  # stands for a literal quote inside Babel patterns, whose '' handling is unreliable


def _quote(text: str) -> str:
    return "'" + text.replace("'", _QUOTE) + "'" if text else ""


def _babel_pattern(value: datetime, pattern: str, where: Locale) -> str:
    """The Java pattern as a Babel one: kflow's own fields become quoted literals."""
    out: list[str] = []
    literal = ""  # adjacent literals are quoted together: Babel reads '' as a quote
    for kind, token in _tokenized(pattern):
        own = token if kind == "lit" else None
        if kind == "field":
            if token[0] not in LETTERS:
                raise ValueError(f"unsupported date pattern letter {token[0]!r} in {pattern!r}")
            own = _own_field(value, token, where)
        if own is not None:
            literal += own
            continue
        out.append(_quote(literal))
        literal = ""
        out.append("y" * len(token) if token[0] == "u" else token)
    out.append(_quote(literal))
    return "".join(out)


def format_pattern(value: datetime, pattern: str, locale: str | None = None) -> str:
    """`value` printed by Java's `DateTimeFormatter.ofPattern(pattern, locale)`; ValueError on a bad pattern."""
    where = locale_of(locale)
    text = babel_dates.format_datetime(value, _babel_pattern(value, pattern, where), tzinfo=value.tzinfo, locale=where)
    return text.replace(_QUOTE, "'")


# Java joins date and time with CLDR's "atTime" glue in the full and long styles; Babel's CLDR
# data lacks it, so kflow carries it for the languages checked against Java.
_AT_TIME = {"en": "{1} 'at' {0}", "fr": "{1} 'à' {0}", "de": "{1} 'um' {0}"}


def format_style(value: datetime, style: str, locale: str | None = None) -> str:
    """Java's `DateTimeFormatter.ofLocalizedDateTime(FormatStyle.X)` in `locale`, on Babel's CLDR."""
    if style not in STYLES:
        raise ValueError(f"unknown format style {style!r}, expected one of {', '.join(STYLES)}")
    where = locale_of(locale)
    glue = where.datetime_formats[style]
    if style in ("full", "long"):
        glue = _AT_TIME.get(where.language, glue)
    pattern = glue.replace("{1}", where.date_formats[style].pattern).replace("{0}", where.time_formats[style].pattern)
    return format_pattern(value, pattern, locale)
