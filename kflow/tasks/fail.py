"""Fail: ends its task run FAILED, with `errorMessage`, when `condition` renders true (or always)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from kflow.flow.task import RunnableTask
from kflow.tasks.errors import TaskFailure

if TYPE_CHECKING:
    from kflow.runner.context import RunContext

_FALSE = ("", "false", "0", "null", "none", "no")


class Fail(RunnableTask):
    condition: str | bool | None = Field(None, description="Fail only when this renders true; always fail without it.")
    errorMessage: str = Field("Task failure", description="The reason the task run fails with.")

    def run(self, ctx: RunContext) -> None:
        if self.condition is not None and str(self.condition).strip().lower() in _FALSE:
            ctx.log.info("condition is false: not failing")
            return None
        raise TaskFailure(self.errorMessage)
