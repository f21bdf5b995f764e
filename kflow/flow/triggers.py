"""Kestra's Schedule and Flow triggers as pydantic models, under their old and new type names,
and `parse_triggers`, the flow loader's hook that types a flow's `triggers:`.

Validation happens here, once, when the flow is loaded: a bad cron, time zone or duration
is reported as `triggers[0].cron: ...` by the flow loader, never at the first due date.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import Enum
from functools import cached_property
from typing import Annotated, Any, Callable, Collection, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from kflow.flow.durations import parse_duration
from kflow.flow.errors import Problem, join_path
from kflow.flow.cron import Cron, CronError, parse_cron

SCHEDULE_TYPES = ("io.kestra.plugin.core.trigger.Schedule", "io.kestra.core.models.triggers.types.Schedule")
ON_DATES_TYPES = ("io.kestra.plugin.core.trigger.ScheduleOnDates",)
MAX_DATES = 10_000
FLOW_TYPES = ("io.kestra.plugin.core.trigger.Flow", "io.kestra.core.models.triggers.types.Flow")
WEBHOOK_TYPES = ("io.kestra.plugin.core.trigger.Webhook", "io.kestra.core.models.triggers.types.Webhook")

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
    stopAfter: list[StateName] = Field(
        default_factory=list,
        description="When an execution this trigger started ends in one of these states, the trigger stops (status.triggers.<id>.stoppedBy) until the Flow's spec changes.",
    )


def _instant(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field}: expected an ISO-8601 date-time such as 2025-01-01T00:00:00Z, got {value!r}") from None
    return parsed


class Backfill(_Model):
    """Kestra's Schedule `backfill`: past dates to run once; the schedule goes on as usual after."""

    start: str = Field(description="The first date (ISO-8601; without an offset it is read in the trigger's timezone).")
    end: str | None = Field(None, description="The last date (included); default: now.")
    inputs: dict[str, Any] | None = Field(None, description="Inputs of the backfill executions, instead of the trigger's.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the backfill executions.")
    paused: bool = Field(False, description="true: no backfill execution is started (set false to go on).")

    @field_validator("start", "end")
    @classmethod
    def _date(cls, value: str | None, info) -> str | None:
        if value is not None:
            _instant(value, info.field_name)
        return value

    @field_validator("labels", mode="before")
    @classmethod
    def _label_list(cls, value: Any) -> Any:
        if isinstance(value, list):  # Kestra's list of {key, value}
            return {str(item.get("key")): str(item.get("value")) for item in value if isinstance(item, dict)}
        return value

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime | None]:
        """start and end as instants (a naive date is wall time in `zone`)."""
        def aware(text: str) -> datetime:
            value = _instant(text, "")
            return value if value.tzinfo else value.replace(tzinfo=zone)

        start = aware(self.start)
        end = aware(self.end) if self.end else None
        return start, end


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
    backfill: Backfill | None = Field(None, description="Run every date of the cron from `start` to `end` (or now) once, as fast as possible.")

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


class TimeWindow(_Model):
    """Kestra's SLA window: within it every precondition must be met (default: 24-hour windows from midnight)."""

    type: Literal["DURATION_WINDOW", "SLIDING_WINDOW", "DAILY_TIME_DEADLINE", "DAILY_TIME_WINDOW"] = "DURATION_WINDOW"
    window: str | None = Field(None, description="DURATION_WINDOW and SLIDING_WINDOW: its length (default PT24H).")
    windowAdvance: str | None = Field(None, description="DURATION_WINDOW: shift of the windows from midnight UTC.")
    deadline: str | None = Field(None, description="DAILY_TIME_DEADLINE: the time of day (UTC) all must be met by.")
    startTime: str | None = Field(None, description="DAILY_TIME_WINDOW: start time of day (UTC).")
    endTime: str | None = Field(None, description="DAILY_TIME_WINDOW: end time of day (UTC).")

    @field_validator("window", "windowAdvance")
    @classmethod
    def _duration(cls, value: str | None, info) -> str | None:
        if value is not None and (parse_duration(value) < 0 or (info.field_name == "window" and parse_duration(value) == 0)):
            raise ValueError(f"{info.field_name} is a positive ISO-8601 duration such as PT12H")
        return value

    @field_validator("deadline", "startTime", "endTime")
    @classmethod
    def _time(cls, value: str | None, info) -> str | None:
        if value is not None:
            try:
                time.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{info.field_name} is a time of day such as 09:00:00, got {value!r}") from None
        return value

    @model_validator(mode="after")
    def _needs(self) -> TimeWindow:
        if self.type == "DAILY_TIME_DEADLINE" and self.deadline is None:
            raise ValueError("a DAILY_TIME_DEADLINE window needs `deadline`")
        if self.type == "DAILY_TIME_WINDOW" and (self.startTime is None or self.endTime is None):
            raise ValueError("a DAILY_TIME_WINDOW window needs `startTime` and `endTime`")
        return self


class ScheduleOnDates(Schedule):
    """Runs the flow at each of the listed dates (a Schedule whose dates are given, not a cron)."""

    type: Literal["io.kestra.plugin.core.trigger.ScheduleOnDates"]  # type: ignore[assignment]
    dates: list[datetime] = Field(min_length=1, max_length=MAX_DATES, description="ISO-8601 date-times; without an offset, read in `timezone`.")
    cron: str | None = Field(None, exclude=True, description="Not used: the dates are listed.")  # type: ignore[assignment]

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None, info) -> str | None:
        if value is not None:
            raise ValueError("ScheduleOnDates takes `dates`, not `cron`")
        return value

    @cached_property
    def parsed_cron(self):  # type: ignore[override] - a DateList answers as a Cron does
        from kflow.flow.dates import date_list

        return date_list(self.dates, self.zone)


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


class MultipleCondition(_Model):
    """Kestra's older form of preconditions: every named condition met by some execution within the window."""

    type: Literal["io.kestra.plugin.core.condition.MultipleCondition", "io.kestra.core.models.conditions.types.MultipleCondition"]
    id: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")
    conditions: dict[str, Annotated[
        Union[
            Annotated[ExecutionFlowCondition, Tag("FLOW")],
            Annotated[ExecutionStatusCondition, Tag("STATUS")],
            Annotated[ExecutionNamespaceCondition, Tag("NAMESPACE")],
        ],
        Discriminator(lambda v: _condition_tag(v)),
    ]] = Field(min_length=1)
    timeWindow: TimeWindow | None = None
    sla: TimeWindow | None = Field(None, description="An older name of timeWindow.")
    window: str | None = Field(None, description="Oldest form: the DURATION_WINDOW's length.")
    windowAdvance: str | None = None
    resetOnSuccess: bool = True

    def time_window(self) -> TimeWindow | None:
        if self.timeWindow or self.sla:
            return self.timeWindow or self.sla
        if self.window or self.windowAdvance:
            return TimeWindow(window=self.window, windowAdvance=self.windowAdvance)
        return None


_CONDITIONS = {"FLOW": ExecutionFlowCondition, "STATUS": ExecutionStatusCondition, "NAMESPACE": ExecutionNamespaceCondition,
               "MULTIPLE": MultipleCondition}
_CONDITION_TAGS = {name: tag for tag, cls in _CONDITIONS.items() for name in cls.model_fields["type"].annotation.__args__}
CONDITION_TYPES = sorted(_CONDITION_TAGS)


def conditions_of_types(value: Any, allowed: Collection[str], what: str, supported: str) -> Any:
    """A trigger's `conditions` as written, checked before parsing: every `type` is one of
    `allowed`, else one message naming the type found and what kflow supports (rather than
    pydantic's error about the union it could not pick from)."""
    if isinstance(value, list):
        for item in value:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in allowed:
                raise ValueError(f"unsupported {what} type {kind!r}; kflow supports {supported}")
    return value


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
        Annotated[MultipleCondition, Tag("MULTIPLE")],
    ],
    Discriminator(_condition_tag),
]


class UpstreamFlow(_Model):
    namespace: str
    flowId: str
    states: list[StateName] = Field(default_factory=lambda: ["SUCCESS"])
    labels: dict[str, str] = Field(default_factory=dict, description="Labels the upstream execution must have.")


FilterField = Literal["FLOW_ID", "NAMESPACE", "STATE", "EXPRESSION"]
FilterType = Literal[
    "EQUAL_TO", "NOT_EQUAL_TO", "IS_ONE_OF", "IS_NOT_ONE_OF", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "REGEX",
    "IS_NULL", "IS_NOT_NULL", "IS_TRUE", "IS_FALSE",
]


class ExecutionFilter(_Model):
    """One test of the upstream execution: its `field` (EXPRESSION: `value` rendered) compared by `type`."""

    field: FilterField
    type: FilterType
    value: Any = None
    values: list[Any] | None = None


class WhereCondition(_Model):
    """A named condition of `preconditions.where`: its filters, all (AND) or any (OR) of them."""

    id: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")
    operand: Literal["AND", "OR"] = "AND"
    filters: list[ExecutionFilter] = Field(min_length=1)


class Preconditions(_Model):
    """Kestra's newer form: every upstream in `flows` and every `where` condition met within `timeWindow`."""

    id: str | None = None
    flows: list[UpstreamFlow] = Field(default_factory=list)
    where: list[WhereCondition] = Field(default_factory=list)
    timeWindow: TimeWindow | None = None
    resetOnSuccess: bool = Field(True, description="After the trigger fires, every condition must be met again (false: each later match fires too).")

    @model_validator(mode="after")
    def _something(self) -> Preconditions:
        if not self.flows and not self.where:
            raise ValueError("preconditions need `flows` or `where`")
        return self


class FlowTrigger(_Trigger):
    """Runs the flow when an execution of another flow (in the same Kubernetes namespace) ends."""

    type: Literal["io.kestra.plugin.core.trigger.Flow", "io.kestra.core.models.triggers.types.Flow"]
    states: list[StateName] = Field(default_factory=lambda: list(DEFAULT_FLOW_STATES))
    conditions: list[Condition] = Field(default_factory=list, description="Schedule: not supported (rejected). Flow: conditions the upstream execution meets.")
    preconditions: Preconditions | None = Field(None, description="Upstream flows and `where` conditions to be met, all within a time window.")
    @field_validator("conditions", mode="before")
    @classmethod
    def _known_conditions(cls, value: Any) -> Any:
        return conditions_of_types(value, CONDITION_TYPES, "condition", "io.kestra.plugin.core.condition."
                                   "ExecutionFlow, ExecutionStatus and ExecutionNamespace (also under their ...Condition names)")


class ExpressionCondition(_Model):
    """The event passes when `expression` renders true (it sees `trigger.*` and `flow.*`)."""

    type: Literal[
        "io.kestra.plugin.core.condition.Expression",
        "io.kestra.plugin.core.condition.ExpressionCondition",
        "io.kestra.core.models.conditions.types.VariableCondition",
    ]
    expression: str = Field(description="A Pebble expression, e.g. `{{ trigger.body.hello == 'world' }}`.")


EXPRESSION_CONDITION_TYPES = ExpressionCondition.model_fields["type"].annotation.__args__


class Webhook(_Trigger):
    """Runs the flow when its URL, `/api/v1/executions/webhook/{namespace}/{flowId}/{key}`, is called.

    Served by the operator on a cluster (the Helm chart's `webhook.*`); `kflow run` ignores it.
    """

    type: Literal["io.kestra.plugin.core.trigger.Webhook", "io.kestra.core.models.triggers.types.Webhook"]
    key: str = Field(min_length=1, max_length=256, description="The secret part of the webhook URL (at most 256 characters; no `/`).")
    conditions: list[ExpressionCondition] = Field(
        default_factory=list, description="Expression conditions on the request (`trigger.body`, `.headers`, `.parameters`); unmet: 204, no execution."
    )
    wait: bool = Field(False, description="Not supported (rejected when true): the call answers as soon as the Execution exists.")
    returnOutputs: bool = Field(False, description="Not supported (rejected when true): needs `wait`.")

    @field_validator("conditions", mode="before")
    @classmethod
    def _expression_conditions(cls, value: Any) -> Any:
        return conditions_of_types(value, EXPRESSION_CONDITION_TYPES, "Webhook condition", "io.kestra.plugin.core.condition.Expression")

    @field_validator("key")
    @classmethod
    def _plain_key(cls, value: str) -> str:
        if "{{" in value or "{%" in value:
            raise ValueError("an expression as the webhook key is not supported by kflow; write the key itself")
        if "/" in value or value.strip() != value:
            raise ValueError("the webhook key is one URL path segment: no `/`, no surrounding spaces")
        return value

    @field_validator("wait", "returnOutputs")
    @classmethod
    def _no_wait(cls, value: bool, info) -> bool:
        if value:
            raise ValueError(f"{info.field_name}: true is not supported by kflow; the webhook answers once the Execution is created "
                             "(`kubectl get execution` or `kflow logs` follow it)")
        return value


class HttpTrigger(_Trigger):
    """Polls `uri` every `interval`; when `responseCondition` is true, starts the flow with the response as `trigger.*`."""

    type: Literal["io.kestra.plugin.core.http.Trigger", "io.kestra.plugin.fs.http.Trigger"]
    uri: str = Field(description="The URL called (expressions see `flow.*`).")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    body: str | None = Field(None, description="The request body, as text.")
    contentType: str | None = Field(None, description="Content-Type of the body.")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    responseCondition: str = Field("{{ response.statusCode < 400 }}", description="Start the flow when this renders true; it sees `response.statusCode`, `.body`, `.headers`.")
    interval: str = Field("PT60S", description="ISO-8601 duration between two calls.")
    allowConcurrent: bool = Field(False, description="false: no call while an execution this trigger started is still running.")
    options: dict[str, Any] = Field(default_factory=dict, description="`readTimeout` / `connectTimeout` (durations) are applied; other options are ignored.")

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        if parse_duration(value) < 1:
            raise ValueError("interval is a duration of at least one second, such as PT30S")
        return value

    @property
    def interval_seconds(self) -> float:
        return parse_duration(self.interval)

    @property
    def timeout_seconds(self) -> float:
        values = [parse_duration(str(self.options[k])) for k in ("readTimeout", "connectTimeout") if self.options.get(k)]
        return sum(values) if values else 30.0


Trigger = Union[Schedule, FlowTrigger, Webhook, HttpTrigger]
TRIGGER_CLASSES: dict[str, type[Schedule] | type[FlowTrigger] | type[Webhook] | type[HttpTrigger]] = {
    **{name: Schedule for name in SCHEDULE_TYPES},
    **{name: ScheduleOnDates for name in ON_DATES_TYPES},
    **{name: FlowTrigger for name in FLOW_TYPES},
    **{name: Webhook for name in WEBHOOK_TYPES},
    **{name: HttpTrigger for name in HttpTrigger.model_fields["type"].annotation.__args__},
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
