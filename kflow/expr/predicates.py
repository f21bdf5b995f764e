"""Tests usable with ``is`` / ``is not`` (Pebble names plus a few jinja ones)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jinja2 import Undefined

from .filters._util import need, text


def present(value: Any) -> bool:
    """``??``: defined and not null."""
    return not isinstance(value, Undefined) and value is not None


def defined_strict(value: Any) -> bool:
    """``???``: only undefined counts as missing."""
    return not isinstance(value, Undefined)


def defined(value: Any) -> bool:
    """Pebble's ``defined`` test: a null value is not defined."""
    return present(value)


def undefined(value: Any) -> bool:
    return not present(value)


def null(value: Any) -> bool:
    return isinstance(value, Undefined) or value is None


def empty(value: Any) -> bool:
    if isinstance(value, Undefined) or value is None:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, (list, tuple, dict, set, Mapping)):
        return len(value) == 0
    return False


def _num(value: Any) -> int:
    need(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"even/odd need a number, got {type(value).__name__}")
    return int(value)


def even(value: Any) -> bool:
    return _num(value) % 2 == 0


def odd(value: Any) -> bool:
    return _num(value) % 2 == 1


def iterable(value: Any) -> bool:
    need(value)
    return isinstance(value, (list, tuple, set, frozenset, Mapping))


def is_map(value: Any) -> bool:
    need(value)
    return isinstance(value, Mapping)


def is_json(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def contains(container: Any, item: Any) -> bool:
    """Pebble ``contains`` operator: list element / map key / substring; a list argument
    means "contains all"."""
    need(container)
    need(item)
    if container is None:
        return False
    if isinstance(container, str):
        return text(item) in container
    if isinstance(item, (list, tuple)) and not isinstance(container, Mapping):
        return all(i in container for i in item)
    return item in container


def starts_with(value: Any, prefix: Any) -> bool:
    return need(value) is not None and text(value).startswith(text(prefix))


def ends_with(value: Any, suffix: Any) -> bool:
    return need(value) is not None and text(value).endswith(text(suffix))


TESTS = {
    "kflow_present": present,
    "kflow_defined": defined_strict,
    "kflow_contains": contains,
    "defined": defined,
    "undefined": undefined,
    "null": null,
    "none": null,
    "empty": empty,
    "even": even,
    "odd": odd,
    "iterable": iterable,
    "map": is_map,
    "mapping": is_map,
    "json": is_json,
    "contains": contains,
    "startsWith": starts_with,
    "endsWith": ends_with,
}
