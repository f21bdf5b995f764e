"""The Execution resource's status: one typed contract for whoever writes or reads it.

The operator stores a Kestra execution in `status` (kflow/operator/controller.py writes it);
the CRD is generated from `ExecutionStatus` (python -m kflow.operator.crds); the CLI, the web
UI and tests read it back through the functions here. Task runs live in two places: live and
recently finished ones in `taskRuns` (keyed by id), older finished ones in sealed, compressed
chunks of `archive` (kflow/operator/status_archive.py decides when; the format is here).
"""

from __future__ import annotations

import base64
import gzip
import json
from datetime import datetime, timezone
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kflow.execution.model import Execution, StateInfo, TaskRun
from kflow.execution.states import TERMINAL_STATES, State


_BULKY = frozenset({"taskRuns", "archive", "flow"})  # what grows with the execution


class StatusError(ValueError):
    """A stored status that cannot be read back (edited by hand, or truncated): names the field."""


class ArchiveError(StatusError):
    """A chunk of status.archive that cannot be read back (edited by hand, or truncated)."""


class ExecutionStatus(BaseModel):
    """The Kestra execution (state, inputs, task runs with attempts and outputs) and a summary.

    `taskRuns` is keyed by task run id, so a status update carries only what changed.
    Finished task runs move in batches into the compressed chunks of `archive`: the object stays small.
    """

    model_config = ConfigDict(extra="forbid")

    step: int | None = Field(None, description="Engine steps recorded so far: the operator tells its own writes from others' by it.")
    id: str | None = Field(None, description="The Kestra execution id.")
    namespace: str | None = Field(None, description="Kestra's (dotted) namespace of the flow.")
    flowId: str | None = None
    flowRevision: int | None = None
    state: dict[str, Any] | None = Field(None, description="The execution's state: current and histories.")
    current: str | None = Field(None, description="The current state, for `kubectl get executions`.")
    inputs: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    error: str | None = Field(None, description="Why the execution failed before or outside its tasks.")
    originalId: str | None = Field(None, description="For a replay: the id of the execution it replays.")
    scheduleDate: str | None = Field(None, description="A flow retry's new try: not started before this instant.")
    metadata: dict[str, Any] | None = Field(None, description="Kestra's execution metadata: attemptNumber (which try of the flow's retry) and originalCreatedDate.")
    waiting: dict[str, str] | None = Field(None, description="Task runs whose attempt waits for a runner pod (the operator's runner.maxPodsInFlight or "
                                           "runner.maxPodsPerExecution cap): task run id -> why. Such a task run shows RUNNING without a pod yet.")
    removed: list[str] | None = Field(None, description="Ids of task runs a restart dropped (its `errors` runs); readers skip them.")
    outputs: dict[str, Any] | None = Field(None, description="The flow's `outputs`, rendered when the execution succeeded.")
    progress: str | None = Field(None, description="Task runs done / created, for `kubectl get executions`.")
    startDate: str | None = None
    duration: str | None = Field(None, description="How long it ran, once it ended.")
    flow: dict[str, Any] | None = Field(None, description="The flow as it was when the execution started.")
    trigger: dict[str, Any] | None = Field(None, description="The trigger variables of spec.trigger, as the execution saw them.")
    restarted: int | None = Field(None, description="The spec.restart value last acted on.")
    resumed: int | None = Field(None, description="The spec.resume value last acted on.")
    taskRuns: dict[str, dict[str, Any]] | None = Field(None, description="Task runs by id: taskId, parentTaskRunId, value, state, attempts, outputs. Live ones and the latest finished ones; older finished ones are in `archive`.")
    archive: dict[str, str] | None = Field(
        None,
        description="Finished task runs moved out of `taskRuns`, in sealed chunks: chunk number -> base64 of gzip of a JSON list of task runs "
        "(`base64 -d | gunzip` reads one). A task run in `taskRuns` supersedes its archived copy; `kflow describe` shows them all.",
    )

    @classmethod
    def read(cls, status: Mapping[str, Any] | None) -> ExecutionStatus:
        """A stored status, typed; keys this version does not know (a newer operator's) are ignored."""
        known = cls.model_fields
        return cls.model_validate({k: v for k, v in (status or {}).items() if k in known})

    @classmethod
    def summary(cls, status: Mapping[str, Any] | None) -> ExecutionStatus:
        """The execution's own fields only (no task runs, archive or flow snapshot): cheap enough
        for readers of many executions at once (metrics, `kflow get`)."""
        return cls.read({k: v for k, v in (status or {}).items() if k not in _BULKY})

    @property
    def state_now(self) -> State | None:
        """The current state, None before the operator picked the Execution up."""
        try:
            return State(self.current) if self.current else None
        except ValueError:
            return None

    @property
    def ended(self) -> bool:
        return self.current in TERMINAL_STATES

    @property
    def state_info(self) -> StateInfo | None:
        """The execution's state with its histories, typed; None before the operator wrote it
        (or when edited past reading)."""
        try:
            return StateInfo.model_validate(self.state) if self.state else None
        except ValueError:
            return None

    def stored(self) -> dict[str, Any]:
        """The status as the API server holds it (what the functions below take)."""
        return self.model_dump(exclude_none=True)

    def task_runs(self, order: dict[str, int] | None = None) -> list[TaskRun]:
        """Every task run, typed, in creation order: `taskRuns` and the archived chunks.
        StatusError names a task run that is not one."""
        runs = []
        for taskrun in taskruns_from_status(self.stored(), order):
            try:
                runs.append(TaskRun.model_validate(taskrun))
            except ValidationError as err:
                problem = err.errors()[0]
                where = ".".join(str(part) for part in problem["loc"])
                raise StatusError(f"status task run {taskrun.get('id')!r}, {where}: {problem['msg']}") from None
        return runs

    def execution(self, order: dict[str, int] | None = None) -> Execution:
        """The Kestra Execution this status records (engine model), task runs included."""
        stored = self.stored()
        return execution_from_status(stored, order if order is not None else flow_order(stored.get("flow") or {}))


# -- the archive's chunk format --------------------------------------------------------------------
def encode_chunk(taskruns: list[dict[str, Any]]) -> str:
    """Task runs as the text of one archive chunk; `mtime=0` makes equal input give equal text."""
    raw = json.dumps(taskruns, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


def decode_chunk(text: str, key: str = "?") -> list[dict[str, Any]]:
    try:
        data = json.loads(gzip.decompress(base64.b64decode(text, validate=True)))
    except (ValueError, OSError, EOFError) as err:
        raise ArchiveError(f"status.archive[{key!r}] is not base64 of gzip of a JSON list of task runs: {err}") from None
    if not isinstance(data, list) or not all(isinstance(tr, dict) and "id" in tr for tr in data):
        raise ArchiveError(f"status.archive[{key!r}] should hold a JSON list of task runs, each with an id")
    return data


def chunk_keys(archive: Mapping[str, Any]) -> list[str]:
    keys = [k for k, v in archive.items() if v]
    bad = [k for k in keys if not k.isdigit()]
    if bad:
        raise ArchiveError(f"status.archive keys are chunk numbers (0, 1, ...); found {bad[0]!r}")
    return sorted(keys, key=int)


def is_terminal(taskrun: Mapping[str, Any]) -> bool:
    return ((taskrun.get("state") or {}).get("current")) in TERMINAL_STATES


# -- reading task runs -----------------------------------------------------------------------------
def taskruns_by_id(status: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every task run of a stored status, decoded, by id (archive first, then `taskRuns`)."""
    runs: dict[str, dict[str, Any]] = {}
    archive = status.get("archive") or {}
    for key in chunk_keys(archive):
        for taskrun in decode_chunk(archive[key], key):
            runs[taskrun["id"]] = taskrun
    for taskrun_id, taskrun in (status.get("taskRuns") or {}).items():
        if taskrun:
            runs[taskrun_id] = taskrun
    for taskrun_id in status.get("removed") or ():  # dropped by a restart, maybe already sealed
        runs.pop(taskrun_id, None)
    return runs


def execution_from_status(status: dict[str, Any], order: dict[str, int]) -> Execution:
    """The engine's Execution from a stored status; task runs back in creation order.

    `order` is each task's place in the flow (FlowPlan.order): runs created in the same
    instant were created in that order.
    """
    runs = [TaskRun.model_validate(tr) for tr in taskruns_by_id(status).values()]
    runs.sort(key=lambda tr: creation_key(tr.state.histories[0].date, tr.taskId, tr.iteration, order))
    data = {k: status[k] for k in ("id", "namespace", "flowId", "flowRevision", "state", "inputs", "labels", "error", "trigger", "originalId", "scheduleDate", "metadata") if status.get(k) is not None}
    return Execution.model_validate({**data, "taskRunList": []}).model_copy(update={"taskRunList": runs})


def taskruns_from_status(status: dict[str, Any], order: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Every task run of a stored status as plain JSON, in creation order: `taskRuns` and `archive` decoded.

    What anything reading an Execution's task runs (CLI, gantt, UI, tests) should use, since
    `status.taskRuns` alone holds only the live and latest ones. `order` defaults to the
    order of tasks in the status's flow snapshot. Raises ArchiveError for an unreadable chunk.
    """
    if order is None:
        order = flow_order(status.get("flow") or {})
    runs = list(taskruns_by_id(status).values())
    runs.sort(key=lambda tr: creation_key(created_at(tr), tr.get("taskId"), tr.get("iteration"), order))
    return runs


def creation_key(created: datetime, task_id: str | None, iteration: int | None, order: dict[str, int]) -> tuple:
    """How task runs sort into creation order: created first, then the task's place in the flow, then the iteration."""
    return created, order.get(task_id or "", 0), iteration or 0


def created_at(taskrun: dict[str, Any]) -> datetime:
    """When a stored task run was created (its first state's date); the earliest instant when unreadable."""
    histories = (taskrun.get("state") or {}).get("histories") or []
    try:
        return datetime.fromisoformat(histories[0]["date"])
    except (IndexError, KeyError, TypeError, ValueError):
        return datetime.min.replace(tzinfo=timezone.utc)


def flow_order(snapshot: dict[str, Any] | None) -> dict[str, int]:
    """Each task's place in a flow snapshot (`status.flow`), as the flow model orders its tasks; {} when it does not load."""
    from kflow.flow import FlowError, parse_flow  # the flow language sits beside, not under, this module

    if not snapshot:
        return {}
    try:
        flow = parse_flow(snapshot, source=f"{snapshot.get('namespace')}.{snapshot.get('id')}")
    except FlowError:
        return {}
    return flow.task_order()
