"""Deterministic pod names and label values that fit Kubernetes' limits.

The operator creates pods and labels by these; the CLI (`kflow logs`) finds them by the same
names, so they live beside the Execution model where both may import them.
"""

from __future__ import annotations

import hashlib
import re

LABEL_EXECUTION = "kflow.io/execution"
LABEL_FLOW = "kflow.io/flow"
LABEL_TASK = "kflow.io/task"
LABEL_TASKRUN = "kflow.io/taskrun"
LABEL_ATTEMPT = "kflow.io/attempt"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kflow"}

_LABEL_OK = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def _digest(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def label_value(text: str) -> str:
    """The value itself when it is a valid label value, else a readable prefix and a hash."""
    if len(text) <= 63 and _LABEL_OK.match(text):
        return text
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:50].strip("-_.")
    return f"{cleaned}-{_digest(text, 10)}" if cleaned else _digest(text, 16)


def _slug(text: str, size: int) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:size].strip("-") or "x"


def pod_name(execution_name: str, task_id: str, taskrun_id: str, attempt: int) -> str:
    """Same (execution, task run, attempt), same name: a second create finds the first pod."""
    digest = _digest(f"{execution_name}/{taskrun_id}/{attempt}")
    return f"{_slug(execution_name, 28)}-{_slug(task_id, 20)}-{digest}-{attempt}"
