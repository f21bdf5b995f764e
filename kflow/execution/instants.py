"""Instants printed as Java's Instant.toString(), which is how Kestra renders dates."""

from __future__ import annotations

from datetime import datetime, timezone


def format_instant(value: datetime) -> str:
    """2024-03-01T10:15:30Z, with the fraction only when non-zero, in groups of 3 digits."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        fraction = f"{value.microsecond:06d}"
        text += "." + (fraction[:3] if fraction.endswith("000") else fraction)
    return text + "Z"
