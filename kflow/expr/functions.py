"""Global functions: now, secret, range, max, min, fromJson/json, fromYaml, printContext (render() is in render.py)."""

from __future__ import annotations

import datetime as _dt
import json as _json
import random
import uuid as _uuid
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from . import limits
from .filters._util import fail, need, text, to_int
from .filters.dates import format_datetime, zone
from .values import UTC, to_json


def now(timeZone: Any = None, format: Any = None) -> Any:
    """Aware datetime (UTC unless ``timeZone``); a formatted string when ``format`` is given."""
    tz = zone(timeZone) or UTC
    value = _dt.datetime.now(tz)
    if format is not None:
        return format_datetime(value, text(format))
    return value


def secret(name: Any) -> str:
    key = text(name)
    st = limits.current()
    provider = st.secret if st else None
    if provider is None:
        fail(f"secret {key!r} is not available: no secret provider configured")
    try:
        value = provider(key)
    except KeyError:
        fail(f"secret {key!r} not found")
    except Exception as e:  # provider failures must not leak internals in odd types
        fail(f"secret {key!r} could not be read: {e}")
    if value is None:
        fail(f"secret {key!r} not found")
    value = str(value)
    if st is not None and value:
        st.secrets.append(value)
    return value


def read(uri: Any) -> str:
    """Kestra's ``read(uri)``: the content of a file in internal storage, as a string."""
    key = text(uri)
    st = limits.current()
    reader = st.read if st else None
    if reader is None:
        fail(f"read({key!r}): no internal storage here (read() works in task properties)")
    try:
        value = reader(key)
    except Exception as e:  # the reader's message names the URI and the cause
        fail(f"read({key!r}): {e}")
    value = str(value)
    limits.check_size(len(value), "read() result")
    return value


def _file_size(function: str, uri: Any) -> int | None:
    key = text(uri)
    st = limits.current()
    sizer = st.size if st else None
    if sizer is None:
        fail(f"{function}({key!r}): no internal storage here ({function}() works in task properties)")
    if not key.startswith("kestra://"):
        fail(f"{function}({key!r}): only kestra:// files of internal storage (kflow has no namespace files)")
    try:
        return sizer(key)
    except Exception as e:  # the storage's message names the URI and the cause
        fail(f"{function}({key!r}): {e}")


def file_exists(uri: Any) -> bool:
    """Kestra ``fileExists(uri)``."""
    return _file_size("fileExists", uri) is not None


def file_size(uri: Any) -> int:
    """Kestra ``fileSize(uri)``: bytes; a missing file is an error."""
    size = _file_size("fileSize", uri)
    if size is None:
        fail(f"fileSize({text(uri)!r}): no such file")
    return size


def is_file_empty(uri: Any) -> bool:
    """Kestra ``isFileEmpty(uri)``; a missing file is an error."""
    size = _file_size("isFileEmpty", uri)
    if size is None:
        fail(f"isFileEmpty({text(uri)!r}): no such file")
    return size == 0


def range_(start: Any, end: Any = None, step: Any = 1) -> list:
    """Pebble range: both bounds inclusive; ``range(3)`` is ``range(0, 3)``."""
    if end is None:
        start, end = 0, start
    a, b, s = to_int(start, "start"), to_int(end, "end"), to_int(step, "step")
    if s == 0:
        fail("range step must not be 0")
    count = 0 if (b - a) * s < 0 else (b - a) // s + 1
    if count > limits.MAX_RANGE:
        fail(f"range({a}, {b}, {s}) would produce {count} items (limit {limits.MAX_RANGE})")
    return list(range(a, b + (1 if s > 0 else -1), s))


def _numbers(args: tuple) -> list:
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    if not args:
        fail("max/min need at least one argument")
    return [need(a) for a in args]


def max_(*args: Any) -> Any:
    try:
        return max(_numbers(args))
    except TypeError:
        fail("max: arguments cannot be compared")


def min_(*args: Any) -> Any:
    try:
        return min(_numbers(args))
    except TypeError:
        fail("min: arguments cannot be compared")


def from_json(value: Any) -> Any:
    need(value)
    if value is None:
        return None
    if not isinstance(value, str):
        return value
    try:
        return _json.loads(value)
    except ValueError as e:
        fail(f"fromJson: invalid JSON ({e})")


def from_yaml(value: Any) -> Any:
    import yaml

    need(value)
    if not isinstance(value, str):
        return value
    from kflow.flow.bounds import BoundError, load_yaml

    try:
        return load_yaml(value)
    except BoundError as e:
        fail(f"fromYaml: {e}")
    except yaml.YAMLError as e:
        fail(f"fromYaml: invalid YAML ({e})")


_HIDDEN = {"range", "now", "secret", "read", "max", "min", "render", "renderOnce", "printContext",
           "fetchContext", "fromJson", "json", "fromYaml", "yaml", "randomInt", "null", "uuid",
           "id", "currentEachOutput", "errorLogs", "_error_logs", "tasksWithState", "_task_states",
           "randomPort", "kv", "_kv", "nanoId", "fileExists", "fileSize", "isFileEmpty"}


@pass_context
def print_context(context: Context) -> str:
    data = {k: v for k, v in context.get_all().items() if k not in _HIDDEN and not callable(v)}
    return to_json(data)


def random_port() -> int:
    """Kestra's randomPort(): a TCP port free on this machine now (bound on loopback, then released)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def random_int(lower: Any, upper: Any) -> int:
    a, b = to_int(lower, "lower"), to_int(upper, "upper")
    if b <= a:
        fail("randomInt: upper must be greater than lower")
    return random.randrange(a, b)


def uuid() -> str:
    return str(_uuid.uuid4())


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def id_() -> str:
    """Kestra ``id()``: a random 22-char base62 id (like IdUtils.create())."""
    n = _uuid.uuid4().int
    out = []
    while n:
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(reversed(out)).rjust(22, "0")


_NANOID_ALPHABET = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_NANOID = 10_000


def nano_id(length: Any = 21, alphabet: Any = _NANOID_ALPHABET) -> str:
    """Kestra ``nanoId(length=21, alphabet=...)``: a random id from a secure random source."""
    import secrets

    size, chars = to_int(length, "length"), text(alphabet)
    if not 1 <= size <= MAX_NANOID:
        fail(f"nanoId: length must be between 1 and {MAX_NANOID}, got {size}")
    if not chars:
        fail("nanoId: the alphabet must not be empty")
    return "".join(secrets.choice(chars) for _ in range(size))


# Registered by render.py on the environment's first use (they need the renderer itself).
RENDERER_FUNCTIONS = ("render", "renderOnce")

GLOBALS: dict[str, Any] = {
    "now": now,
    "secret": secret,
    "read": read,
    "range": range_,
    "max": max_,
    "min": min_,
    "fromJson": from_json,
    "json": from_json,
    "fromYaml": from_yaml,
    "yaml": from_yaml,
    "printContext": print_context,
    "fetchContext": print_context,
    "uuid": uuid,
    "id": id_,
    "randomInt": random_int,
    "randomPort": random_port,
    "nanoId": nano_id,
    "fileExists": file_exists,
    "fileSize": file_size,
    "isFileEmpty": is_file_empty,
    "null": None,
}
from .kestra_functions import FUNCTIONS as _EXECUTION_FUNCTIONS  # noqa: E402 - they need pass_context only

GLOBALS.update(_EXECUTION_FUNCTIONS)
