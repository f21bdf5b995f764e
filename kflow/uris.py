"""`kestra://` URIs and Kestra's layout of internal storage: the names of an execution's files.
At the bottom, on its own: the flow language checks a FILE input's URI with it, and the light
runner path names a log's URI without loading pydantic.

    kestra:///<namespace, dots as slashes>/<flow>/executions/<execution>/tasks/<task>/<taskrun>/<file>
    kestra:///<namespace, dots as slashes>/<flow>/executions/<execution>/inputs/<input>/<file>

A URI's path (without `kestra://`) is the object's key in every backend.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

SCHEME = "kestra://"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ +=@,()\[\]-]")


class BadUri(ValueError):
    pass


def parse_uri(uri: str) -> str:
    """The storage path of a `kestra://` URI (`/io/kestra/tests/...`), checked: no `..`, no empty parts."""
    if not isinstance(uri, str) or not uri.startswith(SCHEME):
        raise BadUri(f"{uri!r} is not a kestra:// URI")
    path = unquote(uri[len(SCHEME):])
    if not path.startswith("/"):
        path = "/" + path  # kestra://a/b is read as kestra:///a/b
    parts = path.split("/")[1:]
    if not parts or any(p in ("", ".", "..") for p in parts) or "\x00" in path:
        raise BadUri(f"{uri!r} is not a valid kestra:// URI (empty, '.' or '..' path segments)")
    return path


def to_uri(path: str) -> str:
    return SCHEME + quote(path, safe="/")


def safe_name(name: str) -> str:
    """A file or path segment name that cannot escape its directory."""
    name = _UNSAFE.sub("_", name.strip()) or "file"
    if name in (".", ".."):
        name = "_" + name
    return name[:200]


def _relative(name: str) -> str:
    parts = [safe_name(p) for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts:
        raise BadUri(f"{name!r} is not a usable file name")
    return "/".join(parts)


def namespace_path(namespace: str) -> str:
    return "/" + "/".join(safe_name(p) for p in namespace.split("."))


def execution_prefix(namespace: str, flow: str, execution: str) -> str:
    return f"{namespace_path(namespace)}/{safe_name(flow)}/executions/{safe_name(execution)}"


def task_prefix(namespace: str, flow: str, execution: str, task: str, taskrun: str) -> str:
    return f"{execution_prefix(namespace, flow, execution)}/tasks/{safe_name(task)}/{safe_name(taskrun)}"


def task_uri(namespace: str, flow: str, execution: str, task: str, taskrun: str, name: str) -> str:
    return to_uri(f"{task_prefix(namespace, flow, execution, task, taskrun)}/{_relative(name)}")


def attempt_log_uri(namespace: str, flow: str, execution: str, task: str, taskrun: str, attempt: int) -> str:
    """Where a runner keeps attempt N's log, next to the task run's files (`kflow logs`, Fetch)."""
    return task_uri(namespace, flow, execution, task, taskrun, f"logs/attempt-{attempt}.log")


def input_uri(namespace: str, flow: str, execution: str, input_id: str, name: str) -> str:
    return to_uri(f"{execution_prefix(namespace, flow, execution)}/inputs/{safe_name(input_id)}/{_relative(name)}")
