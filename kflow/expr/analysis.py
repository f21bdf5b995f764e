"""Static analysis of templates: which context roots / task outputs they read."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Iterator

from jinja2 import meta, nodes
from jinja2.exceptions import TemplateSyntaxError

from .environment import ENV
from .render import _environment, has_expression

_RENDER_FUNCS = {"render", "renderOnce"}
_DYNAMIC_FUNCS = {"printContext"}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if has_expression(value):
            yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            yield from _strings(v)


@functools.lru_cache(maxsize=1024)
def _parse(source: str) -> nodes.Template | None:
    try:
        return ENV.parse(source)
    except (TemplateSyntaxError, RecursionError):
        return None


def _nested_templates(tree: nodes.Node) -> Iterator[str | None]:
    """Templates passed as constants to render(); None for a dynamic argument."""
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in _RENDER_FUNCS:
            if call.args and isinstance(call.args[0], nodes.Const) and isinstance(call.args[0].value, str):
                yield call.args[0].value
            else:
                yield None


def _roots(source: str, depth: int = 0) -> set[str]:
    tree = _parse(source)
    if tree is None:
        return set()
    known = set(_environment().globals)  # render()/renderOnce() are registered on first use: count them
    try:
        names = meta.find_undeclared_variables(tree) - known
    except TemplateSyntaxError:  # e.g. an unknown filter: jinja's code generator refuses it
        names = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"} - known
    if depth < 5:
        for nested in _nested_templates(tree):
            if nested is not None and has_expression(nested):
                names |= _roots(nested, depth + 1)
    return names


def referenced_roots(value: Any) -> set[str]:
    """Top-level variable names (flow, inputs, outputs, vars, ...) read by templates in value."""
    out: set[str] = set()
    for s in _strings(value):
        out |= _roots(s)
    return out


class _Unknown(Exception):
    pass


def _outputs(source: str, depth: int = 0) -> set[str]:
    tree = _parse(source)
    if tree is None:
        raise _Unknown
    found: set[str] = set()

    def walk(node: nodes.Node, parent: nodes.Node | None) -> None:
        if isinstance(node, nodes.Name) and node.name == "outputs":
            if node.ctx != "load":
                raise _Unknown  # shadowed by set/for/macro parameter
            if isinstance(parent, nodes.Getattr) and parent.node is node:
                found.add(parent.attr)
            elif (
                isinstance(parent, nodes.Getitem)
                and parent.node is node
                and isinstance(parent.arg, nodes.Const)
                and isinstance(parent.arg.value, str)
            ):
                found.add(parent.arg.value)
            else:
                raise _Unknown  # outputs[expr], outputs used whole
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
            if node.node.name in _DYNAMIC_FUNCS:
                raise _Unknown
        for child in node.iter_child_nodes():
            walk(child, node)

    walk(tree, None)
    for nested in _nested_templates(tree):
        if nested is None or depth >= 5:
            raise _Unknown
        if has_expression(nested):
            found |= _outputs(nested, depth + 1)
    return found


def referenced_outputs(value: Any) -> set[str] | None:
    """Task ids read via ``outputs.X`` / ``outputs['X']``; None when it cannot tell."""
    out: set[str] = set()
    try:
        for s in _strings(value):
            out |= _outputs(s)
    except _Unknown:
        return None
    return out


def _secret_names(source: str, depth: int = 0) -> set[str]:
    tree = _parse(source)
    if tree is None:
        return set()
    found: set[str] = set()
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "secret" and call.args:
            arg = call.args[0]
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                found.add(arg.value)
    if depth < 5:
        for nested in _nested_templates(tree):
            if nested is not None and has_expression(nested):
                found |= _secret_names(nested, depth + 1)
    return found


def referenced_secrets(value: Any) -> set[str]:
    """Secret names read as constants, `secret('NAME')`, by templates in value. A name that is
    computed (`secret(inputs.x)`) is not known ahead, so it is not in the set."""
    out: set[str] = set()
    for s in _strings(value):
        out |= _secret_names(s)
    return out


def _const(node: nodes.Node | None) -> str | None:
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


def _kv_keys(source: str, depth: int = 0) -> set[tuple[str | None, str]]:
    tree = _parse(source)
    if tree is None:
        return set()
    found: set[tuple[str | None, str]] = set()
    for call in tree.find_all(nodes.Call):
        if not (isinstance(call.node, nodes.Name) and call.node.name == "kv"):
            continue
        named = {kw.key: kw.value for kw in call.kwargs}
        key = _const(call.args[0] if call.args else named.get("key"))
        ns_node = call.args[1] if len(call.args) > 1 else named.get("namespace")
        namespace = _const(ns_node)
        if key is not None and (ns_node is None or namespace is not None):
            found.add((namespace, key))
    if depth < 5:
        for nested in _nested_templates(tree):
            if nested is not None and has_expression(nested):
                found |= _kv_keys(nested, depth + 1)
    return found


def referenced_kv(value: Any) -> set[tuple[str | None, str]]:
    """(namespace or None for the flow's, key) of each `kv('key'[, 'namespace'])` call with
    constant arguments in value's templates: the values a task is given before it runs."""
    out: set[tuple[str | None, str]] = set()
    for s in _strings(value):
        if "kv" in s:
            out |= _kv_keys(s)
    return out
