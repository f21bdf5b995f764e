"""Kestra's `jq` filter with real jq semantics, through the `jq` binding (libjq itself).

As Kestra's JqFilter: null stays null; a string is parsed as JSON first; the result is the list
of every value the program outputs (hence `| first` in Kestra's examples).
"""

from __future__ import annotations

import json
from typing import Any

from ..values import to_json as _to_json
from ._util import fail


def jq_filter(value: Any, expression: Any = None) -> Any:
    if value is None:
        return None
    if not isinstance(expression, str):
        fail("The 'jq' filter expects an argument 'expression'.")
    import jq

    try:
        data = json.loads(value) if isinstance(value, str) else json.loads(_to_json(value))
    except ValueError as e:
        fail(f"jq: the value is not JSON ({e})")
    try:
        program = jq.compile(expression)
    except ValueError as e:
        fail(f"jq: invalid expression {expression!r}: {e}")
    try:
        return program.input_value(data).all()
    except ValueError as e:
        fail(f"jq: {expression!r} failed: {e}")


FILTERS = {"jq": jq_filter}
