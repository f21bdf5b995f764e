"""Kestra's Schedule and Flow triggers as pydantic models, under their old and new type names,
and `parse_triggers`, the flow loader's hook that types a flow's `triggers:`.

Validation happens here, once, when the flow is loaded: a bad cron, time zone or duration
is reported as `triggers[0].cron: ...` by the flow loader, never at the first due date.
"""

from __future__ import annotations

from datetime import timedelta
from enum import Enum
from functools import cached_property
from typing import Annotated, Any, Callable, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from kflow.flow.durations import parse_duration
from kflow.flow.errors import Problem, join_path
from kflow.flow.cron import Cron, CronError, parse_cron

SCHEDULE_TYPES = ("io.kestra.plugin.core.trigger.Schedule", "io.kestra.core.models.triggers.types.Schedule")
FLOW_TYPES = ("io.kestra.plugin.core.trigger.Flow", "io.kestra.core.models.triggers.types.Flow")

# Kestra's default for a Flow trigger's `states`: every terminal state.
DEFAULT_FLOW_STATES = ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRIED")
STATES = (
    "CREATED", "SUBMITTED", "QUEUED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "SUCCESS", "WARNING",
    "FAILED", "KILLED", "CANCELLED", "RETRYING", "RETRIED", "SKIPPED", "BREAKPOINT", "RESUBMITTED",
)
StateName = Literal[
    "CREATED", "SUBMITTED", "QUEUED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "SUCCESS", "WARNING",
    "FAILED", "KILLED", "CANCELLED", "RETRYING", "RETRIED", "SKIPPED", "BREAKPOINT", "RESUBMITTED",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RecoverMissedSchedules(str, Enum):
    ALL = "ALL"
    LAST = "LAST"
    NONE = "NONE"


class _Trigger(_Model):
    id: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$", description="The trigger id, unique in its flow.")
    description: str | None = Field(None, description="What the trigger is for, in words.")
    disabled: bool = Field(False, description="A disabled trigger starts nothing.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Inputs of the executions it starts (expressions see `trigger.*`).")


class Schedule(_Trigger):
    """Runs the flow at each date its cron expression names, in its time zone."""

    type: Literal["io.kestra.plugin.core.trigger.Schedule", "io.kestra.core.models.triggers.types.Schedule"]
    withSeconds: bool = Field(False, description="The cron has 6 fields, seconds first.")
    cron: str = Field(description="5 fields, 6 with `withSeconds: true`, or @yearly @monthly @weekly @daily @hourly ...")
    timezone: str = Field("Etc/UTC", description="IANA time zone the cron is read in.")
    recoverMissedSchedules: RecoverMissedSchedules = Field(
        RecoverMissedSchedules.ALL, description="After a downtime: ALL missed dates run, the LAST one only, or NONE."
    )
    lateMaximumDelay: str | None = Field(None, description="ISO-8601 duration: a date later than this is skipped.")
    conditions: list[dict[str, Any]] = Field(default_factory=list, description="Schedule: not supported (rejected). Flow: conditions the upstream execution meets.")
    stopAfter: list[StateName] = Field(default_factory=list, description="Not supported yet (rejected): set `disabled: true` instead.")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Paris or UTC") from None
        return value

    @field_validator("lateMaximumDelay")
    @classmethod
    def _delay(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) <= 0:
            raise ValueError("lateMaximumDelay is a positive duration such as PT1H")
        return value

    @field_validator("conditions")
    @classmethod
    def _conditions(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if value:
            raise ValueError("Schedule conditions are not supported by kflow; express the dates in `cron` (for example `0 11 1-7 * *` and a check in the flow)")
        return value

    @field_validator("stopAfter")
    @classmethod
    def _stop_after(cls, value: list[str]) -> list[str]:
        if value:
            raise ValueError("stopAfter is not supported by kflow yet; set `disabled: true` to stop a schedule")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str, info) -> str:
        try:
            parse_cron(value, bool(info.data.get("withSeconds")))
        except CronError as err:
            raise ValueError(str(err)) from None
        return value

    @cached_property
    def parsed_cron(self) -> Cron:
        return parse_cron(self.cron, self.withSeconds)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def late_maximum_delay(self) -> timedelta | None:
        return timedelta(seconds=parse_duration(self.lateMaximumDelay)) if self.lateMaximumDelay else None


class ExecutionFlowCondition(_Model):
    """The upstream execution is of this flow."""

    type: Literal[
        "io.kestra.plugin.core.condition.ExecutionFlow",
        "io.kestra.plugin.core.condition.ExecutionFlowCondition",
        "io.kestra.core.models.conditions.types.ExecutionFlowCondition",
    ]
    namespace: str
    flowId: str


class ExecutionStatusCondition(_Model):
    """The upstream execution's state is in `in` and not in `notIn` (an empty list is ignored)."""

    type: Literal[
        "io.kestra.plugin.core.condition.ExecutionStatus",
        "io.kestra.plugin.core.condition.ExecutionStatusCondition",
        "io.kestra.core.models.conditions.types.ExecutionStatusCondition",
    ]
    in_: list[StateName] = Field(default_factory=list, alias="in")
    notIn: list[StateName] = Field(default_factory=list)


class ExecutionNamespaceCondition(_Model):
    """The upstream execution's namespace equals (or, with `prefix: true`, starts with) `namespace`."""

    type: Literal[
        "io.kestra.plugin.core.condition.ExecutionNamespace",
        "io.kestra.plugin.core.condition.ExecutionNamespaceCondition",
        "io.kestra.core.models.conditions.types.ExecutionNamespaceCondition",
    ]
    namespace: str
    prefix: bool = False
    comparison: Literal["EQUALS", "PREFIX", "SUFFIX"] | None = None


_CONDITIONS = {"FLOW": ExecutionFlowCondition, "STATUS": ExecutionStatusCondition, "NAMESPACE": ExecutionNamespaceCondition}
_CONDITION_TAGS = {name: tag for tag, cls in _CONDITIONS.items() for name in cls.model_fields["type"].annotation.__args__}
CONDITION_TYPES = sorted(_CONDITION_TAGS)


def _condition_tag(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return _CONDITION_TAGS.get(kind)


# Upper-case tags: the flow loader leaves them out of error paths (conditions[0].in, not
# conditions[0].io.kestra...ExecutionStatus.in).
Condition = Annotated[
    Union[
        Annotated[ExecutionFlowCondition, Tag("FLOW")],
        Annotated[ExecutionStatusCondition, Tag("STATUS")],
        Annotated[ExecutionNamespaceCondition, Tag("NAMESPACE")],
    ],
    Discriminator(_condition_tag),
]


class UpstreamFlow(_Model):
    namespace: str
    flowId: str
    states: list[StateName] = Field(default_factory=lambda: ["SUCCESS"])


class Preconditions(_Model):
    """Kestra's newer form: `flows` the upstream execution must be one of.

    Only one upstream flow is supported: with several, Kestra waits for all of them within
    a time window, which needs state kflow does not keep yet.
    """

    id: str | None = None
    flows: list[UpstreamFlow] = Field(min_length=1, max_length=1)
    where: Any = None
    timeWindow: Any = None
    resetOnSuccess: bool | None = None

    @field_validator("where", "timeWindow")
    @classmethod
    def _unsupported(cls, value: Any, info) -> Any:
        if value is not None:
            raise ValueError(f"preconditions.{info.field_name} is not supported by kflow yet; use `flows` and `conditions`")
        return value


class FlowTrigger(_Trigger):
    """Runs the flow when an execution of another flow (in the same Kubernetes namespace) ends."""

    type: Literal["io.kestra.plugin.core.trigger.Flow", "io.kestra.core.models.triggers.types.Flow"]
    states: list[StateName] = Field(default_factory=lambda: list(DEFAULT_FLOW_STATES))
    conditions: list[Condition] = Field(default_factory=list, description="Schedule: not supported (rejected). Flow: conditions the upstream execution meets.")
    preconditions: Preconditions | None = Field(None, description="The upstream flow (one) and the states it ends in.")
    stopAfter: list[StateName] = Field(default_factory=list, description="Not supported yet (rejected): set `disabled: true` instead.")

    @field_validator("conditions", mode="before")
    @classmethod
    def _known_conditions(cls, value: Any) -> Any:
        if isinstance(value, list):
            for item in value:
                kind = item.get("type") if isinstance(item, dict) else None
                if kind not in CONDITION_TYPES:
                    raise ValueError(
                        f"unsupported condition type {kind!r}; kflow supports io.kestra.plugin.core.condition."
                        "ExecutionFlow, ExecutionStatus and ExecutionNamespace (also under their ...Condition names)"
                    )
        return value

    @field_validator("stopAfter")
    @classmethod
    def _stop_after(cls, value: list[str]) -> list[str]:
        if value:
            raise ValueError("stopAfter is not supported by kflow yet; set `disabled: true` to stop a trigger")
        return value


Trigger = Union[Schedule, FlowTrigger]
TRIGGER_CLASSES: dict[str, type[Schedule] | type[FlowTrigger]] = {
    **{name: Schedule for name in SCHEDULE_TYPES},
    **{name: FlowTrigger for name in FLOW_TYPES},
}


def parse_triggers(raw: Any, problems: list[Problem], add_validation: Callable[[ValidationError, str, type], None], path: str = "triggers") -> list[Trigger] | Any:
    """Typed triggers; each problem goes to `problems` (through the loader's formatter)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(Problem(path, "expected a list of triggers, each a mapping with `id` and `type`"))
        return raw
    out: list[Trigger] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(raw):
        where = join_path(path, i)
        if not isinstance(item, dict):
            problems.append(Problem(where, "expected a trigger: a mapping with `id` and `type`"))
            continue
        kind = item.get("type")
        cls = TRIGGER_CLASSES.get(kind) if isinstance(kind, str) else None
        if cls is None:
            known = ", ".join(TRIGGER_CLASSES)
            problems.append(Problem(join_path(where, "type"), f"unknown trigger type {kind!r}; kflow runs: {known}"))
            continue
        trigger_id = item.get("id")
        if isinstance(trigger_id, str):
            if trigger_id in seen:
                problems.append(Problem(join_path(where, "id"), f"duplicate trigger id {trigger_id!r}, already used at {seen[trigger_id]}"))
            seen.setdefault(trigger_id, where)
        try:
            out.append(cls.model_validate(item))
        except ValidationError as err:
            add_validation(err, where, cls)
    return out
