"""Which scheduled dates are due now, and what a scheduled execution sees as `trigger.*`.

Pure: the caller passes `now` and what it remembered (the last date it scheduled), so a
test drives a whole downtime with a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from kflow.execution.instants import format_instant
from kflow.flow.triggers import RecoverMissedSchedules, Schedule

# A date is "current" rather than "missed" when now is at most this far past it: the
# scheduler wakes at each date, plus the time an event loop or an API call may take.
GRACE = timedelta(seconds=30)
# At most this many dates per call; the caller records the last one and calls again.
BATCH = 100


def due_dates(
    trigger: Schedule,
    last: datetime | None,
    now: datetime,
    created_at: datetime,
    *,
    grace: timedelta = GRACE,
    limit: int = BATCH,
) -> list[datetime]:
    """The dates to start executions for now, oldest first.

    `last` is the last date already scheduled; without one, dates count from `created_at`
    (when the trigger was first seen): a new trigger never backfills, as in Kestra. Dates in
    (last, now] are due; all but the current one are missed, and `recoverMissedSchedules`
    says which of those run: ALL, the LAST one, or NONE. `lateMaximumDelay` drops any date
    older than now minus that delay, the current one included.
    """
    if trigger.disabled:
        return []
    since = last or created_at
    cron, zone = trigger.parsed_cron, trigger.zone
    policy = trigger.recoverMissedSchedules
    if policy == RecoverMissedSchedules.ALL:
        dates = cron.dates_between(since, now, zone, limit)
    else:
        latest = cron.previous(now + timedelta(microseconds=1), zone)  # the last date <= now
        dates = [latest] if latest is not None and latest > since else []
        if policy == RecoverMissedSchedules.NONE:
            dates = [d for d in dates if now - d <= grace]
    delay = trigger.late_maximum_delay
    if delay is not None:
        dates = [d for d in dates if now - d <= delay]
    return dates


@dataclass(frozen=True)
class Tick:
    """One look at a schedule: the dates to run, what to remember, when to look again."""

    dates: list[datetime]
    last: datetime | None  # the newest date handled (run or skipped for good)
    next: datetime | None  # the next date to wake for


def tick(trigger: Schedule, last: datetime | None, now: datetime, created_at: datetime, *, limit: int = BATCH) -> Tick:
    """`due_dates`, plus the date to remember: missed dates the policy or the delay skipped
    are not owed later; a batch cut by `limit` resumes after its last date."""
    dates = due_dates(trigger, last, now, created_at, limit=limit)
    since = last or created_at
    if trigger.recoverMissedSchedules == RecoverMissedSchedules.ALL and len(dates) == limit:
        remembered: datetime | None = dates[-1]
    else:
        latest = trigger.parsed_cron.previous(now + timedelta(microseconds=1), trigger.zone)
        remembered = latest if latest is not None and latest > since else last
    nxt = trigger.parsed_cron.next(remembered or since, trigger.zone)
    return Tick(dates=dates, last=remembered, next=nxt)


def next_date(trigger: Schedule, after: datetime) -> datetime | None:
    return trigger.parsed_cron.next(after, trigger.zone)


def format_date(value: datetime, zone: str) -> str:
    """An instant as Kestra prints a date in the trigger's zone: `Z` in UTC, else the offset."""
    local = value.astimezone(timezone.utc) if zone in ("UTC", "Etc/UTC", "Z", "GMT") else value
    if local.utcoffset() == timedelta(0):
        return format_instant(local)
    return local.isoformat()


def schedule_variables(trigger: Schedule, date: datetime) -> dict[str, Any]:
    """`trigger.date`, `trigger.next`, `trigger.previous` for the run of `date`."""
    zone = trigger.zone
    cron = trigger.parsed_cron
    local = date.astimezone(zone)
    out: dict[str, Any] = {"date": format_date(local, trigger.timezone)}
    nxt = cron.next(local, zone)
    prev = cron.previous(local, zone)
    if nxt is not None:
        out["next"] = format_date(nxt, trigger.timezone)
    if prev is not None:
        out["previous"] = format_date(prev, trigger.timezone)
    return out


def backfill_dates(trigger: Schedule, after: datetime | None, now: datetime, *, limit: int = BATCH) -> list[datetime]:
    """The backfill's dates still to run, oldest first: cron dates from its `start` (included) to
    its `end` (included; default `now`), after `after` (the last one already run)."""
    if trigger.backfill is None or trigger.backfill.paused or trigger.disabled:
        return []
    start, end = trigger.backfill.bounds(trigger.zone)
    until = min(end, now) if end is not None else now
    since = after if after is not None else start - timedelta(microseconds=1)
    return trigger.parsed_cron.dates_between(since, until, trigger.zone, limit)


def backfill_key(trigger: Schedule) -> str | None:
    """What identifies a backfill: a new start or end is a new backfill, run from its start."""
    if trigger.backfill is None:
        return None
    return f"{trigger.backfill.start}|{trigger.backfill.end or ''}"
