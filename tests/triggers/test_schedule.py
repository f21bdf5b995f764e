"""Which dates are due, with a fake clock: each recoverMissedSchedules policy, lateMaximumDelay,
disabled triggers, a first start, and the trigger variables."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kflow.flow.triggers import Schedule
from kflow.triggers.schedule import due_dates, schedule_variables, tick

UTC = timezone.utc


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2024, 5, 15, hour, minute, second, tzinfo=UTC)


def hourly(**extra) -> Schedule:
    return Schedule.model_validate({"id": "h", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": "0 * * * *", **extra})


CREATED = at(6, 30)


def test_first_start_does_not_backfill():
    assert due_dates(hourly(), None, at(6, 40), CREATED) == []
    assert due_dates(hourly(), None, at(7, 0, 1), CREATED) == [at(7)]
    first = tick(hourly(), None, at(6, 40), CREATED)
    assert first.dates == [] and first.last is None and first.next == at(7)


def test_on_time_each_policy_runs_the_current_date():
    for policy in ("ALL", "LAST", "NONE"):
        assert due_dates(hourly(recoverMissedSchedules=policy), at(7), at(8, 0, 2), CREATED) == [at(8)], policy


def test_downtime_all_runs_every_missed_date():
    assert due_dates(hourly(), at(7), at(10, 20), CREATED) == [at(8), at(9), at(10)]
    step = tick(hourly(), at(7), at(10, 20), CREATED)
    assert step.last == at(10) and step.next == at(11)


def test_downtime_last_runs_only_the_latest():
    assert due_dates(hourly(recoverMissedSchedules="LAST"), at(7), at(10, 20), CREATED) == [at(10)]
    step = tick(hourly(recoverMissedSchedules="LAST"), at(7), at(10, 20), CREATED)
    assert step.last == at(10), "the skipped dates are not owed later"


def test_downtime_none_runs_nothing_missed_only_a_current_date():
    policy = hourly(recoverMissedSchedules="NONE")
    assert due_dates(policy, at(7), at(10, 20), CREATED) == []
    assert tick(policy, at(7), at(10, 20), CREATED).last == at(10)
    assert due_dates(policy, at(7), at(10, 0, 10), CREATED) == [at(10)]


def test_late_maximum_delay_drops_dates_older_than_the_delay():
    late = hourly(lateMaximumDelay="PT90M")
    assert due_dates(late, at(5), at(10, 20), CREATED) == [at(9), at(10)]
    assert due_dates(hourly(lateMaximumDelay="PT5M"), at(9), at(10, 20), CREATED) == []
    assert tick(hourly(lateMaximumDelay="PT5M"), at(9), at(10, 20), CREATED).last == at(10)


def test_disabled_runs_nothing():
    assert due_dates(hourly(disabled=True), at(7), at(10, 20), CREATED) == []


def test_a_long_downtime_is_caught_up_in_batches():
    every_minute = Schedule.model_validate({"id": "m", "type": "io.kestra.core.models.triggers.types.Schedule", "cron": "* * * * *"})
    now = at(10)
    first = tick(every_minute, at(7), now, CREATED, limit=100)
    assert len(first.dates) == 100 and first.last == at(8, 40) and first.next == at(8, 41)
    second = tick(every_minute, first.last, now, CREATED, limit=100)
    assert second.dates[0] == at(8, 41) and second.dates[-1] == at(10) and len(second.dates) == 80


def test_variables_date_next_previous_in_utc_and_in_a_zone():
    assert schedule_variables(hourly(), at(8)) == {"date": "2024-05-15T08:00:00Z", "next": "2024-05-15T09:00:00Z", "previous": "2024-05-15T07:00:00Z"}
    paris = hourly(timezone="Europe/Paris")
    assert schedule_variables(paris, at(8))["date"] == "2024-05-15T10:00:00+02:00"


def test_a_zone_changes_which_instants_are_due():
    daily = Schedule.model_validate({"id": "d", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": "@daily", "timezone": "America/New_York"})
    assert due_dates(daily, at(0), at(12), CREATED - timedelta(days=1)) == [at(4)]  # midnight EDT
