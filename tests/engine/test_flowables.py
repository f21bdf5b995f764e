"""Kestra's flowable tasks in the engine: which branches run, in what order, final states, outputs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kflow.engine import AttemptEnded, Engine, ResumeRequested, RunTask, StartSubflow
from kflow.execution import State
from kflow.flow import FlowError, load_flow
from tests.engine.simulate import T0, simulate

S, F, W, K = State.SUCCESS, State.FAILED, State.WARNING, State.KILLED
RETURN = "io.kestra.plugin.core.debug.Return"
CORE = "io.kestra.plugin.core.flow"
OLD = "io.kestra.core.tasks.flows"


def flow(tasks: str, extra: str = "") -> str:
    return f"id: f\nnamespace: t\n{extra}\ntasks:\n{tasks}\n"


def runs(trace, task_id):
    return [tr for tr in trace.execution.taskRunList if tr.taskId == task_id]


# -- Switch -----------------------------------------------------------------------------------
SWITCH = flow(f"""
  - id: sw
    type: {CORE}.Switch
    value: "{{{{ inputs.x }}}}"
    cases:
      A:
        - {{id: a1, type: {RETURN}, format: x}}
        - {{id: a2, type: {RETURN}, format: x}}
      B:
        - {{id: b1, type: {RETURN}, format: x}}
    defaults:
      - {{id: d1, type: {RETURN}, format: x}}
""", extra="inputs:\n  - {id: x, type: STRING}")


def run_with_inputs(text: str, inputs: dict, outcomes: dict | None = None):
    """Like simulate(), with inputs; every attempt ends as `outcomes` says (default SUCCESS)."""
    engine = Engine(load_flow(text))
    run = engine.load(engine.new_execution("e", inputs, T0))
    started = drive(engine, run, engine.start(run, T0), T0, lambda task_id: (outcomes or {}).get(task_id, S))
    return run.execution, started


@pytest.mark.parametrize("value, ran, defaults", [("A", ["a1", "a2"], False), ("B", ["b1"], False), ("Z", ["d1"], True)])
def test_switch_runs_the_matching_case_or_defaults(value, ran, defaults):
    execution, started = run_with_inputs(SWITCH, {"x": value})
    assert started == ran
    assert execution.state.current == S
    sw = next(tr for tr in execution.taskRunList if tr.taskId == "sw")
    assert sw.outputs == {"value": value, "defaults": defaults}


def test_switch_without_match_or_defaults_fails_naming_the_value():
    text = SWITCH.replace("    defaults:\n      - {id: d1, type: io.kestra.plugin.core.debug.Return, format: x}\n", "")
    execution, started = run_with_inputs(text, {"x": "Z"})
    assert started == []
    assert execution.state.current == F
    sw = next(tr for tr in execution.taskRunList if tr.taskId == "sw")
    assert "'Z' matches no case" in sw.attempts[-1].reason


def test_old_switch_name_and_boolean_case_keys():
    text = flow(f"""
  - id: sw
    type: {OLD}.Switch
    value: "{{{{ 1 == 1 }}}}"
    cases:
      true:
        - {{id: yes_, type: {RETURN}, format: x}}
      false:
        - {{id: no_, type: {RETURN}, format: x}}
""")
    assert simulate(text).started() == ["yes_"]


# -- If ---------------------------------------------------------------------------------------
IF = flow(f"""
  - id: check
    type: {CORE}.If
    condition: "{{{{ inputs.n > 2 }}}}"
    then:
      - {{id: big, type: {RETURN}, format: x}}
    else:
      - {{id: small, type: {RETURN}, format: x}}
  - {{id: after, type: {RETURN}, format: x}}
""", extra="inputs:\n  - {id: n, type: INT}")


@pytest.mark.parametrize("n, ran, result", [(5, "big", True), (1, "small", False)])
def test_if_runs_then_or_else(n, ran, result):
    execution, started = run_with_inputs(IF, {"n": n})
    assert started == [ran, "after"]
    check = next(tr for tr in execution.taskRunList if tr.taskId == "check")
    assert check.outputs == {"evaluationResult": result}
    assert check.state.current == S


def test_if_without_else_and_false_condition_succeeds_with_nothing_run():
    text = flow(f"""
  - id: check
    type: {CORE}.If
    condition: "false"
    then:
      - {{id: big, type: {RETURN}, format: x}}
""")
    trace = simulate(text)
    assert trace.started() == []
    assert trace.execution.state.current == S


# -- loops -------------------------------------------------------------------------------------
def foreach(limit: int, values: str = '["a", "b", "c", "d"]', tasks: str = "") -> str:
    tasks = tasks or f"""      - {{id: one, type: {RETURN}, format: "{{{{ taskrun.value }}}}"}}
      - {{id: two, type: {RETURN}, format: x}}"""
    return flow(f"""
  - id: loop
    type: {CORE}.ForEach
    values: '{values}'
    concurrencyLimit: {limit}
    tasks:
{tasks}
  - {{id: after, type: {RETURN}, format: x}}
""")


def test_foreach_runs_each_value_in_turn_with_tasks_in_order():
    trace = simulate(foreach(1))
    assert trace.started() == ["one", "two"] * 4 + ["after"]
    assert trace.max_running == 1
    ones = runs(trace, "one")
    assert [tr.value for tr in ones] == ["a", "b", "c", "d"]
    assert [tr.iteration for tr in ones] == [0, 1, 2, 3]
    assert not runs(trace, "loop")[0].outputs
    assert trace.execution.state.current == S


@pytest.mark.parametrize("limit, most", [(2, 2), (0, 4)])
def test_foreach_concurrency_limit(limit, most):
    trace = simulate(foreach(limit), seed=3, batch=1)
    assert trace.max_running == most
    assert trace.execution.state.current == S
    # within one value, `two` starts after `one` ended
    for value in "abcd":
        one = next(e for e in trace.events if e[0] == "end" and e[2] == next(tr.id for tr in runs(trace, "one") if tr.value == value))
        two = next(e for e in trace.events if e[0] == "start" and e[2] == next(tr.id for tr in runs(trace, "two") if tr.value == value))
        assert one[4] <= two[4]


def test_foreach_failure_stops_new_iterations_and_runs_errors():
    text = foreach(1).replace("  - {id: after", f"""    errors:
      - {{id: handler, type: {RETURN}, format: x}}
  - {{id: after""")
    trace = simulate(text, {"two": F})
    assert trace.started() == ["one", "two", "handler"]
    assert trace.state("loop") == F
    assert trace.execution.state.current == F


def test_foreach_outputs_nest_by_value_and_nested_tasks_see_parent_value():
    tasks = f"""      - id: inner
        type: {CORE}.Sequential
        tasks:
          - {{id: deep, type: {RETURN}, format: "{{{{ parent.taskrun.value }}}}"}}"""
    engine = Engine(load_flow(foreach(0, tasks=tasks)))
    run = engine.load(engine.new_execution("e", {}, T0))
    result = engine.start(run, T0)
    starts = [a for a in result.actions if isinstance(a, RunTask)]
    assert len(starts) == 4
    contexts = [engine.context(run, a.taskrun_id) for a in starts]
    assert sorted(c["parent"]["taskrun"]["value"] for c in contexts) == ["a", "b", "c", "d"]
    result = engine.step(run, [AttemptEnded(a.taskrun_id, 0, S, {"value": c["parent"]["taskrun"]["value"]}) for a, c in zip(starts, contexts)], T0)
    assert run.index.outputs["deep"] == {v: {"value": v} for v in "abcd"}


def test_foreach_values_from_an_expression_and_a_null_value_fails():
    text = foreach(1, values="{{ [1, 2] }}")
    trace = simulate(text)
    assert [tr.value for tr in runs(trace, "one")] == ["1", "2"]
    trace = simulate(foreach(1, values="[1, null]"))
    assert trace.execution.state.current == F
    assert "values[1] is null" in runs(trace, "loop")[0].attempts[-1].reason


def test_foreach_over_no_values_succeeds():
    trace = simulate(foreach(1, values="[]"))
    assert trace.started() == ["after"]
    assert trace.execution.state.current == S


def test_duplicate_values_each_get_their_own_task_run():
    trace = simulate(foreach(0, values='["x", "x"]'))
    assert len(runs(trace, "one")) == 2


def test_each_sequential_and_each_parallel():
    seq = flow(f"""
  - id: each
    type: {OLD}.EachSequential
    value: ["1", "2", "3"]
    tasks:
      - {{id: t, type: {RETURN}, format: x}}
""")
    trace = simulate(seq)
    assert trace.max_running == 1 and len(trace.started()) == 3
    par = seq.replace("EachSequential", "EachParallel").replace("      - {id: t,", f"      - {{id: u, type: {RETURN}, format: x}}\n      - {{id: t,")
    trace = simulate(par)
    assert trace.max_running == 6  # every value's every task at once
    limited = simulate(par.replace('value: ["1"', 'concurrent: 1\n    value: ["1"'))
    assert limited.max_running == 2  # one value at a time, its two tasks together


def test_a_10000_value_loop_takes_linear_steps():
    trace = simulate(foreach(100, values=str(list(range(10_000))), tasks=f"      - {{id: one, type: {RETURN}, format: x}}"), seed=1, batch=50)
    assert len(runs(trace, "one")) == 10_000
    assert trace.max_running == 100
    assert trace.execution.state.current == S


# -- Dag ---------------------------------------------------------------------------------------
DAG = flow(f"""
  - id: dag
    type: {CORE}.Dag
    tasks:
      - task: {{id: extract, type: {RETURN}, format: x}}
      - task: {{id: left, type: {RETURN}, format: x}}
        dependsOn: [extract]
      - task: {{id: right, type: {RETURN}, format: x}}
        dependsOn: [extract]
      - task: {{id: load, type: {RETURN}, format: x}}
        dependsOn: [left, right]
""")


def test_dag_runs_each_task_after_its_dependencies():
    trace = simulate(DAG, seed=5, batch=2)
    assert trace.started()[0] == "extract" and trace.started()[-1] == "load"
    assert trace.span("load")[0] >= max(trace.span("left")[1], trace.span("right")[1])
    assert trace.max_running == 2  # left and right together
    assert trace.execution.state.current == S


def test_dag_failure_stops_dependents():
    trace = simulate(DAG, {"left": F})
    assert "load" not in trace.started()
    assert trace.state("dag") == F


@pytest.mark.parametrize("bad, message", [
    ("dependsOn: [nope]", "dependsOn nope, which is not a task of this Dag"),
    ("dependsOn: [load]", "cycle: extract -> load -> left -> extract"),
])
def test_dag_validation_errors_name_the_problem(bad, message):
    text = DAG.replace("      - task: {id: extract, type: io.kestra.plugin.core.debug.Return, format: x}",
                       f"      - task: {{id: extract, type: {RETURN}, format: x}}\n        {bad}")
    with pytest.raises(FlowError) as err:
        load_flow(text)
    assert message in str(err.value)
    assert "tasks[0].tasks" in str(err.value) or "tasks[0]" in str(err.value)


# -- AllowFailure, Pause -----------------------------------------------------------------------
def test_allow_failure_ends_warning_and_keeps_inner_failed_and_runs_its_errors():
    text = flow(f"""
  - id: allow
    type: {CORE}.AllowFailure
    tasks:
      - {{id: bad, type: {RETURN}, format: x}}
      - {{id: never, type: {RETURN}, format: x}}
    errors:
      - {{id: local_handler, type: {RETURN}, format: x}}
  - {{id: after, type: {RETURN}, format: x}}
""")
    trace = simulate(text, {"bad": F})
    assert trace.started() == ["bad", "local_handler", "after"]
    assert trace.state("bad") == F and trace.state("allow") == W
    assert trace.execution.state.current == W


PAUSE = flow(f"""
  - id: wait
    type: {CORE}.Pause
    {{extra}}
  - {{id: after, type: {RETURN}, format: x}}
""")


def test_pause_with_duration_resumes_itself():
    trace = simulate(PAUSE.replace("{extra}", "pauseDuration: PT1H"))
    assert trace.started() == ["after"]
    wait = runs(trace, "wait")[0]
    assert wait.state.current == S
    assert (wait.state.end_date - wait.state.start_date) >= timedelta(hours=1)
    assert State.PAUSED in [h.state for h in trace.execution.state.histories]


def test_pause_without_duration_waits_for_resume():
    engine = Engine(load_flow(PAUSE.replace("{extra}", "description: wait")))
    run = engine.load(engine.new_execution("e", {}, T0))
    result = engine.start(run, T0)
    assert run.execution.state.current == State.PAUSED
    assert not [a for a in result.actions if isinstance(a, RunTask)]
    result = engine.step(run, [ResumeRequested()], T0 + timedelta(minutes=5))
    assert run.execution.state.current == State.RUNNING
    assert [a.task_id for a in result.actions if isinstance(a, RunTask)] == ["after"]


@pytest.mark.parametrize("behavior, state", [("WARN", W), ("FAIL", F), ("CANCEL", State.CANCELLED)])
def test_pause_behavior_at_the_end_of_its_duration(behavior, state):
    trace = simulate(PAUSE.replace("{extra}", f"pauseDuration: PT1M\n    behavior: {behavior}"))
    assert runs(trace, "wait")[0].state.current == state


def test_kill_while_paused():
    trace = simulate(PAUSE.replace("{extra}", "description: wait"), kill_at=1)
    assert trace.execution.state.current == K


# -- Subflow -------------------------------------------------------------------------------------
SUB = flow(f"""
  - id: child
    type: {CORE}.Subflow
    namespace: "{{{{ flow.namespace }}}}"
    flowId: other
    inputs:
      n: "{{{{ inputs.n * 2 }}}}"
    {{extra}}
  - {{id: after, type: {RETURN}, format: "{{{{ outputs.child.outputs.result }}}}"}}
""", extra="inputs:\n  - {id: n, type: INT}")


def test_subflow_asks_the_shell_for_a_child_execution_and_takes_its_outputs():
    engine = Engine(load_flow(SUB.replace("{extra}", "")))
    run = engine.load(engine.new_execution("e", {"n": 21}, T0))
    result = engine.start(run, T0)
    (start,) = result.actions
    assert isinstance(start, StartSubflow)
    assert (start.namespace, start.flow_id, start.inputs, start.wait) == ("t", "other", {"n": "42"}, True)
    twin = Engine(load_flow(SUB.replace("{extra}", "")))  # after a crash, the same step names the same child
    (same,) = twin.start(twin.load(twin.new_execution("e", {"n": 21}, T0)), T0).actions
    assert same.execution_id == start.execution_id and same.taskrun_id == start.taskrun_id
    outputs = {"executionId": start.execution_id, "state": "SUCCESS", "outputs": {"result": 7}}
    result = engine.step(run, [AttemptEnded(start.taskrun_id, 0, S, outputs)], T0)
    (after,) = [a for a in result.actions if isinstance(a, RunTask)]
    assert engine.context(run, after.taskrun_id)["outputs"]["child"]["outputs"]["result"] == 7


@pytest.mark.parametrize("transmit, state", [("true", F), ("false", S)])
def test_subflow_failure_is_transmitted_unless_told_not_to(transmit, state):
    engine = Engine(load_flow(SUB.replace("{extra}", f"transmitFailed: {transmit}")))
    run = engine.load(engine.new_execution("e", {"n": 1}, T0))
    (start,) = engine.start(run, T0).actions
    engine.step(run, [AttemptEnded(start.taskrun_id, 0, F, {"state": "FAILED"}, "child failed")], T0)
    assert run.execution.taskRunList[0].state.current == state


def test_subflow_input_that_cannot_render_fails_the_task():
    engine = Engine(load_flow(SUB.replace("{extra}", "").replace("inputs.n * 2", "inputs.missing")))
    run = engine.load(engine.new_execution("e", {"n": 1}, T0))
    engine.start(run, T0)
    assert run.execution.state.current == F
    assert "missing" in run.execution.taskRunList[0].attempts[-1].reason


# -- flow outputs ------------------------------------------------------------------------------
def test_flow_outputs_are_rendered_at_the_end():
    text = flow(f"  - {{id: a, type: {RETURN}, format: x}}", extra='outputs:\n  - {id: final, type: STRING, value: "{{ outputs.a.value }}!"}')
    trace = simulate(text)
    assert trace.execution.outputs == {"final": "a!"}


def test_a_flow_output_that_cannot_render_fails_the_execution():
    text = flow(f"  - {{id: a, type: {RETURN}, format: x}}", extra='outputs:\n  - {id: final, type: STRING, value: "{{ outputs.nope.value }}"}')
    trace = simulate(text)
    assert trace.execution.state.current == F
    assert "flow output 'final'" in trace.execution.error


# -- restart and replay ------------------------------------------------------------------------
RESTARTABLE = flow(f"""
  - {{id: first, type: {RETURN}, format: x}}
  - id: par
    type: {CORE}.Parallel
    tasks:
      - {{id: ok, type: {RETURN}, format: x}}
      - {{id: flaky, type: {RETURN}, format: x}}
  - {{id: last, type: {RETURN}, format: x}}
errors:
  - {{id: alert, type: {RETURN}, format: x}}
""")


def drive(engine, run, result, now, outcome=lambda task_id: S):
    started = []
    while not run.execution.state.current.terminal:
        starts = [a for a in result.actions if isinstance(a, RunTask)]
        assert starts, "stuck"
        started += [a.task_id for a in starts]
        now += timedelta(seconds=1)
        result = engine.step(run, [AttemptEnded(a.taskrun_id, a.attempt, outcome(a.task_id), {"value": a.task_id}) for a in starts], now)
    return started


def test_restart_reruns_failed_task_runs_keeps_outputs_and_drops_errors_runs():
    from kflow.engine import RestartRequested

    engine = Engine(load_flow(RESTARTABLE))
    run = engine.load(engine.new_execution("e", {}, T0))
    started = drive(engine, run, engine.start(run, T0), T0, lambda t: F if t == "flaky" else S)
    assert "alert" in started and run.execution.state.current == F
    first_id = next(tr.id for tr in run.execution.taskRunList if tr.taskId == "first")
    result = engine.step(run, [RestartRequested()], T0 + timedelta(minutes=1))
    assert [a.task_id for a in result.actions if isinstance(a, RunTask)] == ["flaky"]
    assert all(tr.taskId != "alert" for tr in run.execution.taskRunList)
    again = drive(engine, run, result, T0 + timedelta(minutes=1))
    assert again == ["flaky", "last"]
    assert run.execution.state.current == S
    flaky = next(tr for tr in run.execution.taskRunList if tr.taskId == "flaky")
    assert [a.state.current for a in flaky.attempts] == [F, S]
    assert run.index.outputs["first"] == {"value": "first"} and run.index.by_id[first_id].attempts[0].state.current == S
    histories = [h.state for h in run.execution.state.histories]
    assert histories[-3:] == [State.RESTARTED, State.RUNNING, S]


def test_replay_from_a_task_run_keeps_what_ran_before_in_a_new_execution():
    from kflow.engine.restart import replay

    engine = Engine(load_flow(RESTARTABLE))
    run = engine.load(engine.new_execution("e", {}, T0))
    drive(engine, run, engine.start(run, T0), T0)
    flaky = next(tr for tr in run.execution.taskRunList if tr.taskId == "flaky")
    copy = replay(engine, run.execution, flaky.id, "e2", T0 + timedelta(hours=1))
    assert copy.originalId == "e" and copy.id == "e2"
    assert {tr.taskId for tr in copy.taskRunList} >= {"first", "par"}
    assert "flaky" not in {tr.taskId for tr in copy.taskRunList} and "last" not in {tr.taskId for tr in copy.taskRunList}
    replayed = engine.load(copy)
    started = drive(engine, replayed, engine.start(replayed, T0 + timedelta(hours=1)), T0 + timedelta(hours=1))
    assert "first" not in started and set(started) >= {"flaky", "last"}
    assert replayed.execution.state.current == S


# -- timeout on a flowable ------------------------------------------------------------------------
def test_a_flowable_past_its_timeout_kills_what_runs_under_it_and_fails():
    text = flow(f"""
  - id: seq
    type: {CORE}.Sequential
    timeout: PT10S
    tasks:
      - {{id: slow, type: {RETURN}, format: x}}
      - {{id: never, type: {RETURN}, format: x}}
""")
    engine = Engine(load_flow(text))
    run = engine.load(engine.new_execution("e", {}, T0))
    result = engine.start(run, T0)
    (slow,) = [a for a in result.actions if isinstance(a, RunTask)]
    from kflow.engine import KillTask, WakeAt

    assert any(isinstance(a, WakeAt) and a.at == T0 + timedelta(seconds=10) for a in result.actions)
    result = engine.step(run, [], T0 + timedelta(seconds=11))
    assert [a for a in result.actions if isinstance(a, KillTask)] == [KillTask(slow.taskrun_id, 0)]
    result = engine.step(run, [AttemptEnded(slow.taskrun_id, 0, F, reason="killed")], T0 + timedelta(seconds=12))
    seq = next(tr for tr in run.execution.taskRunList if tr.taskId == "seq")
    assert seq.state.current == F and "timed out after PT10S" in seq.attempts[-1].reason
    assert next(tr for tr in run.execution.taskRunList if tr.taskId == "slow").state.current == K
    assert "never" not in {tr.taskId for tr in run.execution.taskRunList}
    assert run.execution.state.current == F


def test_retry_on_a_flowable_reruns_its_failed_task_runs_after_the_interval():
    text = flow(f"""
  - id: seq
    type: {CORE}.Sequential
    retry: {{type: constant, interval: PT30S, maxAttempt: 2}}
    tasks:
      - {{id: ok, type: {RETURN}, format: x}}
      - {{id: flaky, type: {RETURN}, format: x}}
    errors:
      - {{id: handler, type: {RETURN}, format: x}}
""")
    trace = simulate(text, {"flaky": [F, S]})
    assert trace.started() == ["ok", "flaky", "handler", "flaky"]
    assert trace.execution.state.current == S
    seq = runs(trace, "seq")[0]
    assert [a.state.current for a in seq.attempts] == [F, State.RUNNING]
    assert not runs(trace, "handler")  # the errors run of the failed try is dropped
    flaky_starts = [e[4] for e in trace.events if e[0] == "start" and e[1] == "flaky"]
    assert len(flaky_starts) == 2


def test_retry_on_a_flowable_gives_up_after_its_attempts():
    text = flow(f"""
  - id: seq
    type: {CORE}.Sequential
    retry: {{type: constant, interval: PT1S, maxAttempt: 3}}
    tasks:
      - {{id: bad, type: {RETURN}, format: x}}
""")
    trace = simulate(text, {"bad": F})
    assert trace.started() == ["bad"] * 3
    assert trace.state("seq") == F


def test_switch_with_defaults_null_and_no_match_fails_as_without_defaults():
    text = SWITCH.replace("    defaults:\n      - {id: d1, type: io.kestra.plugin.core.debug.Return, format: x}\n", "    defaults: null\n")
    execution, started = run_with_inputs(text, {"x": "Z"})
    assert started == []
    assert execution.state.current == F
    assert [tr.taskId for tr in execution.taskRunList] == ["sw"]
