"""Cron expressions as Kestra reads them (cron-utils' UNIX definition), evaluated in a time zone.

Five fields (minute hour day-of-month month day-of-week), six with seconds first when the
trigger says `withSeconds: true`, or a nickname (@yearly @annually @monthly @weekly @daily
@midnight @hourly). A field is `*`, `?` (day fields), a value, a range `a-b`, a step `*/n`,
`a/n` or `a-b/n`, or a comma list of these; months and days also by name (JAN, MON); day of
week 0-7, both 0 and 7 being Sunday. When both day fields are restricted, a day matching
either runs (classic cron).

Own parser rather than a dependency: the rules below for clock changes are ours to state.
Wall-clock times are matched in the zone, then placed on the time line as Java's
ZonedDateTime places them (which is what Kestra does):
- a time skipped when clocks go forward runs shifted by the gap (02:30 on a spring-forward
  night runs at 03:30 local);
- a time repeated when clocks go back runs once, at its first occurrence.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}
# (name, lowest, highest, names)
_FIELDS = {
    "second": (0, 59, {}),
    "minute": (0, 59, {}),
    "hour": (0, 23, {}),
    "day of month": (1, 31, {}),
    "month": (1, 12, _MONTHS),
    "day of week": (0, 7, _DAYS),
}
_SEARCH_DAYS = 366 * 8 + 2  # Feb 29 can be 8 years away (2096 -> 2104)


class CronError(ValueError):
    """A cron expression that cannot be read; the message says which field and why."""


@dataclass(frozen=True)
class Cron:
    expression: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Monday, as date.weekday()
    days_restricted: bool
    weekdays_restricted: bool

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = day.weekday() in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        return dom and dow

    def _times(self) -> list[time]:
        return [time(h, m, s) for h in self.hours for m in self.minutes for s in self.seconds]

    def _walls(self, start: datetime, forward: bool) -> Iterator[datetime]:
        """Matching wall-clock times from `start` (naive, included), in order."""
        times = self._times()
        day = start.date()
        step = timedelta(days=1 if forward else -1)
        for i in range(_SEARCH_DAYS):
            if self._day_matches(day):
                if i == 0:
                    at = bisect.bisect_left(times, start.time()) if forward else bisect.bisect_right(times, start.time())
                    todays = times[at:] if forward else times[:at][::-1]
                else:
                    todays = times if forward else times[::-1]
                for t in todays:
                    yield datetime.combine(day, t)
            day += step

    def next(self, after: datetime, tz: ZoneInfo | timezone = timezone.utc) -> datetime | None:
        """The first run strictly after `after` (an aware datetime), in `tz`."""
        local = after.astimezone(tz).replace(tzinfo=None, fold=0)
        start = local.replace(microsecond=0) + timedelta(seconds=1)
        for wall in self._walls(start, forward=True):
            when = place(wall, tz)
            if when > after:
                return when
        return None

    def previous(self, before: datetime, tz: ZoneInfo | timezone = timezone.utc) -> datetime | None:
        """The last run strictly before `before`, in `tz`."""
        local = before.astimezone(tz).replace(tzinfo=None, fold=0)
        best: datetime | None = None
        # Placed times are not monotonic across a gap (02:45 runs at 03:45, after 03:00):
        # look from an hour past `before` down to two hours before the first hit.
        for wall in self._walls(local.replace(microsecond=0) + timedelta(hours=1), forward=False):
            if best is not None and wall < best.astimezone(tz).replace(tzinfo=None) - timedelta(hours=2):
                break
            when = place(wall, tz)
            if when < before and (best is None or when > best):
                best = when
        return best

    def dates_between(self, after: datetime, until: datetime, tz: ZoneInfo | timezone, limit: int) -> list[datetime]:
        """Runs in (after, until], at most `limit` of them, oldest first."""
        out: list[datetime] = []
        current = after
        while len(out) < limit:
            nxt = self.next(current, tz)
            if nxt is None or nxt > until:
                break
            out.append(nxt)
            current = nxt
        return out


def place(wall: datetime, tz: ZoneInfo | timezone) -> datetime:
    """A naive wall-clock time on the time line, as Java's ZonedDateTime.of does it.

    fold=0 takes the earlier of a repeated time; for a time in a gap it applies the offset
    from before the gap, which is the same instant as Java's "shifted later by the gap".
    """
    return wall.replace(tzinfo=tz, fold=0).astimezone(timezone.utc).astimezone(tz)


def parse_cron(expression: str, with_seconds: bool = False) -> Cron:
    """A Cron from Kestra's text; CronError names the field that is wrong."""
    text = " ".join(str(expression).split())
    if text.startswith("@"):
        if text.lower() not in NICKNAMES:
            raise CronError(f"unknown cron nickname {text!r}; known: {', '.join(NICKNAMES)}")
        text = NICKNAMES[text.lower()]
        if with_seconds:
            text = "0 " + text
    names = ["minute", "hour", "day of month", "month", "day of week"]
    if with_seconds:
        names.insert(0, "second")
    parts = text.split(" ")
    if len(parts) != len(names):
        want = "6 fields (second minute hour day-of-month month day-of-week) with withSeconds: true" if with_seconds else (
            "5 fields (minute hour day-of-month month day-of-week), or 6 with `withSeconds: true`"
        )
        raise CronError(f"{expression!r} has {len(parts)} field(s); expected {want}")
    values = {name: _field(name, part) for name, part in zip(names, parts)}
    seconds = values.get("second", ({0}, True))[0]
    weekdays = {(d - 1) % 7 for d in values["day of week"][0]}  # cron 0/7 = Sunday -> 6
    cron = Cron(
        expression=str(expression),
        seconds=tuple(sorted(seconds)),
        minutes=tuple(sorted(values["minute"][0])),
        hours=tuple(sorted(values["hour"][0])),
        days=frozenset(values["day of month"][0]),
        months=frozenset(values["month"][0]),
        weekdays=frozenset(weekdays),
        days_restricted=not values["day of month"][1],
        weekdays_restricted=not values["day of week"][1],
    )
    if cron.next(datetime(2000, 1, 1, tzinfo=timezone.utc)) is None:
        raise CronError(f"{expression!r} never runs (no such day in any month)")
    return cron


def _field(name: str, text: str) -> tuple[set[int], bool]:
    """The values a field allows, and whether it was `*`/`?` (unrestricted)."""
    low, high, named = _FIELDS[name]
    if text in ("*", "?"):
        if text == "?" and name not in ("day of month", "day of week"):
            raise CronError(f"{name} {text!r}: `?` is only for day of month or day of week")
        return set(range(low, high + 1)), True
    out: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name} {item!r}: the step after `/` is a positive number")
            step = int(step_text)
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _value(name, a, named, low, high), _value(name, b, named, low, high)
            if first > last:
                raise CronError(f"{name} {item!r}: a range goes from low to high")
        else:
            first = _value(name, base, named, low, high)
            last = high if step_text else first
        out.update(range(first, last + 1, step))
    return out, False


def _value(name: str, text: str, named: dict[str, int], low: int, high: int) -> int:
    upper = text.upper()
    if upper in named:
        return named[upper]
    if not text.isdigit():
        hint = f" or a name ({', '.join(named)})" if named else ""
        raise CronError(f"{name} {text!r}: expected a number from {low} to {high}{hint}; L, W and # are not supported")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name} {value} is out of range {low}-{high}")
    return value
