"""Runner processes: start one per task attempt, stream its log, report how it ended."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from kflow.engine import AttemptEnded
from kflow.execution import State
from kflow.local.forked import ForkedRunner, ForkServer
from kflow.runner.invocation import Envelope, Invocation, TaskResult
from kflow.runner.reaper import descendants, end_group
from kflow.runner.secrets import STORAGE_CREDENTIAL_VARS, resolve_for, storage_credentials

RUN_MARKER = "KFLOW_RUN_SCRATCH"
RUNNER_GRACE = 5.0  # seconds between SIGTERM and SIGKILL for a runner (it ends its script first)


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
        self._procs: dict[tuple[str, int], subprocess.Popen | ForkedRunner] = {}
        self._forks = ForkServer(runner_environment(workdir), workdir)
        self._forks.warm()  # it imports the runner while the engine starts
        self._why_killed: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    def start(self, invocation: Invocation, timeout: float | None) -> None:
        key = (invocation.taskRunId, invocation.attempt)
        base = self.workdir / f"{invocation.taskRunId}.{invocation.attempt}"
        result_path = base.with_suffix(".result.json")
        # The invocation, the task's own secrets and the storage credentials go on stdin: not
        # in the runner's environment (which its scripts could read), nor in a file.
        envelope = Envelope(invocation=invocation, secrets=resolve_for(invocation.task), storageCredentials=storage_credentials())
        proc = self._forks.start(["--envelope", "--result", str(result_path)], runner_environment(self.workdir))
        with self._lock:
            self._procs[key] = proc
        task_id = invocation.task.get("id", "?")
        threading.Thread(target=self._feed, args=(proc, envelope.model_dump_json()), daemon=True).start()
        threading.Thread(target=self._watch, args=(key, task_id, proc, result_path), daemon=True).start()
        if timeout is not None:
            timer = threading.Timer(timeout, self.kill, args=(key[0], key[1], f"timed out after {timeout:g}s (task timeout)"))
            timer.daemon = True
            timer.start()

    @staticmethod
    def _feed(proc: subprocess.Popen | ForkedRunner, payload: str) -> None:
        try:
            assert proc.stdin is not None
            proc.stdin.write(payload)
            proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the runner is already gone: its end is reported by _watch

    def kill(self, taskrun_id: str, attempt: int, why: str = "killed") -> None:
        """SIGTERM the runner's process group (the runner ends its script's group), then, after
        RUNNER_GRACE seconds, SIGKILL it and every process still below it."""
        key = (taskrun_id, attempt)
        with self._lock:
            proc = self._procs.get(key)
            if proc is None or proc.poll() is not None or key in self._why_killed:
                return
            self._why_killed[key] = why
        below = descendants(proc.pid)  # scripts lead sessions of their own: remember them now
        threading.Thread(target=end_group, args=(proc.pid, RUNNER_GRACE, below), daemon=True).start()

    def kill_all(self) -> None:
        with self._lock:
            keys = list(self._procs)
        for taskrun_id, attempt in keys:
            self.kill(taskrun_id, attempt)

    def wait_all(self, timeout: float) -> None:
        """Wait (at most `timeout` s) until every runner started has ended."""
        with self._lock:
            procs = list(self._procs.values())
        for proc in procs:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._forks.close()

    def _watch(self, key: tuple[str, int], task_id: str, proc: subprocess.Popen | ForkedRunner, result_path: Path) -> None:
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


def runner_environment(scratch: Path) -> dict[str, str]:
    """This process's environment without secrets or storage credentials (a runner gets those
    on its stdin, only the ones its task needs); temp files go under the run's scratch
    directory, so they are removed with it even when a runner had to be SIGKILLed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECRET_") and k not in STORAGE_CREDENTIAL_VARS}
    env.pop("KFLOW_SECRETS_DIR", None)
    env["PYTHONUNBUFFERED"] = "1"
    env["TMPDIR"] = str(scratch)
    env[RUN_MARKER] = str(scratch)  # inherited by scripts and their children: see end_marked
    return env


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="kflow-run-"))
