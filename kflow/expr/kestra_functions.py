"""Kestra functions that read the execution: currentEachOutput(), errorLogs(), tasksWithState() and kv().

They read only the variables the engine gives a task run (`taskrun`, `parents`, and the
`_error_logs` / `_task_states` lists it adds when a task's templates call those functions).
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from .filters._util import fail


@pass_context
def current_each_output(context: Context, outputs: Any) -> Any:
    """The outputs of a sibling task in this loop iteration: `outputs.x[value]...` along the
    loop values of this task run and its parents, outermost first (Kestra's currentEachOutput)."""
    values = [p.get("taskrun", {}).get("value") for p in reversed(context.get("parents") or [])]
    values.append((context.get("taskrun") or {}).get("value"))
    current = outputs
    for value in (v for v in values if v is not None):
        if not isinstance(current, dict) or value not in current:
            fail(f"currentEachOutput: no output for the loop value {value!r}; is this task inside the same loop?")
        current = current[value]
    return current


@pass_context
def error_logs(context: Context) -> list[dict[str, Any]]:
    """The execution's ERROR log entries, oldest first, as Kestra's errorLogs() (built by kflow.engine.error_logs)."""
    return list(context.get("_error_logs") or [])


@pass_context
def tasks_with_state(context: Context, state: Any) -> list[dict[str, Any]]:
    """Task runs of this execution in `state` (FAILED, SUCCESS...): taskId, taskRunId, value, state."""
    if not isinstance(state, str) or not state.strip():
        fail(f"tasksWithState: expected a state name such as 'FAILED', got {state!r}")
    wanted = state.strip().upper()
    return [dict(line) for line in context.get("_task_states") or [] if line["state"] == wanted]


@pass_context
def kv(context: Context, key: Any = None, namespace: Any = None, errorOnMissing: Any = True) -> Any:
    """Kestra's kv(key, namespace, errorOnMissing): a KV value, its JSON type kept.

    Reads the `_kv` variables the engine adds for the constant keys a task's templates name
    (a runner never reaches the store); a key computed at run time cannot be given ahead.
    """
    if not isinstance(key, str) or not key:
        fail(f"kv(): the key must be a non-empty string, got {key!r}")
    flow = context.get("flow") or {}
    ns = namespace if namespace is not None else flow.get("namespace")
    values = context.get("_kv")
    slot = (values or {}).get(f"{ns}:{key}")
    if slot is None:
        fail(f"kv({key!r}): only keys written as constants, kv('my_key') or kv('my_key', 'a.namespace'), "
             "can be read here (their values are passed to the task before it runs)")
    if "error" in slot:
        fail(f"kv({key!r}) in namespace {ns!r}: {slot['error']}")
    if slot.get("missing"):
        if errorOnMissing is False or (isinstance(errorOnMissing, str) and errorOnMissing.lower() == "false"):
            return None
        fail(f"kv({key!r}): no such key in namespace {ns!r} (or it expired); errorOnMissing=false gives null")
    return slot.get("value")


FUNCTIONS = {"currentEachOutput": current_each_output, "errorLogs": error_logs, "tasksWithState": tasks_with_state, "kv": kv}
