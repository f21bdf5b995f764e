"""Durations written in flows (timeouts, delays, retry intervals) as seconds.

The text follows Java's `Duration.parse`, as Kestra reads it (kflow.javatime has the rules):
`P1W` is refused (write `P7D`), `PT-5S` parses to a negative duration, which fields that need a
positive one (timeouts) refuse themselves. A number given instead of a text is seconds.
"""

from __future__ import annotations

from kflow.javatime import format_duration
from kflow.javatime import parse_duration as _parse_text

__all__ = ["format_duration", "parse_duration"]


def parse_duration(text: str | int | float) -> float:
    """Seconds in a Java duration text (PT30S, PT5M, P1D); a bare number is taken as seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    return _parse_text(str(text))
