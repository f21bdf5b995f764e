"""Reading an Execution resource for people: task runs as a tree, durations, following it to its end.

Reads the status through its typed model (kflow.execution.status), no engine, so `get`,
`describe`, `logs` and `execute --wait` stay quick on executions with many task runs; `watch_execution` is the one
way the CLI follows an Execution.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from kflow.client.kube import CONNECT_TIMEOUT, GROUP, VERSION, Cluster
from kflow.execution import State, StateInfo, TaskRun
from kflow.execution.status import ExecutionStatus, flow_order

_EPOCH = datetime.min.replace(tzinfo=timezone.utc)

_WATCH_SECONDS = 60  # each watch request's length; the next one resumes from the last version seen


def status_of(body: dict[str, Any]) -> ExecutionStatus:
    """An Execution resource's status, typed (empty before the operator picked it up)."""
    return ExecutionStatus.read(body.get("status"))


def tree(status: ExecutionStatus) -> list[tuple[int, TaskRun]]:
    """(depth, task run) parents first, siblings by creation, then flow order, then iteration."""
    runs = {run.id: run for run in status.task_runs()}
    order = flow_order(status.flow)
    children: dict[str | None, list[TaskRun]] = {}
    for run in runs.values():
        parent = run.parentTaskRunId
        children.setdefault(parent if parent in runs else None, []).append(run)

    def key(run: TaskRun) -> tuple:
        created = run.state.histories[0].date if run.state.histories else _EPOCH
        return (created, order.get(run.taskId, 1 << 30), run.iteration or 0, run.value or "")

    out: list[tuple[int, TaskRun]] = []

    def visit(parent: str | None, depth: int) -> None:
        for run in sorted(children.get(parent, []), key=key):
            out.append((depth, run))
            visit(run.id, depth + 1)

    visit(None, 0)
    return out


def parse_instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def span(state: StateInfo | None, now: datetime | None = None) -> float | None:
    """Seconds from the first RUNNING (else first) history to the end (or now, while running)."""
    if state is None or not state.histories:
        return None
    start = next((h.date for h in state.histories if h.state == State.RUNNING), state.histories[0].date)
    end = state.histories[-1].date if state.current.terminal else (now or datetime.now(timezone.utc))
    return max((end - start).total_seconds(), 0.0)


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def label(run: TaskRun) -> str:
    return f"{run.taskId}[{run.value}]" if run.value not in (None, "") else run.taskId


def wait_for_end(cluster: Cluster, name: str, on_update: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The Execution once its state is final, watching it (no polling delay); `on_update` sees
    each version on the way."""
    for body in watch_execution(cluster, name):
        if on_update is not None:
            on_update(body)
        if status_of(body).ended:
            return body
    raise AssertionError("unreachable")  # pragma: no cover


def watch_execution(cluster: Cluster, name: str) -> Iterator[dict[str, Any]]:
    """The Execution now, then each new version of it as the API server's watch reports them:
    the one way the CLI follows an Execution (`execute --wait/--watch`, `logs -f`).

    Each watch request resumes from the last version seen; an expired version (410) or a
    dropped stream reads the Execution afresh, which reports a real outage or its deletion.
    """
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    from kflow.client.kube import NotFound, api_error

    what = f"execution {name!r} in namespace {cluster.namespace!r}"
    while True:
        body = cluster.get("executions", name)
        yield body
        version = body["metadata"]["resourceVersion"]
        try:
            while True:
                events = watch.Watch().stream(
                    cluster.custom.list_namespaced_custom_object, GROUP, VERSION, cluster.namespace, "executions",
                    field_selector=f"metadata.name={name}", resource_version=version,
                    timeout_seconds=_WATCH_SECONDS, _request_timeout=(CONNECT_TIMEOUT, _WATCH_SECONDS + 30),
                )
                for event in events:
                    obj = event["object"]
                    version = (obj.get("metadata") or {}).get("resourceVersion", version)
                    if event["type"] == "DELETED":
                        raise NotFound(f"{what} was deleted while being watched")
                    if event["type"] in ("ADDED", "MODIFIED"):
                        yield obj
        except ApiException as err:
            if err.status != 410:  # 410 Gone: our version is too old; read it afresh
                raise api_error(err, what) from None
        except (HTTPError, OSError):
            pass  # a dropped stream: read it afresh
