"""Reading each task attempt's log (`kflow logs`, the web UI): from the task pods while they
exist; once a pod is collected, from the bounded copy the operator kept in a ConfigMap named
after the pod (kflow.operator.pod_logs), else from the copy the runner kept in internal storage
at `.../tasks/<task>/<task run>/logs/attempt-<n>.log`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

from kflow.execution import Attempt, State, TaskRun
from kflow.execution.status import ExecutionStatus

CONTAINER = "task"
_LAST = datetime.max.replace(tzinfo=timezone.utc)  # task runs not started yet sort last


@dataclass(frozen=True)
class AttemptRef:
    """One task attempt that may have a log: where its pod and its stored copy are."""

    taskrun: TaskRun
    attempt: int
    prefix: str

    @property
    def key(self) -> tuple[str, int]:
        return (self.taskrun.id, self.attempt)


class LogReader:
    def __init__(self, cluster, execution: str, storage, prefix: bool = True):
        self.cluster = cluster
        self.execution = execution
        self.storage = storage  # a Storage, or None
        self.prefix = prefix
        self.lock = threading.Lock()
        self.missing: list[str] = []
        self._archives: dict[tuple[str, int], dict[str, Any]] | None = None  # kept logs, listed once

    # -- everything so far -------------------------------------------------------------------------
    def print_all(self, status: ExecutionStatus, task: str | None) -> None:
        for ref, lines in self.read_all(status, attempts(status, task)):
            if lines is None:
                self._missing(ref, status)
            else:
                self._emit(ref, lines)
        self._report_missing()

    def read_all(self, status: ExecutionStatus, refs) -> Iterator[tuple[AttemptRef, list[str] | None]]:
        """Each attempt's lines: from its pod while it exists, else its kept copy (ConfigMap, then storage); None when none has them."""
        pods = self._pods()
        for ref in refs:
            pod = pods.get(ref.key)
            lines = self._pod_lines(pod) if pod is not None else None
            if lines is None:
                lines = self._kept_lines(status, ref)
            yield ref, lines

    # -- live ----------------------------------------------------------------------------------------
    def follow(self, body: dict[str, Any], task: str | None) -> int:
        from kflow.client.executions import watch_execution

        followers: dict[tuple[str, int], threading.Thread] = {}
        status = ExecutionStatus.read(body.get("status"))
        for body in watch_execution(self.cluster, self.execution):
            status = ExecutionStatus.read(body.get("status"))
            for ref in attempts(status, task):
                if ref.key not in followers and _attempt_started(ref):
                    thread = threading.Thread(target=self._follow_attempt, args=(status, ref), daemon=True)
                    followers[ref.key] = thread
                    thread.start()
            if status.ended:
                break
        for thread in followers.values():
            thread.join()
        # Attempts too quick to be seen running (pods already collected): their kept logs.
        for ref in attempts(status, task):
            if ref.key not in followers:
                lines = self._kept_lines(status, ref)
                if lines is not None:
                    self._emit(ref, lines)
        self._report_missing()
        return 0 if status.current in ("SUCCESS", "WARNING") else 1

    def _follow_attempt(self, status: ExecutionStatus, ref: AttemptRef) -> None:
        from kflow.execution.names import pod_name

        name = pod_name(self.execution, ref.taskrun.taskId, ref.taskrun.id, ref.attempt)
        if not self._wait_started(name):
            lines = self._kept_lines(status, ref)
            if lines is None:
                self._missing(ref, status)
            else:
                self._emit(ref, lines)
            return
        try:
            response = self.cluster.core.read_namespaced_pod_log(name, self.cluster.namespace, container=CONTAINER, follow=True, _preload_content=False)
            pending = b""
            for chunk in response.stream(4096):
                pending += chunk
                *complete, pending = pending.split(b"\n")
                self._emit(ref, [c.decode("utf-8", "replace") for c in complete])
            if pending:
                self._emit(ref, [pending.decode("utf-8", "replace")])
        except Exception:  # the pod went away mid-stream: what is left was kept
            lines = self._kept_lines(status, ref)
            if lines is not None:
                self._emit(ref, lines)

    def _wait_started(self, name: str) -> bool:
        """True once the pod's task container runs or ran; False when the pod is gone or never ran."""
        from kubernetes.client.exceptions import ApiException

        missing_since = None
        while True:
            try:
                pod = self.cluster.core.read_namespaced_pod(name, self.cluster.namespace, _request_timeout=(5, 30))
            except ApiException as err:
                if err.status != 404:
                    return False
                missing_since = missing_since or time.monotonic()
                if time.monotonic() - missing_since > 10:
                    return False  # created and collected in between, or never created
                time.sleep(0.3)
                continue
            for container in (pod.status.container_statuses or []) if pod.status else []:
                if container.name == CONTAINER and (container.state.running or container.state.terminated):
                    return True
            if pod.status and pod.status.phase in ("Failed", "Succeeded"):
                return False
            time.sleep(0.3)

    # -- sources -------------------------------------------------------------------------------------
    def _pods(self) -> dict[tuple[str, int], Any]:
        from kflow.client.kube import call
        from kflow.execution.names import LABEL_ATTEMPT, LABEL_EXECUTION, label_value

        listing = call(self.cluster.core.list_namespaced_pod, self.cluster.namespace,
                       label_selector=f"{LABEL_EXECUTION}={label_value(self.execution)}", what=f"pods of execution {self.execution!r}")
        pods = {}
        for pod in listing.items:
            taskrun = (pod.metadata.annotations or {}).get("kflow.io/taskrun-id")
            attempt = (pod.metadata.labels or {}).get(LABEL_ATTEMPT)
            if taskrun and attempt is not None:
                pods[(taskrun, int(attempt))] = pod
        return pods

    def _pod_lines(self, pod) -> list[str] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            response = self.cluster.core.read_namespaced_pod_log(
                pod.metadata.name, self.cluster.namespace, container=CONTAINER, _request_timeout=(5, 60), _preload_content=False
            )
        except ApiException:
            return None  # never started (image pull failure, ...) or just collected
        return response.data.decode("utf-8", "replace").splitlines()

    def _kept_lines(self, status: ExecutionStatus, ref: AttemptRef) -> list[str] | None:
        """A collected pod's log: the operator's ConfigMap copy, else the runner's copy in storage."""
        lines = self._archived_lines(ref)
        return lines if lines is not None else self._stored_lines(status, ref)

    def _archived_lines(self, ref: AttemptRef) -> list[str] | None:
        from kubernetes.client.exceptions import ApiException

        from kflow.execution.names import pod_name
        from kflow.operator.pod_logs import archived_logs

        if self._archives is None:
            self._archives = self._list_archives()
        body = self._archives.get(ref.key)
        if body is None:  # kept since the listing (-f), or not listable
            name = pod_name(self.execution, ref.taskrun.taskId, ref.taskrun.id, ref.attempt)
            try:
                response = self.cluster.core.read_namespaced_config_map(name, self.cluster.namespace, _request_timeout=(5, 30), _preload_content=False)
                body = json.loads(response.data)
            except ApiException:
                return None
        logs = archived_logs(body)
        if not logs:
            return None
        lines = []
        for container, text in logs.items():
            if container != "task":  # a containerImage task's script container, when it printed anything itself
                lines.append(f"--- container {container}")
            lines.extend(text.splitlines())
        return lines

    def _list_archives(self) -> dict[tuple[str, int], dict[str, Any]]:
        from kubernetes.client.exceptions import ApiException

        from kflow.execution.names import LABEL_ATTEMPT, LABEL_EXECUTION, label_value

        try:
            response = self.cluster.core.list_namespaced_config_map(
                self.cluster.namespace, label_selector=f"{LABEL_EXECUTION}={label_value(self.execution)}", _request_timeout=(5, 60), _preload_content=False)
        except ApiException:
            return {}  # no right to list ConfigMaps: each is asked for by name
        out = {}
        for item in json.loads(response.data).get("items") or []:
            taskrun = (item["metadata"].get("annotations") or {}).get("kflow.io/taskrun-id")
            attempt = (item["metadata"].get("labels") or {}).get(LABEL_ATTEMPT)
            if taskrun and attempt is not None:
                out[(taskrun, int(attempt))] = item
        return out

    def _stored_lines(self, status: ExecutionStatus, ref: AttemptRef) -> list[str] | None:
        if self.storage is None or not status.id:
            return None
        from kflow.runner.context import TaskLocation
        from kflow.storage.base import StorageError

        location = TaskLocation(status.namespace or "", status.flowId or "", status.id, ref.taskrun.taskId, ref.taskrun.id)
        try:
            return self.storage.read_bytes(location.log_uri(ref.attempt)).decode("utf-8", "replace").splitlines()
        except (StorageError, OSError):
            return None

    # -- output --------------------------------------------------------------------------------------
    def _emit(self, ref: AttemptRef, lines: list[str]) -> None:
        with self.lock:
            for line in lines:
                sys.stdout.write(f"{ref.prefix} {line}\n" if self.prefix else f"{line}\n")
            sys.stdout.flush()

    def _missing(self, ref: AttemptRef, status: ExecutionStatus) -> None:
        attempt = ref.taskrun.attempts[ref.attempt]
        reason = attempt.reason
        if reason and not ran_in_pod(attempt):
            self._emit(ref, [f"(no pod ran: {reason})"])
            return
        with self.lock:
            self.missing.append(f"{ref.prefix} attempt {ref.attempt}")

    def _report_missing(self) -> None:
        if not self.missing:
            return
        hint = "" if self.storage is not None else "; pass --storage (or set KFLOW_STORAGE) to read the logs runners kept in internal storage"
        print(f"kflow: no log found for {', '.join(self.missing)} (pod collected, no copy kept in a ConfigMap{hint})", file=sys.stderr)


def attempts(status: ExecutionStatus, task: str | None = None) -> Iterator[AttemptRef]:
    """Attempts of runnable task runs, task runs in the order they started."""
    from kflow.client.executions import label, tree

    runnable = runnable_tasks(status.flow)
    runs = [run for _, run in tree(status) if (task is None or run.taskId == task) and run.taskId in runnable]
    runs.sort(key=lambda run: _started(run) or _LAST)
    for run in runs:
        name = label(run)
        for number in range(len(run.attempts)):
            prefix = f"[{name}]" if number == 0 else f"[{name} #{number}]"
            yield AttemptRef(run, number, prefix)


def _started(run: TaskRun) -> datetime | None:
    histories = run.state.histories
    return next((h.date for h in histories if h.state == State.RUNNING), histories[0].date if histories else None)


def runnable_tasks(flow: dict[str, Any] | None) -> set[str]:
    """Task ids of the flow snapshot whose type runs in a pod (not Sequential, Parallel, ...)."""
    from kflow.flow.registry import UnknownTaskType, task_class
    from kflow.flow.task import RunnableTask

    out: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("id"), str) and isinstance(node.get("type"), str):
                try:
                    if issubclass(task_class(node["type"]), RunnableTask):
                        out.add(node["id"])
                except UnknownTaskType:
                    pass
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(flow or {})
    return out


def task_ids(status: ExecutionStatus) -> set[str]:
    return {run.taskId for run in status.task_runs()}


def _attempt_started(ref: AttemptRef) -> bool:
    return ref.taskrun.attempts[ref.attempt].state.current != State.CREATED


def ran_in_pod(attempt: Attempt) -> bool:
    return any(h.state == State.RUNNING for h in attempt.state.histories)


def open_log_storage(flag: str | None):
    """The internal storage runners keep logs in: --storage, else KFLOW_STORAGE, else None."""
    import os

    from kflow.client.inputs import UsageError
    from kflow.storage import StorageConfig, open_storage

    text = flag or os.environ.get("KFLOW_STORAGE")
    if not text:
        return None
    try:
        config = StorageConfig.parse(text) if flag else StorageConfig.from_env()
        return open_storage(config.resolved())
    except ValueError as err:
        raise UsageError(f"--storage/KFLOW_STORAGE: {err}") from None
