"""Loops: ForEach (values, concurrencyLimit), and the older EachSequential and EachParallel."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from kflow.engine.loops import loop_next, loop_values, resolve_loop
from kflow.flow.node import ChildSpec, Node
from kflow.execution import State
from kflow.flow.flowable import FlowableTask
from kflow.flow.task import TaskList


class _Loop(FlowableTask):
    task_lists = ("tasks", "errors")
    unrendered = FlowableTask.unrendered | {"values", "value"}

    tasks: TaskList = Field(min_length=1, description="Run once per value.")

    def _values(self, node: Node) -> list[str]:
        return loop_values(node, self._raw_values())

    def _raw_values(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _limit(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    tasks_in_parallel: ClassVar[bool] = False

    def next_children(self, node: Node) -> list[ChildSpec]:
        return loop_next(self.tasks, self.errors, self._values(node), node, self._limit(), self.tasks_in_parallel)

    def resolve_state(self, node: Node) -> State | None:
        return resolve_loop(self.tasks, self.errors, self._values(node), node)


class ForEach(_Loop):
    """Kestra 0.19+: an iteration's tasks one after another; `concurrencyLimit` iterations at once (0: all)."""

    values: str | list[Any] = Field(description="A list, a JSON array, or an expression giving one.")
    concurrencyLimit: int = Field(1, ge=0, description="Iterations run at once; 0 for no limit.")

    def _raw_values(self) -> Any:
        return self.values

    def _limit(self) -> int:
        return self.concurrencyLimit


class EachSequential(_Loop):
    """One value after another; each value's tasks one after another."""

    value: str | list[Any] = Field(description="A list, a JSON array, or an expression giving one.")

    def _raw_values(self) -> Any:
        return self.value

    def _limit(self) -> int:
        return 1


class EachParallel(_Loop):
    """Every value at once (at most `concurrent` values; 0: no limit); a value's tasks run in parallel too."""

    value: str | list[Any] = Field(description="A list, a JSON array, or an expression giving one.")
    concurrent: int = Field(0, ge=0, description="Values run at once; 0 for no limit.")
    tasks_in_parallel: ClassVar[bool] = True

    def _raw_values(self) -> Any:
        return self.value

    def _limit(self) -> int:
        return self.concurrent
