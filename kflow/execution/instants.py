"""Instants printed as Java's Instant.toString(), which is how Kestra renders dates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kflow.javatime import format_instant

__all__ = ["format_instant", "to_json_data"]


def to_json_data(value: Any) -> Any:
    """Nested data with its datetimes as Kestra's ISO instants: what crosses into a runner."""
    if isinstance(value, dict):
        return {k: to_json_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_data(v) for v in value]
    if isinstance(value, datetime):
        return format_instant(value)
    return value
