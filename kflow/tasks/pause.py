"""Pause: the task run waits PAUSED until resumed (`kflow resume`), or for `pauseDuration`.

Resolved by the engine, so no pod or process waits. At the end of `pauseDuration` the
`behavior` applies (RESUME, WARN, FAIL, CANCEL); `timeout` without a duration fails it.

Kestra's older form has child `tasks`: they run one after another once the pause is resumed
(by hand, or at the end of its duration with RESUME), and the Pause ends as a Sequential does.
`onResume` declares inputs (typed as flow inputs) given with the resume; their values are the
output `onResume` (`outputs.<pause>.onResume.<id>`). Invalid ones fail the Pause naming them
(Kestra refuses such a resume and keeps waiting).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from kflow.flow.node import ChildSpec, Node, errors_next, resolve_with_errors, sequence_next
from kflow.execution import State
from kflow.flow.durations import parse_duration
from kflow.flow.inputs import Input
from kflow.flow.flowable import FlowableTask
from kflow.flow.task import TaskList

_AT_END = {"RESUME": State.SUCCESS, "WARN": State.WARNING, "FAIL": State.FAILED, "CANCEL": State.CANCELLED}


class Pause(FlowableTask):
    task_lists = ("tasks", "errors")
    unrendered = FlowableTask.unrendered | {"pauseDuration", "delay", "behavior", "onResume"}

    pauseDuration: str | None = Field(None, alias="delay", description="Resume on its own after this long (ISO-8601).")
    behavior: Literal["RESUME", "WARN", "FAIL", "CANCEL"] = Field("RESUME", description="What ends a pause that ran its full duration.")
    tasks: TaskList | None = Field(None, description="Kestra's older form: tasks run one after another once resumed.")
    onResume: list[Input] | None = Field(None, description="Inputs given with the resume; output `onResume`.")

    @model_validator(mode="before")
    @classmethod
    def _new_name(cls, data):
        if isinstance(data, dict) and "pauseDuration" in data:
            data = {k: v for k, v in data.items() if k != "pauseDuration"} | {"delay": data["pauseDuration"]}
        return data

    def created_state(self) -> State:
        return State.PAUSED  # the execution waits PAUSED with it; no pod or process does

    def resume_outputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not self.onResume:
            return {}
        from kflow.flow.inputs import InputsError, resolve_inputs

        declared = {item.id for item in self.onResume}
        try:
            values = resolve_inputs(self.onResume, {k: v for k, v in inputs.items() if k in declared})
        except InputsError as err:
            raise ValueError(f"onResume inputs: {err}") from None
        return {"onResume": values}

    def next_children(self, node: Node) -> list[ChildSpec]:
        if node.taskrun.state.current == State.PAUSED:
            due = self._due(node)
            if not (self.tasks and due is not None and node.now >= due and self.behavior == "RESUME"):
                return []
            node.set_outputs(**_or_empty(self.resume_outputs, {}))
            node.resume()  # the duration ran out: resumed as by hand, then the tasks run
        handled = errors_next(self.errors, node)
        return handled if handled is not None else sequence_next(self.tasks or [], node)

    def resolve_state(self, node: Node) -> State | None:
        taskrun = node.taskrun
        if taskrun.state.current == State.RUNNING:  # resumed
            return resolve_with_errors(self.tasks, self.errors, node) if self.tasks else State.SUCCESS
        due = self._due(node)
        if due is None:
            return None
        if node.now >= due:
            if self.pauseDuration:
                node.set_outputs(**_or_empty(self.resume_outputs, {}))
            return _AT_END[self.behavior] if self.pauseDuration else State.FAILED
        node.wake_at(due)
        return None

    def _due(self, node: Node):
        """When the pause ends on its own: its duration, else its timeout (None: never)."""
        limit = self.pauseDuration or self.timeout
        if limit is None:
            return None
        started = node.taskrun.state.date_of(State.PAUSED) or node.now
        return started + timedelta(seconds=parse_duration(limit))


def _or_empty(outputs, inputs: dict[str, Any]) -> dict[str, Any]:
    """Outputs from the inputs' defaults when the pause ends on its own; none if they do not do."""
    try:
        return outputs(inputs)
    except ValueError:
        return {}
