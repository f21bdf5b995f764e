"""Reading an Execution resource for people: task runs as a tree, durations, following it to its end.

Works on the stored status as plain JSON (no engine), so `get`, `describe`, `logs` and
`execute --wait` stay quick on executions with many task runs; `watch_execution` is the one
way the CLI follows an Execution.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from kflow.client.kube import CONNECT_TIMEOUT, GROUP, VERSION, Cluster
from kflow.execution.states import TERMINAL_STATES

_WATCH_SECONDS = 60  # each watch request's length; the next one resumes from the last version seen


def status_of(body: dict[str, Any]) -> dict[str, Any]:
    return body.get("status") or {}


def taskruns(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every task run by id, archived chunks included when the operator compacts its status."""
    from kflow.execution.status import taskruns_by_id

    return taskruns_by_id(status)


def tree(status: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(depth, task run) parents first, siblings by creation, then flow order, then iteration."""
    from kflow.execution.status import flow_order

    runs = taskruns(status)
    order = flow_order(status.get("flow"))
    children: dict[str | None, list[dict[str, Any]]] = {}
    for run in runs.values():
        parent = run.get("parentTaskRunId")
        children.setdefault(parent if parent in runs else None, []).append(run)

    def key(run: dict[str, Any]) -> tuple:
        return (created(run) or "", order.get(run.get("taskId"), 1 << 30), run.get("iteration") or 0, run.get("value") or "")

    out: list[tuple[int, dict[str, Any]]] = []

    def visit(parent: str | None, depth: int) -> None:
        for run in sorted(children.get(parent, []), key=key):
            out.append((depth, run))
            visit(run["id"], depth + 1)

    visit(None, 0)
    return out


def created(run: dict[str, Any]) -> str | None:
    histories = (run.get("state") or {}).get("histories") or []
    return histories[0].get("date") if histories else None


def parse_instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def span(state: dict[str, Any] | None, now: datetime | None = None) -> float | None:
    """Seconds from the first RUNNING (else first) history to the end (or now, while running)."""
    histories = (state or {}).get("histories") or []
    if not histories:
        return None
    running = next((h for h in histories if h.get("state") == "RUNNING"), histories[0])
    start = parse_instant(running.get("date"))
    end = parse_instant(histories[-1].get("date")) if (state or {}).get("current") in TERMINAL_STATES else (now or datetime.now(timezone.utc))
    if start is None or end is None:
        return None
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


def label(run: dict[str, Any]) -> str:
    value = run.get("value")
    return f"{run.get('taskId')}[{value}]" if value not in (None, "") else str(run.get("taskId"))


def wait_for_end(cluster: Cluster, name: str, on_update: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The Execution once its state is final, watching it (no polling delay); `on_update` sees
    each version on the way."""
    for body in watch_execution(cluster, name):
        if on_update is not None:
            on_update(body)
        if status_of(body).get("current") in TERMINAL_STATES:
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
