"""The runner's fast path: a Return or Log task whose templates only print variables.

Such a task is most of a pod's or a process's work, and importing pydantic (the Invocation and
the task's model) and jinja2 (the expression sandbox) would cost the runner several times what
the interpreter itself costs to start (`python bench/runner_cold_start.py`). Here the
invocation is read as plain JSON, the properties are rendered by `kflow.expr.plain`, and the
task does what its model's `run` does (`kflow.tasks.debug_actions`).

This path never reports a problem: whenever anything is not exactly the plain shape it knows
(an unknown key, a type it does not expect, an expression that is not a plain path to a
string, a storage that is not a directory, a result too large for `--result-limit`), it
answers None before running anything and the full runner runs the task, with its validation
and its messages. The invocation comes from a flow the shell validated when it loaded it; the
base properties the runner does not use (retry, timeout, runIf, ...) are not looked at.
"""

from __future__ import annotations

import json
import tempfile
from typing import Any, Callable

from kflow.expr.plain import render_plain
from kflow.runner.context import TaskLocation, TaskLogger, env_variables
from kflow.tasks.debug_actions import LEVELS, LOG_LEVEL, RETURN_LEVEL, log_messages, return_value

_RETURN = "io.kestra.plugin.core.debug.Return"
_LOG = "io.kestra.plugin.core.log.Log"
# Task properties the runner does not render and the fast path does not use (see Task.unrendered).
_BASE = frozenset(
    {"id", "type", "description", "retry", "timeout", "disabled", "runIf", "allowFailure", "allowWarning", "logLevel", "taskRunner", "workerGroup"}
)
_INVOCATION = frozenset({"executionId", "taskRunId", "attempt", "namespace", "flowId", "task", "context", "storage", "secretInputs"})
_STORAGE = frozenset({"type", "path", "bucket", "prefix", "endpoint", "region", "pathStyle"})


def _return(log: TaskLogger, props: dict[str, Any]) -> dict[str, Any] | None:
    return return_value(log, props["format"], props.get("level", RETURN_LEVEL))


def _log(log: TaskLogger, props: dict[str, Any]) -> None:
    return log_messages(log, props["message"], props.get("level", LOG_LEVEL))


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# type -> (its own properties, which rendered values it accepts, what it does)
_TASKS: dict[str, tuple[frozenset[str], dict[str, Callable[[Any], bool]], Callable]] = {
    _RETURN: (frozenset({"format", "level"}), {"format": lambda v: isinstance(v, str), "level": lambda v: v in LEVELS}, _return),
    _LOG: (
        frozenset({"message", "level"}),
        {"message": lambda v: isinstance(v, str) or _is_text_list(v), "level": lambda v: v in LEVELS},
        _log,
    ),
}


def run_light(raw: str, result_limit: int | None, enveloped: bool = False) -> tuple[str, bool] | None:
    """(the result JSON, whether the task failed), or None: the full runner must run it."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if enveloped:
        data = _bare_invocation(data)
    plan = _plan(data)
    if plan is None:
        return None
    data, action, props = plan
    task = data["task"]
    log = TaskLogger(min_level=task.get("logLevel") or "INFO")
    location = TaskLocation(data["namespace"], data["flowId"], data["executionId"], task["id"], data["taskRunId"])
    storage = data.get("storage")
    copy = tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", encoding="utf-8") if storage else None
    log.tee = copy
    try:
        outputs = action(log, props)
    finally:
        log.tee = None
        if copy is not None:
            _store_log(copy, storage, location, data.get("attempt", 0), log)
    result: dict[str, Any] = {"state": "SUCCESS"}
    if outputs:
        result["outputs"] = outputs
    payload = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    if result_limit is not None and len(payload.encode("utf-8")) > result_limit:
        payload = _fit(payload, data, result_limit)
    return payload, False


def _bare_invocation(data: Any) -> dict[str, Any] | None:
    """The invocation inside `kflow run`'s envelope, when the envelope hands it no private
    values (secrets, storage credentials): this path has no masker, so only such tasks take it."""
    if not isinstance(data, dict) or data.keys() - {"invocation", "secrets", "storageCredentials"}:
        return None
    if data.get("secrets") or data.get("storageCredentials") or not isinstance(data.get("invocation"), dict):
        return None
    return data["invocation"]


def _plan(data: Any) -> tuple[dict[str, Any], Callable, dict[str, Any]] | None:
    """The invocation (parsed JSON), the task's action and its rendered properties, when the
    fast path applies."""
    if not isinstance(data, dict) or not data.keys() <= _INVOCATION:
        return None
    if not all(isinstance(data.get(key), str) for key in ("executionId", "taskRunId", "namespace", "flowId")):
        return None
    if data.get("secretInputs"):  # SECRET inputs are masked: the full runner has the masker
        return None
    attempt, task, context, storage = data.get("attempt", 0), data.get("task"), data.get("context"), data.get("storage")
    if type(attempt) is not int or not isinstance(task, dict) or not isinstance(context, dict):
        return None
    if storage is not None and not _directory(storage):
        return None
    from kflow.flow.registry import UnknownTaskType, canonical_name

    try:
        known = _TASKS.get(canonical_name(task.get("type")))
    except (UnknownTaskType, TypeError):
        return None
    if known is None or not isinstance(task.get("id"), str) or task.get("logLevel", "INFO") not in LEVELS:
        return None
    own, accepts, action = known
    if not task.keys() <= _BASE | own:
        return None
    variables = _variables(context)
    props: dict[str, Any] = {}
    for key in own & task.keys():
        value = _render(task[key], variables)
        if value is None or not accepts[key](value):
            return None
        props[key] = value
    if own - {"level"} - props.keys():  # a required property is missing
        return None
    return data, action, props


def _variables(context: dict[str, Any]) -> dict[str, Any]:
    """What the full runner's templates see, but for workingDir/outputDir: a plain path never
    names a directory the task has not got, so one that does goes the full way."""
    variables = {**context, "envs": env_variables()}
    for name in ("workingDir", "outputDir"):
        variables.setdefault(name, None)  # not a string: render_plain refuses it
    return variables


def _render(value: Any, variables: dict[str, Any]) -> Any:
    """A string or a list of strings rendered; None when one is not plain."""
    if isinstance(value, list):
        items = [_render(item, variables) for item in value]
        return None if any(item is None for item in items) else items
    if isinstance(value, str):
        return render_plain(value, variables)
    return None


def _directory(storage: Any) -> bool:
    return (
        isinstance(storage, dict)
        and storage.keys() <= _STORAGE
        and storage.get("type", "dir") == "dir"
        and isinstance(storage.get("path"), str)
    )


def _store_log(copy, storage: dict[str, Any], location: TaskLocation, attempt: int, log: TaskLogger) -> None:
    """As the full runner does: best effort, never changes the result."""
    from kflow.storage.directory import DirectoryStorage

    try:
        copy.seek(0)
        DirectoryStorage(storage["path"]).put_bytes(copy.read().encode("utf-8"), location.log_uri(attempt))
    except Exception as err:
        log.warn(f"could not keep this log in internal storage: {type(err).__name__}: {err}")
    finally:
        copy.close()


def _fit(payload: str, invocation: dict[str, Any], limit: int) -> str:
    """A result too large for the termination message: the full runner's offloading."""
    from kflow.runner.invocation import Invocation, TaskResult
    from kflow.runner.offload import fit

    return fit(TaskResult.model_validate_json(payload), limit, Invocation.model_validate(invocation)).to_json()

