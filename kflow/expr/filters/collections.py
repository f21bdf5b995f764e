"""Collection and number filters."""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from typing import Any

from jinja2 import Undefined

from ..limits import check_items, check_size
from ..values import to_str
from ._util import fail, need, text, to_int


def _seq(value: Any, what: str) -> list:
    need(value)
    if value is None:
        return []
    if isinstance(value, Mapping):
        return list(value.keys())
    if isinstance(value, str):
        return list(value)
    try:
        return list(value)
    except TypeError:
        fail(f"{what} needs a list, got {type(value).__name__}")


def default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """Pebble: the default applies when the value is undefined, null, or empty."""
    if isinstance(value, Undefined) or value is None:
        return default_value
    if isinstance(value, (str, list, tuple, dict, set)) and len(value) == 0:
        return default_value
    if boolean and not value:
        return default_value
    return value


def length(value: Any) -> int:
    need(value)
    if value is None:
        return 0
    try:
        return len(value)
    except TypeError:
        fail(f"length: {type(value).__name__} has no length")


def first(value: Any) -> Any:
    need(value)
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (str, list, tuple)):
        return value[0] if value else None
    for item in value:
        return item
    return None


def last(value: Any) -> Any:
    need(value)
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = list(value.values())
    seq = value if isinstance(value, (str, list, tuple)) else list(value)
    return seq[-1] if seq else None


def join(value: Any, separator: Any = "") -> Any:
    need(value)
    if value is None:
        return None
    sep = text(separator)
    items = [to_str(need(v)) for v in _seq(value, "join")]
    check_size(sum(len(i) for i in items) + len(sep) * len(items), "join result")
    return sep.join(items)


def keys(value: Any) -> list:
    need(value)
    if not isinstance(value, Mapping):
        fail(f"keys needs a map, got {type(value).__name__}")
    return list(value.keys())


def values(value: Any) -> list:
    need(value)
    if not isinstance(value, Mapping):
        fail(f"values needs a map, got {type(value).__name__}")
    return list(value.values())


def _sorted(value: Any, reverse: bool) -> list:
    items = _seq(value, "sort")
    try:
        return sorted(items, reverse=reverse)
    except TypeError:
        fail("sort: the list mixes values that cannot be compared")


def sort(value: Any) -> list:
    return _sorted(value, False)


def rsort(value: Any) -> list:
    return _sorted(value, True)


def reverse(value: Any) -> Any:
    need(value)
    if value is None:
        return None
    if isinstance(value, str):
        return value[::-1]
    return list(reversed(_seq(value, "reverse")))


def slice_(value: Any, fromIndex: Any = 0, toIndex: Any = None) -> Any:
    """Pebble ``slice(from, to)`` on strings and lists (indexes clamped to the length)."""
    need(value)
    if value is None:
        return None
    seq = value if isinstance(value, (str, list, tuple)) else _seq(value, "slice")
    n = len(seq)
    a = to_int(fromIndex, "fromIndex")
    b = n if toIndex is None else to_int(toIndex, "toIndex")
    a, b = max(0, min(a, n)), max(0, min(b, n))
    out = seq[a:b]
    return list(out) if isinstance(out, tuple) else out


def merge(value: Any, other: Any) -> Any:
    need(value)
    need(other)
    if isinstance(value, Mapping):
        if not isinstance(other, Mapping):
            fail("merge: cannot merge a map with a list")
        return {**value, **other}
    out = _seq(value, "merge") + _seq(other, "merge")
    check_items(len(out), "merge result")
    return out


def chunk(value: Any, size: Any) -> list:
    n = to_int(size, "size")
    if n <= 0:
        fail("chunk size must be > 0")
    items = _seq(value, "chunk")
    return [items[i : i + n] for i in range(0, len(items), n)]


def distinct(value: Any) -> list:
    out: list = []
    seen: set = set()
    for item in _seq(value, "distinct"):
        try:
            if item in seen:
                continue
            seen.add(item)
        except TypeError:
            if item in out:
                continue
        out.append(item)
    return out


def flatten(value: Any) -> list:
    out: list = []
    for item in _seq(value, "flatten"):
        if isinstance(item, (list, tuple)):
            out.extend(item)
        else:
            out.append(item)
    return out


def abs_(value: Any) -> Any:
    need(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        value = number(value)
    return abs(value)


_INT_TYPES = {"INT", "INTEGER", "LONG", "BIGINTEGER", "SHORT", "BYTE"}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "BIGDECIMAL", "DECIMAL"}


def number(value: Any, type: Any = None) -> Any:
    """Parse to int/float. ``number('INT'|'LONG'|'FLOAT'|'DOUBLE'|'BIGDECIMAL'|'BIGINTEGER')``."""
    need(value)
    kind = None if type is None else text(type).upper()
    if kind is not None and kind not in _INT_TYPES | _FLOAT_TYPES:
        fail(f"number: unknown type {kind!r}")
    if isinstance(value, bool):
        fail("number: cannot convert a boolean")
    if isinstance(value, (int, float)):
        num = value
    else:
        s = text(value).strip()
        try:
            num = int(s, 0) if s.lower().startswith(("0x", "-0x")) else int(s)
        except ValueError:
            try:
                num = float(s)
            except ValueError:
                fail(f"number: {s!r} is not a number")
    if kind in _INT_TYPES:
        if isinstance(num, float):
            if num != num or num in (float("inf"), float("-inf")):
                fail("number: not a finite number")
            return int(num)
        return num
    if kind in _FLOAT_TYPES:
        return float(num)
    return num


def number_format(value: Any, pattern: Any) -> str:
    """Subset of Java DecimalFormat: grouping ``,`` and fraction digits (``0`` min, ``#`` max)."""
    num = number(value)
    pat = text(pattern)
    int_part, _, frac_part = pat.partition(".")
    max_frac = sum(1 for c in frac_part if c in "0#")
    min_frac = sum(1 for c in frac_part if c == "0")
    min_int = sum(1 for c in int_part if c == "0")
    d = decimal.Decimal(str(num)).quantize(
        decimal.Decimal(1).scaleb(-max_frac), rounding=decimal.ROUND_HALF_EVEN
    )
    sign = "-" if d < 0 else ""
    d = abs(d)
    whole, _, frac = f"{d:f}".partition(".")
    frac = frac.rstrip("0")
    frac = frac + "0" * max(0, min_frac - len(frac))
    whole = whole.lstrip("0")
    if len(whole) < min_int:
        whole = whole.rjust(min_int, "0")
    if not whole and not frac:
        whole = "0"
    if "," in int_part:
        group = len(int_part) - int_part.rfind(",") - 1
        if group > 0 and whole:
            parts = []
            while len(whole) > group:
                parts.insert(0, whole[-group:])
                whole = whole[:-group]
            parts.insert(0, whole)
            whole = ",".join(parts)
    return sign + whole + ("." + frac if frac else "")


FILTERS = {
    "default": default,
    "d": default,
    "length": length,
    "count": length,
    "first": first,
    "last": last,
    "join": join,
    "keys": keys,
    "values": values,
    "sort": sort,
    "rsort": rsort,
    "reverse": reverse,
    "slice": slice_,
    "merge": merge,
    "chunk": chunk,
    "distinct": distinct,
    "flatten": flatten,
    "abs": abs_,
    "number": number,
    "numberFormat": number_format,
}
