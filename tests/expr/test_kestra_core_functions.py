"""Kestra functions of issue 16 that read the execution or the machine: tasksWithState(), randomPort()."""

from __future__ import annotations

import json
import socket

import pytest

from kflow.execution import State
from kflow.expr import ExpressionError, render
from tests.engine.test_flowables import flow

RETURN = "io.kestra.plugin.core.debug.Return"


def test_tasks_with_state_lists_the_task_runs_in_that_state():
    from kflow.engine import AttemptEnded, Engine, RunTask
    from kflow.flow import load_flow
    from tests.engine.simulate import T0

    text = flow(f"""
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - {{id: ok, type: {RETURN}, format: x}}
      - {{id: broken, type: {RETURN}, format: x}}
""", extra=f'errors:\n  - {{id: alert, type: {RETURN}, format: "{{{{ tasksWithState(\'failed\') | length }}}}"}}')
    engine = Engine(load_flow(text))
    run = engine.load(engine.new_execution("e", {}, T0))
    by_task = {a.task_id: a.taskrun_id for a in engine.start(run, T0).actions if isinstance(a, RunTask)}
    result = engine.step(run, [AttemptEnded(by_task["ok"], 0, State.SUCCESS, {"value": "x"}),
                               AttemptEnded(by_task["broken"], 0, State.FAILED, reason="boom")], T0)
    (alert,) = [a for a in result.actions if isinstance(a, RunTask)]
    context = engine.context(run, alert.taskrun_id)
    failed = render("{{ tasksWithState('FAILED') | json }}", context)
    assert [(t["taskId"], t["state"]) for t in json.loads(failed)] == [("both", "FAILED"), ("broken", "FAILED")]
    assert render("{{ tasksWithState('SUCCESS')[0].taskId }}", context) == "ok"
    assert render(engine.plan.task("alert").format, context) == "2"
    with pytest.raises(ExpressionError, match="tasksWithState: expected a state name"):
        render("{{ tasksWithState(3) }}", context)


def test_a_task_that_does_not_call_tasks_with_state_is_not_given_the_task_list():
    from kflow.engine import Engine
    from kflow.flow import load_flow
    from tests.engine.simulate import T0

    engine = Engine(load_flow(flow(f"  - {{id: a, type: {RETURN}, format: x}}")))
    run = engine.load(engine.new_execution("e", {}, T0))
    (action,) = engine.start(run, T0).actions
    assert "_task_states" not in engine.context(run, action.taskrun_id)


def test_random_port_is_a_port_free_to_bind_on_this_machine():
    port = int(render("{{ randomPort() }}", {}))
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # fails when the port was not free
