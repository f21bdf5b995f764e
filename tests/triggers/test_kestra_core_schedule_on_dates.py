"""ScheduleOnDates (issue 16): the Schedule machinery over a list of dates, pure, on a fake clock."""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone

from kflow.flow import load_flow
from kflow.triggers.schedule import schedule_variables, tick
from tests.local.test_run_examples import kflow

FLOW = """id: f
namespace: t
triggers:
  - id: on_dates
    type: io.kestra.plugin.core.trigger.ScheduleOnDates
    timezone: Europe/Paris
    recoverMissedSchedules: {policy}
    dates: ["2026-12-01T09:00:00", "2026-12-03T09:00:00+01:00", 2026-12-02T08:00:00Z]
tasks: [{{id: r, type: io.kestra.plugin.core.debug.Return, format: x}}]
"""
UTC = timezone.utc


def trigger(policy: str = "ALL"):
    return load_flow(FLOW.format(policy=policy)).triggers[0]


def test_dates_run_in_order_once_each_without_an_offset_read_in_the_time_zone():
    on_dates, created = trigger(), datetime(2026, 11, 30, tzinfo=UTC)
    first = tick(on_dates, None, datetime(2026, 12, 1, 8, 0, 5, tzinfo=UTC), created)
    assert [d.isoformat() for d in first.dates] == ["2026-12-01T09:00:00+01:00"]
    assert first.next == datetime(2026, 12, 2, 8, tzinfo=UTC)
    again = tick(on_dates, first.last, datetime(2026, 12, 1, 9, tzinfo=UTC), created)
    assert again.dates == [] and again.next == datetime(2026, 12, 2, 8, tzinfo=UTC)
    last = tick(on_dates, first.last, datetime(2026, 12, 5, tzinfo=UTC), created)
    assert last.dates == [datetime(2026, 12, 2, 8, tzinfo=UTC), datetime(2026, 12, 3, 8, tzinfo=UTC)]
    assert last.next is None  # no date left: the schedule is done
    assert schedule_variables(on_dates, last.dates[0]) == {
        "date": "2026-12-02T09:00:00+01:00", "next": "2026-12-03T09:00:00+01:00", "previous": "2026-12-01T09:00:00+01:00"}


def test_missed_dates_follow_recover_missed_schedules():
    created, now = datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC)
    assert tick(trigger("LAST"), None, now, created).dates == [datetime(2026, 12, 3, 8, tzinfo=UTC)]
    assert tick(trigger("NONE"), None, now, created).dates == []
    # dates before the trigger was first seen are never run (no backfill, as for Schedule)
    assert tick(trigger(), None, now, datetime(2026, 12, 2, 12, tzinfo=UTC)).dates == [datetime(2026, 12, 3, 8, tzinfo=UTC)]


def test_bad_on_dates_triggers_are_load_errors_naming_the_field():
    bad = FLOW.format(policy="ALL").replace('dates: ["2026-12-01T09:00:00", ', 'cron: "@daily"\n    dates: ["2026-13-01T09:00:00", ')
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(bad)
        f.flush()
        proc = kflow("run", f.name)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "triggers[0].cron: ScheduleOnDates takes `dates`, not `cron`" in proc.stderr, proc.stderr
    assert "triggers[0].dates" in proc.stderr
