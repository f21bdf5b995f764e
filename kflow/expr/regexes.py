"""Regular expressions inside a render (``replace(..., regexp=true)``): the flow language's
bounded matcher (:mod:`kflow.flow.regexes`), bounded by what is left of the render's deadline
(outside a render, by its own match time bound), and a replace bounded in size too."""

from __future__ import annotations

import time
from typing import Any

import regex

from kflow.flow.regexes import MATCH_BOUND, MATCH_TIME_LIMIT, RegexError, compile_pattern, show, timed_out
from kflow.flow.regexes import fullmatch as _fullmatch

from . import limits

__all__ = ["RegexError", "compile_pattern", "fullmatch", "search", "sub"]


def _bound() -> tuple[float, str]:
    """Seconds a match may take, and how the error names that bound."""
    state = limits.current()
    if state is None:
        return MATCH_TIME_LIMIT, MATCH_BOUND
    return max(0.001, state.deadline - time.monotonic()), f"the render deadline, {limits.TIME_LIMIT:g}s"


def fullmatch(pattern: str, text: str) -> bool:
    """Does the whole of ``text`` match? Bounded in time."""
    return _fullmatch(pattern, text, *_bound())


def search(pattern: str, text: str) -> Any:
    """The first match in ``text`` (or None), bounded in time."""
    compiled, (seconds, bound) = compile_pattern(pattern), _bound()
    try:
        return compiled.search(text, timeout=seconds, concurrent=True)
    except TimeoutError:
        raise timed_out(pattern, bound) from None


def sub(pattern: str, template: str, text: str, count: int = 0) -> str:
    """``text`` with each match replaced by ``template`` (``\\g<1>`` references), bounded in time
    and in size: the result is measured match by match and refused before it outgrows
    ``limits.MAX_STRING``, so a pattern matching everywhere cannot build a huge string."""
    compiled, (seconds, bound) = compile_pattern(pattern), _bound()
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
        raise timed_out(pattern, bound) from None
    except (regex.error, IndexError) as err:  # a template naming a group that does not exist
        raise RegexError(f"invalid replacement for {show(pattern)}: {err}") from None
