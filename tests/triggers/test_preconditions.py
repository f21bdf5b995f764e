"""Flow-trigger preconditions with several conditions, `where`, time windows, MultipleCondition: pure."""

from __future__ import annotations

from datetime import datetime

from kflow.execution.status import ExecutionStatus
from kflow.triggers.flow_trigger import flow_variables, matches
from kflow.flow.triggers import FlowTrigger, TimeWindow
from kflow.triggers.preconditions import evaluate, stateful, window_start


def stateful_(trigger):
    return stateful(trigger, flow_variables)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def trigger(**fields) -> FlowTrigger:
    return FlowTrigger.model_validate({"id": "t", "type": "io.kestra.plugin.core.trigger.Flow", **fields})


def run(flow_id: str, state: str = "SUCCESS", namespace: str = "company.team", **more) -> ExecutionStatus:
    return ExecutionStatus.read({"id": f"{flow_id}-{state}", "namespace": namespace, "flowId": flow_id, "current": state, **more})


TWO = trigger(preconditions={"id": "both", "flows": [
    {"namespace": "company.team", "flowId": "a"}, {"namespace": "company.team", "flowId": "b"}]})


def feed(rules, events):
    """Evaluate (upstream, ended) in order, keeping the state as the operator does; the fired ones."""
    stored: dict = {}
    fired = []
    for upstream, ended in events:
        out = evaluate(rules, stored, upstream, at(ended))
        stored = {"preconditionsMet": out.met, "windowStart": out.window_start, "lastFired": ended if out.fire else stored.get("lastFired")}
        if out.fire:
            fired.append(upstream.id)
    return fired, stored


def test_one_flow_without_window_needs_no_memory_and_fires_at_once():
    one = trigger(preconditions={"flows": [{"namespace": "company.team", "flowId": "a"}]})
    assert stateful_(one) is None
    assert matches(one, "company.team", "down", run("a"))
    assert not matches(one, "company.team", "down", run("a", "FAILED"))  # flows[].states defaults to SUCCESS


def test_two_flows_fire_once_when_both_succeeded_in_the_same_day_window():
    rules = stateful_(TWO)
    assert not matches(TWO, "company.team", "down", run("a"))  # one execution never decides
    fired, stored = feed(rules, [
        (run("a"), "2026-01-01T08:00:00Z"),
        (run("a"), "2026-01-01T09:00:00Z"),   # a again: still waiting for b
        (run("b", "FAILED"), "2026-01-01T10:00:00Z"),  # not in b's states
        (run("b"), "2026-01-01T11:00:00Z"),   # both met: fire, then reset
        (run("b"), "2026-01-01T12:00:00Z"),   # b alone after the reset: nothing
    ])
    assert fired == ["b-SUCCESS"]
    assert set(stored["preconditionsMet"]) == {"flow.company.team.b"}


def test_a_new_duration_window_forgets_what_was_met():
    fired, _ = feed(stateful_(TWO), [(run("a"), "2026-01-01T23:00:00Z"), (run("b"), "2026-01-02T01:00:00Z")])
    assert fired == []
    rules = stateful_(trigger(preconditions={**TWO.preconditions.model_dump(exclude_none=True),
                                            "timeWindow": {"type": "SLIDING_WINDOW", "window": "PT6H"}}))
    fired, _ = feed(rules, [(run("a"), "2026-01-01T23:00:00Z"), (run("b"), "2026-01-02T01:00:00Z")])
    assert fired == ["b-SUCCESS"]  # 2 h apart: within a sliding 6 h
    fired, _ = feed(rules, [(run("a"), "2026-01-01T13:00:00Z"), (run("b"), "2026-01-02T01:00:00Z")])
    assert fired == []


def test_window_starts():
    assert window_start(TimeWindow(), at("2026-01-01T15:00:00Z")) == at("2026-01-01T00:00:00Z")
    assert window_start(TimeWindow(window="PT6H", windowAdvance="PT3H"), at("2026-01-01T02:00:00Z")) == at("2025-12-31T21:00:00Z")
    assert window_start(TimeWindow(window="PT6H", windowAdvance="PT3H"), at("2026-01-01T10:00:00Z")) == at("2026-01-01T09:00:00Z")
    deadline = TimeWindow(type="DAILY_TIME_DEADLINE", deadline="09:00:00")
    assert window_start(deadline, at("2026-01-01T08:59:00Z")) == at("2026-01-01T00:00:00Z")
    assert window_start(deadline, at("2026-01-01T09:01:00Z")) is None
    span = TimeWindow(type="DAILY_TIME_WINDOW", startTime="06:00:00", endTime="18:00:00")
    assert window_start(span, at("2026-01-01T05:00:00Z")) is None
    assert window_start(span, at("2026-01-01T07:00:00Z")) == at("2026-01-01T06:00:00Z")


def test_after_a_daily_deadline_nothing_counts():
    rules = stateful_(trigger(preconditions={**TWO.preconditions.model_dump(exclude_none=True),
                                            "timeWindow": {"type": "DAILY_TIME_DEADLINE", "deadline": "09:00:00"}}))
    assert feed(rules, [(run("a"), "2026-01-01T08:00:00Z"), (run("b"), "2026-01-01T09:30:00Z")])[0] == []
    assert feed(rules, [(run("a"), "2026-01-01T08:00:00Z"), (run("b"), "2026-01-01T08:30:00Z")])[0] == ["b-SUCCESS"]


def test_reset_on_success_false_fires_on_each_later_match():
    rules = stateful_(trigger(preconditions={**TWO.preconditions.model_dump(exclude_none=True), "resetOnSuccess": False}))
    fired, _ = feed(rules, [(run("a"), "2026-01-01T08:00:00Z"), (run("b"), "2026-01-01T09:00:00Z"), (run("a"), "2026-01-01T10:00:00Z")])
    assert fired == ["b-SUCCESS", "a-SUCCESS"]


def test_an_execution_seen_again_is_not_counted_twice():
    rules = stateful_(TWO)
    fired, stored = feed(rules, [(run("a"), "2026-01-01T08:00:00Z"), (run("b"), "2026-01-01T09:00:00Z")])
    again = evaluate(rules, stored, run("a"), at("2026-01-01T08:00:00Z"))  # a restarted operator lists it again
    assert not again.fire and again.met == {}


def test_where_filters_with_and_or_and_expression():
    where = trigger(preconditions={"where": [
        {"id": "failures", "operand": "OR", "filters": [
            {"field": "STATE", "type": "IS_ONE_OF", "values": ["FAILED", "WARNING"]},
            {"field": "EXPRESSION", "type": "IS_TRUE", "value": "{{ trigger.outputs.alert ?? false }}"}]},
        {"id": "ours", "filters": [{"field": "NAMESPACE", "type": "STARTS_WITH", "value": "company"},
                                   {"field": "FLOW_ID", "type": "NOT_EQUAL_TO", "value": "noisy"}]},
    ]})
    rules = stateful_(where)
    assert rules is not None and set(rules.conditions) == {"where.failures", "where.ours"}
    assert feed(rules, [(run("x", "FAILED"), "2026-01-01T08:00:00Z")])[0] == ["x-FAILED"]
    assert feed(rules, [(run("x", "SUCCESS", outputs={"alert": True}), "2026-01-01T08:00:00Z")])[0] == ["x-SUCCESS"]
    assert feed(rules, [(run("x", "SUCCESS"), "2026-01-01T08:00:00Z")])[0] == []
    assert feed(rules, [(run("noisy", "FAILED"), "2026-01-01T08:00:00Z")])[0] == []
    assert feed(rules, [(run("x", "FAILED", namespace="other"), "2026-01-01T08:00:00Z")])[0] == []


def test_multiple_condition_old_form():
    old = trigger(conditions=[
        {"type": "io.kestra.plugin.core.condition.ExecutionStatus", "in": ["SUCCESS"]},
        {"type": "io.kestra.plugin.core.condition.MultipleCondition", "id": "multiple", "window": "PT12H", "conditions": {
            "flow_a": {"type": "io.kestra.plugin.core.condition.ExecutionFlow", "namespace": "company.team", "flowId": "a"},
            "flow_b": {"type": "io.kestra.plugin.core.condition.ExecutionFlow", "namespace": "company.team", "flowId": "b"}}},
    ])
    rules = stateful_(old)
    assert set(rules.conditions) == {"flow_a", "flow_b"} and rules.window.window == "PT12H"
    assert feed(rules, [(run("a"), "2026-01-01T01:00:00Z"), (run("b"), "2026-01-01T11:00:00Z")])[0] == ["b-SUCCESS"]
    assert feed(rules, [(run("a"), "2026-01-01T11:00:00Z"), (run("b"), "2026-01-01T13:00:00Z")])[0] == []  # 00-12 then 12-24
