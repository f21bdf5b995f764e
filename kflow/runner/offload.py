"""Outputs too large for a pod's termination message go to internal storage.

The largest values move first, each to a file of its own; its `kestra://` URI takes its place
in the outputs (read it back with `read(outputs.task.key)`). Without internal storage, or when
even the URIs do not fit, the task fails with a reason that says so.
"""

from __future__ import annotations

import json

from kflow.runner.invocation import Invocation, TaskResult


def fit(result: TaskResult, limit: int, invocation: Invocation) -> TaskResult:
    size = len(result.to_json().encode())
    if size <= limit:
        return result
    task_id = invocation.task.get("id")
    if invocation.storage is not None and result.outputs:
        from kflow.storage import open_storage, task_uri

        storage = open_storage(invocation.storage)
        outputs = dict(result.outputs)
        for key in sorted(outputs, key=lambda k: len(json.dumps(outputs[k], default=str)), reverse=True):
            value = outputs[key]
            data = value.encode() if isinstance(value, str) else json.dumps(value, separators=(",", ":")).encode()
            name = f"output-{key}" + ("" if isinstance(value, str) else ".json")
            uri = task_uri(invocation.namespace, invocation.flowId, invocation.executionId, str(task_id), invocation.taskRunId, name)
            outputs[key] = storage.put_bytes(data, uri)
            candidate = result.model_copy(update={"outputs": outputs})
            if len(candidate.to_json().encode()) <= limit:
                return candidate
    where = "" if invocation.storage is not None else "; configure internal storage so large outputs go there"
    return TaskResult(
        state="FAILED",
        reason=f"task {task_id!r}: its outputs take {size} bytes, more than the {limit} a pod can report in its termination message{where}",
    )
