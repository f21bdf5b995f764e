"""Deterministic ids: the same execution, parent, task and value always give the same id.

A shell that crashes after the engine created a task run but before it saved the state
recomputes the same id, so the pod or process named after it is found, not duplicated.
"""

from __future__ import annotations

import hashlib
import secrets

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(number: int, length: int = 22) -> str:
    out = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        out.append(_ALPHABET[digit])
    return "".join(out)


def taskrun_id(execution_id: str, parent_id: str | None, task_id: str, value: str | None) -> str:
    key = "\x1f".join((execution_id, parent_id or "", task_id, value if value is not None else "\x00"))
    return _base62(int.from_bytes(hashlib.sha256(key.encode()).digest()[:17], "big"))


def subflow_execution_id(execution_id: str, taskrun_id_: str, attempt: int) -> str:
    """The child execution of a Subflow attempt: the same attempt always names the same child."""
    return taskrun_id(execution_id, taskrun_id_, f"attempt-{attempt}", None)


def new_execution_id() -> str:
    """A random Kestra-style id (22 base62 characters) for a new execution."""
    return _base62(secrets.randbits(131))
