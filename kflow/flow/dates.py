"""A fixed list of dates that answers what a Cron answers (next, previous, dates_between), so
ScheduleOnDates runs through the Schedule machinery unchanged."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class DateList:
    dates: tuple[datetime, ...]  # aware, sorted, distinct

    def next(self, after: datetime, tz: ZoneInfo | timezone = timezone.utc) -> datetime | None:
        """The first date strictly after `after`."""
        index = bisect.bisect_right(self.dates, after)
        return self.dates[index].astimezone(tz) if index < len(self.dates) else None

    def previous(self, before: datetime, tz: ZoneInfo | timezone = timezone.utc) -> datetime | None:
        """The last date strictly before `before`."""
        index = bisect.bisect_left(self.dates, before)
        return self.dates[index - 1].astimezone(tz) if index else None

    def dates_between(self, after: datetime, until: datetime, tz: ZoneInfo | timezone, limit: int) -> list[datetime]:
        """Dates in (after, until], at most `limit` of them, oldest first."""
        start, end = bisect.bisect_right(self.dates, after), bisect.bisect_right(self.dates, until)
        return [d.astimezone(tz) for d in self.dates[start:min(end, start + limit)]]


def date_list(values: list[datetime], zone: ZoneInfo) -> DateList:
    """Dates given without an offset are read in the trigger's time zone, as Kestra does."""
    aware = {(v if v.tzinfo is not None else v.replace(tzinfo=zone)).astimezone(timezone.utc) for v in values}
    return DateList(tuple(sorted(aware)))
