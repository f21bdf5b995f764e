"""Instants printed as Java's Instant.toString(), which is how Kestra renders dates."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


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


def to_json_data(value: Any) -> Any:
    """Nested data with its datetimes as Kestra's ISO instants: what crosses into a runner."""
    if isinstance(value, dict):
        return {k: to_json_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_data(v) for v in value]
    if isinstance(value, datetime):
        return format_instant(value)
    return value
