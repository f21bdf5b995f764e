"""render / render_value: compile (LRU-cached), run with limits, map errors to ExpressionError."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

from . import limits
from .errors import ExpressionError, _Abort, _truncate
from .plain import render_plain

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.exceptions import TemplateSyntaxError

# jinja2 and the Pebble environment are imported by the first template that is not plain.

_UNKNOWN = re.compile(r"No (filter|test) named '([^']+)'")
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*$")


def has_expression(text: str) -> bool:
    return "{{" in text or "{%" in text


def _syntax_message(e: TemplateSyntaxError) -> str:
    m = _UNKNOWN.search(e.message or "")
    if m:
        return f"unknown {m.group(1)} '{m.group(2)}'"
    msg = (e.message or "invalid template").replace("kflow_", "")
    return f"syntax error at line {e.lineno}: {msg}"


_CACHE_SIZE = 1024
_MAX_CACHED_SOURCE = 100_000  # bigger templates are compiled each time, not kept


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile_cached(source: str) -> Template:
    return _environment().from_string(source)


def compile_template(source: str) -> Template:
    from jinja2.exceptions import TemplateSyntaxError

    try:
        if len(source) > _MAX_CACHED_SOURCE:
            return _environment().from_string(source)
        return _compile_cached(source)
    except TemplateSyntaxError as e:
        raise ExpressionError(source, _syntax_message(e)) from None
    except RecursionError:
        raise ExpressionError(source, "expression is nested too deeply") from None


def _mask(message: str) -> str:
    """The secrets this render read, masked by the one masker (kflow.masking)."""
    st = limits.current()
    if st is None or not st.secrets:
        return message
    from kflow.masking import Masker

    masker = Masker()
    for value in st.secrets:
        masker.add(value)
    return masker.mask(message)


def _run(source: str, variables: dict[str, Any]) -> str:
    try:
        return _run_unmasked(source, variables)
    except ExpressionError as e:
        e.message = _mask(e.message)
        raise


def _run_unmasked(source: str, variables: dict[str, Any]) -> str:
    from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

    tpl = compile_template(source)
    try:
        ctx = tpl.new_context(variables)
        parts: list[str] = []
        size = 0
        for chunk in tpl.root_render_func(ctx):
            size += len(chunk)
            if size > limits.MAX_OUTPUT:
                raise _Abort(f"output exceeds {limits.MAX_OUTPUT} characters")
            parts.append(chunk)
            if len(parts) & 255 == 0:
                limits.check_deadline()
        return "".join(parts)
    except ExpressionError as e:
        if e.expression == _truncate(source):
            raise
        raise ExpressionError(source, e.message) from None
    except _Abort as e:
        raise ExpressionError(source, e.message) from None
    except UndefinedError as e:
        raise ExpressionError(source, str(e)) from None
    except SecurityError as e:
        raise ExpressionError(source, f"unsafe operation: {e}") from None
    except TemplateSyntaxError as e:
        raise ExpressionError(source, _syntax_message(e)) from None
    except RecursionError:
        raise ExpressionError(source, "recursion too deep") from None
    except MemoryError:
        raise ExpressionError(source, "out of memory") from None
    except ZeroDivisionError:
        raise ExpressionError(source, "division by zero") from None
    except Exception as e:  # TypeError, ValueError, OverflowError from operators/filters
        text = str(e) or type(e).__name__
        raise ExpressionError(source, f"{type(e).__name__}: {text}") from None


def render(
    template: str,
    context: Mapping[str, Any],
    *,
    secret: Callable[[str], str] | None = None,
    read: Callable[[str], str] | None = None,
    size: Callable[[str], int | None] | None = None,
) -> str:
    """Render one template string. Strings without ``{{``/``{%`` come back unchanged."""
    if not isinstance(template, str):
        raise TypeError(f"template must be a str, not {type(template).__name__}")
    if not has_expression(template):
        return template
    plain = render_plain(template, context)
    if plain is not None:
        return plain
    variables = dict(context)
    token = limits.push(limits.RenderState(context=variables, secret=secret, read=read, size=size))
    try:
        return _run(template, variables)
    finally:
        limits.pop(token)


def _render_nested(source: str, variables: dict[str, Any]) -> str:
    """Used by the ``render()`` template function: same budget, bounded depth."""
    if not has_expression(source):
        return source
    st = limits.current()
    if st is None:  # pragma: no cover - only called while rendering
        st = limits.RenderState(context=variables)
    if st.depth >= limits.MAX_RENDER_DEPTH:
        raise _Abort(f"render() nesting exceeds {limits.MAX_RENDER_DEPTH} levels")
    st.depth += 1
    try:
        return _run(source, variables)
    finally:
        st.depth -= 1


def _environment():
    """The Pebble environment, imported on first need (a plain template never needs jinja2),
    with render()/renderOnce() registered: they need the renderer itself, so they are defined
    here rather than in functions.py (which the environment imports): no import cycle."""
    from .environment import ENV

    if "render" not in ENV.globals:
        from jinja2 import pass_context

        from .filters._util import fail, need

        @pass_context
        def render_fn(context, value: Any, recursive: Any = True) -> Any:
            """Kestra's ``render()``: a string rendered with the current context, until stable by default."""
            need(value)
            if not isinstance(value, str):
                return value
            variables = dict(context.get_all())
            out = value
            for _ in range(limits.MAX_RENDER_DEPTH):
                new = _render_nested(out, variables)
                if not recursive or new == out:
                    return new
                out = new
            fail(f"render() did not settle after {limits.MAX_RENDER_DEPTH} passes")

        @pass_context
        def render_once(context, value: Any) -> Any:
            return render_fn(context, value, recursive=False)

        from .functions import RENDERER_FUNCTIONS

        ENV.globals.update(dict(zip(RENDERER_FUNCTIONS, (render_fn, render_once))))
    return ENV


def child_path(path: str, key: Any) -> str:
    if isinstance(key, str) and _KEY.match(key):
        return f"{path}.{key}" if path else key
    if isinstance(key, str):
        return f"{path}['{key}']"
    return f"{path}[{key!r}]"


def render_value(
    value: Any,
    context: Mapping[str, Any],
    *,
    secret: Callable[[str], str] | None = None,
    read: Callable[[str], str] | None = None,
    size: Callable[[str], int | None] | None = None,
) -> Any:
    """Render every string in ``value`` (recursing into dicts and lists, keys included).

    Other scalars come back as they are. On failure the ExpressionError's ``property`` is the
    path of the failing string (``headers.Authorization``, ``commands[2]``).
    """
    variables: dict[str, Any] | None = None

    def walk(v: Any, path: str) -> Any:
        nonlocal variables
        if isinstance(v, str):
            if not has_expression(v):
                return v
            plain = render_plain(v, context)
            if plain is not None:
                return plain
            if variables is None:
                variables = dict(context)
            token = limits.push(limits.RenderState(context=variables, secret=secret, read=read, size=size))
            try:
                return _run(v, variables)
            except ExpressionError as e:
                if e.property is None and path:
                    e.property = path
                raise
            finally:
                limits.pop(token)
        if isinstance(v, Mapping):
            out = {}
            for k, x in v.items():
                p = child_path(path, k)
                out[walk(k, p) if isinstance(k, str) else k] = walk(x, p)
            return out
        if isinstance(v, (list, tuple)):
            return [walk(x, f"{path}[{i}]") for i, x in enumerate(v)]
        return v

    return walk(value, "")
