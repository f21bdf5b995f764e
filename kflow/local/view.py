"""Showing a local run: a live task tree on a terminal, plain lines elsewhere, then a summary."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import TextIO

from kflow.execution import Execution, State, TaskRun
from kflow.local.processes import LogLine

_STYLE = {
    State.CREATED: "dim",
    State.RUNNING: "cyan",
    State.RETRYING: "yellow",
    State.SUCCESS: "green",
    State.WARNING: "yellow",
    State.FAILED: "red",
    State.KILLED: "magenta",
    State.KILLING: "magenta",
    State.SKIPPED: "dim",
}
_ICON = {State.SUCCESS: "✔", State.WARNING: "!", State.FAILED: "✘", State.KILLED: "■", State.SKIPPED: "-"}
_TREE_LIMIT = 80  # beyond this many task runs, the live view shows counts and running ones


def duration(taskrun_or_execution, now: datetime | None = None) -> float:
    state = taskrun_or_execution.state
    start = state.start_date
    if start is None:
        return 0.0
    end = state.end_date or now or datetime.now(timezone.utc)
    return max((end - start).total_seconds(), 0.0)


def _label(taskrun: TaskRun) -> str:
    return taskrun.taskId + (f"[{taskrun.value}]" if taskrun.value is not None else "")


class PlainView:
    """One line per task run transition and per log line: good for CI logs and pipes."""

    def __init__(self, stream: TextIO = sys.stderr):
        self.stream = stream
        self._seen: dict[str, State] = {}
        self._positions: dict[str, int] = {}
        self._execution_id: str | None = None

    def changed(self, execution: Execution, taskrun_ids: set[str]) -> None:
        if execution.id != self._execution_id:  # a flow retry's new try: its own task runs
            self._execution_id, self._positions = execution.id, {}
        runs = execution.taskRunList  # append-only but for a restart's dropped `errors` runs
        if any(self._positions.get(i, len(runs)) >= len(runs) or runs[self._positions[i]].id != i
               for i in taskrun_ids if i in self._positions):
            self._positions = {}  # runs were dropped (a flow retry): learn the positions again
        for position in range(len(self._positions), len(runs)):
            self._positions[runs[position].id] = position
        changed = [(self._positions[i], runs[self._positions[i]]) for i in taskrun_ids if i in self._positions]

        def order(item):  # by time; at one instant, starts in creation order, ends children first
            position, taskrun = item
            ended = taskrun.state.current.terminal
            return (taskrun.state.histories[-1].date, ended, -position if ended else position)

        for _, taskrun in sorted(changed, key=order):
            taskrun_id = taskrun.id
            state = taskrun.state.current
            if self._seen.get(taskrun_id) == state:
                continue
            self._seen[taskrun_id] = state
            extra = f" in {duration(taskrun):.2f}s" if state.terminal else ""
            attempt = f" (attempt {len(taskrun.attempts)})" if len(taskrun.attempts) > 1 else ""
            reason = taskrun.attempts[-1].reason if taskrun.attempts and state.failed else None
            self.stream.write(f"{_label(taskrun):<30} {state.value}{attempt}{extra}{': ' + reason if reason else ''}\n")
        self.stream.flush()

    def log(self, line: LogLine) -> None:
        self.stream.write(f"  [{line.task_id}] {line.line}\n")
        self.stream.flush()

    def close(self) -> None:
        pass


class LiveView:
    """A live tree of task runs (state, attempt, duration) with logs scrolling above it."""

    def __init__(self):
        from rich.console import Console
        from rich.live import Live

        self.console = Console(stderr=True)
        self.execution: Execution | None = None
        self.live = Live(console=self.console, refresh_per_second=8, get_renderable=self._render, transient=False)
        self.live.start()

    def changed(self, execution: Execution, taskrun_ids: set[str]) -> None:
        self.execution = execution

    def log(self, line: LogLine) -> None:
        from rich.text import Text

        self.live.console.print(Text(f"[{line.task_id}] ", style="bold") + Text(line.line))

    def close(self) -> None:
        self.live.stop()

    def _render(self):
        from rich.text import Text
        from rich.tree import Tree

        execution = self.execution
        if execution is None:
            return Text("starting…")
        head = Text(f"{execution.namespace}.{execution.flowId} ", style="bold")
        head += Text(execution.state.current.value, style=_STYLE.get(execution.state.current, ""))
        head += Text(f"  {duration(execution):.1f}s", style="dim")
        tree = Tree(head)
        runs = execution.taskRunList
        if len(runs) > _TREE_LIMIT:
            counts: dict[State, int] = {}
            for taskrun in runs:
                counts[taskrun.state.current] = counts.get(taskrun.state.current, 0) + 1
            tree.add(Text(", ".join(f"{n} {s.value}" for s, n in counts.items())))
            for taskrun in [tr for tr in runs if not tr.state.current.terminal][:20]:
                tree.add(self._line(taskrun))
            return tree
        nodes = {None: tree}
        for taskrun in runs:
            parent = nodes.get(taskrun.parentTaskRunId, tree)
            nodes[taskrun.id] = parent.add(self._line(taskrun))
        return tree

    def _line(self, taskrun: TaskRun):
        from rich.text import Text

        state = taskrun.state.current
        text = Text(f"{_ICON.get(state, '…')} {_label(taskrun)} ", style=_STYLE.get(state, ""))
        text += Text(state.value, style=_STYLE.get(state, ""))
        if len(taskrun.attempts) > 1:
            text += Text(f" attempt {len(taskrun.attempts)}", style="yellow")
        text += Text(f"  {duration(taskrun):.2f}s", style="dim")
        return text


def summary(execution: Execution, stream: TextIO = sys.stdout) -> None:
    """What ran, how it ended, and each task's outputs."""
    stream.write(f"\nExecution {execution.id} of {execution.namespace}.{execution.flowId}: "
                 f"{execution.state.current.value} in {duration(execution):.2f}s\n")
    by_id = {tr.id: tr for tr in execution.taskRunList}
    for taskrun in execution.taskRunList:
        depth = 0
        parent = taskrun.parentTaskRunId
        while parent is not None:
            depth += 1
            parent = by_id[parent].parentTaskRunId
        indent = "  " * (depth + 1)
        stream.write(f"{indent + _label(taskrun):<32} {taskrun.state.current.value:<8} {duration(taskrun):7.2f}s\n")
        if taskrun.outputs:
            for key, value in taskrun.outputs.items():
                shown = value if isinstance(value, str) else json.dumps(value, default=str)
                stream.write(f"{indent}    {key}: {shown[:300]}\n")
        if taskrun.attempts and taskrun.attempts[-1].reason and taskrun.state.current.failed:
            stream.write(f"{indent}    reason: {taskrun.attempts[-1].reason}\n")
    stream.flush()
