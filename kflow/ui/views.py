"""What the web UI shows, as plain JSON built from Flow and Execution resources. Pure: no I/O.

Every read of an Execution's status goes through `kflow.execution.status.ExecutionStatus`, the
one contract the operator writes; task runs (archived chunks included) through its `task_runs`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel

from kflow.execution import TaskRun
from kflow.execution.status import ArchiveError, ExecutionStatus, flow_order
from kflow.ui import taskruns

PARENT_LABEL = "kflow.io/parent-execution"
TASK_PAGE = 200  # task runs per page of an execution's task list


class ExecutionSummary(BaseModel):
    """One row of the executions list; what the watch hub keeps per Execution (small, on purpose)."""

    namespace: str
    name: str
    flow: str  # the Flow resource's name (spec.flowRef)
    flowId: str | None = None
    state: str
    progress: str | None = None
    start: str | None = None  # RFC 3339
    end: str | None = None  # RFC 3339, once ended
    created: str | None = None
    labels: dict[str, str] = {}
    error: str | None = None
    parent: str | None = None  # the parent Execution's name, for a subflow's child

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


def execution_summary(body: dict[str, Any]) -> ExecutionSummary:
    meta, spec = body.get("metadata") or {}, body.get("spec") or {}
    status = ExecutionStatus.read(body.get("status"))
    histories = (status.state or {}).get("histories") or []
    end = histories[-1].get("date") if status.ended and histories else None
    return ExecutionSummary(
        namespace=meta.get("namespace") or "",
        name=meta.get("name") or "",
        flow=(spec.get("flowRef") or {}).get("name") or "",
        flowId=status.flowId,
        state=status.current or "PENDING",
        progress=status.progress,
        start=status.startDate or (histories[0].get("date") if histories else None),
        end=end,
        created=meta.get("creationTimestamp"),
        labels=status.labels or spec.get("labels") or {},
        error=_first_line(status.error),
        parent=(meta.get("labels") or {}).get(PARENT_LABEL),
    )


def duration_seconds(start: str | None, end: str | None, now: datetime) -> float | None:
    began = instant(start)
    if began is None:
        return None
    finished = instant(end) or now
    return max((finished - began).total_seconds(), 0.0)


def execution_detail(body: dict[str, Any], runnable: set[str], now: datetime | None = None,
                     page: int = 0, size: int = TASK_PAGE, task: str | None = None) -> dict[str, Any]:
    """Everything the execution page shows: summary, inputs, outputs, history, actions, and one page
    of task runs (of one task when `task` is given): a 5,000-run execution sends 200 rows, not 5,000."""
    now = now or datetime.now(timezone.utc)
    summary = execution_summary(body)
    spec = body.get("spec") or {}
    status = ExecutionStatus.read(body.get("status"))
    order = flow_order(status.flow)
    problem = None
    stored = status.stored()
    try:
        runs = taskruns.index(stored, order)  # compact entries: only the page shown is decoded in full and typed
    except (ArchiveError, ValueError) as err:  # a status edited by hand: say so, show what is readable
        runs, problem = [], str(err)
    matching = [(run, depth) for run, depth in tree_order(runs) if task is None or run.task == task]
    pages = max((len(matching) + size - 1) // size, 1)
    page = min(max(page, 0), pages - 1)
    shown = matching[page * size:(page + 1) * size]
    full = taskruns.full_runs(stored, [run for run, _ in shown])
    rows = [_row(TaskRun.model_validate(full[run.id]), depth, run.task in runnable, now) for run, depth in shown]
    return {
        **summary.model_dump(),
        "duration": duration_seconds(summary.start, summary.end, now),
        "id": status.id,
        "kestraNamespace": status.namespace,
        "flowRevision": status.flowRevision,
        "inputs": status.inputs if status.inputs is not None else spec.get("inputs") or {},
        "outputs": status.outputs or {},
        "error": status.error or problem,
        "originalId": status.originalId,
        "replayOf": (spec.get("replay") or {}).get("execution"),
        "history": [{"state": h.get("state"), "date": h.get("date")} for h in (status.state or {}).get("histories") or []],
        "kill": bool(spec.get("kill")),
        "taskRuns": rows,
        "taskRunsTotal": len(runs),
        "taskRunsMatching": len(matching),
        "taskFilter": task,
        "taskPage": page,
        "taskPages": pages,
        "taskPageSize": size,
        "taskStates": task_states(runs),
        "actions": {
            "kill": not status.ended,
            "restart": status.current in ("FAILED", "KILLED"),
            "resume": any(run.state == "PAUSED" for run in runs),
            "replay": status.ended,
        },
    }


def tree_order(runs: list[taskruns.Entry]) -> list[tuple[taskruns.Entry, int]]:
    """Task runs with their depth, parents first and children under them, siblings as given."""
    ids = {run.id for run in runs}
    children: dict[str | None, list[taskruns.Entry]] = {}
    for run in runs:
        children.setdefault(run.parent if run.parent in ids else None, []).append(run)
    out: list[tuple[taskruns.Entry, int]] = []
    stack = [(run, 0) for run in reversed(children.get(None, []))]
    while stack:  # depth first without recursion: deep trees are fine
        run, depth = stack.pop()
        out.append((run, depth))
        stack.extend((kid, depth + 1) for kid in reversed(children.get(run.id, [])))
    return out


def _row(run: TaskRun, depth: int, runnable: bool, now: datetime) -> dict[str, Any]:
    start = run.state.start_date
    end = run.state.end_date
    return {
        "id": run.id,
        "taskId": run.taskId,
        "value": run.value,
        "parent": run.parentTaskRunId,
        "depth": depth,
        "state": run.state.current.value,
        "start": _iso(start),
        "duration": ((end or now) - start).total_seconds() if start else None,
        "runnable": runnable,
        "attempts": [
            {"state": a.state.current.value, "reason": a.reason,
             "start": _iso(a.state.start_date),
             "duration": ((a.state.end_date or now) - a.state.start_date).total_seconds() if a.state.start_date else None}
            for a in run.attempts
        ],
        "outputs": run.outputs or {},
        "history": [{"state": h.state.value, "date": _iso(h.date)} for h in run.state.histories],
    }


# -- flows --------------------------------------------------------------------------------------------
def flow_summary(body: dict[str, Any], last: list[ExecutionSummary]) -> dict[str, Any]:
    meta, spec, status = body.get("metadata") or {}, body.get("spec") or {}, body.get("status") or {}
    condition = next((c for c in status.get("conditions") or [] if c.get("type") == "Valid"), {})
    return {
        "namespace": meta.get("namespace") or "",
        "name": meta.get("name") or "",
        "id": spec.get("id") or meta.get("name"),
        "kestraNamespace": spec.get("namespace"),
        "description": spec.get("description"),
        "labels": _labels(spec.get("labels")),
        "revision": status.get("revision"),
        "valid": status.get("valid"),
        "problem": condition.get("message") if condition.get("status") == "False" else None,
        "lastExecutions": [{"name": e.name, "state": e.state, "start": e.start} for e in last],
    }


def flow_detail(body: dict[str, Any], executions: list[ExecutionSummary]) -> dict[str, Any]:
    """A flow's page: its YAML, its typed inputs (for the Execute form), its task topology."""
    import yaml

    from kflow.flow import FlowError
    from kflow.operator.flows import flow_from_resource

    detail = flow_summary(body, executions[:10])
    detail["yaml"] = yaml.safe_dump(body.get("spec") or {}, sort_keys=False, allow_unicode=True)
    now = datetime.now(timezone.utc)
    detail["executions"] = [{**e.model_dump(), "duration": duration_seconds(e.start, e.end, now)} for e in executions]
    try:
        flow = flow_from_resource(body)
    except FlowError as err:
        detail.update(inputs=[], topology=None, problem=str(err))
        return detail
    detail["inputs"] = [input_form_field(i) for i in flow.inputs]
    detail["topology"] = flow_topology(flow)
    return detail


def flow_topology(flow) -> dict[str, Any]:
    """The flow's task tree (`tree`) and its graph laid out for drawing (`graph`, kflow/ui/topology.py)."""
    from kflow.ui.topology import layout

    tree = {
        "branches": [
            {"name": name, "tasks": [topology_node(t) for t in tasks]}
            for name, tasks in (("tasks", flow.tasks), ("errors", flow.errors), ("finally", flow.finally_)) if tasks
        ]
    }
    return {**tree, "graph": layout(tree)}


def snapshot_topology(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
    """The topology of an Execution's flow snapshot (`status.flow`); None when it does not load."""
    from kflow.flow import FlowError, parse_flow

    if not snapshot:
        return None
    try:
        flow = parse_flow(snapshot, source=f"{snapshot.get('namespace')}.{snapshot.get('id')}")
    except FlowError:
        return None
    return flow_topology(flow)


def task_states(runs: list[taskruns.Entry]) -> dict[str, dict[str, Any]]:
    """Per task id: its runs' state summed up (a running one shows first, else the worst end) and how many."""
    from kflow.gantt.aggregate import rollup_state

    states: dict[str, list[str]] = {}
    for run in runs:
        states.setdefault(run.task, []).append(run.state)
    return {task: {"state": rollup_state(found), "runs": len(found)} for task, found in states.items()}


def input_form_field(declared) -> dict[str, Any]:
    """One input as the Execute form needs it: its declaration, as JSON, with Kestra's names."""
    data = declared.model_dump(mode="json", by_alias=True, exclude_none=True)
    if data.get("type") == "MULTISELECT" and "values" not in data:
        data["values"] = data.get("options") or []
    return data


def topology_node(task) -> dict[str, Any]:
    """A task and, for a flowable, its branches of child tasks (Dag items with their dependsOn)."""
    node: dict[str, Any] = {"id": task.id, "type": task.type.rsplit(".", 1)[-1], "flowable": task.flowable}
    if task.disabled:
        node["disabled"] = True
    child_flow = task.subflow_id()
    if child_flow:
        node["subflow"] = ".".join(str(part) for part in child_flow)
    depends = {item.task.id: item.dependsOn for item in getattr(task, "tasks", None) or [] if hasattr(item, "dependsOn")}
    branches = []
    cases = getattr(task, "cases", None)
    for name, tasks in task.branch_lists():
        if name == "cases" and isinstance(cases, dict):
            continue  # named one by one below
        branches.append({"name": name.rstrip("_"), "tasks": [topology_node(t) for t in tasks]})
    if isinstance(cases, dict):
        branches[:0] = [{"name": f"case {key}", "tasks": [topology_node(t) for t in tasks or []]} for key, tasks in cases.items()]
    if depends:
        for branch in branches:
            for child in branch["tasks"]:
                if child["id"] in depends:
                    child["dependsOn"] = depends[child["id"]]
    if branches:
        node["branches"] = branches
    return node


# -- dashboard ----------------------------------------------------------------------------------------
def dashboard(summaries: list[ExecutionSummary], now: datetime, hours: int = 24) -> dict[str, Any]:
    """Executions by state per hour over the last `hours`, the slowest and the most failing flows."""
    buckets: list[dict[str, int]] = [{} for _ in range(hours)]
    states: dict[str, int] = {}
    per_flow: dict[tuple[str, str], dict[str, Any]] = {}
    for item in summaries:
        states[item.state] = states.get(item.state, 0) + 1
        began = instant(item.start or item.created)
        if began is not None:
            age = int((now - began).total_seconds() // 3600)
            if 0 <= age < hours:
                bucket = buckets[hours - 1 - age]
                bucket[item.state] = bucket.get(item.state, 0) + 1
        stats = per_flow.setdefault((item.namespace, item.flow), {"namespace": item.namespace, "flow": item.flow, "runs": 0, "failed": 0, "total": 0.0, "timed": 0})
        stats["runs"] += 1
        if item.state in ("FAILED", "KILLED", "CANCELLED"):
            stats["failed"] += 1
        if item.end:
            seconds = duration_seconds(item.start, item.end, now)
            if seconds is not None:
                stats["total"] += seconds
                stats["timed"] += 1
    flows = list(per_flow.values())
    for stats in flows:
        stats["average"] = stats["total"] / stats["timed"] if stats["timed"] else None
    slowest = sorted((f for f in flows if f["average"] is not None), key=lambda f: -f["average"])[:10]
    failing = sorted((f for f in flows if f["failed"]), key=lambda f: (-f["failed"], f["flow"]))[:10]
    start_hour = now.replace(minute=0, second=0, microsecond=0)
    timeline = [{"hour": _iso(start_hour.replace(tzinfo=timezone.utc) - timedelta(hours=hours - 1 - i)), "states": b} for i, b in enumerate(buckets)]
    return {"states": states, "timeline": timeline, "slowest": slowest, "failing": failing, "total": len(summaries)}


# -- helpers ------------------------------------------------------------------------------------------
def _labels(value: Any) -> dict[str, str]:
    if isinstance(value, list):
        return {str(i.get("key")): str(i.get("value")) for i in value if isinstance(i, dict)}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {}


def instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    offset = value.utcoffset()
    if offset:  # astimezone costs ~20 µs: only for instants not already in UTC (×5 per task run)
        value = value - offset
    return value.replace(tzinfo=None).isoformat() + "Z"


def _first_line(text: str | None, size: int = 200) -> str | None:
    if not text:
        return None
    line = " ".join(text.split())
    return line if len(line) <= size else line[: size - 1] + "…"
