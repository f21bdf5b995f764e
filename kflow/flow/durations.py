"""Durations written in flows (timeouts, delays, retry intervals) as seconds.

The text follows Java's `Duration.parse`, as Kestra reads it (kflow.javatime has the rules):
`P1W` is refused (write `P7D`), `PT-5S` parses to a negative duration, which fields that need a
positive one (timeouts) refuse themselves. A number given instead of a text is seconds.
Either way at most 100 years: a timer, a deadline and a pod's activeDeadlineSeconds all hold it.
"""

from __future__ import annotations

import math

from kflow.javatime import DurationError, format_duration
from kflow.javatime import parse_duration as _parse_text

__all__ = ["MAX_DURATION_SECONDS", "format_duration", "parse_duration"]

MAX_DURATION_SECONDS = 36525 * 86400  # 100 years


def parse_duration(text: str | int | float) -> float:
    """Seconds in a Java duration text (PT30S, PT5M, P1D); a bare number is taken as seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        try:
            seconds = float(text)
        except OverflowError:  # an int beyond any float
            seconds = math.inf
    else:
        if len(str(text)) > 100:
            raise ValueError(f"expected an ISO-8601 duration such as PT30S, PT5M or P1D, got {_short(text)}")
        try:
            seconds = _parse_text(str(text))
        except DurationError as err:
            if not (err.reason or "").startswith("out of range"):
                raise
            seconds = math.inf  # beyond Java's Duration: refused below as beyond the bound
    if not math.isfinite(seconds) or abs(seconds) > MAX_DURATION_SECONDS:
        raise ValueError(f"duration {_short(text)} is longer than the {MAX_DURATION_SECONDS // 86400}-day bound (P36525D, 100 years)")
    return seconds


def _short(text: object) -> str:
    shown = str(text)
    return repr(shown if len(shown) <= 40 else shown[:37] + "...")
