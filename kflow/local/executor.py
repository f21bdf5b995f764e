"""The local shell around the engine: turn its actions into processes, feed back what ended."""

from __future__ import annotations

import queue
import shutil
import signal
import threading
from datetime import datetime, timezone
from typing import Protocol

from kflow.engine import (
    Action,
    AttemptEnded,
    Engine,
    ExecutionEnded,
    KillRequested,
    KillTask,
    ResumeRequested,
    RetryExecution,
    RunTask,
    StartSubflow,
    WakeAt,
    new_execution_id,
)
from kflow.execution import Execution
from kflow.execution.model import ExecutionMetadata
from kflow.flow import Flow
from kflow.kv import KVStore
from kflow.kv.directory import DirectoryKV
from kflow.local.processes import RUN_MARKER, RUNNER_GRACE, LogLine, RunnerProcesses, scratch_dir
from kflow.runner.reaper import end_marked
from kflow.local.subflows import FlowCatalog, LocalSubflows, RunOptions
from kflow.local.workers import WorkerLimit, default_workers
from kflow.storage import StorageConfig, open_storage
from kflow.storage.attempt_logs import StoredAttemptLogs


class Observer(Protocol):
    """Whoever shows the run: a live terminal view, plain lines, or nothing."""

    def changed(self, execution: Execution, taskrun_ids: set[str]) -> None: ...

    def log(self, line: LogLine) -> None: ...


def _now() -> datetime:
    return datetime.now(timezone.utc)


class LocalExecutor:
    def __init__(self, flow: Flow, observer: Observer | None = None, storage: StorageConfig | None = None,
                 catalog: FlowCatalog | None = None, workers: int | None = None, kv: KVStore | None = None):
        self.engine = Engine(flow)
        self.kv = kv or DirectoryKV()  # the KV store: KFLOW_KV_DIR, else ~/.local/share/kflow/kv
        self.workers = workers or default_workers()  # runner processes at once (kflow run --workers)
        self.catalog = catalog or FlowCatalog([])  # where Subflow tasks find their flows
        self.observer = observer
        # Every runner is told where internal storage is (default: KFLOW_STORAGE, else ~/.kflow/storage).
        self.storage = storage or StorageConfig.from_env().resolved()
        self._kill = threading.Event()
        self._resume = threading.Event()

    def request_kill(self) -> None:
        self._kill.set()

    def request_resume(self) -> None:
        """Resume the PAUSED tasks (kflow run: Enter on the terminal, or SIGUSR1)."""
        self._resume.set()

    def run(self, options: RunOptions) -> Execution:
        """Run the flow to its end; Ctrl-C kills it (running tasks are stopped, state KILLED).

        Under the flow's retry CREATE_NEW_EXECUTION a failed try ends RETRIED and the next one
        runs (a new id, same inputs and labels); the last try is returned."""
        engine = self.engine
        execution = engine.new_execution(options.execution_id or new_execution_id(), options.inputs, _now(), options.labels)
        while True:
            execution, retry = self._run_one(execution)
            if retry is None:
                return execution
            metadata = ExecutionMetadata(attemptNumber=retry.attempt_number, originalCreatedDate=retry.original_created)
            execution = engine.new_execution(new_execution_id(), options.inputs, _now(), execution.labels,
                                             schedule_date=retry.at, metadata=metadata)

    def _run_one(self, execution: Execution) -> tuple[Execution, RetryExecution | None]:
        engine = self.engine
        self._retry: RetryExecution | None = None
        run = engine.load(execution, self.kv)
        run.logs = StoredAttemptLogs(open_storage(self.storage))  # the runners keep each attempt's log there
        workdir = scratch_dir()
        processes = RunnerProcesses(workdir)
        self._limit = WorkerLimit(processes, self.workers)
        self._subflows = LocalSubflows(self.catalog, processes.events, self._child)
        wake: datetime | None = None
        previous = _install_signals(self.request_kill)
        try:
            result = engine.start(run, _now())
            while True:
                self._notify(run.execution, result.changed)
                wake = self._apply(run, result.actions, processes, wake)
                if run.execution.state.current.terminal:
                    return run.execution, self._retry
                events = self._wait(processes, wake)
                if self._kill.is_set() and not run.killing:
                    events.append(KillRequested())
                    self._kill.clear()
                if self._resume.is_set():
                    events.append(ResumeRequested())
                    self._resume.clear()
                now = _now()
                if wake is not None and wake <= now:
                    wake = None
                result = engine.step(run, events, now)
        finally:
            processes.kill_all()
            processes.wait_all(RUNNER_GRACE + 2)
            end_marked(f"{RUN_MARKER}={workdir}")  # a script's child that outlived its runner
            self._subflows.close()
            _restore_signals(previous)
            shutil.rmtree(workdir, ignore_errors=True)

    def _child(self, flow: Flow) -> LocalExecutor:
        """The executor of a Subflow's child execution: same storage, same flow catalog."""
        return LocalExecutor(flow, None, storage=self.storage, catalog=self.catalog, kv=self.kv)

    def _apply(self, run, actions: list[Action], processes: RunnerProcesses, wake: datetime | None) -> datetime | None:
        for action in actions:
            if isinstance(action, RunTask):
                invocation = self.engine.invocation(run, action).model_copy(update={"storage": self.storage})
                self._limit.start(invocation, action.timeout)
            elif isinstance(action, StartSubflow):
                self._subflows.start(action)
            elif isinstance(action, KillTask):
                if not self._limit.kill(action.taskrun_id, action.attempt):
                    processes.kill(action.taskrun_id, action.attempt)
                self._subflows.kill(action.taskrun_id)
            elif isinstance(action, WakeAt):
                wake = action.at if wake is None else min(wake, action.at)
            elif isinstance(action, RetryExecution):
                self._retry = action
            elif isinstance(action, ExecutionEnded):
                pass
        return wake

    def _wait(self, processes: RunnerProcesses, wake: datetime | None) -> list:
        """Block until something ends, a retry is due, or a kill is asked; then drain."""
        events: list = []
        while not events:
            timeout = 0.2
            if wake is not None:
                timeout = max(0.0, min(timeout, (wake - _now()).total_seconds()))
            try:
                item = processes.events.get(timeout=timeout)
            except queue.Empty:
                if self._kill.is_set() or self._resume.is_set() or (wake is not None and wake <= _now()):
                    return events
                continue
            self._take(item, events)
            while True:
                try:
                    self._take(processes.events.get_nowait(), events)
                except queue.Empty:
                    break
        return events

    def _take(self, item, events: list) -> None:
        if isinstance(item, LogLine):
            if self.observer:
                self.observer.log(item)
        elif isinstance(item, AttemptEnded):
            self._limit.ended(item.taskrun_id, item.attempt)
            events.append(item)

    def _notify(self, execution: Execution, changed: set[str]) -> None:
        if self.observer and changed:
            self.observer.changed(execution, changed)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _install_signals(handler) -> dict:
    """Ctrl-C, SIGTERM (CI cancel, `timeout`, systemd) and SIGHUP kill the execution: its
    runners are stopped, it ends KILLED, the scratch directory is removed."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, lambda *_: handler()) for sig in _STOP_SIGNALS}


def _restore_signals(previous: dict) -> None:
    if threading.current_thread() is threading.main_thread():
        for sig, handler in previous.items():
            signal.signal(sig, handler)
