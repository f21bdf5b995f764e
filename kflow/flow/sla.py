"""Kestra's flow `sla`: what an execution must meet, and what happens when it does not."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kflow.flow.durations import parse_duration


class SLA(BaseModel):
    """One service level: MAX_DURATION (`duration`) or EXECUTION_ASSERTION (`assert`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(description="Names the SLA in the violation's reason.")
    type: Literal["MAX_DURATION", "EXECUTION_ASSERTION"] = Field(description="MAX_DURATION or EXECUTION_ASSERTION.")
    behavior: Literal["FAIL", "CANCEL", "NONE"] = Field(description="On a violation: FAIL or CANCEL the execution, or NONE (only add the labels).")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels added to the execution when the SLA is violated.")
    duration: str | None = Field(None, description="MAX_DURATION: how long the execution may run, for example PT1H.")
    assert_: str | None = Field(None, alias="assert", description="EXECUTION_ASSERTION: an expression that must render true once the execution ends.")

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        if isinstance(value, list):  # Kestra's list of {key, value} too
            if not all(isinstance(item, dict) and "key" in item and "value" in item for item in value):
                raise ValueError("labels are a map, or a list of {key, value} mappings")
            return {str(item["key"]): str(item["value"]) for item in value}
        if isinstance(value, dict):
            if any(str(key).startswith("system.") for key in value):
                raise ValueError("system.* labels are set by kflow, not by an SLA")
            return {str(k): str(v) for k, v in value.items()}
        return value

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) <= 0:
            raise ValueError("duration must be a positive ISO-8601 duration, for example PT1H")
        return value

    @model_validator(mode="after")
    def _needs(self) -> SLA:
        if self.type == "MAX_DURATION" and self.duration is None:
            raise ValueError("a MAX_DURATION sla needs `duration` (for example PT1H)")
        if self.type == "EXECUTION_ASSERTION" and not self.assert_:
            raise ValueError("an EXECUTION_ASSERTION sla needs `assert` (an expression)")
        return self

    def seconds(self) -> float:
        return parse_duration(self.duration) if self.duration else 0.0
