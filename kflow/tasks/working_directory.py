"""WorkingDirectory (`io.kestra.plugin.core.flow.WorkingDirectory`, formerly
`io.kestra.core.tasks.flows.WorkingDirectory` and `...flows.Worker`): its `tasks` run one after
another in ONE directory, so files one writes are there for the next.

For the engine it is a runnable task with children: one attempt, one process (one pod on a
cluster). Its runner runs the children here, in order, and reports how each ended
(`ctx.children`); the engine records one child task run per reported child.

- Each child sees the WorkingDirectory's variables with its own `task` and `taskrun` (and the
  WorkingDirectory's task run as `workerTaskrun`), the
  outputs of the children before it under `outputs.<id>`, the shared `workingDir`, and an
  `outputDir` of its own (so a script's outputDir files are stored once, as its outputs).
- A child whose `runIf` is false is SKIPPED. A failing child stops the rest (they are not
  reported) and fails the WorkingDirectory with the child's reason, unless it has
  `allowFailure` (then WARNING, and the next child runs). A child's `retry` is honoured here:
  its attempts run again in this process after the policy's delay (the child's task run
  records the last one). A child cannot have its own `timeout`: the WorkingDirectory's
  `timeout` bounds the whole group.
- Only runnable children: a flowable one (Sequential, Parallel, another WorkingDirectory) is
  rejected when the flow is loaded, as Kestra documents it does not work.
- `inputFiles` are written before the first child; `outputFiles` (globs) are stored after the
  last and given as the output `outputFiles` (name → URI). `cache` and `namespaceFiles` are
  accepted and ignored. `errors` is not supported: wrap the WorkingDirectory in a Sequential.
- On a cluster, a child's `containerImage` is ignored: every child runs in the runner
  container of the one pod.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kflow.flow.task import RunnableTask, TaskList
from kflow.runner.context import TaskLogger
from kflow.tasks.errors import TaskFailure

if TYPE_CHECKING:
    from kflow.flow.task import Task
    from kflow.runner.context import RunContext
    from kflow.runner.invocation import TaskResult


class Cache(BaseModel):
    """Kestra's cache of working-directory files between executions: accepted, not applied."""

    model_config = ConfigDict(extra="forbid")

    patterns: list[str] = Field(description="Globs of the files to cache.")
    ttl: str | None = Field(None, description="How long the cache is kept.")


class WorkingDirectory(RunnableTask):
    """Runs `tasks` one after another in one shared working directory."""

    task_lists = ("tasks",)
    unrendered = RunnableTask.unrendered | {"cache", "namespaceFiles"}

    tasks: TaskList = Field(min_length=1, description="Runnable tasks, run one after another in one directory.")
    inputFiles: dict[str, str] | str | None = Field(None, description="Files to create first: name → content or kestra:// URI.")
    outputFiles: list[str] | None = Field(None, description="Globs of files to store once every task has run.")
    namespaceFiles: dict[str, Any] | None = Field(None, description="Accepted; namespace files are not supported yet.")
    cache: Cache | None = Field(None, description="Accepted; the cache is not applied.")

    @model_validator(mode="before")
    @classmethod
    def _no_errors(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("errors"):
            raise ValueError(
                "`errors` on a WorkingDirectory is not supported; put the WorkingDirectory in a Sequential that has the `errors` tasks"
            )
        return data

    @field_validator("tasks", mode="before")
    @classmethod
    def _parse_children(cls, value: Any) -> Any:
        """In the runner the children arrive as plain definitions: parse them by their type."""
        if not isinstance(value, list):
            return value
        from kflow.flow.load import parse_task

        return [parse_task(item, f"tasks[{i}]") if isinstance(item, dict) else item for i, item in enumerate(value)]

    @model_validator(mode="after")
    def _runnable_children(self) -> WorkingDirectory:
        for i, child in enumerate(self.tasks):
            if child.flowable or child.task_lists:
                raise ValueError(
                    f"tasks[{i}]: task {child.id!r} ({child.type}) cannot run inside WorkingDirectory {self.id!r}: "
                    "only runnable tasks share its directory; move it out of the WorkingDirectory"
                )
            if child.timeout is not None:
                raise ValueError(
                    f"tasks[{i}]: task {child.id!r} cannot have its own `timeout` inside WorkingDirectory {self.id!r}: "
                    "its tasks run in one process; set `timeout` on the WorkingDirectory"
                )
        return self

    def run(self, ctx: RunContext) -> dict[str, Any] | None:
        from kflow.runner.invocation import ChildResult

        workdir = Path(ctx.workdir)
        self._write_input_files(ctx, workdir)
        ctx.children = reported = []
        outputs = dict(ctx.variables.get("outputs") or {})
        warnings: list[str] = []
        for child in self.tasks:
            if child.disabled:
                continue
            start = _now()
            result = self._run_child(ctx, child, outputs, start)
            state = result.state if result is not None else "SKIPPED"
            reason = result.reason if result is not None else None
            child_outputs = result.outputs if result is not None and state != "FAILED" else None
            final = _final_state(state, child)
            reported.append(ChildResult(taskId=child.id, state=final, outputs=child_outputs, reason=reason, startDate=start, endDate=_now()))
            if child_outputs:
                outputs[child.id] = child_outputs
            if final == "FAILED":
                raise TaskFailure(reason or f"task {child.id!r} failed")
            if final == "WARNING":
                warnings.append(f"task {child.id!r} ended {state}" + (f": {reason}" if reason else ""))
        for warning in warnings:
            ctx.warning(warning)
        files = self._store_output_files(ctx, workdir)
        return {"outputFiles": files} if files else None

    # -- one child -------------------------------------------------------------------------
    def _run_child(self, ctx: RunContext, child: Task, outputs: dict[str, Any], start: datetime) -> TaskResult | None:
        """How the child ended (after its retries), or None when its runIf is false."""
        from kflow.engine.ids import taskrun_id
        from kflow.engine.retry import next_attempt_at
        from kflow.runner.context import TaskLocation
        from kflow.runner.invocation import TaskResult
        from kflow.runner.run import run_task

        where = ctx.location
        child_run_id = taskrun_id(where.executionId, where.taskRunId, child.id, None) if where else f"{self.id}.{child.id}"
        location = TaskLocation(where.namespace, where.flowId, where.executionId, child.id, child_run_id) if where else None
        log = _ChildLogger(ctx.log, child)
        definition = child.model_dump(mode="json", by_alias=True, exclude_unset=True)
        run_if = _run_if(child, self._child_variables(ctx, child, child_run_id, outputs, start, 0), ctx)
        if run_if is False:
            log.info("skipped: its runIf is false")
            return None
        if isinstance(run_if, str):
            return TaskResult(state="FAILED", reason=log.mask(run_if))
        attempt = 0
        while True:
            variables = self._child_variables(ctx, child, child_run_id, outputs, start, attempt)
            log.info("started" if attempt == 0 else f"attempt {attempt + 1}")
            result = run_task(definition, variables, log, ctx.workdir, location, ctx._storage, ctx.secrets)
            attempt += 1
            if result.state != "FAILED":
                if attempt > 1 and result.state == "SUCCESS" and child.retry is not None and child.retry.warningOnRetry:
                    result = result.model_copy(update={"state": "WARNING", "reason": f"succeeded after {attempt} attempts (warningOnRetry)"})
                return result
            due = next_attempt_at(child.retry, attempt, start, _now(), child_run_id)
            if due is None:
                if attempt > 1:
                    result = result.model_copy(update={"reason": f"{result.reason} (after {attempt} attempts)"})
                return result
            log.warn(f"attempt {attempt} failed; retrying at {due.isoformat()}")
            time.sleep(max(0.0, (due - _now()).total_seconds()))

    def _child_variables(
        self, ctx: RunContext, child: Task, child_run_id: str, outputs: dict[str, Any], start: datetime, attempt: int
    ) -> dict[str, Any]:
        """The WorkingDirectory's variables, as the child's own: Kestra's task/taskrun/parents, and
        `workerTaskrun`, the WorkingDirectory's own task run (whose loop `value` the child's
        `taskrun.value` carries, as Kestra's worker gives it)."""
        from kflow.execution.instants import format_instant

        own = ctx.variables.get("taskrun") or {}
        parent = {"taskrun": {"value": own.get("value"), "id": own.get("id")}}
        return {
            **ctx.variables,
            "outputs": dict(outputs),
            "task": {"id": child.id, "type": child.type},
            "taskrun": {"id": child_run_id, "startDate": format_instant(start), "attemptsCount": attempt, "parentId": own.get("id"), "value": own.get("value")},
            "workerTaskrun": own,
            "parent": parent,
            "parents": [parent, *(ctx.variables.get("parents") or [])],
            "workingDir": ctx.workdir,
            "outputDir": str(Path(ctx.workdir) / ".kflow-outputs" / child.id),
        }

    # -- files of the whole group ----------------------------------------------------------
    def _write_input_files(self, ctx: RunContext, workdir: Path) -> None:
        from kflow.tasks.scripts import write_input_files

        write_input_files(ctx, workdir, self.inputFiles)

    def _store_output_files(self, ctx: RunContext, workdir: Path) -> dict[str, str]:
        from kflow.tasks.scripts import glob_files, store_files

        return store_files(ctx, glob_files(workdir, self.outputFiles))


def _run_if(child: Task, variables: dict[str, Any], ctx: RunContext) -> bool | str:
    """True to run, False to skip, or why the condition could not be rendered (as the engine)."""
    condition = child.runIf
    if isinstance(condition, bool):
        return condition
    if condition.strip().lower() == "true":
        return True
    from kflow.expr import ExpressionError, render

    try:
        rendered = render(condition, variables, secret=ctx.secret, read=ctx.read, size=ctx.file_size)
    except ExpressionError as err:
        return f"task {child.id!r}, property runIf: {err}"
    return rendered.strip().lower() not in ("false", "0", "", "null", "none")


def _final_state(state: str, child: Task) -> str:
    """Kestra's allowFailure / allowWarning, as the engine applies them to a task run."""
    if state == "FAILED" and child.allowFailure:
        state = "WARNING"
    if state == "WARNING" and child.allowWarning:
        state = "SUCCESS"
    return state


def _now() -> datetime:
    return datetime.now(timezone.utc)


class _ChildLogger(TaskLogger):
    """The WorkingDirectory's log, each line prefixed by the child's id; secrets shared."""

    def __init__(self, parent: TaskLogger, child: Task):
        super().__init__(parent.stream, child.logLevel or "INFO")
        if child.logLevel is None:
            self.min_level = parent.min_level
        self.masker = parent.masker  # the same one: a secret one child reads is masked for all
        self.prefix = f"[{child.id}] "
        if hasattr(parent, "tee"):
            self.tee = parent.tee

    def emit(self, level: str, message: str) -> None:
        super().emit(level, "\n".join(self.prefix + line for line in message.splitlines() or [""]))
