"""Resource bounds for one render.

What is bounded, and how (no sys.settrace):

* output size: every ``{{ }}`` value printed (also inside ``{% set %}`` blocks and macros)
  counts towards ``MAX_EMITTED``; the rendered text is produced chunk by chunk and aborted once it exceeds
  ``MAX_OUTPUT`` characters;
* intermediate strings/lists: ``~`` concatenation, ``*``/``+`` (intercepted sandbox binops),
  ``replace``, ``join``, ``indent`` refuse to build values above ``MAX_STRING``;
  ``**`` refuses results above ``MAX_INT_BITS`` bits;
* ``range()`` refuses more than ``MAX_RANGE`` items; list ``*``/``+``/``merge`` more than
  ``MAX_LIST_ITEMS``; maps/lists are size-estimated before being serialized to JSON
  (printing, ``toJson``) so a value made of many references to one big string fails early;
* loops: every ``{% for %}`` iterable is wrapped; all loops of one render together may run at
  most ``MAX_LOOP_ITERATIONS`` iterations;
* string methods (``ljust``/``rjust``/``center``/``zfill``, ``expandtabs``, ``replace``, ``join``,
  ``translate``, ``format``/``format_map`` widths and precisions) are measured before they run
  (:mod:`kflow.expr.bounded`); every filter's and method's result is checked after;
* memory: all strings one render builds (filter and method results, ``~``, ``+``, ``*``)
  together may not exceed ``MAX_BUILT`` characters, so many 10 MiB values cannot pile up;
* time: a deadline (``TIME_LIMIT`` seconds) is checked on every loop iteration, every
  function/macro/filter call, operator and output chunk; regular expressions run with what is
  left of it as their timeout (:mod:`kflow.expr.regexes`), so no single builtin runs unbounded;
* ``render()`` nesting is capped at ``MAX_RENDER_DEPTH``; Python recursion errors (recursive
  macros) are reported as ExpressionError.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import _Abort

MAX_OUTPUT = 10 * 1024 * 1024
MAX_STRING = 10 * 1024 * 1024
# all values printed by {{ }} during one render, including inside {% set %} blocks and macros
MAX_EMITTED = 4 * MAX_OUTPUT
MAX_RANGE = 100_000
# all strings built during one render (filter/method results, concatenations, repetitions)
MAX_BUILT = 16 * MAX_STRING
MAX_LIST_ITEMS = 1_000_000
MAX_LOOP_ITERATIONS = 1_000_000
MAX_INT_BITS = 64 * 1024
MAX_RENDER_DEPTH = 10
MAX_INDENT = 1_000
TIME_LIMIT = 10.0


@dataclass
class RenderState:
    context: dict[str, Any]
    secret: Callable[[str], str] | None = None
    read: Callable[[str], str] | None = None  # read(uri): a file's content (internal storage)
    size: Callable[[str], int | None] | None = None  # a stored file's size, None when there is none (fileExists, fileSize)
    deadline: float = field(default_factory=lambda: time.monotonic() + TIME_LIMIT)
    iterations: int = 0
    emitted: int = 0
    built: int = 0
    secrets: list = field(default_factory=list)  # values returned by secret(), masked in errors
    depth: int = 0


_state: contextvars.ContextVar[RenderState | None] = contextvars.ContextVar(
    "kflow_expr_state", default=None
)


def current() -> RenderState | None:
    return _state.get()


def push(state: RenderState) -> contextvars.Token:
    return _state.set(state)


def pop(token: contextvars.Token) -> None:
    _state.reset(token)


def check_deadline() -> None:
    st = _state.get()
    if st is not None and time.monotonic() > st.deadline:
        raise _Abort(f"rendering took longer than {TIME_LIMIT:g}s")


def check_size(size: int, what: str = "string") -> None:
    if size > MAX_STRING:
        raise _Abort(f"{what} exceeds {MAX_STRING} characters")


def count_built(size: int) -> None:
    """A string of ``size`` characters was just built: charge it to the render's budget."""
    if size > MAX_STRING:
        raise _Abort(f"string exceeds {MAX_STRING} characters")
    st = _state.get()
    if st is not None:
        st.built += size
        if st.built > MAX_BUILT:
            raise _Abort(f"strings built by one render exceed {MAX_BUILT} characters in total")


def check_items(count: int, what: str = "list") -> None:
    if count > MAX_LIST_ITEMS:
        raise _Abort(f"{what} exceeds {MAX_LIST_ITEMS} items")


def guarded_iter(iterable: Any):
    """Wraps every for-loop iterable: counts iterations and checks the deadline."""
    st = _state.get()
    if st is None:
        yield from iterable
        return
    for item in iterable:
        st.iterations += 1
        if st.iterations > MAX_LOOP_ITERATIONS:
            raise _Abort(f"loops exceed {MAX_LOOP_ITERATIONS} iterations")
        if st.iterations & 63 == 0 and time.monotonic() > st.deadline:
            raise _Abort(f"rendering took longer than {TIME_LIMIT:g}s")
        yield item
