"""Java-compatible time values: how Kestra (Java) parses and prints durations, instants and dates.

One home for them, used by flow timeouts and inputs, expressions and the status: Java's
`Duration.parse`/`toString`, `Instant.toString`, ISO local dates and times, and
`DateTimeFormatter` patterns and styles (on Babel where it agrees with Java). Each submodule
says where kflow differs from Java and why; tests/flow/test_javatime.py checks them against
a table of OpenJDK 17's own outputs (tests/flow/javatime/JavaTimeTable.java prints it).
"""

from .durations import (
    NANOS_PER_SECOND,
    DurationError,
    format_duration,
    format_duration_nanos,
    parse_duration,
    parse_duration_nanos,
    seconds_to_nanos,
    timedelta_to_nanos,
)
from .instants import (
    Instant,
    format_date_time,
    format_epoch,
    format_instant,
    format_local_time,
    fraction,
    instant_of,
    parse_instant,
    parse_local_date,
    parse_local_time,
)
from .patterns import STYLES, format_pattern, format_style, locale_of, tokens

__all__ = [
    "DurationError",
    "NANOS_PER_SECOND",
    "STYLES",
    "Instant",
    "format_date_time",
    "format_duration",
    "format_duration_nanos",
    "format_epoch",
    "format_instant",
    "format_local_time",
    "format_pattern",
    "format_style",
    "fraction",
    "instant_of",
    "locale_of",
    "parse_duration",
    "parse_duration_nanos",
    "parse_instant",
    "parse_local_date",
    "parse_local_time",
    "seconds_to_nanos",
    "timedelta_to_nanos",
    "tokens",
]
