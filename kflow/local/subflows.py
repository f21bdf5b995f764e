"""Subflows in local mode: child executions run in threads of this process, flows found on disk."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from kflow.engine import AttemptEnded, StartSubflow
from kflow.execution import Execution, State
from kflow.flow import Flow


class FlowCatalog:
    """The flows a Subflow task may start: every flow YAML in some directories, by namespace and id."""

    def __init__(self, directories: list[Path]):
        self.directories = [Path(d) for d in directories]
        self._flows: dict[tuple[str, str], Path] | None = None

    def _scan(self) -> dict[tuple[str, str], Path]:
        import yaml

        from kflow.flow import FlowError
        from kflow.flow.bounds import BoundError, load_yaml
        from kflow.flow.load import read_document

        found: dict[tuple[str, str], Path] = {}
        for directory in self.directories:
            for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
                try:
                    data = load_yaml(read_document(path))
                except (FlowError, BoundError, yaml.YAMLError):
                    continue  # not a flow; the one asked for is reported if missing
                if isinstance(data, dict) and isinstance(data.get("id"), str) and isinstance(data.get("namespace"), str):
                    found.setdefault((data["namespace"], data["id"]), path)
        return found

    def get(self, namespace: str, flow_id: str) -> Flow:
        from kflow.flow import load_flow_file

        if self._flows is None:
            self._flows = self._scan()
        path = self._flows.get((namespace, flow_id))
        if path is None:
            where = ", ".join(str(d) for d in self.directories) or "no directory"
            raise LookupError(f"flow {namespace}.{flow_id} not found in {where}; give its directory with --flows DIR")
        return load_flow_file(path)


@dataclass
class RunOptions:
    """What one local execution starts with (`kflow run`'s arguments, or a Subflow's)."""

    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    execution_id: str | None = None


class ChildExecutor(Protocol):
    """What runs a child execution (a LocalExecutor; given, so this module needs not import it)."""

    def run(self, options: RunOptions) -> Execution: ...

    def request_kill(self) -> None: ...


class LocalSubflows:
    """Starts child executions in threads; reports each end as the Subflow attempt's end."""

    def __init__(self, catalog: FlowCatalog, events: queue.Queue, new_child: Callable[[Flow], ChildExecutor]):
        self.catalog, self.events, self.new_child = catalog, events, new_child
        self._children: dict[str, list[ChildExecutor]] = {}  # task run id -> its children's executors (ForEachItem: one per batch)
        self._threads: list[threading.Thread] = []

    def start(self, action: StartSubflow) -> None:
        from kflow.flow import FlowError
        from kflow.flow.inputs import InputsError, resolve_inputs
        from kflow.tasks.subflow import with_task_outputs

        try:
            flow = with_task_outputs(self.catalog.get(action.namespace, action.flow_id), action.outputs)
            inputs = resolve_inputs(flow.inputs, action.inputs)
        except (LookupError, FlowError, InputsError) as err:
            self._end(action, State.FAILED, None, f"task {action.task_id!r}: {err}")
            return
        child = self.new_child(flow)
        self._children.setdefault(action.taskrun_id, []).append(child)
        if not action.wait:
            self._end(action, State.SUCCESS, {"executionId": action.execution_id}, None)

        def run() -> None:
            try:
                execution = child.run(RunOptions(inputs=inputs, labels=action.labels, execution_id=action.execution_id))
            except Exception as err:  # reported as the Subflow's failure, never a hung parent
                if action.wait:
                    self._end(action, State.FAILED, None, f"subflow {flow.namespace}.{flow.id}: {type(err).__name__}: {err}")
                return
            if action.wait:
                final = execution.state.current
                state = final if final in (State.SUCCESS, State.WARNING) else State.FAILED
                reason = None if state != State.FAILED else f"subflow {flow.namespace}.{flow.id} execution {execution.id} ended {final.value}"
                outputs = {"executionId": execution.id, "state": final.value, "outputs": execution.outputs or {}}
                self._end(action, state, outputs, reason)

        thread = threading.Thread(target=run, name=f"subflow-{action.task_id}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _end(self, action: StartSubflow, state: State, outputs, reason) -> None:
        self.events.put(AttemptEnded(action.taskrun_id, action.attempt, state, outputs, reason, iteration=action.iteration))

    def kill(self, taskrun_id: str) -> None:
        for child in self._children.get(taskrun_id, ()):
            child.request_kill()

    def close(self) -> None:
        """Kill children still running (the parent ended or was killed) and wait for them."""
        for children in self._children.values():
            for child in children:
                child.request_kill()
        for thread in self._threads:
            thread.join(timeout=30)
