"""Kestra core tasks the engine resolves itself (issue 16): Labels, Pause's tasks, WaitFor."""

from __future__ import annotations

import pytest

from kflow.execution import State
from tests.engine.simulate import simulate
from tests.engine.test_flowables import flow, run_with_inputs

S, F = State.SUCCESS, State.FAILED
RETURN = "io.kestra.plugin.core.debug.Return"
LABELS = "io.kestra.plugin.core.execution.Labels"


# -- Labels -----------------------------------------------------------------------------------
@pytest.mark.parametrize("labels, expected", [
    ('{customerId: "{{ inputs.x }}", n: 3}', {"customerId": "c-42", "n": "3"}),
    ('[{key: order_id, value: "{{ inputs.x }}"}, {key: team, value: data}]', {"order_id": "c-42", "team": "data"}),
    ("'{{ {\"from_expr\": inputs.x} | json }}'", {"from_expr": "c-42"}),
])
def test_labels_add_or_overwrite_execution_labels_and_later_tasks_read_them(labels, expected):
    text = flow(f"""
  - {{id: set, type: {LABELS}, labels: {labels}}}
  - {{id: after, type: {RETURN}, format: "{{{{ labels }}}}"}}
""", extra="labels: {team: platform, keep: k}\ninputs:\n  - {id: x, type: STRING}")
    execution, started = run_with_inputs(text, {"x": "c-42"})
    assert execution.state.current == S
    assert started == ["after"]  # Labels runs no process: the engine resolves it
    assert execution.labels == {"team": "platform", "keep": "k", **expected}
    assert [tr.state.current for tr in execution.taskRunList] == [S, S]


@pytest.mark.parametrize("labels, reason", [
    ("'{{ 1 + 1 }}'", "expected a map or a list"),
    ("{system.correlationId: x}", "system labels can only be set by kflow itself"),
    ('{a: "{{ nope }}"}', "nope"),
])
def test_labels_that_cannot_be_set_fail_the_task_saying_why(labels, reason):
    trace = simulate(flow(f"  - {{id: set, type: {LABELS}, labels: {labels}}}"))
    assert trace.execution.state.current == F
    assert reason in trace.execution.taskRunList[0].attempts[-1].reason
