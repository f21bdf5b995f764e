"""Deterministic Execution names, and flow loading errors that name the trigger's field."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from kflow.flow import FlowError, load_flow
from kflow.flow.triggers import FlowTrigger, Schedule
from kflow.triggers.names import flow_execution_name, schedule_execution_name

DNS = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def test_schedule_names_are_deterministic_utc_and_dns_safe():
    date = datetime(2024, 3, 31, 3, 30, tzinfo=ZoneInfo("Europe/Paris"))
    name = schedule_execution_name("My_Flow", "every.Minute", date)
    assert name == "my-flow-every-minute-20240331013000"
    assert schedule_execution_name("My_Flow", "every.Minute", date.astimezone(timezone.utc)) == name


def test_long_names_are_hash_shortened_and_stay_distinct():
    import re

    date = datetime(2024, 1, 1, tzinfo=timezone.utc)
    a = schedule_execution_name("f" * 80, "trigger-a", date)
    b = schedule_execution_name("f" * 80, "trigger-b", date)
    assert len(a) <= 63 and len(b) <= 63 and a != b
    assert a.endswith("-20240101000000") and re.match(DNS, a)
    up = flow_execution_name("downstream-" * 5, "on-upstream", "5Hq3ZpXkVr9TnLmA2bCdEf")
    assert len(up) <= 63 and re.match(DNS, up) and up.endswith("5hq3zpxkvr9tnlma2bcdef")
    assert flow_execution_name("b", "t", "AbC") == "b-t-abc"


FLOW = """
id: f
namespace: t
tasks: [{id: a, type: io.kestra.plugin.core.debug.Return, format: x}]
triggers:
"""


def problems(triggers: str) -> list[str]:
    with pytest.raises(FlowError) as err:
        load_flow(FLOW + triggers)
    return [str(p) for p in err.value.problems]


def test_both_trigger_kinds_load_under_old_and_new_names():
    flow = load_flow(FLOW + """
  - {id: s, type: io.kestra.core.models.triggers.types.Schedule, cron: "0 */2 * * *", timezone: Europe/Paris, recoverMissedSchedules: LAST, lateMaximumDelay: PT1H, inputs: {x: 1}}
  - {id: w, type: io.kestra.plugin.core.trigger.Schedule, cron: "*/10 * * * * *", withSeconds: true, disabled: true}
  - id: f
    type: io.kestra.plugin.core.trigger.Flow
    inputs: {v: "{{ outputs.a.value }}"}
    conditions:
      - {type: io.kestra.core.models.conditions.types.ExecutionFlowCondition, namespace: t, flowId: up}
      - {type: io.kestra.plugin.core.condition.ExecutionStatus, in: [SUCCESS], notIn: [FAILED]}
      - {type: io.kestra.plugin.core.condition.ExecutionNamespace, namespace: t, prefix: true}
  - {id: p, type: io.kestra.plugin.core.trigger.Flow, preconditions: {id: up, flows: [{namespace: t, flowId: up, states: [SUCCESS]}]}}
""")
    s, w, f, p = flow.triggers
    assert isinstance(s, Schedule) and s.recoverMissedSchedules.value == "LAST" and s.late_maximum_delay.total_seconds() == 3600
    assert isinstance(w, Schedule) and w.parsed_cron.seconds == (0, 10, 20, 30, 40, 50)
    assert isinstance(f, FlowTrigger) and f.states == ["SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "RETRIED"]
    assert p.preconditions.flows[0].flowId == "up"
    # the operator snapshots a flow as JSON and reads it back
    dumped = flow.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert dumped["triggers"][2]["conditions"][1]["in"] == ["SUCCESS"]
    assert load_flow(__import__("json").dumps(dumped)).triggers == flow.triggers


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        ("{id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: '*/5 * * *'}", "triggers[0].cron: '*/5 * * *' has 4 field(s)"),
        ("{id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: '* * * * * *', withSeconds: false}", "triggers[0].cron:"),
        ("{id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: '@daily', timezone: Mars/Olympus}", "triggers[0].timezone: unknown time zone 'Mars/Olympus'"),
        ("{id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: '@daily', recoverMissedSchedules: SOME}", "triggers[0].recoverMissedSchedules: Input should be 'ALL', 'LAST' or 'NONE'"),
        ("{id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: '@daily', lateMaximumDelay: soon}", "triggers[0].lateMaximumDelay: expected an ISO-8601 duration"),
        ("{id: s, type: io.kestra.plugin.core.trigger.Schedule}", "triggers[0].cron: required property is missing"),
        ("{id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: '@daily', conditions: [{type: x}]}", "triggers[0].conditions: Schedule conditions are not supported"),
        ("{id: s, type: io.kestra.plugin.core.trigger.ScheduleOnDates, dates: []}", "triggers[0].dates: List should have at least 1 item"),
        ("{id: s, type: io.kestra.plugin.core.trigger.Flow, states: [DONE]}", "triggers[0].states[0]: Input should be"),
        ("{id: s, type: io.kestra.plugin.core.trigger.Flow, conditions: [{type: io.kestra.plugin.core.condition.ExecutionStatus, in: [SUCESS]}]}", "triggers[0].conditions[0].in[0]: Input should be"),
        ("{id: s, type: io.kestra.plugin.core.trigger.Flow, conditions: [{type: io.kestra.plugin.core.condition.DayWeek}]}", "triggers[0].conditions: unsupported condition type"),
        ("{id: s, type: io.kestra.plugin.core.trigger.Flow, preconditions: {id: nothing}}", "triggers[0].preconditions: preconditions need `flows` or `where`"),
        ("{id: s, type: io.kestra.plugin.core.trigger.Flow, preconditions: {flows: [{namespace: a, flowId: b}], timeWindow: {type: DAILY_TIME_DEADLINE}}}",
         "triggers[0].preconditions.timeWindow: a DAILY_TIME_DEADLINE window needs `deadline`"),
        ("{id: s, type: io.kestra.plugin.core.trigger.Flow, preconditions: {where: [{id: w, filters: [{field: OWNER, type: EQUAL_TO, value: x}]}]}}",
         "triggers[0].preconditions.where[0].filters[0].field: "),
        ("{id: s, type: io.kestra.plugin.core.trigger.Flow, preconditions: {flows: [{namespace: a, flowId: b}], timeWindow: {window: soon}}}",
         "triggers[0].preconditions.timeWindow.window: "),
        ("{id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: '@daily', every: 1}", "triggers[0].every: unknown property; Schedule accepts:"),
        ("not-a-trigger", "triggers[0]: expected a trigger"),
    ],
)
def test_errors_name_the_trigger_field(trigger, expected):
    found = problems(f"  - {trigger}\n")
    assert any(p.startswith(expected) for p in found), found


def test_duplicate_trigger_ids():
    found = problems("  - {id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: '@daily'}\n  - {id: s, type: io.kestra.plugin.core.trigger.Flow}\n")
    assert found == ["triggers[1].id: duplicate trigger id 's', already used at triggers[0]"]
