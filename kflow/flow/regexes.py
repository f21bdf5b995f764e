"""Regular expressions a flow supplies (``replace(..., regexp=true)``, input ``validator``s,
S3 ``regexp``): run by the ``regex`` module with a time bound, never by ``re``.

Python's ``re`` cannot be interrupted: one catastrophic-backtracking pattern holds the process
(and the GIL) for ever. ``regex`` takes a ``timeout`` it checks inside its matcher, and with
``concurrent=True`` releases the GIL while matching, so an operator thread running a render
never stalls the event loop. Here the bound is :data:`MATCH_TIME_LIMIT` (input validators, S3
keys); inside a render, :mod:`kflow.expr.regexes` bounds a match by what is left of the render's
deadline. The syntax is Java's as far as both agree (classes,
groups, lookaround, backreferences, named groups ``(?<name>...)``).
"""

from __future__ import annotations

import functools

import regex

MATCH_TIME_LIMIT = 2.0  # seconds, for a match outside a render (input validators, S3 keys)
MAX_PATTERN = 10_000  # characters


class RegexError(ValueError):
    """An invalid pattern, or one that ran out of time; the message names the pattern."""


def show(pattern: str) -> str:
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
        raise RegexError(f"invalid regular expression {show(pattern)}: {err}") from None


MATCH_BOUND = f"the match time bound, {MATCH_TIME_LIMIT:g}s"


def timed_out(pattern: str, bound: str) -> RegexError:
    return RegexError(f"regular expression {show(pattern)} did not finish within {bound}")


def fullmatch(pattern: str, text: str, seconds: float = MATCH_TIME_LIMIT, bound: str = MATCH_BOUND) -> bool:
    """Does the whole of ``text`` match? Bounded in time (``bound`` names the bound)."""
    compiled = compile_pattern(pattern)
    try:
        return compiled.fullmatch(text, timeout=seconds, concurrent=True) is not None
    except TimeoutError:
        raise timed_out(pattern, bound) from None
