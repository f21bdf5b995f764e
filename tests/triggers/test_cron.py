"""Cron expressions: fields, nicknames, seconds, names, time zones and clock changes."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from kflow.flow.cron import CronError, parse_cron

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def runs(expr: str, after: datetime, n: int, tz=UTC, seconds: bool = False) -> list[datetime]:
    cron, out = parse_cron(expr, seconds), []
    for _ in range(n):
        after = cron.next(after, tz)
        out.append(after)
    return out


def test_five_fields_steps_ranges_lists_and_names():
    assert runs("*/20 9-10 * * *", utc(2024, 1, 1, 9, 30), 4) == [utc(2024, 1, 1, 9, 40), utc(2024, 1, 1, 10), utc(2024, 1, 1, 10, 20), utc(2024, 1, 1, 10, 40)]
    assert runs("0 12 * JAN,mar MON-FRI", utc(2024, 1, 31, 13), 2) == [utc(2024, 3, 1, 12), utc(2024, 3, 4, 12)]
    assert runs("5/30 0 1 1 *", utc(2024, 1, 1), 2) == [utc(2024, 1, 1, 0, 5), utc(2024, 1, 1, 0, 35)]


def test_sunday_is_0_and_7_and_both_day_fields_restricted_match_either():
    assert runs("0 0 * * 7", utc(2024, 1, 1), 1) == runs("0 0 * * 0", utc(2024, 1, 1), 1) == [utc(2024, 1, 7)]
    # the 15th, or any Monday (classic cron OR)
    assert runs("0 0 15 * 1", utc(2024, 1, 9), 3) == [utc(2024, 1, 15), utc(2024, 1, 22), utc(2024, 1, 29)]


@pytest.mark.parametrize(
    ("nickname", "first"),
    [("@yearly", utc(2025, 1, 1)), ("@annually", utc(2025, 1, 1)), ("@monthly", utc(2024, 6, 1)),
     ("@weekly", utc(2024, 5, 19)), ("@daily", utc(2024, 5, 16)), ("@midnight", utc(2024, 5, 16)), ("@hourly", utc(2024, 5, 15, 11))],
)
def test_nicknames(nickname, first):
    assert runs(nickname, utc(2024, 5, 15, 10, 30), 1) == [first]


def test_six_fields_with_seconds():
    assert runs("*/15 * * * * *", utc(2024, 1, 1, 0, 0, 5), 3, seconds=True) == [utc(2024, 1, 1, 0, 0, 15), utc(2024, 1, 1, 0, 0, 30), utc(2024, 1, 1, 0, 0, 45)]
    assert runs("@hourly", utc(2024, 1, 1, 0, 0, 5), 1, seconds=True) == [utc(2024, 1, 1, 1)]


def test_previous_is_strictly_before():
    cron = parse_cron("0 * * * *")
    assert cron.previous(utc(2024, 1, 1, 10)) == utc(2024, 1, 1, 9)
    assert cron.previous(utc(2024, 1, 1, 10, 0, 1)) == utc(2024, 1, 1, 10)


def test_time_zone_is_where_the_cron_is_read():
    assert runs("0 9 * * *", utc(2024, 1, 10), 1, PARIS) == [utc(2024, 1, 10, 8)]  # CET = UTC+1
    assert runs("0 9 * * *", utc(2024, 7, 10), 1, PARIS) == [utc(2024, 7, 10, 7)]  # CEST = UTC+2


def test_spring_forward_skipped_time_runs_shifted_by_the_gap():
    # Paris, 2024-03-31: 02:00 CET jumps to 03:00 CEST
    assert runs("30 2 * * *", utc(2024, 3, 30, 12), 2, PARIS) == [
        datetime(2024, 3, 31, 3, 30, tzinfo=PARIS), datetime(2024, 4, 1, 2, 30, tzinfo=PARIS)
    ]
    quarter = runs("*/15 * * * *", datetime(2024, 3, 31, 1, 50, tzinfo=PARIS), 3, PARIS)
    assert [d.astimezone(UTC) for d in quarter] == [utc(2024, 3, 31, 1), utc(2024, 3, 31, 1, 15), utc(2024, 3, 31, 1, 30)]


def test_fall_back_repeated_time_runs_once_at_its_first_occurrence():
    # Paris, 2024-10-27: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice
    dates = runs("30 2 * * *", utc(2024, 10, 26, 12), 2, PARIS)
    assert [d.astimezone(UTC) for d in dates] == [utc(2024, 10, 27, 0, 30), utc(2024, 10, 28, 1, 30)]
    hourly = runs("0 * * * *", utc(2024, 10, 26, 23, 30), 3, PARIS)
    assert len(set(hourly)) == 3 and hourly == sorted(hourly)


@pytest.mark.parametrize(
    ("expr", "seconds", "says"),
    [
        ("* * * *", False, "4 field(s)"),
        ("* * * * * *", False, "6 with `withSeconds: true`"),
        ("61 * * * *", False, "minute 61 is out of range 0-59"),
        ("0 0 L * *", False, "L, W and # are not supported"),
        ("0 0 30 2 *", False, "never runs"),
        ("@fortnightly", False, "unknown cron nickname"),
        ("*/0 * * * *", False, "positive number"),
        ("0 10-2 * * *", False, "low to high"),
        ("0 0 * FOO *", False, "a name (JAN"),
    ],
)
def test_errors_say_which_field(expr, seconds, says):
    with pytest.raises(CronError, match=None) as err:
        parse_cron(expr, seconds)
    assert says in str(err.value)
