"""Reading an Execution resource for people: task runs as a tree, durations, waiting for its end.

Works on the stored status as plain JSON (no engine, no pydantic), so `get`, `describe`, `logs`
and `execute --wait` stay quick on executions with many task runs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from kflow.cli.kube import GROUP, TERMINAL, VERSION, Cluster


def status_of(body: dict[str, Any]) -> dict[str, Any]:
    return body.get("status") or {}


def taskruns(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every task run by id, archived chunks included when the operator compacts its status."""
    from kflow.operator.status_archive import taskruns_by_id

    return taskruns_by_id(status)


def task_order(flow: dict[str, Any] | None) -> dict[str, int]:
    """Each task id's place in the flow as written (the order runs created together are shown)."""
    order: dict[str, int] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("id"), str) and isinstance(node.get("type"), str):
                order.setdefault(node["id"], len(order))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for key in ("tasks", "errors", "finally"):
        walk((flow or {}).get(key))
    return order


def tree(status: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(depth, task run) parents first, siblings by creation, then flow order, then iteration."""
    runs = taskruns(status)
    order = task_order(status.get("flow"))
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
    end = parse_instant(histories[-1].get("date")) if (state or {}).get("current") in TERMINAL | {"SKIPPED", "RETRIED"} else (now or datetime.now(timezone.utc))
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
        if status_of(body).get("current") in TERMINAL:
            return body
    raise AssertionError("unreachable")  # pragma: no cover


def watch_execution(cluster: Cluster, name: str) -> Iterator[dict[str, Any]]:
    """Every version of one Execution from now on, re-listing when a watch expires or drops."""
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    from kflow.cli.kube import NotFound, call

    while True:
        listing = call(
            cluster.custom.list_namespaced_custom_object, GROUP, VERSION, cluster.namespace, "executions",
            field_selector=f"metadata.name={name}", what=f"execution {name!r} in namespace {cluster.namespace!r}",
        )
        items = listing.get("items") or []
        if not items:
            raise NotFound(f"execution {name!r} in namespace {cluster.namespace!r} not found (deleted?)")
        yield items[0]
        version = listing["metadata"]["resourceVersion"]
        stream = watch.Watch().stream(
            cluster.custom.list_namespaced_custom_object, GROUP, VERSION, cluster.namespace, "executions",
            field_selector=f"metadata.name={name}", resource_version=version, timeout_seconds=60,
            _request_timeout=(5, 90),
        )
        try:
            for event in stream:
                if event["type"] == "DELETED":
                    raise NotFound(f"execution {name!r} was deleted")
                if event["type"] in ("ADDED", "MODIFIED"):
                    yield event["object"]
        except (ApiException, HTTPError, OSError):
            pass  # an expired resourceVersion (410) or a dropped stream: list again (which reports a real outage)
