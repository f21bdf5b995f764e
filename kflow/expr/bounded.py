"""Size and time bounds around what a template can call: filters, string methods, ``format``.

The sandbox lets a template call ``'x'.ljust(10**9)`` or ``'{:>999999999}'.format(1)``: one
call, gigabytes. Each method that grows a string is measured from its arguments *before* it
runs (the result length is known in advance), and every result is charged to the render's
budget after (:func:`kflow.expr.limits.count_built`), so memory never spikes past the bound.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Mapping
from typing import Any, Callable

from jinja2.sandbox import SandboxedFormatter

from . import limits
from .errors import _Abort

_PADDING = frozenset({"ljust", "rjust", "center", "zfill"})
_SPEC_NUMBER = re.compile(r"\d+")
_MAX_SPEC_DIGITS = 9


def _arg(args: tuple, kwargs: dict, position: int, name: str, default: Any = None) -> Any:
    return args[position] if len(args) > position else kwargs.get(name, default)


def _replaced_size(s: str | bytes, old: Any, new: Any, count: Any) -> int | None:
    if not isinstance(old, type(s)) or not isinstance(new, type(s)):
        return None  # the call itself fails with a TypeError
    hits = len(s) + 1 if not old else s.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(s) + hits * (len(new) - len(old))


def check_method(method: types.BuiltinMethodType, args: tuple, kwargs: dict) -> tuple:
    """Refuse a call to a str/bytes method whose result would exceed the string bound;
    returns the arguments to call it with (a ``join`` iterable is read once, here)."""
    s = method.__self__
    name = method.__name__
    what = f"{name}() result"
    if name in _PADDING:
        width = _arg(args, kwargs, 0, "width")
        if isinstance(width, int):
            limits.check_size(width, what)
    elif name == "expandtabs":
        tabsize = _arg(args, kwargs, 0, "tabsize", 8)
        if isinstance(tabsize, int):
            tabs = s.count("\t" if isinstance(s, str) else b"\t")
            limits.check_size(len(s) + tabs * max(tabsize, 0), what)
    elif name == "replace":
        size = _replaced_size(s, _arg(args, kwargs, 0, "old"), _arg(args, kwargs, 1, "new"), _arg(args, kwargs, 2, "count", -1))
        if size is not None:
            limits.check_size(size, what)
    elif name == "join" and args:
        items = list(limits.guarded_iter(args[0]))
        limits.check_items(len(items), "join() argument")
        size = sum(len(i) for i in items if isinstance(i, (str, bytes))) + len(s) * max(len(items) - 1, 0)
        limits.check_size(size, what)
        args = (items, *args[1:])
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        limits.check_size(len(s) * max(longest, 1), what)
    elif name == "encode":
        limits.check_size(len(s) * 4, what)
    return args


def is_string_method(obj: Any) -> bool:
    return isinstance(obj, types.BuiltinMethodType) and isinstance(getattr(obj, "__self__", None), (str, bytes))


def charge(result: Any) -> Any:
    """Count a just-built string (or bytes) towards the render's budget."""
    if isinstance(result, (str, bytes)):
        limits.count_built(len(result))
    return result


class BoundedFormatter(SandboxedFormatter):
    """``str.format`` for templates: field widths and precisions are checked before formatting."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        limits.check_deadline()
        for number in _SPEC_NUMBER.findall(format_spec):
            if len(number) > _MAX_SPEC_DIGITS:
                raise _Abort(f"format width {number[:12]}... exceeds {limits.MAX_STRING} characters")
            limits.check_size(int(number), "format width")
        return charge(super().format_field(value, format_spec))


def bounded_format(env: Any, method: Any) -> Callable[..., str]:
    """A sandboxed ``str.format`` / ``format_map`` bound to ``method``'s string."""
    text: str = method.__self__
    formatter = BoundedFormatter(env)
    is_map = method.__name__ == "format_map"

    def wrapper(*args: Any, **kwargs: Any) -> str:
        if is_map:
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one argument")
            args, kwargs = (), args[0]
        return charge(str(formatter.vformat(text, args, kwargs)))

    return functools.update_wrapper(wrapper, method)


def bounded_filter(fn: Callable) -> Callable:
    """A filter that checks the render's deadline before it runs and charges its result after."""

    @functools.wraps(fn)  # keeps jinja's pass_context marker (copied from fn.__dict__)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        limits.check_deadline()
        return charge(fn(*args, **kwargs))

    return wrapper
