"""Kestra's flow validation rules (FlowValidator, SwitchTaskValidator): invalid flows are load errors."""

from __future__ import annotations

import pytest

from kflow.flow import FlowError, load_flow

BASE = "id: f\nnamespace: company.team\n"
RETURN = "{id: r, type: io.kestra.plugin.core.debug.Return, format: x}"
SWITCH = "io.kestra.plugin.core.flow.Switch"


def problems(body: str) -> list[str]:
    with pytest.raises(FlowError) as caught:
        load_flow(BASE + body)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("body, expected", [
    (f"inputs: [{{id: a, type: STRING}}, {{id: a, type: INT}}]\ntasks: [{RETURN}]\n",
     "inputs[1].id: duplicate input id 'a'"),
    (f"inputs: [{{name: a, type: STRING}}, {{id: a, type: STRING}}]\ntasks: [{RETURN}]\n",
     "inputs[1].id: duplicate input id 'a'"),
    (f"tasks: [{{id: s, type: {SWITCH}, value: x}}]\n",
     "tasks[0]: no task defined: neither `cases` nor `defaults` has any task"),
    (f"tasks: [{{id: s, type: {SWITCH}, value: x, cases: {{}}, defaults: null}}]\n",
     "tasks[0]: no task defined"),
    (f"tasks: [{{id: s, type: {SWITCH}, value: x, cases: {{a: [{RETURN}], b: []}}}}]\n",
     "tasks[0]: the case 'b' must define at least one task"),
    (f"tasks: [{{id: s, type: {SWITCH}, value: x, cases: {{a: [{RETURN}]}}, defaults: []}}]\n",
     "tasks[0]: `defaults` cannot be empty"),
    ("tasks:\n  - id: wrap\n    type: io.kestra.plugin.core.flow.Sequential\n    tasks:\n"
     "      - {id: again, type: io.kestra.plugin.core.flow.Subflow, namespace: company.team, flowId: f}\n",
     "task 'again'.flowId: recursive call to flow [company.team.f]"),
    ("tasks: [{id: again, type: io.kestra.core.tasks.flows.Flow, namespace: company.team, flowId: f}]\n",
     "recursive call to flow [company.team.f]"),
    ("tasks: [{id: 1, type: io.kestra.plugin.core.debug.Return, format: x}]\n",
     'tasks[0].id: a task id is text, not a number: quote it (id: "1")'),
    ("tasks: [{id: 2.5, type: io.kestra.plugin.core.debug.Return, format: x}]\n",
     'tasks[0].id: a task id is text, not a number: quote it (id: "2.5")'),
])
def test_kestra_refuses_these_flows_when_they_load(body, expected):
    assert any(expected in p for p in problems(body)), problems(body)


def test_a_quoted_numeric_task_id_and_a_subflow_of_another_flow_are_fine():
    flow = load_flow(BASE + 'tasks:\n  - {id: "1", type: io.kestra.plugin.core.debug.Return, format: x}\n'
                     "  - {id: other, type: io.kestra.plugin.core.flow.Subflow, namespace: company.team, flowId: g}\n")
    assert [t.id for t in flow.tasks] == ["1", "other"]


def test_switch_defaults_null_is_no_defaults():
    flow = load_flow(BASE + f"tasks: [{{id: s, type: {SWITCH}, value: x, cases: {{a: [{RETURN}]}}, defaults: null}}]\n")
    assert flow.tasks[0].defaults is None
