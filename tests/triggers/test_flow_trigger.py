"""Flow triggers: which ended executions match, what `trigger.*` holds, inputs rendered."""

from __future__ import annotations

from kflow.execution.status import ExecutionStatus, encode_chunk
from kflow.triggers.flow_trigger import flow_trigger_inputs, flow_variables, matches, task_outputs
from kflow.flow.triggers import FlowTrigger

CREATED = {"current": "SUCCESS", "histories": [{"state": "CREATED", "date": "2024-05-15T10:00:00Z"}]}
STORED = {
    "id": "5Hq3ZpXkVr9TnLmA2bCdEf",
    "namespace": "company.team",
    "flowId": "extract",
    "flowRevision": 3,
    "current": "SUCCESS",
    "inputs": {"day": "2024-05-15"},
    "taskRuns": {
        "r1": {"id": "r1", "taskId": "fetch", "state": CREATED, "outputs": {"value": "rows.csv"}},
        "r2": {"id": "r2", "taskId": "each", "value": "a", "state": CREATED, "outputs": {"value": "A"}},
        "r3": {"id": "r3", "taskId": "log", "state": CREATED},
    },
    "flow": {"id": "extract", "outputs": [{"id": "file", "type": "STRING", "value": "{{ outputs.fetch.value }}"}]},
}
UPSTREAM = ExecutionStatus.read(STORED)


def upstream(**changes) -> ExecutionStatus:
    return ExecutionStatus.read({**STORED, **changes})


def trigger(**fields) -> FlowTrigger:
    return FlowTrigger.model_validate({"id": "t", "type": "io.kestra.plugin.core.trigger.Flow", **fields})


def test_default_states_are_the_terminal_ones():
    assert matches(trigger(), "company.team", "transform", UPSTREAM)
    assert not matches(trigger(), "company.team", "transform", upstream(current="RUNNING"))
    assert not matches(trigger(states=["FAILED"]), "company.team", "transform", UPSTREAM)


def test_conditions_flow_status_namespace():
    flow = {"type": "io.kestra.plugin.core.condition.ExecutionFlowCondition", "namespace": "company.team", "flowId": "extract"}
    assert matches(trigger(conditions=[flow]), "company.team", "transform", UPSTREAM)
    assert not matches(trigger(conditions=[{**flow, "flowId": "other"}]), "company.team", "transform", UPSTREAM)
    status = {"type": "io.kestra.core.models.conditions.types.ExecutionStatusCondition", "in": ["FAILED", "KILLED"]}
    assert not matches(trigger(conditions=[status]), "company.team", "transform", UPSTREAM)
    assert not matches(trigger(conditions=[{**status, "in": [], "notIn": ["SUCCESS"]}]), "company.team", "transform", UPSTREAM)
    ns = {"type": "io.kestra.plugin.core.condition.ExecutionNamespace", "namespace": "company"}
    assert not matches(trigger(conditions=[ns]), "company.team", "transform", UPSTREAM)
    assert matches(trigger(conditions=[{**ns, "prefix": True}]), "company.team", "transform", UPSTREAM)


def test_preconditions_flows_with_their_states():
    pre = {"id": "p", "flows": [{"namespace": "company.team", "flowId": "extract"}]}
    assert matches(trigger(preconditions=pre), "company.team", "transform", UPSTREAM)
    assert not matches(trigger(preconditions=pre), "company.team", "transform", upstream(current="FAILED"))
    other = {"id": "p", "flows": [{"namespace": "company.team", "flowId": "load", "states": ["SUCCESS"]}]}
    assert not matches(trigger(preconditions=other), "company.team", "transform", UPSTREAM)


def test_never_itself_and_never_when_disabled():
    assert not matches(trigger(), "company.team", "extract", UPSTREAM)
    assert not matches(trigger(disabled=True), "company.team", "transform", UPSTREAM)


def test_variables_and_inputs_from_the_upstream_execution():
    variables = flow_variables(UPSTREAM)
    assert variables == {
        "executionId": "5Hq3ZpXkVr9TnLmA2bCdEf", "namespace": "company.team", "flowId": "extract",
        "flowRevision": 3, "state": "SUCCESS", "outputs": {"file": "rows.csv"},
    }
    assert task_outputs(UPSTREAM) == {"fetch": {"value": "rows.csv"}, "each": {"a": {"value": "A"}}}
    inputs = trigger(inputs={"old": "{{ outputs.fetch.value }}", "new": "{{ trigger.outputs.file }} from {{ trigger.executionId }}", "n": 3})
    assert flow_trigger_inputs(inputs, UPSTREAM, variables) == {"old": "rows.csv", "new": "rows.csv from 5Hq3ZpXkVr9TnLmA2bCdEf", "n": 3}


def test_recorded_flow_outputs_win_over_rendering_them_again():
    assert flow_variables(upstream(outputs={"file": "recorded.csv"}))["outputs"] == {"file": "recorded.csv"}


def test_archived_task_runs_count_as_much_as_live_ones():
    """A finished task run the operator sealed into status.archive still gives its outputs."""
    sealed = upstream(taskRuns={"r2": STORED["taskRuns"]["r2"]}, archive={"0": encode_chunk([STORED["taskRuns"]["r1"]])})
    assert task_outputs(sealed) == {"fetch": {"value": "rows.csv"}, "each": {"a": {"value": "A"}}}
    assert flow_variables(sealed)["outputs"] == {"file": "rows.csv"}
