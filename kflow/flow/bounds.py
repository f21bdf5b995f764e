"""Bounds on what a flow document or an input value may be, checked before anything uses it.

A flow is untrusted input: a few hundred bytes of YAML aliases can expand to billions of nodes
(PyYAML builds the shared objects once; whatever walks them later — pydantic, JSON, the engine —
pays for every expansion), an alias can contain itself, nesting can exhaust the stack, and an
integer of more than 4,300 digits cannot even be printed. Each bound exceeded is a
:class:`BoundError` naming the path and the bound, never a traceback.

* document: at most :data:`MAX_DOCUMENT_BYTES` of UTF-8 (a UTF-16 or non-UTF-8 file is refused);
* nesting: at most :data:`MAX_DEPTH` levels, counted after alias expansion;
* aliases: the document expanded may hold at most :data:`MAX_EXPANDED_NODES` nodes and
  :data:`MAX_EXPANDED_CHARS` characters of scalars; an alias inside its own anchor is refused;
* mappings: a key given twice is refused (YAML says keys are unique; PyYAML keeps the last);
* scalars: integers of at most :data:`MAX_INT_DIGITS` digits; dates and times that exist;
* strings (input values): valid Unicode, encodable as UTF-8 (no lone surrogates).
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Mapping
from typing import Any

import yaml

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 100
MAX_EXPANDED_NODES = 1_000_000
MAX_EXPANDED_CHARS = 4 * MAX_DOCUMENT_BYTES
MAX_INT_DIGITS = 4300  # Python's own limit for int <-> str (sys.get_int_max_str_digits)

_INT_TAG = "tag:yaml.org,2002:int"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class BoundError(ValueError):
    """A document or value over one of the bounds; ``path`` says where (``""``: the whole)."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


# -- text ------------------------------------------------------------------------------------------
def decode_document(data: bytes, what: str = "the file") -> str:
    """UTF-8 text of a document, within the size bound; UTF-16/32 and invalid bytes refused."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise BoundError("", f"{what} is {len(data)} bytes, over the {MAX_DOCUMENT_BYTES}-byte bound for a flow document")
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if data.startswith(bom):
            raise BoundError("", f"{what} is {name} text; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise BoundError("", f"{what} is not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}); save it as UTF-8") from None


# -- YAML ------------------------------------------------------------------------------------------
class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses nesting past MAX_DEPTH while composing (before Python's stack does)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise BoundError("", f"nested deeper than {MAX_DEPTH} levels (line {mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Checker:
    """One walk over a composed node graph: each node once, aliases counted as expanded."""

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.sizes: dict[int, tuple[int, int, int]] = {}  # id(node) -> (nodes, chars, height)
        self.open: set[int] = set()

    def size(self, node: yaml.Node, path: str) -> tuple[int, int, int]:
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in self.open:
            raise BoundError(path, "an alias refers to a node that contains it (a self-referencing alias)")
        self.open.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            self.scalar(node, path)
            nodes, chars, height = 1, len(node.value), 1
        else:
            nodes, chars, height = 1, 0, 0
            for key, child, child_path in self.children(node, path):
                for part in (key, child):
                    if part is None:
                        continue
                    n, c, h = self.size(part, child_path)
                    nodes, chars, height = nodes + n, chars + c, max(height, h)
            height += 1
        nodes, chars = min(nodes, MAX_EXPANDED_NODES + 1), min(chars, MAX_EXPANDED_CHARS + 1)
        if height > MAX_DEPTH:
            raise BoundError(path, f"nested deeper than {MAX_DEPTH} levels once its aliases are expanded")
        if nodes > MAX_EXPANDED_NODES:
            raise BoundError(path, f"its aliases expand to more than {MAX_EXPANDED_NODES} nodes")
        if chars > MAX_EXPANDED_CHARS:
            raise BoundError(path, f"its aliases expand to more than {MAX_EXPANDED_CHARS} characters")
        self.open.discard(id(node))
        self.sizes[id(node)] = (nodes, chars, height)
        return nodes, chars, height

    def children(self, node: yaml.Node, path: str):
        if isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                yield None, child, _join(path, i)
            return
        seen: dict[str, int] = {}
        for key, child in node.value:
            label = key.value if isinstance(key, yaml.ScalarNode) else "<complex key>"
            if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                if label in seen:
                    raise BoundError(_join(path, label), f"duplicate key {label!r} (line {key.start_mark.line + 1}; first on line {seen[label]})")
                seen[label] = key.start_mark.line + 1
            yield key, child, _join(path, label)

    def scalar(self, node: yaml.ScalarNode, path: str) -> None:
        if node.tag == _INT_TAG:
            digits = sum(ch.isdigit() for ch in node.value)
            if digits > MAX_INT_DIGITS:
                raise BoundError(path, f"an integer of {digits} digits, over the {MAX_INT_DIGITS}-digit bound")
        elif node.tag == _TIMESTAMP_TAG:
            try:
                self.loader.construct_yaml_timestamp(node)
            except (ValueError, OverflowError):
                raise BoundError(path, f"{node.value!r} is not a valid date or time (quote it to keep it as text)") from None


def _checked(loader: _Loader, node: yaml.Node | None) -> Any:
    if node is None:
        return None
    _Checker(loader).size(node, "")
    return loader.construct_document(node)


def load_yaml(text: str) -> Any:
    """One YAML document as Python data, within the bounds; BoundError or yaml.YAMLError."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise BoundError("", f"the document is {len(text)} characters, over the {MAX_DOCUMENT_BYTES} bound")
    loader = _Loader(text)
    try:
        return _checked(loader, loader.get_single_node())
    finally:
        loader.dispose()


def load_yaml_all(text: str) -> list[Any]:
    """Every document of a YAML stream, each checked as :func:`load_yaml` does."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise BoundError("", f"the file is {len(text)} characters, over the {MAX_DOCUMENT_BYTES} bound")
    loader = _Loader(text)
    try:
        documents = []
        while loader.check_node():
            documents.append(_checked(loader, loader.get_node()))
        return documents
    finally:
        loader.dispose()


def yaml_problem(err: yaml.YAMLError) -> str:
    """One line for a YAML syntax error: where and what."""
    mark = getattr(err, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"invalid YAML at {where}{getattr(err, 'problem', None) or err}"


# -- data (JSON from the API server, input values) -------------------------------------------------
def check_data(value: Any, path: str = "") -> None:
    """Depth, integer size and text of plain data (dicts, lists, scalars), iteratively."""
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BoundError(where, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            check_text(item, where)
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        elif isinstance(item, int):
            if item.bit_length() > MAX_INT_DIGITS * 3.33:  # ~4300 decimal digits
                raise BoundError(where, f"an integer of more than {MAX_INT_DIGITS} digits")
        elif isinstance(item, Mapping):
            for key, child in item.items():
                if isinstance(key, str):
                    check_text(key, where)
                stack.append((child, _join(where, key if isinstance(key, str) else str(key)), depth + 1))
        elif isinstance(item, (list, tuple)):
            for i, child in enumerate(item):
                stack.append((child, _join(where, i), depth + 1))


def check_text(text: str, path: str = "") -> None:
    """A string that can be written as UTF-8 (a lone surrogate, or a byte the terminal could
    not decode, cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise BoundError(path, f"not valid Unicode text (character U+{ord(text[err.start]):04X} at position {err.start} cannot be written as UTF-8)") from None


def bound_message(err: BaseException) -> str | None:
    """What a ValueError/RecursionError raised by Python's own limits means, or None."""
    if isinstance(err, RecursionError):
        return f"nested too deeply (more than {MAX_DEPTH} levels)"
    if isinstance(err, ValueError) and "integer string conversion" in str(err):
        return f"an integer of more than {sys.get_int_max_str_digits() or MAX_INT_DIGITS} digits"
    return None
