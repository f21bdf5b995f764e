import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kflow.expr import ExpressionError, render

UTC = dt.timezone.utc
# Kestra's DateFilterTest uses ZonedDateTime 2013-09-08T16:19:12.123456+01
NOW = dt.datetime(2013, 9, 8, 16, 19, 12, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
CTX = {
    "zoned": NOW,
    "instant": NOW.astimezone(UTC),
    "local": NOW.replace(tzinfo=None),
    "seconds": dt.datetime(2013, 9, 8, 15, 19, 12, tzinfo=UTC),
    "d": dt.date(2024, 2, 29),
    "iso": "2024-03-01T10:15:30.123Z",
}


@pytest.mark.parametrize(
    "value, expected",
    [
        (dt.datetime(2024, 3, 1, 10, 15, 30, tzinfo=UTC), "2024-03-01T10:15:30Z"),
        (dt.datetime(2024, 3, 1, 10, 15, 30, 123000, tzinfo=UTC), "2024-03-01T10:15:30.123Z"),
        (dt.datetime(2024, 3, 1, 10, 15, 30, 123456, tzinfo=UTC), "2024-03-01T10:15:30.123456Z"),
        (dt.datetime(2024, 3, 1, 10, 15, 30, 100000, tzinfo=UTC), "2024-03-01T10:15:30.100Z"),
        (dt.datetime(2024, 3, 1, 10, 15, 30, 120, tzinfo=UTC), "2024-03-01T10:15:30.000120Z"),
        (dt.datetime(2024, 3, 1, 10, 15, 30), "2024-03-01T10:15:30Z"),  # naive = UTC
        (dt.datetime(2024, 3, 1, 11, 15, 30, tzinfo=ZoneInfo("Europe/Paris")), "2024-03-01T11:15:30+01:00"),
        (dt.date(2024, 3, 1), "2024-03-01"),
    ],
)
def test_instant_printing(value, expected):
    assert render("{{ v }}", {"v": value}) == expected
    assert render("{{ 'x' ~ v }}", {"v": value}) == "x" + expected
    assert render("{{ [v] | toJson }}", {"v": value}) == f'["{expected}"]'


@pytest.mark.parametrize(
    "template, expected",
    [
        # Kestra DateFilterTest.dateFormat
        ("{{ instant | date(format='iso_sec', timeZone='Europe/Paris') }}", "2013-09-08T17:19:12+02:00"),
        ("{{ instant | date(format='iso_milli', timeZone='Europe/Paris') }}", "2013-09-08T17:19:12.123+02:00"),
        ("{{ zoned | date(format='iso', timeZone='Europe/Paris') }}", "2013-09-08T17:19:12.123456+02:00"),
        ("{{ local | date(format='yyyy-MM-dd HH:mm:ss.SSSSSSXXX', timeZone='Europe/Paris') }}", "2013-09-08 16:19:12.123456+02:00"),
        ("{{ local | date(format='yyyy-MM-dd HH:mm:ss.SSS', timeZone='UTC') }}", "2013-09-08 16:19:12.123"),
        ("{{ local | date(format='sql', timeZone='UTC') }}", "2013-09-08 16:19:12.123456"),
        ("{{ local | date(format='sql_sec', timeZone='UTC') }}", "2013-09-08 16:19:12"),
        ("{{ local | date(format='sql_milli', timeZone='UTC') }}", "2013-09-08 16:19:12.123"),
        ("{{ local | date(format='yyyy-MM-dd HH:mm:ss.SSSSSSXXX', timeZone='UTC') }}", "2013-09-08 16:19:12.123456Z"),
        # DateFilterTest.dateStringFormat
        ("{{ 'July 24, 2001' | date('yyyy-MM-dd', existingFormat='MMMM dd, yyyy') }}", "2001-07-24"),
        ("{{ '2013-09-08T17:19:12+02:00' | date(timeZone='Europe/Paris') }}", "2013-09-08T17:19:12.000000+02:00"),
        ("{{ '2013-09-08T17:19:12' | date(timeZone='Europe/Paris') }}", "2013-09-08T17:19:12.000000+02:00"),
        ("{{ '2013-09-08' | date(timeZone='Europe/Paris') }}", "2013-09-08T00:00:00.000000+02:00"),
        ("{{ '08.09.2023' | date('yyyy-MM-dd', existingFormat='dd.MM.yyyy') }}", "2023-09-08"),
        ("{{ '08092023' | date('yyyy-MM-dd', existingFormat='ddMMyyyy') }}", "2023-09-08"),
        ("{{ 'Tue, 08 Feb 2022 19:38:26 GMT' | date(existingFormat='rfc_1123_date_time', timeZone='Europe/Paris') }}", "2022-02-08T20:38:26.000000+01:00"),
        # DateFilterTest.timestampDateFormat (epoch numbers, unit by magnitude)
        ("{{ 1378653552 | date(format='iso_sec', timeZone='Europe/Paris') }}", "2013-09-08T17:19:12+02:00"),
        ("{{ 1378653552123 | date(format='iso_milli', timeZone='Europe/Paris') }}", "2013-09-08T17:19:12.123+02:00"),
        ("{{ 1378653552123 | date(timeZone='Europe/Paris') }}", "2013-09-08T17:19:12.123000+02:00"),
        ("{{ 1378653552123 | date(format='iso_zoned_date_time', timeZone='Europe/Paris') }}", "2013-09-08T17:19:12.123+02:00[Europe/Paris]"),
        ("{{ 1378653552123456000 | date(format='iso', timeZone='Europe/Paris') }}", "2013-09-08T17:19:12.123456+02:00"),
        ("{{ 1378653552 | date(format='sql_sec', timeZone='Europe/Paris') }}", "2013-09-08 17:19:12"),
        ("{{ 1378653552123 | date(format='sql_milli', timeZone='UTC') }}", "2013-09-08 15:19:12.123"),
        ("{{ '1378653552123' | number | date(format='sql_milli', timeZone='UTC') }}", "2013-09-08 15:19:12.123"),
        # timestamps
        ("{{ zoned | timestamp(timeZone='Europe/Paris') }}", "1378653552"),
        ("{{ zoned | timestampMilli }}", "1378653552123"),
        ("{{ zoned | timestampMicro }}", "1378653552123456"),
        ("{{ zoned | timestampNano }}", "1378653552123456000"),
        ("{{ (zoned | timestamp) > (zoned | dateAdd(-1, 'DAYS') | timestamp) }}", "true"),
        ("{{ '2024-03-01T00:00:00Z' | timestamp }}", "1709251200"),
        # dateAdd (returns the iso formatted date, like Kestra)
        ("{{ zoned | dateAdd(-1, 'DAYS', timeZone='Europe/Paris') }}", "2013-09-07T17:19:12.123456+02:00"),
        ("{{ seconds | dateAdd(1, 'HOURS') }}", "2013-09-08T16:19:12.000000Z"),
        ("{{ seconds | dateAdd(30, 'MINUTES') | date('HH:mm') }}", "15:49"),
        ("{{ seconds | dateAdd(5, 'SECONDS') | date('ss') }}", "17"),
        ("{{ seconds | dateAdd(1500, 'MILLIS') | date('ss.SSS') }}", "13.500"),
        ("{{ seconds | dateAdd(2, 'WEEKS') | date('yyyy-MM-dd') }}", "2013-09-22"),
        ("{{ '2024-01-31' | dateAdd(1, 'MONTHS') | date('yyyy-MM-dd') }}", "2024-02-29"),
        ("{{ d | dateAdd(1, 'YEARS') | date('yyyy-MM-dd') }}", "2025-02-28"),
        ("{{ '2024-03-30T12:00:00' | dateAdd(1, 'DAYS', timeZone='Europe/Paris') }}", "2024-03-31T12:00:00.000000+02:00"),
        ("{{ seconds | dateAdd(-1, 'days', format='yyyy-MM-dd') }}", "2013-09-07"),
        # patterns
        ("{{ seconds | date('yyyy-MM-dd') }}", "2013-09-08"),
        ("{{ seconds | date('yy M d H h m s a') }}", "13 9 8 15 3 19 12 PM"),
        ("{{ seconds | date('MMM MMMM EEE EEEE') }}", "Sep September Sun Sunday"),
        ("{{ seconds | date(\"yyyy-MM-dd'T'HH:mm:ssX\") }}", "2013-09-08T15:19:12Z"),
        ("{{ seconds | date('XXX Z', timeZone='America/New_York') }}", "-04:00 -0400"),
        ("{{ seconds | date(\"hh 'o''clock' a\") }}", "03 o'clock PM"),
        ("{{ seconds | date('D') }}", "251"),
        ("{{ seconds | date('iso_date') }}", "2013-09-08Z"),
        ("{{ seconds | date('iso_local_date') }}", "2013-09-08"),
        ("{{ seconds | date('iso_local_date_time') }}", "2013-09-08T15:19:12"),
        ("{{ seconds | date('iso_instant') }}", "2013-09-08T15:19:12Z"),
        ("{{ seconds | date('iso_week_date') }}", "2013-W36-7Z"),
        ("{{ seconds | date('rfc_1123_date_time') }}", "Sun, 8 Sep 2013 15:19:12 GMT"),
        ("{{ iso | date('yyyy-MM-dd HH:mm:ss.SSS') }}", "2024-03-01 10:15:30.123"),
        ("{{ '2024-03-01T10:15:30.123456789Z' | date('iso') }}", "2024-03-01T10:15:30.123456Z"),
        ("{{ '2024-03-01T10:15:30+01:00[Europe/Paris]' | date('HH') }}", "10"),
        ("{{ '2024-03-01 10:15' | date('HH:mm', existingFormat='yyyy-MM-dd HH:mm') }}", "10:15"),
        ("{{ d | date('yyyy/MM/dd') }}", "2024/02/29"),
        ("{{ now() | date('yyyy') | number > 2000 }}", "true"),
        ("{{ now() | dateAdd(-1, 'DAYS') | date('yyyy') | number > 2000 }}", "true"),
        ("{{ now(timeZone='Asia/Tokyo') | date('XXX') }}", "+09:00"),
        ("{{ null | date('yyyy') }}", ""),
    ],
)
def test_date_filters(template, expected):
    assert render(template, CTX) == expected


@pytest.mark.parametrize(
    "template, message",
    [
        ("{{ 'nope' | date('yyyy') }}", "cannot parse 'nope'"),
        ("{{ '2024' | date('yyyy', existingFormat='MM/dd') }}", "cannot parse"),
        ("{{ iso | date('yyyy', timeZone='Mars/Olympus') }}", "unknown time zone"),
        ("{{ iso | dateAdd(1, 'FORTNIGHTS') }}", "unknown unit"),
        ("{{ iso | date('yyyy-MM-dd bb') }}", "unsupported date pattern letter 'b'"),
        ("{{ true | date }}", "cannot convert"),
        ("{{ missing | date }}", "'missing' is undefined"),
    ],
)
def test_date_errors(template, message):
    with pytest.raises(ExpressionError) as info:
        render(template, CTX)
    assert message in info.value.message


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{ d | date('EEEE d MMMM yyyy', locale='fr') }}", "mardi 5 mars 2024"),
        ("{{ d | date('EEEE d MMMM yyyy', locale='de-DE') }}", "Dienstag 5 März 2024"),
        ("{{ d | date('EEEE d MMMM yyyy') }}", "Tuesday 5 March 2024"),
        ("{{ d | date('long', locale='fr') }}", "5 mars 2024 à 09:07:03 UTC"),
    ],
)
def test_date_honours_locale(template, expected):
    assert render(template, {"d": "2024-03-05T09:07:03Z"}) == expected


def test_unknown_locale_is_one_clear_message():
    with pytest.raises(ExpressionError) as info:
        render("{{ d | date('yyyy', locale='xx-nowhere') }}", {"d": "2024-03-05T09:07:03Z"})
    assert "unknown locale 'xx-nowhere'" in info.value.message
