"""Source rewrite from Pebble syntax to Jinja syntax, aware of string literals and brackets.

Runs as a jinja2 extension ``preprocess`` hook, before jinja's lexer. Only the inside of
``{{ ... }}`` and ``{% ... %}`` is touched; text, comments and ``{% raw %}`` bodies are not.

Rewrites:

* ``a ?? b``  -> ``((a) if ((a) is kflow_present) else (b))``   (defined and not null)
* ``a ??? b`` -> ``((a) if ((a) is kflow_defined) else (b))``   (only when undefined)
  Operands of ``??`` are postfix expressions (``outputs['t'].value``, ``now()``, ``x | f``
  on the left), as ``??`` binds tighter than every other binary operator in Kestra's Pebble.
  Chains ``a ?? b ?? c`` are nested right-associatively (same result, no blow-up).
* ``c ? a : b`` (Pebble ternary) -> ``((a) if (c) else (b))`` in ``{{ }}``, in
  ``{% if/elif/set/for %}`` expressions, and inside brackets.
* ``a contains b`` -> ``a is kflow_contains b``; ``a isIn b`` -> ``a in b``; ``equals`` -> ``==``
* ``a..b`` -> ``range(a, b)``
* ``{% elseif %}`` -> ``{% elif %}``; ``{% verbatim %}...{% endverbatim %}`` -> ``raw``.
"""

from __future__ import annotations

import re

from jinja2.ext import Extension

_TRIGGER = re.compile(r"\?|\.\.|contains|isIn|equals|elseif|verbatim")
_REGION_TRIGGER = re.compile(r"\?|\.\.|\bcontains\b|\bisIn\b|\bequals\b|\belseif\b|\bverbatim\b")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<num>\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\?\?\?|\?\?|\.\.|\*\*|//|==|!=|<=|>=|[-+*/%~<>=!|.,:;?()\[\]{}])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

KEYWORDS = frozenset(
    "and or not in is if else elif elseif for endfor endif set endset macro endmacro call "
    "filter endfilter with endwith import include from as recursive block endblock contains "
    "isIn equals".split()
)
_OPEN = {"(": ")", "[": "]", "{": "}"}


class Tok:
    __slots__ = ("kind", "text", "ws")

    def __init__(self, kind: str, text: str, ws: str = ""):
        self.kind, self.text, self.ws = kind, text, ws

    def render(self) -> str:
        return self.ws + self.text

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Tok({self.kind},{self.text!r})"


class Group:
    __slots__ = ("open", "children", "close", "ws")

    def __init__(self, open_: Tok, children: list, close: Tok | None):
        self.open, self.children, self.close, self.ws = open_, children, close, open_.ws

    def render(self) -> str:
        return (
            self.open.render()
            + "".join(c.render() for c in self.children)
            + (self.close.render() if self.close else "")
        )


class Raw:
    __slots__ = ("text", "ws")

    def __init__(self, text: str, ws: str = ""):
        self.text, self.ws = text, ws

    def render(self) -> str:
        return self.ws + self.text


def _is(item, text: str) -> bool:
    return isinstance(item, Tok) and item.kind == "op" and item.text == text


def _is_name(item, text: str | None = None) -> bool:
    return isinstance(item, Tok) and item.kind == "name" and (text is None or item.text == text)


def _operand_end(item) -> bool:
    if isinstance(item, Raw):
        return True
    if isinstance(item, Group):
        return True
    if isinstance(item, Tok):
        if item.kind in ("num", "str"):
            return True
        if item.kind == "name":
            return item.text not in KEYWORDS
    return False


def _atom(item) -> bool:
    return _operand_end(item)


def _text(items) -> str:
    return "".join(i.render() for i in items).strip()


# --------------------------------------------------------------------------- tokenizing


def _scan_region(source: str, pos: int, kind: str):
    """Tokenize from pos to the region's closer. Returns (tokens, end_pos, closer) or None."""
    toks: list[Tok] = []
    depth = 0
    ws = ""
    n = len(source)
    while pos < n:
        if depth == 0:
            if kind == "var":
                for closer in ("}}", "-}}"):
                    if source.startswith(closer, pos):
                        return toks, pos + len(closer), ws + closer
            else:
                for closer in ("%}", "-%}", "+%}"):
                    if source.startswith(closer, pos):
                        return toks, pos + len(closer), ws + closer
        m = _TOKEN.match(source, pos)
        if m is None:  # pragma: no cover - the regex matches any char
            return None
        k = m.lastgroup
        text = m.group()
        pos = m.end()
        if k == "ws":
            ws += text
            continue
        if k == "op":
            if text in _OPEN:
                depth += 1
            elif text in (")", "]", "}"):
                depth = max(0, depth - 1)
        toks.append(Tok(k, text, ws))
        ws = ""
    return None


def _tree(toks: list[Tok]) -> list:
    root: list = []
    stack: list[tuple[Tok, list]] = []
    cur = root
    for t in toks:
        if t.kind == "op" and t.text in _OPEN:
            stack.append((t, cur))
            cur = []
        elif t.kind == "op" and t.text in (")", "]", "}") and stack:
            open_, parent = stack.pop()
            parent.append(Group(open_, cur, t))
            cur = parent
        else:
            cur.append(t)
    while stack:  # unbalanced: keep as is, jinja reports it
        open_, parent = stack.pop()
        parent.append(Group(open_, cur, None))
        cur = parent
    return cur


# --------------------------------------------------------------------------- operands


def _left_start(items: list, k: int) -> int | None:
    i = k - 1
    if i < 0 or not _atom(items[i]):
        return None
    while True:
        it = items[i]
        if (
            isinstance(it, Group)
            and it.open.text in "(["
            and i - 1 >= 0
            and _operand_end(items[i - 1])
        ):
            i -= 1
            continue
        if i - 2 >= 0 and _is(items[i - 1], ".") and _atom(items[i - 2]):
            i -= 2
            continue
        if isinstance(it, Tok) and it.kind == "name" and i - 2 >= 0 and _is(items[i - 1], "|") and _atom(items[i - 2]):
            i -= 2
            continue
        return i


def _right_end(items: list, k: int) -> int | None:
    i = k + 1
    n = len(items)
    if i >= n:
        return None
    if (_is(items[i], "-") or _is(items[i], "+") or _is_name(items[i], "not")) and i + 1 < n:
        i += 1
    if not _atom(items[i]):
        return None
    while True:
        nxt = i + 1
        if nxt < n and isinstance(items[nxt], Group) and items[nxt].open.text in "([":
            i = nxt
            continue
        if nxt + 1 < n and _is(items[nxt], ".") and isinstance(items[nxt + 1], Tok) and items[nxt + 1].kind in ("name", "num"):
            i = nxt + 1
            continue
        return i


def _nc(a: str, b: str) -> str:
    return f"(({a}) if (({a}) is kflow_present) else ({b}))"


def _nc3(a: str, b: str) -> str:
    return f"(({a}) if (({a}) is kflow_defined) else ({b}))"


_MAX_MIXED_RUNS = 8


def _rewrite_coalesce(items: list) -> None:
    k = 0
    while k < len(items):
        it = items[k]
        if not (_is(it, "??") or _is(it, "???")):
            k += 1
            continue
        ls = _left_start(items, k)
        if ls is None:
            k += 1
            continue
        operands = [_text(items[ls:k])]
        ops: list[str] = []
        pos = k
        ok = True
        while pos < len(items) and (_is(items[pos], "??") or _is(items[pos], "???")):
            re_ = _right_end(items, pos)
            if re_ is None:
                ok = False
                break
            ops.append(items[pos].text)
            operands.append(_text(items[pos + 1 : re_ + 1]))
            pos = re_ + 1
        if not ok:
            k += 1
            continue
        acc = operands[0]
        i = 0
        runs = 0
        while i < len(ops):
            runs += 1
            if runs > _MAX_MIXED_RUNS:
                acc = "kflow_too_many_coalesce_operators("  # jinja reports a syntax error
                break
            if ops[i] == "??":
                j = i
                while j < len(ops) and ops[j] == "??":
                    j += 1
                right = operands[j]
                for m in range(j - 1, i, -1):
                    right = _nc(operands[m], right)
                acc = _nc(acc, right)
                i = j
            else:
                acc = _nc3(acc, operands[i + 1])
                i += 1
        items[ls:pos] = [Raw(acc, items[ls].ws)]
        k = ls + 1


def _rewrite_range(items: list) -> None:
    k = 0
    while k < len(items):
        if not _is(items[k], ".."):
            k += 1
            continue
        ls = _left_start(items, k)
        re_ = _right_end(items, k)
        if ls is None or re_ is None:
            k += 1
            continue
        text = f"range({_text(items[ls:k])}, {_text(items[k + 1 : re_ + 1])})"
        items[ls : re_ + 1] = [Raw(text, items[ls].ws)]
        k = ls + 1


def _rewrite_words(items: list) -> None:
    for idx, it in enumerate(items):
        if not (isinstance(it, Tok) and it.kind == "name"):
            continue
        if it.text not in ("contains", "isIn", "equals"):
            continue
        if idx == 0 or not _operand_end(items[idx - 1]):
            continue
        if idx >= 2 and _is(items[idx - 1], "."):
            continue
        repl = {"contains": "is kflow_contains", "isIn": "in", "equals": "=="}[it.text]
        items[idx] = Raw(repl, it.ws or " ")


def _ternary(items: list, start: int, end: int) -> None:
    """Rewrite ``c ? a : b`` found in items[start:end] (one expression segment)."""
    q = None
    for m in range(start, end):
        if _is(items[m], "?"):
            q = m
            break
    if q is None:
        return
    depth = 0
    c = None
    for m in range(q + 1, end):
        if _is(items[m], "?"):
            depth += 1
        elif _is(items[m], ":"):
            if depth == 0:
                c = m
                break
            depth -= 1
    if c is None or q == start:
        return
    then = items[q + 1 : c]
    else_ = items[c + 1 : end]
    _ternary(then, 0, len(then))
    _ternary(else_, 0, len(else_))
    ws = items[start].ws
    text = f"(({_text(then)}) if ({_text(items[start:q])}) else ({_text(else_)}))"
    items[start:end] = [Raw(text, ws or " ")]


def _segments(items: list, sep: str = ","):
    start = 0
    for m, it in enumerate(items):
        if _is(it, sep):
            yield start, m
            start = m + 1
    yield start, len(items)


def _ternary_in_group(g: Group) -> None:
    ch = g.children
    if not any(_is(i, "?") for i in ch):
        return
    # process segments from the right so indexes stay valid
    for s, e in reversed(list(_segments(ch))):
        if g.open.text == "(" and e - s >= 2 and _is_name(ch[s]) and _is(ch[s + 1], "="):
            s += 2
        elif g.open.text == "{":
            for m in range(s, e):
                if _is(ch[m], ":"):
                    s = m + 1
                    break
        _ternary(ch, s, e)


def _rewrite_level(items: list) -> None:
    for it in items:
        if isinstance(it, Group):
            _rewrite_level(it.children)
            _ternary_in_group(it)
    _rewrite_words(items)
    _rewrite_range(items)
    _rewrite_coalesce(items)


def _rewrite_region(toks: list[Tok], kind: str) -> str:
    items = _tree(toks)
    if kind == "block" and items and _is_name(items[0], "elseif"):
        items[0] = Tok("name", "elif", items[0].ws)
    _rewrite_level(items)
    if kind == "var":
        _ternary(items, 0, len(items))
    elif items and isinstance(items[0], Tok) and items[0].kind == "name":
        tag = items[0].text
        start = None
        if tag in ("if", "elif"):
            start = 1
        elif tag == "set":
            start = next((m + 1 for m, i in enumerate(items) if _is(i, "=")), None)
        elif tag == "for":
            start = next((m + 1 for m, i in enumerate(items) if _is_name(i, "in")), None)
        if start is not None:
            _ternary(items, start, len(items))
    return "".join(i.render() for i in items)


_RAW_END = {
    "raw": re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}"),
    "verbatim": re.compile(r"\{%[-+]?\s*endverbatim\s*[-+]?%\}"),
}


def pebble_to_jinja(source: str) -> str:
    if not _TRIGGER.search(source):
        return source
    out: list[str] = []
    i = 0
    n = len(source)
    while i < n:
        j = source.find("{", i)
        if j < 0 or j + 1 >= n:
            out.append(source[i:])
            break
        c = source[j + 1]
        if c == "#":
            end = source.find("#}", j + 2)
            if end < 0:
                out.append(source[i:])
                break
            out.append(source[i : end + 2])
            i = end + 2
            continue
        if c not in "{%":
            out.append(source[i : j + 1])
            i = j + 1
            continue
        out.append(source[i:j])
        kind = "var" if c == "{" else "block"
        start = j + 2
        prefix = source[j:start]
        if start < n and source[start] in "-+":
            prefix += source[start]
            start += 1
        scanned = _scan_region(source, start, kind)
        if scanned is None:
            out.append(source[j:])
            break
        toks, end, closer = scanned
        i = end
        first = toks[0].text if toks and toks[0].kind == "name" else None
        if kind == "block" and first in ("raw", "verbatim"):
            m = _RAW_END[first].search(source, i)
            body_end = m.start() if m else n
            out.append(prefix + " raw" + closer + source[i:body_end])
            if m:
                out.append(m.group().replace("endverbatim", "endraw"))
                i = m.end()
            else:
                i = n
            continue
        region_text = "".join(t.render() for t in toks)
        if not _REGION_TRIGGER.search(region_text):
            out.append(prefix + region_text + closer)
            continue
        out.append(prefix + _rewrite_region(toks, kind) + closer)
    return "".join(out)


class PebbleSyntax(Extension):
    """jinja2 extension applying :func:`pebble_to_jinja` before lexing."""

    def preprocess(self, source, name, filename=None):
        return pebble_to_jinja(source)
