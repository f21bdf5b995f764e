"""Templates whose every expression is a plain path to a string: rendered without jinja2.

`{{ task.id }} > {{ flow.id }}` is most of what light tasks (Return, Log) say, and compiling
it on the jinja2 sandbox costs a runner process the import of jinja2 and the whole Pebble
environment, more than the task itself. `render_plain` does the one thing such a template
means, a key lookup per segment, and answers None for anything else — another expression,
a missing key, a value that is not a string, a block, a comment, a carriage return — so the
caller renders it the full way, which also gives every error its one wording. `render` and
`render_value` call it first too: there is one renderer, with a fast path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .limits import MAX_OUTPUT

_EXPRESSION = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
# Names the jinja2 grammar, its compiler or the Pebble rewrite (nullcoalesce) give a meaning
# of their own: a path through any of them is left to the full renderer.
_RESERVED = frozenset(
    "and or not in is if else elif elseif endif for endfor true false none null True False None "
    "self super caller varargs kwargs loop contains isIn equals verbatim".split()
)


def render_plain(template: str, variables: Mapping[str, Any]) -> str | None:
    """The rendered text, or None when the full renderer must render it."""
    if "\r" in template or "{%" in template or "{#" in template:
        return None
    parts = _EXPRESSION.split(template)
    # parts: text, path, text, path, ..., text
    out: list[str] = []
    size = 0
    for i, part in enumerate(parts):
        if i % 2 == 0:
            if "{{" in part:
                return None
            out.append(part)
            size += len(part)
            continue
        value: Any = variables
        for name in part.split("."):
            if name in _RESERVED or not isinstance(value, Mapping):
                return None
            try:
                value = value[name]
            except (KeyError, TypeError):
                return None
        if not isinstance(value, str):
            return None
        out.append(value)
        size += len(value)
        if size > MAX_OUTPUT:
            return None
    return "".join(out)
