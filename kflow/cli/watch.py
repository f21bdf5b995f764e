"""Watching a cluster Execution until it ends: a live task tree with Gantt bars on a terminal,
one line per task-run change elsewhere, then every task run's outputs.

`kflow execute --watch` calls `watch_execution`. Changes arrive through the API server's watch
(no polling); the live view redraws a few times a second so running bars grow.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any

from kflow.execution import TERMINAL_STATES, Execution, TaskRun
from kflow.execution.status import ExecutionStatus


def watch_execution(client, namespace: str, name: str, console=None) -> dict[str, Any]:
    """Draw the Execution `name` until its state is final; return its final resource body.

    `client` is a kubernetes ApiClient. The view goes to `console` (default: a rich Console on
    stderr); the final outputs go to the same console's file when one is given, else stdout.
    """
    from rich.console import Console

    from kflow.client.executions import watch_execution as bodies
    from kflow.client.kube import Cluster

    stream = console.file if console is not None else sys.stdout
    console = console or Console(stderr=True)
    display = LiveDisplay(console) if console.is_terminal else PlainDisplay(console)
    body: dict[str, Any] = {}
    try:
        for body in bodies(Cluster(client, namespace, client.configuration.host), name):
            display.update(body)
            if ended(body):
                break
    finally:
        display.close()
    execution = _execution(body)
    if execution is not None:
        from kflow.local.view import summary

        summary(execution, stream)
    return body


def ended(body: dict[str, Any]) -> bool:
    return ExecutionStatus.read(body.get("status")).ended


class LiveDisplay:
    """The task tree with state, attempts, duration and a bar per task run, redrawn live."""

    def __init__(self, console):
        from rich.live import Live

        self.console = console
        self.body: dict[str, Any] = {}
        self.execution: Execution | None = None
        self.order: dict[str, int] = {}
        self.live = Live(console=console, refresh_per_second=4, get_renderable=self._render, transient=False)
        self.live.start()

    def update(self, body: dict[str, Any]) -> None:
        self.body = body
        self.execution, self.order = _execution_and_order(body, self.order)
        self.live.refresh()

    def close(self) -> None:
        self.live.stop()

    def _render(self):
        from rich.text import Text

        from kflow.gantt import GanttView, build_chart

        if self.execution is None:
            name = (self.body.get("metadata") or {}).get("name", "execution")
            return Text(f"{name}: waiting for the operator to start it…", style="dim")
        chart = build_chart(self.execution, now=datetime.now(timezone.utc), order=self.order)
        return GanttView(chart, max_rows=max(self.console.height - 3, 5))


class PlainDisplay:
    """One line per change of the execution's or a task run's state (or attempt): for logs and pipes."""

    def __init__(self, console):
        self.console = console
        self.seen: dict[str, tuple[str, int]] = {}
        self.state: str | None = None

    def update(self, body: dict[str, Any]) -> None:
        from kflow.local.view import duration

        status = ExecutionStatus.read(body.get("status"))
        name = (body.get("metadata") or {}).get("name", "?")
        runs = [tr for tr in (status.taskRuns or {}).values() if tr]
        changed = []
        for taskrun in runs:
            state = (taskrun.get("state") or {}).get("current", "CREATED")
            key = (state, len(taskrun.get("attempts") or []))
            if self.seen.get(taskrun["id"]) != key:
                self.seen[taskrun["id"]] = key
                changed.append(TaskRun.model_validate(taskrun))
        current = status.current
        announce = bool(current) and current != self.state
        if announce and current not in TERMINAL_STATES:
            self._execution_line(name, status)
        for taskrun in _in_time_order(changed):
            state = taskrun.state.current
            label = taskrun.taskId + (f"[{taskrun.value}]" if taskrun.value is not None else "")
            attempt = f" (attempt {len(taskrun.attempts)})" if len(taskrun.attempts) > 1 else ""
            took = f" in {duration(taskrun):.2f}s" if state.terminal else ""
            reason = taskrun.attempts[-1].reason if taskrun.attempts and state.failed else None
            self._line(f"{label:<30} {state.value}{attempt}{took}{': ' + reason if reason else ''}")
        if announce and current in TERMINAL_STATES:  # after the task runs that ended it
            self._execution_line(name, status)

    def _execution_line(self, name: str, status: ExecutionStatus) -> None:
        self.state = current = status.current
        error = f": {status.error}" if status.error and current in ("FAILED", "KILLED") else ""
        took = f" in {status.duration}" if status.duration and status.ended else ""
        self._line(f"execution {name} {current}{took}{error}")

    def _line(self, text: str) -> None:
        self.console.file.write(text + "\n")
        self.console.file.flush()

    def close(self) -> None:
        pass


def _in_time_order(changed: list[TaskRun]) -> list[TaskRun]:
    """As things happened; at one instant, ends first (they start what follows), children's
    before their parent's (created later), then starts in creation order. (The API server
    returns `taskRuns` sorted by id, not in creation order.)"""
    def key(taskrun: TaskRun):
        histories, ended = taskrun.state.histories, taskrun.state.current.terminal
        if not histories:
            return (0.0, True, 0.0)
        created = histories[0].date.timestamp()
        return (histories[-1].date.timestamp(), not ended, -created if ended else created)

    return sorted(changed, key=key)


def _execution(body: dict[str, Any]) -> Execution | None:
    return _execution_and_order(body, {})[0] if body else None


def _execution_and_order(body: dict[str, Any], order: dict[str, int]) -> tuple[Execution | None, dict[str, int]]:
    """The Execution of a status (None until the operator started it); the flow order is kept
    from the first body that has it: the flow snapshot never changes."""
    from kflow.client.gantt import execution_from_body

    status = ExecutionStatus.read(body.get("status"))
    if not status.id or not status.state:
        return None, order
    if order:
        return status.execution(order), order
    return execution_from_body(body)
