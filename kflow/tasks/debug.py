"""Return, Log and Echo: the debug tasks of Kestra's getting-started flows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from kflow.flow.task import RunnableTask

if TYPE_CHECKING:
    from kflow.runner.context import RunContext


class Return(RunnableTask):
    """Renders `format` and returns it as the output `value`."""

    format: str | None = Field(None, description="The text to return; expressions are rendered.")
    level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] = Field(
        "DEBUG", description="Level of the log line showing the value (older Kestra flows set it)."
    )

    def run(self, ctx: RunContext) -> dict[str, Any]:
        ctx.log.emit(self.level, f"returning: {self.format}")
        return {"value": self.format}


class Log(RunnableTask):
    """Writes `message` (one or several) to the task's log at `level`."""

    message: str | list[str] = Field(description="The message, or a list of messages.")
    level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] = "INFO"

    def run(self, ctx: RunContext) -> None:
        messages = self.message if isinstance(self.message, list) else [self.message]
        for message in messages:
            ctx.log.emit(self.level, str(message))
        return None


class Echo(RunnableTask):
    """Kestra's deprecated Echo: writes the rendered `format` to the task's log at `level`; no outputs."""

    format: str = Field(min_length=1, description="The text to log; expressions are rendered.")
    level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] = Field("INFO", description="The log level of the line.")

    def run(self, ctx: RunContext) -> None:
        ctx.log.emit(self.level, self.format)
        return None
