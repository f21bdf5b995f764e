from __future__ import annotations

from typing import Any

from jinja2 import Undefined

from ..errors import _Abort
from ..values import to_str


def need(value: Any) -> Any:
    """Fail (strict undefined) when value is undefined, else return it."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def text(value: Any) -> str:
    need(value)
    return to_str(value)


def fail(message: str):
    raise _Abort(message)


def to_int(value: Any, what: str) -> int:
    need(value)
    if isinstance(value, bool):
        fail(f"{what} must be a number, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    fail(f"{what} must be an integer, got {to_str(value)!r}")
