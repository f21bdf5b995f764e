"""Kestra (Pebble) expressions on a sandboxed jinja2 environment.

Public API::

    render(template, context, *, secret=None) -> str
    render_value(value, context, *, secret=None) -> Any
    referenced_outputs(value) -> set[str] | None
    referenced_roots(value) -> set[str]
    ExpressionError (expression, message, property)

See ``limits`` for the resource bounds and ``nullcoalesce`` for the Pebble syntax supported
on top of jinja2.
"""

from .analysis import referenced_outputs, referenced_roots
from .errors import ExpressionError
from .render import render, render_value

__all__ = ["render", "render_value", "ExpressionError", "referenced_outputs", "referenced_roots"]
