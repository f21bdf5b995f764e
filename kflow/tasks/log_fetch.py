"""Kestra's log Fetch (io.kestra.plugin.core.log.Fetch): an execution's log lines, as a file.

Resolved by the engine, where the logs are (no pod, no process: runner pods have no API
access): the shell gives the execution an `AttemptLogs` (kflow.attempt_logs) that reads each
attempt's log (locally the runners' copies in internal storage; on a cluster the task pods,
their ConfigMap copies, then storage). The rows go to internal storage at the task run's own
URI, `.../tasks/<task>/<task run>/logs.ion`: one JSON object a line (Ion text, since JSON is),
with Kestra's LogEntry fields. Bounded: at most MAX_ROWS rows and MAX_BYTES of logs read; past
either the file ends there and the `truncated` output is true.

Only the current execution's logs: kflow keeps no index of other executions' logs, so another
`executionId` (or `namespace`/`flowId`) fails the task naming the property.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from kflow.attempt_logs import LEVELS, log_entry, read_attempts
from kflow.execution import State
from kflow.flow.flowable import FlowableTask
from kflow.flow.node import ChildSpec, Node

if TYPE_CHECKING:
    from kflow.attempt_logs import AttemptLogs
    from kflow.execution import Execution

MAX_ROWS = 100_000
MAX_BYTES = 16 * 1024 * 1024


@dataclass
class Fetched:
    """The file's bytes, its row count, and whether a bound cut it short."""

    data: bytes
    size: int
    truncated: bool


def fetch_rows(execution: Execution, logs: AttemptLogs, min_level: str, task_ids: set[str] | None,
               skip_taskrun: str | None, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES) -> Fetched:
    """Every kept log line of the execution's attempts at `min_level` or above (task runs in
    creation order, attempts in order), as JSON lines with Kestra's LogEntry fields."""
    threshold = LEVELS.index(min_level)
    out: list[bytes] = []

    def skip(taskrun) -> bool:
        return taskrun.id == skip_taskrun or (task_ids is not None and taskrun.taskId not in task_ids)

    for log in read_attempts(execution, logs, max_bytes, skip):
        if len(out) >= max_rows:
            return Fetched(b"".join(out), len(out), True)
        for row in log.rows:
            if LEVELS.index(row.level) < threshold:
                continue
            if len(out) >= max_rows:
                return Fetched(b"".join(out), len(out), True)
            entry = log_entry(execution, log.taskrun, log.attempt, row.timestamp, row.level, row.message)
            out.append(json.dumps(entry, ensure_ascii=False).encode() + b"\n")
        if log.cut:
            return Fetched(b"".join(out), len(out), True)
    return Fetched(b"".join(out), len(out), False)


class Fetch(FlowableTask):
    """Fetch execution logs and store them in a file (outputs `size`, `uri`; `truncated` past a bound)."""

    executionId: str | None = Field(None, description="The execution; default and only supported value: the current one. Rendered.")
    namespace: str | None = Field(None, description="With executionId: the flow's namespace (only the current flow's is supported). Rendered.")
    flowId: str | None = Field(None, description="With executionId: the flow (only the current flow is supported). Rendered.")
    tasksId: list[str] | None = Field(None, description="Only these tasks' logs.")
    level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] = Field("INFO", description="The lowest level fetched.")

    def next_children(self, node: Node) -> list[ChildSpec]:
        return []

    def resolve_state(self, node: Node) -> State | None:
        from kflow.uris import task_uri

        execution = node.execution()
        for name, current in (("executionId", execution.id), ("namespace", execution.namespace), ("flowId", execution.flowId)):
            given = getattr(self, name)
            wanted = str(node.render(given)) if given is not None else current
            if wanted != current:
                raise ValueError(f"{name} {wanted!r}: only the current execution's logs can be fetched "
                                 f"(its {name} is {current!r}); kflow keeps no index of other executions' logs")
        logs = node.attempt_logs()
        fetched = fetch_rows(execution, logs, self.level, set(self.tasksId) if self.tasksId is not None else None, node.taskrun.id)
        uri = task_uri(execution.namespace, execution.flowId, execution.id, self.id, node.taskrun.id, "logs.ion")
        logs.store(fetched.data, uri)
        outputs: dict[str, Any] = {"size": fetched.size, "uri": uri}
        if fetched.truncated:
            outputs["truncated"] = True
        node.set_outputs(**outputs)
        return State.SUCCESS
