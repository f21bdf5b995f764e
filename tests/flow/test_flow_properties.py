"""Flow-level properties: pluginDefaults, variables with render(), labels."""

from __future__ import annotations

from kflow.engine import Engine, RunTask
from kflow.flow import load_flow
from tests.engine.simulate import T0

FLOW = """
id: defaults
namespace: t
labels: {team: data}
variables:
  greeting: "hello {{ flow.id }}"
pluginDefaults:
  - type: io.kestra.plugin.core.log
    values: {level: WARN, message: from defaults}
  - type: io.kestra.core.tasks.debugs.Return
    forced: true
    values: {format: "{{ render(vars.greeting) }}"}
tasks:
  - {id: plain, type: io.kestra.plugin.core.log.Log}
  - {id: own, type: io.kestra.core.tasks.log.Log, message: mine}
  - {id: forced, type: io.kestra.plugin.core.debug.Return, format: ignored}
"""


def test_plugin_defaults_fill_missing_values_and_forced_ones_win():
    flow = load_flow(FLOW)
    tasks = {task.id: task for task in flow.tasks}
    assert (tasks["plain"].message, tasks["plain"].level) == ("from defaults", "WARN")
    assert (tasks["own"].message, tasks["own"].level) == ("mine", "WARN")  # an old type name matches by its new name
    assert tasks["forced"].format == "{{ render(vars.greeting) }}"


def test_variables_render_and_flow_labels_reach_the_execution():
    from kflow.expr import render

    engine = Engine(load_flow(FLOW))
    run = engine.load(engine.new_execution("e", {}, T0, labels={"run": "1"}))
    result = engine.start(run, T0)
    (start,) = [a for a in result.actions if isinstance(a, RunTask)]
    context = engine.context(run, start.taskrun_id)
    assert render("{{ render(vars.greeting) }}", context) == "hello defaults"
    assert render("{{ vars.greeting }}", context) == "hello {{ flow.id }}"  # not recursive without render()
    assert run.execution.labels == {"team": "data", "system.correlationId": "e", "run": "1"}
