"""Where the UI's Flows and Executions come from, and where its actions go.

`ClusterSource`: the Kubernetes API, through the functions the CLI uses too (`kflow.client.control`,
`kflow.client.create`, `kflow.client.logs`). `kflow/ui/local.py` has the other one, for
`kflow run --ui`: the local executor's execution in memory. Methods are blocking (the server
runs them in threads); `cluster` is the request's `kflow.client.kube.Cluster`.
"""

from __future__ import annotations

from typing import Any, Protocol

from kflow.execution import TaskRun
from kflow.execution.status import ExecutionStatus


class Source(Protocol):
    can_execute: bool
    actions: frozenset[str]  # of kill, restart, resume, replay

    def list_flows(self, cluster, everywhere: bool) -> list[dict[str, Any]]: ...

    def get_flow(self, cluster, name: str) -> dict[str, Any]: ...

    def get_execution(self, cluster, name: str) -> dict[str, Any]: ...

    def execute(self, cluster, flow_body: dict[str, Any], given: dict[str, Any], labels: dict[str, str], storage: str | None) -> str: ...

    def action(self, cluster, name: str, action: str) -> None: ...

    def replay(self, cluster, name: str, taskrun_id: str) -> str: ...

    def log_lines(self, cluster, name: str, status: ExecutionStatus, taskrun: TaskRun, attempt: int, storage: str | None) -> list[str] | None: ...

    def storage(self, option: str | None): ...


class ClusterSource:
    can_execute = True
    actions = frozenset({"kill", "restart", "resume", "replay"})

    def list_flows(self, cluster, everywhere: bool) -> list[dict[str, Any]]:
        return cluster.list("flows", all_namespaces=everywhere)

    def get_flow(self, cluster, name: str) -> dict[str, Any]:
        return cluster.get("flows", name)

    def get_execution(self, cluster, name: str) -> dict[str, Any]:
        return cluster.get("executions", name)

    def execute(self, cluster, flow_body, given, labels, storage) -> str:
        """Inputs checked (and FILE inputs uploaded) as `kflow execute` does, then the Execution created."""
        from kflow.client.create import checked_inputs, create_execution, secret_ids
        from kflow.operator.flows import flow_from_resource

        flow = flow_from_resource(flow_body)
        inputs = checked_inputs(flow, given, storage)
        return create_execution(cluster, flow_body["metadata"]["name"], inputs, labels, secret_ids(flow))["metadata"]["name"]

    def action(self, cluster, name: str, action: str) -> None:
        from kflow.client.control import request_action

        request_action(cluster, name, action)

    def replay(self, cluster, name: str, taskrun_id: str) -> str:
        from kflow.client.control import replay_execution

        return replay_execution(cluster, name, taskrun_id)["metadata"]["name"]

    def storage(self, option: str | None):
        """Internal storage (--storage, else KFLOW_STORAGE), or None when the UI was given none."""
        from kflow.client.logs import open_log_storage

        return open_log_storage(option)

    def log_lines(self, cluster, name, status, taskrun, attempt, storage) -> list[str] | None:
        """From the attempt's pod while it exists, else the copy in internal storage (as `kflow logs`)."""
        from kflow.client.logs import AttemptRef, LogReader, open_log_storage

        reader = LogReader(cluster, name, open_log_storage(storage))
        [(_, lines)] = list(reader.read_all(status, [AttemptRef(taskrun, attempt, taskrun.taskId)]))
        return lines
