"""The jinja2 environment configured like Kestra's Pebble engine.

* ``ImmutableSandboxedEnvironment``, no autoescape, strict undefined.
* Attribute/item access goes through :meth:`KestraEnvironment.kgetattr` /
  :meth:`KestraEnvironment.kgetitem` (emitted by a custom code generator) so that
  - maps are read by key only (``outputs.t.values`` is the key ``values``, not ``dict.values``),
  - a missing key yields an undefined value that remembers its full path
    (``'outputs.foo' is undefined``) and absorbs further ``.x`` / ``[y]`` access, so that
    ``??``, ``default`` and ``is defined`` can be used on deep paths, while printing, comparing,
    iterating or calling it fails,
  - ``loop.index`` is 0-based as in Pebble.
* ``~`` concatenation and ``{% for %}`` iterables are rewritten in the AST to guarded filters
  (Kestra string conversion, size cap, loop/time budget); maps iterate as ``entry.key`` /
  ``entry.value`` pairs (also unpackable: ``{% for k, v in map %}``).
* Output values are finalized the Kestra way (see :func:`kflow.expr.values.to_str`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from jinja2 import StrictUndefined, Undefined, nodes, pass_context
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from jinja2.visitor import NodeTransformer

from . import bounded, limits
from .errors import _Abort
from .filters import FILTERS
from .functions import GLOBALS
from .pebble_syntax import PebbleSyntax
from .predicates import TESTS
from .values import to_str

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")

# jinja builtin filters we keep (harmless, bounded); everything else is removed
_KEEP_JINJA_FILTERS = {
    "round", "int", "float", "list", "sum", "unique", "map", "select", "reject", "selectattr",
    "rejectattr", "dictsort", "items", "wordcount", "striptags", "batch", "truncate", "groupby",
    "attr",
}
_KEEP_JINJA_TESTS = {
    "number", "string", "sequence", "boolean", "true", "false", "integer", "float", "lower",
    "upper", "divisibleby", "sameas", "in", "eq", "ne", "lt", "le", "gt", "ge", "==", "!=",
    "<", "<=", ">", ">=", "equalto", "greaterthan", "lessthan", "callable", "filter", "test",
}


class Entry(NamedTuple):
    """A map entry as Pebble's for-loop yields it."""

    key: Any
    value: Any


def segment(key: Any) -> str:
    if isinstance(key, str) and _IDENT.match(key):
        return "." + key
    if isinstance(key, str):
        return "['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return f"[{to_str(key)}]"


def static_path(node: nodes.Node) -> str | None:
    """Dotted text of a Name/Getattr/constant-Getitem chain, else None."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        base = static_path(node.node)
        return None if base is None else base + segment(node.attr)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        base = static_path(node.node)
        return None if base is None else base + segment(node.arg.value)
    if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Slice):
        # dynamic subscript: show the expression, e.g. outputs.loop[taskrun.value]
        base = static_path(node.node)
        inner = static_path(node.arg)
        return None if base is None else f"{base}[{inner or '...'}]"
    return None


class KestraCodeGenerator(CodeGenerator):
    def visit_Getattr(self, node: nodes.Getattr, frame) -> None:  # type: ignore[override]
        self.write("environment.kgetattr(")
        self.visit(node.node, frame)
        self.write(f", {node.attr!r}, {static_path(node.node)!r})")

    def visit_Getitem(self, node: nodes.Getitem, frame) -> None:  # type: ignore[override]
        if isinstance(node.arg, nodes.Slice):
            return super().visit_Getitem(node, frame)
        self.write("environment.kgetitem(")
        self.visit(node.node, frame)
        self.write(", ")
        self.visit(node.arg, frame)
        self.write(f", {static_path(node.node)!r})")


@pass_context
def _concat(context, parts: list) -> str:
    out = "".join(to_str(p) for p in parts)
    limits.check_size(len(out), "concatenated string")
    return out


@pass_context
def _loop(context, iterable: Any):
    if isinstance(iterable, Undefined):
        iterable._fail_with_undefined_error()
    if iterable is None:
        return iter(())
    if isinstance(iterable, Mapping):
        iterable = [Entry(k, v) for k, v in iterable.items()]
    elif isinstance(iterable, str):
        raise _Abort("cannot iterate over a string (use split)")
    return limits.guarded_iter(iterable)


def _batch(jinja_batch):
    """jinja's ``batch``, refusing a line count that would pad a batch past the list bound."""

    def batch(value: Any, linecount: int, fill_with: Any = None):
        if isinstance(linecount, int):
            limits.check_items(linecount, "batch size")
        return jinja_batch(value, linecount, fill_with)

    return batch


def _finalize(value: Any) -> str:
    if isinstance(value, str):
        s = value
    elif isinstance(value, Undefined):
        value._fail_with_undefined_error()
    else:
        s = to_str(value)
    st = limits.current()
    if st is not None:
        st.emitted += len(s)
        if st.emitted > limits.MAX_EMITTED:
            raise _Abort(f"output exceeds {limits.MAX_OUTPUT} characters")
    return s


class _Rewriter(NodeTransformer):
    """``~`` -> kflow_concat filter; for-loop iterables -> kflow_loop filter."""

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(
            nodes.List(node.nodes, lineno=node.lineno), "kflow_concat", [], [], None, None,
            lineno=node.lineno,
        )

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "kflow_loop", [], [], None, None, lineno=node.lineno)
        return node


class KestraEnvironment(ImmutableSandboxedEnvironment):
    code_generator_class = KestraCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            finalize=_finalize,
            extensions=[PebbleSyntax],
            optimized=False,
            keep_trailing_newline=True,
            trim_blocks=True,  # Pebble's newLineTrimming: a newline right after {% ... %} is dropped
            cache_size=0,
        )
        self.filters = {k: v for k, v in self.filters.items() if k in _KEEP_JINJA_FILTERS}
        self.filters["batch"] = _batch(self.filters["batch"])
        self.filters.update(FILTERS)
        self.filters["kflow_concat"] = _concat
        self.filters["kflow_loop"] = _loop
        self.filters = {k: bounded.bounded_filter(v) for k, v in self.filters.items()}
        self.tests = {k: v for k, v in self.tests.items() if k in _KEEP_JINJA_TESTS}
        self.tests.update(TESTS)
        self.globals = dict(GLOBALS)

    # ------------------------------------------------------------------ AST rewrite

    def _parse(self, source, name, filename):  # type: ignore[override]
        tree = _Rewriter().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    # ------------------------------------------------------------------ access

    def _missing(self, obj: Any, key: Any, base: str | None) -> Undefined:
        if base is not None:
            path = base + segment(key)
            hint = f"'{path}' is undefined"
            if obj is None:
                hint += f" ('{base}' is null)"
        else:
            hint = f"'{to_str(key)}' is undefined (no such key or attribute)"
        return self.undefined(hint=hint, obj=obj, name=str(key))

    def getattr(self, obj: Any, attribute: str) -> Any:  # type: ignore[override]
        # used by jinja's own filters (map(attribute=...), selectattr, groupby): keys first
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)

    def kgetattr(self, obj: Any, attr: str, base: str | None) -> Any:
        if isinstance(obj, Undefined):
            return obj
        if isinstance(obj, Mapping):
            try:
                return obj[attr]
            except (KeyError, TypeError):
                return self._missing(obj, attr, base)
        if obj is None:
            return self._missing(obj, attr, base)
        if isinstance(obj, LoopContext) and attr in ("index", "revindex"):
            return getattr(obj, attr + "0")
        if isinstance(obj, (list, tuple)) and attr.isdigit():
            return self.kgetitem(obj, int(attr), base)
        value = self.getattr(obj, attr)
        if isinstance(value, Undefined) and value._undefined_exception is not SecurityError:
            return self._missing(obj, attr, base)
        return value

    def kgetitem(self, obj: Any, key: Any, base: str | None) -> Any:
        if isinstance(obj, Undefined):
            return obj
        if isinstance(key, Undefined):
            return key
        if isinstance(obj, Mapping):
            try:
                return obj[key]
            except (KeyError, TypeError):
                if not isinstance(key, str):
                    try:
                        return obj[to_str(key)]
                    except (KeyError, TypeError):
                        pass
                return self._missing(obj, key, base)
        if obj is None:
            return self._missing(obj, key, base)
        if isinstance(obj, (list, tuple, str)) and isinstance(key, int) and not isinstance(key, bool):
            try:
                return obj[key]
            except IndexError:
                return self._missing(obj, key, base)
        value = self.getitem(obj, key)
        if isinstance(value, Undefined) and value._undefined_exception is not SecurityError:
            return self._missing(obj, key, base)
        return value

    # ------------------------------------------------------------------ calls/operators

    def call(__self, __context, __obj, *args, **kwargs):  # type: ignore[override]
        limits.check_deadline()
        if isinstance(__obj, Undefined):
            if __obj._undefined_hint is None and __obj._undefined_obj is missing:
                raise _Abort(f"unknown function '{__obj._undefined_name}'")
            __obj._fail_with_undefined_error()
        if bounded.is_string_method(__obj):
            args = bounded.check_method(__obj, args, kwargs)
            return bounded.charge(super().call(__context, __obj, *args, **kwargs))
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any):  # type: ignore[override]
        # str.format / format_map: widths and precisions bounded (jinja's own formatter has none)
        if super().wrap_str_format(value) is None:
            return None
        return bounded.bounded_format(self, value)

    def call_binop(self, context, operator, left, right):  # type: ignore[override]
        return bounded.charge(self._binop(context, operator, left, right))

    def _binop(self, context, operator, left, right):
        limits.check_deadline()
        for v in (left, right):
            if isinstance(v, Undefined):
                v._fail_with_undefined_error()
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str) and isinstance(n, int):
                    limits.check_size(len(seq) * max(n, 0), "repeated value")
                elif isinstance(seq, (list, tuple)) and isinstance(n, int):
                    limits.check_items(len(seq) * max(n, 0), "repeated list")
            if isinstance(left, int) and isinstance(right, int):
                if abs(left).bit_length() + abs(right).bit_length() > limits.MAX_INT_BITS:
                    raise _Abort(f"integer result exceeds {limits.MAX_INT_BITS} bits")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                if right * math.log2(abs(left)) > limits.MAX_INT_BITS:
                    raise _Abort(f"integer result exceeds {limits.MAX_INT_BITS} bits")
        elif operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                limits.check_size(len(left) + len(right), "concatenated value")
            elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
                limits.check_items(len(left) + len(right), "concatenated list")
        elif operator == "%":
            if isinstance(left, str):
                raise _Abort("operator % is the modulo of numbers, not string formatting")
        return super().call_binop(context, operator, left, right)


ENV = KestraEnvironment()
