"""The engine's rules, table by table: order, overlap, failure, errors, retries, kill."""

from __future__ import annotations

import pytest

from kflow.engine import AttemptEnded, Engine
from kflow.execution import State
from kflow.flow import load_flow
from tests.engine.simulate import T0, simulate

S, F, W, K = State.SUCCESS, State.FAILED, State.WARNING, State.KILLED
RETURN = "io.kestra.plugin.core.debug.Return"


def flow(tasks: str, extra: str = "") -> str:
    return f"id: f\nnamespace: t\ntasks:\n{tasks}\n{extra}"


SEQ3 = flow(f"""
  - id: seq
    type: io.kestra.core.tasks.flows.Sequential
    tasks:
      - {{id: a, type: {RETURN}, format: x}}
      - {{id: b, type: {RETURN}, format: x}}
      - {{id: c, type: {RETURN}, format: x}}
""")

PAR3 = flow(f"""
  - id: par
    type: io.kestra.core.tasks.flows.Parallel
    tasks:
      - {{id: a, type: {RETURN}, format: x}}
      - {{id: b, type: {RETURN}, format: x}}
      - {{id: c, type: {RETURN}, format: x}}
  - {{id: after, type: {RETURN}, format: x}}
""")


def test_sequential_runs_children_in_order_without_overlap():
    trace = simulate(SEQ3)
    assert trace.started() == ["a", "b", "c"]
    assert trace.span("a")[1] <= trace.span("b")[0] and trace.span("b")[1] <= trace.span("c")[0]
    assert trace.execution.state.current == S
    assert trace.state("seq") == S


def test_parallel_starts_all_children_at_once_then_continues():
    trace = simulate(PAR3)
    assert set(trace.started()[:3]) == {"a", "b", "c"}
    assert trace.max_running == 3
    assert trace.started()[-1] == "after"
    assert trace.span("after")[0] >= max(trace.span(t)[1] for t in "abc")


@pytest.mark.parametrize("limit, expected", [(1, 1), (2, 2), (0, 3)])
def test_parallel_concurrent_limit(limit, expected):
    trace = simulate(PAR3.replace("    tasks:\n      - {id: a", f"    concurrent: {limit}\n    tasks:\n      - {{id: a", 1))
    assert trace.max_running == expected
    assert trace.execution.state.current == S


@pytest.mark.parametrize(
    "yaml, outcomes, final, states",
    [
        (SEQ3, {"b": F}, F, {"a": S, "b": F, "seq": F}),
        (SEQ3, {"a": W}, W, {"a": W, "seq": W}),
        (PAR3, {"a": F}, F, {"a": F, "b": S, "c": S, "par": F}),
    ],
)
def test_failure_rules(yaml, outcomes, final, states):
    trace = simulate(yaml, outcomes)
    assert trace.execution.state.current == final
    for task_id, state in states.items():
        assert trace.state(task_id) == state


def test_failed_child_stops_what_follows_in_sequence():
    trace = simulate(SEQ3, {"b": F})
    assert "c" not in trace.started()


def test_parallel_after_failure_lets_siblings_finish_and_starts_no_more():
    yaml = PAR3.replace("    tasks:\n      - {id: a", "    concurrent: 2\n    tasks:\n      - {id: a", 1)
    trace = simulate(yaml, {"a": F})
    # a fails first (FIFO): b was already running and finishes; c never starts; `after` never runs
    assert "c" not in trace.started() and "after" not in trace.started()
    assert trace.state("b") == S
    assert trace.execution.state.current == F


def test_flow_errors_branch_runs_after_failure_and_execution_fails():
    yaml = flow(f"""
  - {{id: a, type: {RETURN}, format: x}}
  - {{id: b, type: {RETURN}, format: x}}
  - {{id: never, type: {RETURN}, format: x}}
""", f"""errors:
  - {{id: e1, type: {RETURN}, format: x}}
  - {{id: e2, type: {RETURN}, format: x}}
""")
    trace = simulate(yaml, {"b": F})
    assert trace.started() == ["a", "b", "e1", "e2"]
    assert trace.execution.state.current == F


def test_errors_branch_does_not_run_on_success():
    yaml = flow(f"  - {{id: a, type: {RETURN}, format: x}}", f"errors:\n  - {{id: e1, type: {RETURN}, format: x}}\n")
    assert simulate(yaml).started() == ["a"]


def test_sequential_local_errors():
    yaml = flow(f"""
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - {{id: a, type: {RETURN}, format: x}}
    errors:
      - {{id: handle, type: {RETURN}, format: x}}
  - {{id: after, type: {RETURN}, format: x}}
""")
    trace = simulate(yaml, {"a": F})
    assert trace.started() == ["a", "handle"]
    assert trace.state("seq") == F and trace.execution.state.current == F


def test_finally_runs_after_failure_and_success():
    yaml = flow(f"  - {{id: a, type: {RETURN}, format: x}}", f"finally:\n  - {{id: fin, type: {RETURN}, format: x}}\n")
    assert simulate(yaml).started() == ["a", "fin"]
    failed = simulate(yaml, {"a": F})
    assert failed.started() == ["a", "fin"] and failed.execution.state.current == F


def test_allow_failure_turns_failure_into_warning_and_goes_on():
    yaml = flow(f"""
  - {{id: a, type: {RETURN}, format: x, allowFailure: true}}
  - {{id: b, type: {RETURN}, format: x}}
""")
    trace = simulate(yaml, {"a": F})
    assert trace.started() == ["a", "b"]
    assert trace.state("a") == W and trace.execution.state.current == W


def test_disabled_tasks_do_not_run():
    yaml = flow(f"""
  - {{id: a, type: {RETURN}, format: x, disabled: true}}
  - {{id: b, type: {RETURN}, format: x}}
""")
    assert simulate(yaml).started() == ["b"]


@pytest.mark.parametrize(
    "retry, outcomes, attempts, final",
    [
        ("{type: constant, interval: PT1S, maxAttempt: 3}", [F, F, S], 3, S),
        ("{type: constant, interval: PT1S, maxAttempt: 2}", [F, F, S], 2, F),
        ("{type: exponential, interval: PT1S, maxInterval: PT4S, maxAttempt: 4}", [F, F, F, S], 4, S),
        ("{type: random, minInterval: PT1S, maxInterval: PT2S, maxAttempt: 2}", [F, S], 2, S),
        ("{type: constant, interval: PT1S, maxAttempt: 3, warningOnRetry: true}", [F, S], 2, W),
        ("{type: constant, interval: PT10S, maxDuration: PT15S}", [F, F, F, S], 2, F),
    ],
)
def test_retry_policies(retry, outcomes, attempts, final):
    yaml = flow(f"  - {{id: a, type: {RETURN}, format: x, retry: {retry}}}")
    trace = simulate(yaml, {"a": outcomes})
    assert len(trace.starts("a")) == attempts
    run = trace.execution.taskRunList[0]
    assert len(run.attempts) == attempts
    assert run.state.current == final
    if attempts > 1:
        assert State.RETRYING in [h.state for h in run.state.histories]


def test_retry_waits_for_the_interval():
    engine = Engine(load_flow(flow(f"  - {{id: a, type: {RETURN}, format: x, retry: {{type: constant, interval: PT30S, maxAttempt: 2}}}}")))
    run = engine.load(engine.new_execution("e", {}, T0))
    start = engine.start(run, T0).actions[0]
    from datetime import timedelta

    result = engine.step(run, [AttemptEnded(start.taskrun_id, 0, F)], T0 + timedelta(seconds=1))
    assert [type(a).__name__ for a in result.actions] == ["WakeAt"]
    assert result.actions[0].at == T0 + timedelta(seconds=31)
    assert engine.step(run, [], T0 + timedelta(seconds=10)).actions[0].__class__.__name__ == "WakeAt"
    due = engine.step(run, [], T0 + timedelta(seconds=31))
    assert [(type(a).__name__, a.attempt) for a in due.actions] == [("RunTask", 1)]


def test_kill_stops_running_tasks_and_ends_killed():
    trace = simulate(PAR3, kill_at=1)
    assert trace.execution.state.current == K
    assert {trace.state(t) for t in "abc"} == {K}
    assert "after" not in trace.started()


def test_repeated_or_stale_reports_are_ignored():
    engine = Engine(load_flow(SEQ3))
    run = engine.load(engine.new_execution("e", {}, T0))
    first = engine.start(run, T0).actions[0]
    ended = AttemptEnded(first.taskrun_id, 0, S, {"value": 1})
    assert len(engine.step(run, [ended], T0).actions) == 1
    again = engine.step(run, [ended, AttemptEnded(first.taskrun_id, 5, F)], T0)
    assert again.actions == [] and again.changed == set()


def test_ids_are_deterministic_so_a_crashed_shell_recomputes_the_same_runs():
    def first_ids():
        engine = Engine(load_flow(PAR3))
        run = engine.load(engine.new_execution("same", {}, T0))
        return [a.taskrun_id for a in engine.start(run, T0).actions]

    assert first_ids() == first_ids()


def test_state_round_trips_through_json_mid_run():
    engine = Engine(load_flow(SEQ3))
    run = engine.load(engine.new_execution("e", {}, T0))
    first = engine.start(run, T0).actions[0]
    engine.step(run, [AttemptEnded(first.taskrun_id, 0, S, {"value": "a"})], T0)
    from kflow.execution import Execution

    restored = engine.load(Execution.model_validate_json(run.execution.model_dump_json()))
    second = [tr for tr in restored.execution.taskRunList if tr.taskId == "b"][0]
    result = engine.step(restored, [AttemptEnded(second.id, 0, S)], T0)
    assert [restored.taskrun(a.taskrun_id).taskId for a in result.actions if hasattr(a, "taskrun_id")] == ["c"]
    assert restored.index.outputs["a"] == {"value": "a"}


def test_a_step_reports_only_what_changed():
    tasks = "\n".join(f"      - {{id: t{i}, type: {RETURN}, format: x}}" for i in range(50))
    engine = Engine(load_flow(flow(f"  - id: seq\n    type: io.kestra.plugin.core.flow.Sequential\n    tasks:\n{tasks}")))
    run = engine.load(engine.new_execution("e", {}, T0))
    action = engine.start(run, T0).actions[0]
    for _ in range(10):
        result = engine.step(run, [AttemptEnded(action.taskrun_id, 0, S)], T0)
        assert len(result.changed) == 2  # the ended one and the next one
        action = result.actions[0]
