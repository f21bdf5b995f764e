"""`kflow run flow.yaml --ui`: the same execution page for a local run.

`LocalRun` observes the local executor (beside the terminal view it wraps): it keeps the
execution as an Execution resource would hold it (so `views.execution_detail` reads it through
the same status contract), each attempt's log lines, and tells the hub each change for the
live page. Kill and Resume go to the executor; nothing else can be started from here.
"""

from __future__ import annotations

import threading
from typing import Any

from kflow.client.inputs import UsageError
from kflow.client.kube import Cluster, NotFound
from kflow.masking import shown_execution
from kflow.execution.status import is_terminal
from kflow.ui.hub import WatchHub

NAMESPACE = "local"


class LocalHub(WatchHub):
    """The hub without a watch: the executor publishes each change."""

    def __init__(self) -> None:
        super().__init__(None, NAMESPACE)

    def start(self) -> None:
        self.ready.set()

    def publish(self, body: dict[str, Any]) -> None:
        self._apply("MODIFIED", body)


class LocalRun:
    """Observer of a LocalExecutor and the UI's source for that one run."""

    can_execute = False
    actions = frozenset({"kill", "resume"})

    def __init__(self, flow, flow_spec: dict[str, Any], inner=None):
        self.flow = flow
        self.flow_spec = flow_spec  # the flow as written (the execution's flow snapshot)
        self.inner = inner  # the terminal view, or None
        self.executor = None
        self.hub = LocalHub()
        self.body: dict[str, Any] | None = None
        self.lines: dict[tuple[str, int], list[str]] = {}
        self.attempt_of: dict[str, int] = {}  # task run id -> its latest attempt's index
        self.lock = threading.Lock()

    # -- Observer -------------------------------------------------------------------------------------
    def changed(self, execution, taskrun_ids: set[str]) -> None:
        body = self._body(execution)
        with self.lock:
            self.body = body
            for run in execution.taskRunList:
                self.attempt_of[run.id] = max(len(run.attempts) - 1, 0)
        self.hub.publish(body)
        if self.inner is not None:
            self.inner.changed(execution, taskrun_ids)

    def log(self, line) -> None:
        with self.lock:
            key = (line.taskrun_id, self.attempt_of.get(line.taskrun_id, 0))
            self.lines.setdefault(key, []).append(line.line)
        if self.inner is not None:
            self.inner.log(line)

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()

    def _body(self, execution) -> dict[str, Any]:
        """The run as an Execution resource: status as the operator would write it (SECRET
        inputs as ******, their values masked: kflow.masking)."""
        data = shown_execution(execution.to_json(), [i.id for i in self.flow.inputs if i.type == "SECRET"])
        runs = data.pop("taskRunList", [])
        done = sum(1 for run in runs if is_terminal(run))
        histories = data["state"]["histories"]
        status = {**data, "taskRuns": {run["id"]: run for run in runs}, "current": data["state"]["current"],
                  "startDate": histories[0]["date"] if histories else None, "progress": f"{done}/{len(runs)}", "flow": self.flow_spec}
        return {"apiVersion": "kflow.io/v1alpha1", "kind": "Execution",
                "metadata": {"name": execution.id, "namespace": NAMESPACE, "creationTimestamp": status["startDate"]},
                "spec": {"flowRef": {"name": self.flow.id}, "inputs": data.get("inputs") or {}, "labels": data.get("labels") or {}},
                "status": status}

    # -- Source ---------------------------------------------------------------------------------------
    def list_flows(self, cluster, everywhere: bool) -> list[dict[str, Any]]:
        return [self._flow_body()]

    def get_flow(self, cluster, name: str) -> dict[str, Any]:
        if name != self.flow.id:
            raise NotFound(f"flow {name!r} is not the one this local run runs ({self.flow.id!r})")
        return self._flow_body()

    def get_execution(self, cluster, name: str) -> dict[str, Any]:
        with self.lock:
            body = self.body
        if body is None or body["metadata"]["name"] != name:
            raise NotFound(f"execution {name!r} is not this local run")
        return body

    def execute(self, cluster, flow_body, given, labels, storage) -> str:
        raise UsageError("a local run's UI starts no other execution: run `kflow run` again")

    def action(self, cluster, name: str, action: str) -> None:
        self.get_execution(cluster, name)
        if self.executor is None or action not in self.actions:
            raise UsageError(f"{action}: not available for a local run (kill and resume are)")
        if action == "kill":
            self.executor.request_kill()
        else:
            self.executor.request_resume()

    def replay(self, cluster, name: str, taskrun_id: str) -> str:
        raise UsageError("replay: not available for a local run")

    def storage(self, option: str | None):
        from kflow.storage import open_storage

        return open_storage(self.executor.storage) if self.executor is not None else None

    def log_lines(self, cluster, name, status, taskrun, attempt, storage) -> list[str] | None:
        with self.lock:
            return list(self.lines.get((taskrun.id, attempt), []))

    def _flow_body(self) -> dict[str, Any]:
        return {"apiVersion": "kflow.io/v1alpha1", "kind": "Flow", "metadata": {"name": self.flow.id, "namespace": NAMESPACE},
                "spec": self.flow_spec, "status": {"revision": self.flow.revision, "valid": "True"}}


def serve_local_run(run: LocalRun, port: int):
    """The UI for `run`, served from a thread on 127.0.0.1:`port`; a BackgroundServer."""
    from kflow.ui.access import Access
    from kflow.ui.command import BackgroundServer
    from kflow.ui.server import make_app

    access = Access(Cluster(None, NAMESPACE, "this machine"), all_namespaces=False)
    return BackgroundServer(make_app(access, run.hub, loopback_only=True, source=run), "127.0.0.1", port)
