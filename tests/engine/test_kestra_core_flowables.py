"""Kestra core tasks the engine resolves itself (issue 16): Labels, Pause's tasks, WaitFor."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kflow.execution import State
from tests.engine.simulate import simulate
from tests.engine.test_flowables import flow, run_with_inputs, runs

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
    assert execution.labels == {"team": "platform", "keep": "k", "system.correlationId": "e", **expected}
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


# -- Pause: the older `tasks` form and `onResume` inputs ----------------------------------------
PAUSE_TASKS = flow(f"""
  - id: approve
    type: io.kestra.core.tasks.flows.Pause
    {{extra}}
    tasks:
      - {{id: inside1, type: {RETURN}, format: "{{{{ outputs.approve.onResume ?? 'none' }}}}"}}
      - {{id: inside2, type: {RETURN}, format: x}}
  - {{id: after, type: {RETURN}, format: x}}
""")
ON_RESUME = """onResume:
      - {id: approved, type: BOOLEAN, defaults: false}
      - {id: reason, type: STRING, required: false}"""


def paused(text: str):
    from kflow.engine import Engine
    from kflow.flow import load_flow
    from tests.engine.simulate import T0

    engine = Engine(load_flow(text))
    run = engine.load(engine.new_execution("e", {}, T0))
    return engine, run, engine.start(run, T0)


def test_pause_tasks_wait_for_the_resume_then_run_in_order_before_what_follows():
    from datetime import timedelta

    from kflow.engine import ResumeRequested, RunTask
    from tests.engine.simulate import T0
    from tests.engine.test_flowables import drive

    engine, run, result = paused(PAUSE_TASKS.replace("{extra}", "description: old form"))
    assert run.execution.state.current == State.PAUSED
    assert not [a for a in result.actions if isinstance(a, RunTask)]
    now = T0 + timedelta(minutes=5)
    started = drive(engine, run, engine.step(run, [ResumeRequested()], now), now)
    assert started == ["inside1", "inside2", "after"]
    assert run.execution.state.current == S
    approve = next(tr for tr in run.execution.taskRunList if tr.taskId == "approve")
    assert approve.state.current == S
    assert State.PAUSED in [h.state for h in approve.state.histories]
    assert len(run.execution.taskRunList) == 4


def test_pause_tasks_run_at_the_end_of_its_duration_and_a_failure_fails_the_pause():
    trace = simulate(PAUSE_TASKS.replace("{extra}", "delay: PT1M"), {"inside2": F})
    assert trace.started() == ["inside1", "inside2"]
    assert trace.state("approve") == F
    assert trace.execution.state.current == F


def test_on_resume_inputs_are_typed_and_become_the_output_on_resume():
    from kflow.engine import ResumeRequested
    from tests.engine.simulate import T0
    from tests.engine.test_flowables import drive

    engine, run, _ = paused(PAUSE_TASKS.replace("{extra}", ON_RESUME))
    drive(engine, run, engine.step(run, [ResumeRequested({"approved": "true", "reason": "ok", "ignored": 1})], T0), T0)
    approve = next(tr for tr in run.execution.taskRunList if tr.taskId == "approve")
    assert approve.outputs == {"onResume": {"approved": True, "reason": "ok"}}
    inside1 = next(tr for tr in run.execution.taskRunList if tr.taskId == "inside1")
    assert inside1.state.current == S


def test_on_resume_defaults_apply_and_a_bad_value_fails_the_pause_naming_the_input():
    from kflow.engine import ResumeRequested
    from tests.engine.simulate import T0

    engine, run, _ = paused(flow(f"  - id: approve\n    type: io.kestra.plugin.core.flow.Pause\n    {ON_RESUME}\n  - {{id: after, type: {RETURN}, format: x}}"))
    engine.step(run, [ResumeRequested({})], T0)
    assert run.execution.taskRunList[0].outputs == {"onResume": {"approved": False, "reason": None}}
    engine, run, _ = paused(flow(f"  - id: approve\n    type: io.kestra.plugin.core.flow.Pause\n    {ON_RESUME}"))
    engine.step(run, [ResumeRequested({"approved": "maybe"})], T0)
    approve = run.execution.taskRunList[0]
    assert approve.state.current == F
    assert "input 'approved' (BOOLEAN)" in approve.attempts[-1].reason
    assert run.execution.state.current == F


# -- WaitFor ------------------------------------------------------------------------------------
def wait_for(condition: str, extra: str = "", tasks: str = "") -> str:
    return flow(f"""
  - id: loop
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{condition}"
    {extra}
    tasks:
      - {{id: step, type: {RETURN}, format: "{{{{ outputs.loop.iterationCount }}}}"}}
      {tasks}
  - {{id: after, type: {RETURN}, format: x}}
""")


def test_wait_for_repeats_its_tasks_until_the_condition_holds_as_kestra_documents():
    # simulate() answers each Return with {"value": task id}: the loop counts iterations itself.
    trace = simulate(wait_for("{{ outputs.loop.iterationCount >= 4 }}", tasks=f"- {{id: second, type: {RETURN}, format: y}}"))
    assert trace.started() == ["step", "second"] * 4 + ["after"]
    loop = runs(trace, "loop")[0]
    assert loop.state.current == S and loop.outputs == {"iterationCount": 4}
    assert [tr.iteration for tr in runs(trace, "step")] == [0, 1, 2, 3]
    assert len(trace.execution.taskRunList) == 1 + 8 + 1


def test_wait_for_waits_its_interval_between_iterations():
    trace = simulate(wait_for("{{ outputs.loop.iterationCount >= 3 }}", "checkFrequency: {interval: PT10M}"))
    steps = runs(trace, "step")
    gaps = [b.state.start_date - a.state.end_date for a, b in zip(steps, steps[1:])]
    assert len(gaps) == 2 and all(gap >= timedelta(minutes=10) for gap in gaps)


@pytest.mark.parametrize("extra, state, iterations", [
    ("checkFrequency: {maxIterations: 3, interval: PT1S}", S, 3),
    ("checkFrequency: {maxIterations: 3, interval: PT1S}\n    failOnMaxReached: true", F, 3),
    ("checkFrequency: {maxDuration: PT1M, interval: PT25S}\n    failOnMaxReached: true", F, 3),
])
def test_wait_for_stops_at_its_limits_failing_only_with_fail_on_max_reached(extra, state, iterations):
    trace = simulate(wait_for("{{ false }}", extra))
    assert len(runs(trace, "step")) == iterations
    assert runs(trace, "loop")[0].state.current == state
    assert trace.execution.state.current == state
    if state == F:
        assert "failOnMaxReached" in runs(trace, "loop")[0].attempts[-1].reason
        assert runs(trace, "after") == []


def test_wait_for_child_failure_fails_it_and_runs_its_errors():
    text = wait_for("{{ false }}", f"errors:\n      - {{id: handle, type: {RETURN}, format: e}}")
    trace = simulate(text, {"step": F})
    assert trace.started() == ["step", "handle"]
    assert runs(trace, "loop")[0].state.current == F


def test_loop_until_is_kestra_1s_name_with_a_one_minute_interval():
    trace = simulate(wait_for("{{ outputs.loop.iterationCount >= 2 }}").replace("flow.WaitFor", "flow.LoopUntil"))
    steps = runs(trace, "step")
    assert len(steps) == 2 and steps[1].state.start_date - steps[0].state.end_date >= timedelta(minutes=1)


# -- expressions reading the execution: correlationId, currentEachOutput(), errorLogs() ----------
def test_correlation_id_is_the_execution_id_and_a_subflow_inherits_its_parents():
    from kflow.engine import Engine, StartSubflow
    from kflow.flow import load_flow
    from tests.engine.simulate import T0

    text = flow(f"""
  - {{id: show, type: {RETURN}, format: "{{{{ labels.system.correlationId }}}}"}}
  - {{id: child, type: io.kestra.plugin.core.flow.Subflow, namespace: t, flowId: other, labels: {{a: b}}}}
""")
    engine = Engine(load_flow(text))
    run = engine.load(engine.new_execution("parent-id", {}, T0))
    (show,) = engine.start(run, T0).actions
    from kflow.expr import render
    assert render("{{ labels.system.correlationId }}", engine.context(run, show.taskrun_id)) == "parent-id"
    from kflow.engine import AttemptEnded
    result = engine.step(run, [AttemptEnded(show.taskrun_id, 0, S, {"value": "x"})], T0)
    (start,) = [a for a in result.actions if isinstance(a, StartSubflow)]
    assert start.labels == {"a": "b", "system.correlationId": "parent-id"}
    child = Engine(load_flow("id: other\nnamespace: t\ntasks: [{id: r, type: io.kestra.plugin.core.debug.Return, format: x}]"))
    assert child.new_execution(start.execution_id, {}, T0, labels=start.labels).labels["system.correlationId"] == "parent-id"


def test_current_each_output_reads_the_sibling_of_the_same_iteration():
    from kflow.engine import Engine
    from kflow.expr import render
    from kflow.flow import load_flow
    from tests.engine.simulate import T0
    from tests.engine.test_flowables import drive

    text = flow(f"""
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - {{id: first, type: {RETURN}, format: x}}
      - {{id: second, type: {RETURN}, format: "{{{{ currentEachOutput(outputs.first).value }}}}"}}
""")
    engine = Engine(load_flow(text))
    run = engine.load(engine.new_execution("e", {}, T0))
    drive(engine, run, engine.start(run, T0), T0)
    seconds = [tr for tr in run.execution.taskRunList if tr.taskId == "second"]
    # drive() answers every Return with {"value": its task id}: give each iteration its own value
    run.index.outputs["first"] = {"a": {"value": "first of a"}, "b": {"value": "first of b"}}
    picked = [render("{{ currentEachOutput(outputs.first).value }}", engine.context(run, tr.id)) for tr in seconds]
    assert picked == ["first of a", "first of b"]


def test_error_logs_in_the_errors_branch_give_the_failed_tasks_reasons():
    from kflow.expr import render

    text = flow(f"  - {{id: broken, type: {RETURN}, format: x}}",
                extra=f'errors:\n  - {{id: alert, type: {RETURN}, format: "{{{{ errorLogs()[0].taskId }}}}: {{{{ errorLogs()[0].message }}}}"}}')
    from kflow.engine import AttemptEnded, Engine, RunTask
    from kflow.flow import load_flow
    from tests.engine.simulate import T0

    engine = Engine(load_flow(text))
    run = engine.load(engine.new_execution("e", {}, T0))
    (broken,) = engine.start(run, T0).actions
    result = engine.step(run, [AttemptEnded(broken.taskrun_id, 0, F, reason="disk full")], T0)
    (alert,) = [a for a in result.actions if isinstance(a, RunTask)]
    context = engine.context(run, alert.taskrun_id)
    assert render(engine.plan.task("alert").format, context) == "broken: disk full"
    assert [line["level"] for line in context["_error_logs"]] == ["ERROR"]
