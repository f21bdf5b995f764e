"""Kestra (Pebble) expressions on a sandboxed jinja2 environment.

Public API::

    render(template, context, *, secret=None, read=None) -> str
    render_value(value, context, *, secret=None, read=None) -> Any

``secret(name) -> str`` backs ``{{ secret('X') }}``; ``read(uri) -> str`` backs Kestra's
``{{ read('kestra:///...') }}`` (a file's content); without them those functions fail.
    referenced_outputs(value) -> set[str] | None
    referenced_roots(value) -> set[str]
    ExpressionError (attributes: expression, message, property)

Layout: ``pebble_syntax`` (Pebble syntax -> jinja source rewrite: ``??``, ``???``, ternary,
``contains``, ``isIn``, ``..``, ``elseif``, ``verbatim``), ``environment`` (sandbox, strict
undefined with paths, attribute access, finalize), ``filters/`` (strings, collections, dates,
serde), ``predicates`` (``is`` tests), ``functions`` (globals), ``limits`` (resource bounds),
``render`` (API + LRU cache of compiled templates), ``plain`` (its fast path: templates that
only print variables, without jinja2), ``analysis`` (referenced_*).

Semantics chosen where Pebble and jinja differ:

* undefined variables/keys are errors naming the full path (``'outputs.foo' is undefined``);
  ``??``, ``???``, ``default``, ``is defined``, ``is null``, ``is empty`` accept them.
* ``is defined`` is Pebble's: a null value is *not* defined (use ``is not null`` /
  ``???`` to tell null from missing).
* printing: null -> ``""``, booleans -> ``true``/``false``, UTC datetimes -> Java
  ``Instant.toString()`` (``2024-03-01T10:15:30.123Z``), other zones -> ISO with offset,
  maps/lists -> compact JSON.
* ``loop.index``/``loop.revindex`` are 0-based (Pebble); iterating a map yields entries
  with ``.key``/``.value`` (``{% for k, v in map %}`` also works).
* a newline right after ``{% ... %}`` is dropped (Pebble newLineTrimming); jinja normalizes
  ``\\r\\n`` to ``\\n`` in templates that contain an expression.
* ``dateAdd`` returns a formatted string (``iso`` by default), as Kestra does; ``now()``
  returns an aware datetime (a string with ``format=``).

Not supported: Pebble ``#{...}`` string interpolation, ``include``/``import``/``extends``
(no loader), Kestra functions needing the platform (``http``,
``fileExists``/``fileSize``/``isFileEmpty``, ``currentEachOutput``, ``errorLogs``,
``appLink``), ``jq``, ``fromIon``, locale-specific formatting (English only), nanosecond
precision (Python datetimes stop at microseconds).
"""

from importlib import import_module

from .errors import ExpressionError
from .render import render, render_value

# Imported on first use: analysis needs jinja2, which `render` imports only for a template
# that is not plain (`kflow.expr.plain`): a light task's runner never loads it.
_LAZY = {"referenced_outputs": ".analysis", "referenced_roots": ".analysis", "referenced_secrets": ".analysis", "referenced_kv": ".analysis"}

__all__ = ["render", "render_value", "ExpressionError", "referenced_outputs", "referenced_roots", "referenced_secrets", "referenced_kv"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'kflow.expr' has no attribute {name!r}")
