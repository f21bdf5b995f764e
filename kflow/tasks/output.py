"""OutputValues: values written in the flow, rendered, given back as the output `values`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from kflow.flow.task import RunnableTask

if TYPE_CHECKING:
    from kflow.runner.context import RunContext


class OutputValues(RunnableTask):
    """Kestra's OutputValues: strings, numbers, lists and maps, their expressions rendered
    (the runner renders every property), read later as `outputs.<id>.values.<key>`."""

    values: dict[str, Any] = Field(default_factory=dict, description="The values to output; any JSON type, expressions rendered.")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        return {"values": self.values}
