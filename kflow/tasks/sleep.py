"""Sleep: waits for `duration`; a runnable task, so a task timeout can cut it short."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from kflow.flow.durations import parse_duration
from kflow.flow.task import RunnableTask

if TYPE_CHECKING:
    from kflow.runner.context import RunContext


class Sleep(RunnableTask):
    duration: str = Field(description="How long to wait, as an ISO-8601 duration such as PT5S.")

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        if "{{" not in value and parse_duration(value) < 0:
            raise ValueError("duration must not be negative")
        return value

    def run(self, ctx: RunContext) -> None:
        seconds = parse_duration(self.duration)
        ctx.log.info(f"sleeping {seconds:g}s")
        time.sleep(seconds)
