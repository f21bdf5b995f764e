"""Runner processes: start one per task attempt, stream its log, report how it ended."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from kflow.engine import AttemptEnded
from kflow.execution import State
from kflow.runner.invocation import Invocation, TaskResult


@dataclass(frozen=True)
class LogLine:
    taskrun_id: str
    task_id: str
    line: str


class RunnerProcesses:
    """Every message (LogLine, AttemptEnded) arrives on one queue, in the order it happened."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.events: queue.Queue = queue.Queue()
        self._procs: dict[tuple[str, int], subprocess.Popen] = {}
        self._why_killed: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    def start(self, invocation: Invocation, timeout: float | None) -> None:
        key = (invocation.taskRunId, invocation.attempt)
        base = self.workdir / f"{invocation.taskRunId}.{invocation.attempt}"
        inv_path, result_path = base.with_suffix(".invocation.json"), base.with_suffix(".result.json")
        inv_path.write_text(invocation.model_dump_json(), encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-m", "kflow.runner", "--invocation", str(inv_path), "--result", str(result_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        with self._lock:
            self._procs[key] = proc
        task_id = invocation.task.get("id", "?")
        threading.Thread(target=self._watch, args=(key, task_id, proc, result_path), daemon=True).start()
        if timeout is not None:
            timer = threading.Timer(timeout, self.kill, args=(key[0], key[1], f"timed out after {timeout:g}s (task timeout)"))
            timer.daemon = True
            timer.start()

    def kill(self, taskrun_id: str, attempt: int, why: str = "killed") -> None:
        key = (taskrun_id, attempt)
        with self._lock:
            proc = self._procs.get(key)
            if proc is None or proc.poll() is not None:
                return
            self._why_killed[key] = why
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def kill_all(self) -> None:
        with self._lock:
            keys = list(self._procs)
        for taskrun_id, attempt in keys:
            self.kill(taskrun_id, attempt)

    def _watch(self, key: tuple[str, int], task_id: str, proc: subprocess.Popen, result_path: Path) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.events.put(LogLine(key[0], task_id, line.rstrip("\n")))
        code = proc.wait()
        with self._lock:
            self._procs.pop(key, None)
            why_killed = self._why_killed.pop(key, None)
        self.events.put(_ended(key, code, result_path, why_killed))


def _ended(key: tuple[str, int], code: int, result_path: Path, why_killed: str | None) -> AttemptEnded:
    taskrun_id, attempt = key
    if why_killed is not None:
        state = State.KILLED if why_killed == "killed" else State.FAILED
        return AttemptEnded(taskrun_id, attempt, state, reason=why_killed)
    try:
        result = TaskResult.model_validate_json(result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, json.JSONDecodeError):
        return AttemptEnded(taskrun_id, attempt, State.FAILED, reason=f"the runner exited with code {code} and no result")
    children = tuple(result.children) if result.children is not None else None
    return AttemptEnded(taskrun_id, attempt, State(result.state), result.outputs, result.reason, children=children)


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="kflow-run-"))
