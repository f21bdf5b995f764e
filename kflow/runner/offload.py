"""Outputs too large for a pod's termination message go to internal storage.

The largest values move first, each to a file of its own; its `kestra://` URI takes its place
in the outputs (read it back with `read(outputs.task.key)`). A WorkingDirectory's children's
outputs count too: each moves to a file of the child's own task run. Then long failure reasons
are cut to their end. Without internal storage, or when even that does not fit (a
WorkingDirectory of very many tasks), the task fails with a reason that says so.
"""

from __future__ import annotations

import json

from kflow.runner.invocation import Invocation, TaskResult


def fit(result: TaskResult, limit: int, invocation: Invocation) -> TaskResult:
    size = len(result.to_json().encode())
    if size <= limit:
        return result
    task_id = invocation.task.get("id")
    if invocation.storage is not None and (result.outputs or any(c.outputs for c in result.children or ())):
        from kflow.storage import open_storage

        storage = open_storage(invocation.storage)
        # Every output value, the task's own and its children's (WorkingDirectory), largest first.
        values = [(None, key, value) for key, value in (result.outputs or {}).items()]
        for i, child in enumerate(result.children or ()):
            values.extend((i, key, value) for key, value in (child.outputs or {}).items())
        values.sort(key=lambda item: len(json.dumps(item[2], default=str)), reverse=True)
        outputs = dict(result.outputs or {})
        children = [child.model_copy(update={"outputs": dict(child.outputs or {})}) for child in result.children or ()]
        for owner, key, value in values:
            uri = _uri(invocation, None if owner is None else children[owner].taskId, key, value)
            (outputs if owner is None else children[owner].outputs)[key] = storage.put_bytes(_bytes(value), uri)
            candidate = result.model_copy(update={"outputs": outputs or None, "children": children if result.children is not None else None})
            if len(candidate.to_json().encode()) <= limit:
                return candidate
        result = candidate
    if result.children:
        # Long reasons (a script's last stderr lines) are what is left: keep their ends.
        children = [c.model_copy(update={"reason": _tail(c.reason)}) for c in result.children]
        candidate = result.model_copy(update={"reason": _tail(result.reason), "children": children})
        if len(candidate.to_json().encode()) <= limit:
            return candidate
    where = "" if invocation.storage is not None else "; configure internal storage so large outputs go there"
    if result.children:
        where += f" (its {len(result.children)} tasks' results; split the WorkingDirectory)"
    return TaskResult(
        state="FAILED",
        reason=f"task {task_id!r}: its outputs take {size} bytes, more than the {limit} a pod can report in its termination message{where}",
    )


def _uri(invocation: Invocation, child_id: str | None, key: str, value) -> str:
    """A file of the task run that produced the value: the task's, or its child's."""
    from kflow.engine.ids import taskrun_id
    from kflow.storage import task_uri

    task_id, taskrun = str(invocation.task.get("id")), invocation.taskRunId
    if child_id is not None:
        task_id, taskrun = child_id, taskrun_id(invocation.executionId, invocation.taskRunId, child_id, None)
    name = f"output-{key}" + ("" if isinstance(value, str) else ".json")
    return task_uri(invocation.namespace, invocation.flowId, invocation.executionId, task_id, taskrun, name)


def _bytes(value) -> bytes:
    return value.encode() if isinstance(value, str) else json.dumps(value, separators=(",", ":")).encode()


def _tail(reason: str | None, keep: int = 300) -> str | None:
    return reason if reason is None or len(reason) <= keep else "…" + reason[-keep:]
