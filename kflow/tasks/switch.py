"""Switch: run the tasks of the case matching a rendered value, or `defaults`."""

from __future__ import annotations

from pydantic import Field, model_validator

from kflow.flow.node import ChildSpec, Node, errors_next, resolve_with_errors, sequence_next
from kflow.execution import State
from kflow.flow.flowable import FlowableTask
from kflow.flow.task import TaskList


class Switch(FlowableTask):
    task_lists = ("cases", "defaults", "errors")
    unrendered = FlowableTask.unrendered | {"value"}

    value: str = Field(description="Rendered once; its text selects the case.")
    cases: dict[str, TaskList | None] = Field(default_factory=dict, description="Task lists by value.")
    defaults: TaskList | None = Field(None, description="Run when no case matches.")

    @model_validator(mode="before")
    @classmethod
    def _case_keys(cls, data):
        # YAML reads `true:` or `1:` as non-strings; Kestra compares the text.
        if isinstance(data, dict) and isinstance(data.get("cases"), dict):
            data = {**data, "cases": {_text(k): v for k, v in data["cases"].items()}}
        return data

    @model_validator(mode="after")
    def _has_tasks(self) -> Switch:
        # Kestra's SwitchTaskValidator: something to run, no empty case, `defaults` null or not empty.
        if not any(self.cases.values()) and not self.defaults:
            raise ValueError("no task defined: neither `cases` nor `defaults` has any task")
        empty = next((key for key, tasks in self.cases.items() if not tasks), None)
        if empty is not None:
            raise ValueError(f"the case {empty!r} must define at least one task")
        if self.defaults is not None and not self.defaults:
            raise ValueError("`defaults` cannot be empty: leave it out (or null) to fail when no case matches")
        return self

    def _selected(self, node: Node) -> tuple[str, list]:
        outputs = node.outputs
        if "value" not in outputs:
            value = _text(node.render(self.value))
            node.set_outputs(value=value, defaults=value not in self.cases)
            outputs = node.outputs
        if not outputs["defaults"]:
            return "cases", self.cases[outputs["value"]]
        if self.defaults is None:
            raise ValueError(f"value {outputs['value']!r} matches no case ({', '.join(map(repr, self.cases)) or 'none'}) and there are no `defaults`")
        return "defaults", self.defaults

    def next_children(self, node: Node) -> list[ChildSpec]:
        handled = errors_next(self.errors, node, self._selected(node)[0])
        if handled is not None:
            return handled
        branch, tasks = self._selected(node)
        return sequence_next(tasks, node, branch)

    def resolve_state(self, node: Node) -> State | None:
        branch, tasks = self._selected(node)
        return resolve_with_errors(tasks, self.errors, node, branch)


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip() if not isinstance(value, str) else value.strip()
