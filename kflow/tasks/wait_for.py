"""WaitFor (Kestra 0.20+; LoopUntil in Kestra 1.x): run `tasks` again and again until `condition`.

One iteration runs the tasks one after another; once its last task ended, `condition` is
rendered (it sees the latest iteration's outputs and `outputs.<id>.iterationCount`, counted from
1). True (Kestra's truthiness) ends it SUCCESS; else the next iteration starts after
`checkFrequency.interval`, unless `maxIterations` iterations ran or `maxDuration` passed since
it started: then it ends SUCCESS, or FAILED with `failOnMaxReached`. A failed child fails it (its
`errors` run). Each child task gets one task run per iteration (`iteration` 0, 1, ...).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kflow.flow.node import ChildSpec, Node, errors_next, resolve_expected
from kflow.execution import State
from kflow.flow.durations import parse_duration
from kflow.flow.flowable import FlowableTask
from kflow.flow.task import TaskList
from kflow.tasks.condition import truthy


class CheckFrequency(BaseModel):
    model_config = ConfigDict(extra="forbid")

    maxIterations: int = Field(100, ge=1, description="Iterations at most.")
    maxDuration: str = Field("PT1H", description="Longest time the loop runs (ISO-8601).")
    interval: str = Field("PT1S", description="Wait between the end of an iteration and the next.")

    @field_validator("maxDuration", "interval", mode="before")
    @classmethod
    def _duration(cls, value):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = f"PT{value}S"  # Kestra's docs show the defaults in seconds
        parse_duration(value)
        return value


class WaitFor(FlowableTask):
    task_lists = ("tasks", "errors")
    unrendered = FlowableTask.unrendered | {"condition", "checkFrequency", "failOnMaxReached"}

    condition: str | bool = Field(description="Rendered after each iteration; true ends the loop.")
    tasks: TaskList = Field(min_length=1, description="The tasks of one iteration, run one after another.")
    checkFrequency: CheckFrequency = Field(default_factory=CheckFrequency, description="Interval and limits of the loop.")
    failOnMaxReached: bool = Field(False, description="Fail (instead of succeed) once maxIterations or maxDuration is reached.")

    def next_children(self, node: Node) -> list[ChildSpec]:
        handled = errors_next(self.errors, node)
        if handled is not None:
            return handled
        loop = node.loop
        loop.take_idle()  # only the latest iteration matters
        if loop.started == 0:
            return self._iteration(node, 0)
        last = max(loop.iterations)
        stats = loop.iterations[last]
        if stats.active or node.memo.get("ended"):
            return []
        if stats.created < len(self.tasks):
            return [ChildSpec(self.tasks[stats.created], None, last)]
        if truthy(node.render(self.condition)):
            node.memo["ended"] = State.SUCCESS
            return []
        started = node.taskrun.state.start_date or node.now
        limits = self.checkFrequency
        if last + 1 >= limits.maxIterations or node.now >= started + timedelta(seconds=parse_duration(limits.maxDuration)):
            node.memo["ended"] = State.FAILED if self.failOnMaxReached else State.SUCCESS
            return []
        due = node.memo.setdefault("next", node.now + timedelta(seconds=parse_duration(limits.interval)))
        if node.now < due:
            node.wake_at(due)
            return []
        return self._iteration(node, last + 1)

    def _iteration(self, node: Node, number: int) -> list[ChildSpec]:
        node.memo.pop("next", None)
        node.set_outputs(iterationCount=number + 1)
        return [ChildSpec(self.tasks[0], None, number)]

    def resolve_state(self, node: Node) -> State | None:
        main = node.branch("tasks")
        if main.failed:
            return resolve_expected(main.created, self.errors, node)
        ended = node.memo.get("ended")
        if ended == State.FAILED:
            limits = self.checkFrequency
            raise ValueError(f"the condition was still false after {node.outputs.get('iterationCount')} iterations "
                             f"(maxIterations {limits.maxIterations}, maxDuration {limits.maxDuration}) and failOnMaxReached is true")
        return main.final_state() if ended else None


class LoopUntil(WaitFor):
    """Kestra 1.x's name for WaitFor; its `checkFrequency.interval` defaults to PT1M."""

    checkFrequency: CheckFrequency = Field(default_factory=lambda: CheckFrequency(interval="PT1M"), description="Interval and limits of the loop.")
