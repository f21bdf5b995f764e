"""How values print: Kestra/Java-like string conversion, Instant printing, JSON."""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping
from typing import Any

from jinja2 import Undefined

from kflow.javatime import format_date_time, format_duration, format_instant

UTC = _dt.timezone.utc


def instant_str(value: _dt.datetime) -> str:
    """Java ``Instant.toString()``: ISO-8601 in UTC with ``Z``."""
    return format_instant(value)


def datetime_str(value: _dt.datetime) -> str:
    """UTC (or naive) datetimes print as an Instant; other zones as an OffsetDateTime."""
    return format_date_time(value)


def _float_str(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, Undefined):
        str(value)  # raises UndefinedError
    if isinstance(value, _dt.datetime):
        return datetime_str(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return duration_str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"value of type {type(value).__name__} is not JSON serializable")


MAX_JSON = 10 * 1024 * 1024


def _estimate(value: Any, budget: int) -> int:
    """Lower bound of the JSON size of value; stops once it exceeds budget."""
    size = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            size += len(v) + 2
        elif isinstance(v, Mapping):
            size += 2
            for k, x in v.items():
                size += 1
                stack.append(k if isinstance(k, str) else str(k))
                stack.append(x)
        elif isinstance(v, (list, tuple, set, frozenset)):
            size += 2 + len(v)
            stack.extend(v)
        else:
            size += 4
        if size > budget:
            return size
    return size


def to_json(value: Any, indent: int | None = None) -> str:
    if isinstance(value, (Mapping, list, tuple, set, frozenset)) and _estimate(value, MAX_JSON) > MAX_JSON:
        from .errors import _Abort

        raise _Abort(f"value is too large to serialize (more than {MAX_JSON} characters)")
    if indent is None:
        return json.dumps(value, default=to_jsonable, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value, default=to_jsonable, ensure_ascii=False, indent=indent)


def duration_str(value: _dt.timedelta) -> str:
    """Java ``Duration.toString()`` (``PT1H30M``, ``PT-1H-30M``)."""
    return format_duration(value)


def to_str(value: Any) -> str:
    """Convert a value to the text Kestra would print for it."""
    if isinstance(value, str):
        return value
    if isinstance(value, Undefined):
        return str(value)  # StrictUndefined raises
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_str(value)
    if isinstance(value, _dt.datetime):
        return datetime_str(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return duration_str(value)
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        return to_json(value)
    return str(value)
