"""Run one task: render its properties, validate them with its model, call it."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from kflow.runner.context import RunContext, TaskLocation, TaskLogger, env_variables
from kflow.runner.invocation import Invocation, TaskResult
from kflow.runner.secrets import TaskSecrets, fill_secret_inputs, task_secret_names


def execute(invocation: Invocation, log: TaskLogger | None = None, secrets: dict[str, str] | None = None) -> TaskResult:
    """Never raises for a task's own failure: that is a FAILED result with the reason.

    The task reads only the secrets it names (kflow.runner.secrets): from `secrets` when given
    (`kflow run`), else from the runner's mounted files or environment. With internal storage
    configured, the attempt's log lines are also kept there (see TaskLocation.log_uri), so they
    outlive the pod that printed them.
    """
    invocation = fill_secret_inputs(invocation)  # a pod reads them from its mount
    task_def = invocation.task
    log = log or TaskLogger(min_level=task_def.get("logLevel") or "INFO")
    for input_id in invocation.secretInputs:  # masked as Kestra masks SECRET inputs
        value = (invocation.context.get("inputs") or {}).get(input_id)
        if isinstance(value, str):
            log.masker.add(value)
    task_id = str(task_def.get("id", "?"))
    allowed = TaskSecrets(task_id, task_secret_names(task_def), secrets)
    location = TaskLocation(invocation.namespace, invocation.flowId, invocation.executionId, task_id, invocation.taskRunId)
    if invocation.storage is None:
        return _execute(invocation, log, location, allowed)
    with tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", encoding="utf-8") as copy:
        log.tee = copy
        try:
            return _execute(invocation, log, location, allowed)
        finally:  # also when killed (SIGTERM unwinds as SystemExit)
            log.tee = None
            _store_log(copy, invocation, location, log)


def _store_log(copy, invocation: Invocation, location: TaskLocation, log: TaskLogger) -> None:
    """Best effort: a log that cannot be stored never changes the task's result."""
    from kflow.storage import open_storage

    try:
        copy.seek(0)
        open_storage(invocation.storage).put_bytes(copy.read().encode("utf-8"), location.log_uri(invocation.attempt))
    except Exception as err:
        log.warn(f"could not keep this log in internal storage: {type(err).__name__}: {err}")


def _execute(invocation: Invocation, log: TaskLogger, location: TaskLocation, secrets: TaskSecrets) -> TaskResult:
    task_def = invocation.task
    context = {**invocation.context, "envs": env_variables()}
    with tempfile.TemporaryDirectory(prefix=f"kflow-{task_def.get('id', '?')}-") as workdir:
        context.setdefault("workingDir", workdir)
        context.setdefault("outputDir", os.path.join(workdir, "outputs"))
        return run_task(task_def, context, log, workdir, location, invocation.storage, secrets)


def run_task(
    task_def: dict[str, Any], context: dict[str, Any], log: TaskLogger, workdir: str, location: TaskLocation, storage: Any,
    secrets: TaskSecrets | None = None,
) -> TaskResult:
    """Render, validate and run one task definition in `workdir` (which the caller owns).

    Apart from `execute`, so a WorkingDirectory runs each child the same way in one directory.
    """
    from pydantic import ValidationError

    from kflow.expr import ExpressionError
    from kflow.flow.registry import UnknownTaskType, task_class

    task_id = task_def.get("id", "?")
    try:
        cls = task_class(task_def["type"])
    except UnknownTaskType as err:
        return TaskResult(state="FAILED", reason=f"task {task_id!r}: {err}")
    ctx = RunContext(context, log, workdir, location=location, storage=storage, secrets=secrets)
    try:
        properties = _render(task_def, cls, ctx)
        task = cls.model_validate(properties)
    except ExpressionError as err:
        where = f", property {err.property}" if err.property else ""
        return _failed(log, f'task {task_id!r}{where}: cannot render "{err.expression}": {err.message}')
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        return _failed(log, f"task {task_id!r}: invalid properties after rendering: {problems}")
    try:
        outputs = task.run(ctx)
    except Exception as err:  # the task failed: say so, in its log and its result
        return _failed(log, f"task {task_id!r}: {_describe(err)}").model_copy(update={"children": ctx.children})
    # Secret values never leave the runner, whatever a task put in its outputs.
    reason = log.mask("; ".join(ctx.warnings)) if ctx.warnings else None
    return TaskResult(state=ctx.state, outputs=log.mask_value(outputs) or None, reason=reason, children=ctx.children)


def _describe(err: Exception) -> str:
    """A task's failure: tasks raise TaskFailure with a complete message; others get their type."""
    from kflow.tasks.errors import TaskFailure

    if isinstance(err, TaskFailure):
        return str(err)
    return f"{type(err).__name__}: {err}"


def _render(task_def: dict[str, Any], cls, ctx: RunContext) -> dict[str, Any]:
    from kflow.expr import ExpressionError, render_value

    skip = cls.unrendered | set(cls.task_lists)
    out: dict[str, Any] = {}
    for key, value in task_def.items():
        if key in skip:
            out[key] = value
            continue
        try:
            out[key] = render_value(value, ctx.variables, secret=ctx.secret, read=ctx.read, size=ctx.file_size)
        except ExpressionError as err:
            nested = err.property
            err.property = key if not nested else f"{key}{nested}" if nested.startswith("[") else f"{key}.{nested}"
            raise
    return out


def _failed(log: TaskLogger, reason: str) -> TaskResult:
    reason = log.mask(reason)
    log.error(reason)
    return TaskResult(state="FAILED", reason=reason)
