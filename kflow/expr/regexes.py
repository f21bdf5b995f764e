"""Regular expressions a flow supplies (``replace(..., regexp=true)``, input ``validator``s,
S3 ``regexp``): run by the ``regex`` module with a time bound, never by ``re``.

Python's ``re`` cannot be interrupted: one catastrophic-backtracking pattern holds the process
(and the GIL) for ever. ``regex`` takes a ``timeout`` it checks inside its matcher, and with
``concurrent=True`` releases the GIL while matching, so an operator thread running a render
never stalls the event loop. Inside a render the bound is what is left of the render's deadline;
elsewhere it is :data:`MATCH_TIME_LIMIT`. The syntax is Java's as far as both agree (classes,
groups, lookaround, backreferences, named groups ``(?<name>...)``).
"""

from __future__ import annotations

import functools
import time
from typing import Any

import regex

from . import limits

MATCH_TIME_LIMIT = 2.0  # seconds, for a match outside a render (input validators, S3 keys)
MAX_PATTERN = 10_000  # characters


class RegexError(ValueError):
    """An invalid pattern, or one that ran out of time; the message names the pattern."""


def _show(pattern: str) -> str:
    return repr(pattern if len(pattern) <= 80 else pattern[:77] + "...")


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern:
    return regex.compile(pattern, regex.VERSION0)


def compile_pattern(pattern: str) -> regex.Pattern:
    """The compiled pattern, or RegexError saying why it is not one."""
    if len(pattern) > MAX_PATTERN:
        raise RegexError(f"regular expression is longer than {MAX_PATTERN} characters")
    try:
        return _compiled(pattern)
    except (regex.error, OverflowError, RecursionError, ValueError) as err:
        raise RegexError(f"invalid regular expression {_show(pattern)}: {err}") from None


def _timeout() -> float:
    state = limits.current()
    if state is None:
        return MATCH_TIME_LIMIT
    return max(0.001, state.deadline - time.monotonic())


def _timed_out(pattern: str, seconds: float) -> RegexError:
    if limits.current() is not None:
        bound = f"the render deadline, {limits.TIME_LIMIT:g}s"
    else:
        bound = f"the match time bound, {MATCH_TIME_LIMIT:g}s"
    return RegexError(f"regular expression {_show(pattern)} did not finish within {bound}")


def fullmatch(pattern: str, text: str) -> bool:
    """Does the whole of ``text`` match? Bounded in time."""
    compiled, seconds = compile_pattern(pattern), _timeout()
    try:
        return compiled.fullmatch(text, timeout=seconds, concurrent=True) is not None
    except TimeoutError:
        raise _timed_out(pattern, seconds) from None


def search(pattern: str, text: str) -> Any:
    """The first match in ``text`` (or None), bounded in time."""
    compiled, seconds = compile_pattern(pattern), _timeout()
    try:
        return compiled.search(text, timeout=seconds, concurrent=True)
    except TimeoutError:
        raise _timed_out(pattern, seconds) from None


def sub(pattern: str, template: str, text: str, count: int = 0) -> str:
    """``text`` with each match replaced by ``template`` (``\\g<1>`` references), bounded in time
    and in size: the result is measured match by match and refused before it outgrows
    ``limits.MAX_STRING``, so a pattern matching everywhere cannot build a huge string."""
    compiled, seconds = compile_pattern(pattern), _timeout()
    literal = "\\" not in template
    grown = 0

    def replacement(match: Any) -> str:
        nonlocal grown
        out = template if literal else match.expand(template)
        grown += len(out) - (match.end() - match.start())
        limits.check_size(len(text) + grown, "regular expression replace result")
        return out

    # a literal template cannot grow the text past this, whatever matches: no per-match check
    small = literal and len(text) + (len(text) + 1) * len(template) <= limits.MAX_STRING
    try:
        return compiled.sub(template if small else replacement, text, count=count, timeout=seconds, concurrent=True)
    except TimeoutError:
        raise _timed_out(pattern, seconds) from None
    except (regex.error, IndexError) as err:  # a template naming a group that does not exist
        raise RegexError(f"invalid replacement for {_show(pattern)}: {err}") from None
