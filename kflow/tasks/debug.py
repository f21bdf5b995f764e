"""Return, Log and Echo: the debug tasks of Kestra's getting-started flows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from kflow.flow.task import RunnableTask
from kflow.tasks.debug_actions import LEVELS, LOG_LEVEL, RETURN_LEVEL, log_messages, return_value

if TYPE_CHECKING:
    from kflow.runner.context import RunContext


class Return(RunnableTask):
    """Renders `format` and returns it as the output `value`."""

    format: str | None = Field(None, description="The text to return; expressions are rendered.")
    level: Literal[LEVELS] = Field(  # type: ignore[valid-type]
        RETURN_LEVEL, description="Level of the log line showing the value (older Kestra flows set it)."
    )

    def run(self, ctx: RunContext) -> dict[str, Any]:
        return return_value(ctx.log, self.format, self.level)


class Log(RunnableTask):
    """Writes `message` (one or several) to the task's log at `level`."""

    message: str | list[str] = Field(description="The message, or a list of messages.")
    level: Literal[LEVELS] = LOG_LEVEL  # type: ignore[valid-type]

    def run(self, ctx: RunContext) -> None:
        log_messages(ctx.log, self.message, self.level)


class Echo(RunnableTask):
    """Kestra's deprecated Echo: writes the rendered `format` to the task's log at `level`; no outputs."""

    format: str = Field(min_length=1, description="The text to log; expressions are rendered.")
    level: Literal[LEVELS] = Field(LOG_LEVEL, description="The log level of the line.")  # type: ignore[valid-type]

    def run(self, ctx: RunContext) -> None:
        ctx.log.emit(self.level, self.format)
        return None
