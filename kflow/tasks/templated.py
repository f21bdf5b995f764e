"""TemplatedTask: a runnable task whose whole definition is a template. `spec` is rendered like
any property, then parsed as YAML into one task (its `id` defaults to this task's), which runs
here, in this process or pod, its own properties rendered as usual; its outputs are this task's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from kflow.flow.task import RunnableTask
from kflow.tasks.errors import TaskFailure

if TYPE_CHECKING:
    from kflow.runner.context import RunContext


class TemplatedTask(RunnableTask):
    spec: str = Field(description="The YAML definition of a runnable task, with expressions.")

    def run(self, ctx: RunContext) -> dict[str, Any] | None:
        import yaml

        from kflow.flow.bounds import BoundError, load_yaml
        from kflow.flow.registry import UnknownTaskType, task_class
        from kflow.runner.run import run_task

        try:
            definition = load_yaml(self.spec)
        except (yaml.YAMLError, BoundError) as err:
            raise TaskFailure(f"spec: not valid YAML after rendering: {str(err).splitlines()[0]}") from None
        if not isinstance(definition, dict) or not isinstance(definition.get("type"), str):
            raise TaskFailure("spec: must render to a task definition, a map with a `type`")
        try:
            if not issubclass(task_class(definition["type"]), RunnableTask) or definition["type"] == self.type_name:
                raise TaskFailure(f"spec: {definition['type']} cannot be templated; only a runnable task can")
        except UnknownTaskType as err:
            raise TaskFailure(f"spec.type: {err}") from None
        definition = {**definition, "id": definition.get("id", self.id)}
        result = run_task(definition, ctx.variables, ctx.log, ctx.workdir, ctx.location, ctx.storage, ctx.secrets)
        if result.state == "FAILED":
            raise TaskFailure(result.reason or "the templated task failed")
        if result.state == "WARNING":
            ctx.warning(result.reason or "the templated task ended WARNING")
        return result.outputs
