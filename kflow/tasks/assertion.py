"""Assert: every rendered condition must be true, else the task fails, naming how many were not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from kflow.flow.task import RunnableTask
from kflow.tasks.condition import truthy
from kflow.tasks.errors import TaskFailure

if TYPE_CHECKING:
    from kflow.runner.context import RunContext


class Assert(RunnableTask):
    """Kestra's Assert: each of `conditions` is rendered and coerced to a boolean (0, -0, '' and
    false are false); each false one is logged as an error, then the task fails, with
    `errorMessage` appended when given."""

    conditions: list[Any] = Field(min_length=1, description="Expressions that must all render true.")
    errorMessage: str | None = Field(None, description="Added to the failure's message.")

    def run(self, ctx: RunContext) -> None:
        failed = [index for index, condition in enumerate(self.conditions) if not truthy(condition)]
        for index in failed:
            ctx.log.error(f"Assertion conditions[{index}] is false")
        if failed:
            message = f"{len(failed)} of {len(self.conditions)} assertions failed (conditions{failed})"
            raise TaskFailure(f"{message}: {self.errorMessage}" if self.errorMessage else message)
        ctx.log.info(f"{len(self.conditions)} assertions are true")
        return None
