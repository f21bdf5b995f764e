"""String filters (Pebble + Kestra names)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ..limits import MAX_INDENT, check_size
from ..regexes import RegexError, compile_pattern
from ..regexes import sub as regex_sub
from ._util import fail, need, text, to_int


def upper(value: Any) -> Any:
    return None if need(value) is None else text(value).upper()


def lower(value: Any) -> Any:
    return None if need(value) is None else text(value).lower()


def capitalize(value: Any) -> Any:
    """Pebble: first letter upper-cased, the rest unchanged."""
    if need(value) is None:
        return None
    s = text(value)
    for i, ch in enumerate(s):
        if not ch.isspace():
            return s[:i] + ch.upper() + s[i + 1 :]
    return s


def title(value: Any) -> Any:
    """Pebble: first letter of each whitespace-separated word upper-cased."""
    if need(value) is None:
        return None
    out = []
    cap = True
    for ch in text(value):
        if ch.isspace():
            cap = True
        elif cap:
            ch = ch.upper()
            cap = False
        out.append(ch)
    return "".join(out)


def trim(value: Any) -> Any:
    return None if need(value) is None else text(value).strip()


def _java_replacement(repl: str) -> str:
    # Java's $1 / ${name} group references -> Python's \g<1> / \g<name>
    out = []
    i = 0
    while i < len(repl):
        c = repl[i]
        if c == "\\" and i + 1 < len(repl):
            out.append(repl[i + 1].replace("\\", "\\\\"))
            i += 2
            continue
        if c == "$" and i + 1 < len(repl):
            m = re.match(r"\{(\w+)\}|(\d+)", repl[i + 1 :])
            if m:
                out.append(f"\\g<{m.group(1) or m.group(2)}>")
                i += 1 + m.end()
                continue
        out.append(c.replace("\\", "\\\\"))
        i += 1
    return "".join(out)


def replace(value: Any, old: Any = None, new: Any = None, count: Any = None, regexp: bool = False, replace_pairs: Any = None) -> Any:
    """Pebble ``replace({'a': 'b'})`` (literal, applied in order), jinja ``replace(old, new[, count])``,
    Kestra ``replace({...}, regexp=true)`` (Java-style ``$1`` references)."""
    if need(value) is None:
        return None
    s = text(value)
    if replace_pairs is not None:
        old = replace_pairs
    need(old)
    if isinstance(old, dict):
        pairs = [(text(k), text(v)) for k, v in old.items()]
    else:
        if new is None:
            fail("replace needs a map {'old': 'new'} or two arguments (old, new)")
        pairs = [(text(old), text(new))]
    n = -1 if count is None else to_int(count, "count")
    for a, b in pairs:
        if regexp:
            try:
                compile_pattern(a)
                s = regex_sub(a, _java_replacement(b), s, count=max(n, 0))
            except RegexError as e:
                fail(str(e))
        else:
            if a == "":
                continue
            hits = s.count(a) if n < 0 else min(s.count(a), n)
            check_size(len(s) + hits * (len(b) - len(a)), "replace result")
            s = s.replace(a, b, n)
    return s


def slugify(value: Any) -> Any:
    if need(value) is None:
        return None
    s = unicodedata.normalize("NFKD", text(value))
    s = s.encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"[^a-z0-9]+", "-", s)
    return s.strip("-")


def abbreviate(value: Any, length: Any) -> Any:
    if need(value) is None:
        return None
    s = text(value)
    n = to_int(length, "length")
    if n < 0:
        fail("abbreviate length must be >= 0")
    if len(s) <= n:
        return s
    if n <= 3:
        return s[:n]
    return s[: n - 3] + "..."


def substring_before(value: Any, sep: Any) -> Any:
    s, sep = text(value), text(sep)
    i = s.find(sep)
    return s if i < 0 else s[:i]


def substring_before_last(value: Any, sep: Any) -> Any:
    s, sep = text(value), text(sep)
    i = s.rfind(sep)
    return s if i < 0 or sep == "" else s[:i]


def substring_after(value: Any, sep: Any) -> Any:
    s, sep = text(value), text(sep)
    i = s.find(sep)
    return "" if i < 0 else s[i + len(sep) :]


def substring_after_last(value: Any, sep: Any) -> Any:
    s, sep = text(value), text(sep)
    i = s.rfind(sep)
    return "" if i < 0 or sep == "" else s[i + len(sep) :]


def starts_with(value: Any, prefix: Any) -> bool:
    return need(value) is not None and text(value).startswith(text(prefix))


def ends_with(value: Any, suffix: Any) -> bool:
    return need(value) is not None and text(value).endswith(text(suffix))


def split(value: Any, delimiter: Any, limit: Any = None) -> Any:
    """Java ``String.split`` on a literal delimiter: limit > 0 caps the parts; without a limit
    (or 0) trailing empty strings are removed; a negative limit keeps them."""
    if need(value) is None:
        return None
    s, d = text(value), text(delimiter)
    n = 0 if limit is None else to_int(limit, "limit")
    if d == "":
        parts = list(s)
    elif n > 0:
        parts = s.split(d, n - 1)
    else:
        parts = s.split(d)
    if n == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def indent(value: Any, amount: Any = 4, prefix: Any = " ", _first: bool = False) -> Any:
    if need(value) is None:
        return None
    n = to_int(amount, "amount")
    if not 0 <= n <= MAX_INDENT:
        fail(f"indent amount must be between 0 and {MAX_INDENT}")
    pad = text(prefix) * n
    lines = text(value).split("\n")
    check_size(len(text(value)) + len(pad) * len(lines), "indent result")
    if _first:
        return "\n" + "\n".join(pad + ln for ln in lines)
    return "\n".join([lines[0]] + [pad + ln for ln in lines[1:]])


def nindent(value: Any, amount: Any = 4, prefix: Any = " ") -> Any:
    return indent(value, amount, prefix, _first=True)


def _grown_replace(s: str, old: str, new: str) -> str:
    """``s.replace(old, new)``, refused before building a result over the string bound."""
    check_size(len(s) + s.count(old) * (len(new) - len(old)), "escapeChar result")
    return s.replace(old, new)


def escape_char(value: Any, type: Any = "single") -> Any:
    s = text(value)
    kind = text(type).lower()
    if kind == "single":
        return _grown_replace(s, "'", "\\'")
    if kind == "double":
        return _grown_replace(s, '"', '\\"')
    if kind == "shell":
        return _grown_replace(s, "'", "'\\''")
    fail(f"escapeChar type must be single, double or shell, got {kind!r}")


def string(value: Any) -> str:
    return text(value)


def raw(value: Any) -> Any:
    """Pebble ``raw``: no escaping happens anyway."""
    return value


def class_name(value: Any) -> str:
    """Kestra ``className``: the Java class name Kestra would report."""
    need(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, dict):
        return "java.util.LinkedHashMap"
    if isinstance(value, (list, tuple)):
        return "java.util.ArrayList"
    return type(value).__name__


FILTERS = {
    "upper": upper,
    "lower": lower,
    "capitalize": capitalize,
    "title": title,
    "trim": trim,
    "replace": replace,
    "slugify": slugify,
    "abbreviate": abbreviate,
    "substringBefore": substring_before,
    "substringBeforeLast": substring_before_last,
    "substringAfter": substring_after,
    "substringAfterLast": substring_after_last,
    "startsWith": starts_with,
    "endsWith": ends_with,
    "split": split,
    "indent": indent,
    "nindent": nindent,
    "escapeChar": escape_char,
    "string": string,
    "raw": raw,
    "className": class_name,
}
