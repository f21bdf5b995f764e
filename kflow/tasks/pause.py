"""Pause: the task run waits PAUSED until resumed (`kflow resume`), or for `pauseDuration`.

Resolved by the engine, so no pod or process waits. At the end of `pauseDuration` the
`behavior` applies (RESUME, WARN, FAIL, CANCEL); `timeout` without a duration fails it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from kflow.flow.node import ChildSpec, Node
from kflow.execution import State
from kflow.flow.durations import parse_duration
from kflow.flow.task import FlowableTask

_AT_END = {"RESUME": State.SUCCESS, "WARN": State.WARNING, "FAIL": State.FAILED, "CANCEL": State.CANCELLED}


class Pause(FlowableTask):
    pauses: ClassVar[bool] = True
    unrendered = FlowableTask.unrendered | {"pauseDuration", "delay", "behavior"}

    pauseDuration: str | None = Field(None, alias="delay", description="Resume on its own after this long (ISO-8601).")
    behavior: Literal["RESUME", "WARN", "FAIL", "CANCEL"] = Field("RESUME", description="What ends a pause that ran its full duration.")

    @model_validator(mode="before")
    @classmethod
    def _new_name(cls, data):
        if isinstance(data, dict) and "pauseDuration" in data:
            data = {k: v for k, v in data.items() if k != "pauseDuration"} | {"delay": data["pauseDuration"]}
        return data

    def next_children(self, node: Node) -> list[ChildSpec]:
        return []

    def resolve_state(self, node: Node) -> State | None:
        taskrun = node.taskrun
        if taskrun.state.current == State.RUNNING:  # resumed
            return State.SUCCESS
        started = taskrun.state.date_of(State.PAUSED) or node.now
        limit, at_end = None, None
        if self.pauseDuration:
            limit, at_end = parse_duration(self.pauseDuration), _AT_END[self.behavior]
        elif self.timeout:
            limit, at_end = parse_duration(self.timeout), State.FAILED
        if limit is None:
            return None
        due = started + timedelta(seconds=limit)
        if node.now >= due:
            return at_end
        node.wake_at(due)
        return None
