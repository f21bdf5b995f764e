"""Flow-level `retry` in the pure engine: states, attempt counts, delays, kills (simulated shell)."""

from __future__ import annotations

from datetime import timedelta

from kflow.engine import AttemptEnded, Engine, KillRequested, RetryExecution, RunTask, WakeAt
from kflow.execution import State
from kflow.flow import load_flow
from tests.engine.simulate import T0, simulate

FLOW = """
id: f
namespace: t
retry: {{type: constant, interval: PT10S, maxAttempts: {n}, behavior: {behavior}}}
tasks:
  - {{id: ok, type: io.kestra.plugin.core.debug.Return, format: x}}
  - {{id: flaky, type: io.kestra.plugin.core.debug.Return, format: x}}
"""


def first_try_fails(engine, run):
    """`ok` succeeds, `flaky` fails: the step result after the first try."""
    result = engine.start(run, T0)
    for _ in range(2):
        action = next(a for a in result.actions if isinstance(a, RunTask))
        outcome = State.SUCCESS if action.task_id == "ok" else State.FAILED
        result = engine.step(run, [AttemptEnded(action.taskrun_id, action.attempt, outcome, None, "boom")], T0)
    return result


def test_retry_failed_task_gives_the_failed_task_run_one_attempt_per_try():
    trace = simulate(FLOW.format(n=3, behavior="RETRY_FAILED_TASK"), {"flaky": [State.FAILED, State.FAILED, State.SUCCESS]})
    execution = trace.execution
    assert execution.state.current == State.SUCCESS
    assert [h.state for h in execution.state.histories].count(State.RETRYING) == 2
    assert trace.starts("ok") == trace.starts("ok")[:1]  # what succeeded runs once
    assert len(trace.starts("flaky")) == 3
    retrying = [h.date for h in execution.state.histories if h.state in (State.RETRYING, State.RUNNING)][1:]
    assert retrying[1] - retrying[0] >= timedelta(seconds=10)  # the policy's interval between tries


def test_retries_spent_end_failed():
    trace = simulate(FLOW.format(n=2, behavior="RETRY_FAILED_TASK"), {"flaky": State.FAILED})
    assert trace.execution.state.current == State.FAILED
    assert len(trace.starts("flaky")) == 2


def test_a_kill_while_retrying_ends_killed_at_once():
    engine = Engine(load_flow(FLOW.format(n=3, behavior="RETRY_FAILED_TASK")))
    run = engine.load(engine.new_execution("e", {}, T0))
    result = first_try_fails(engine, run)
    assert run.execution.state.current == State.RETRYING
    assert any(isinstance(a, WakeAt) and a.at == T0 + timedelta(seconds=10) for a in result.actions)
    result = engine.step(run, [KillRequested()], T0 + timedelta(seconds=1))
    assert run.execution.state.current == State.KILLED


def test_create_new_execution_ends_retried_and_asks_for_the_next_try_which_waits_its_date():
    engine = Engine(load_flow(FLOW.format(n=3, behavior="CREATE_NEW_EXECUTION")))
    run = engine.load(engine.new_execution("e", {}, T0))
    result = first_try_fails(engine, run)
    assert run.execution.state.current == State.RETRIED
    retry = next(a for a in result.actions if isinstance(a, RetryExecution))
    assert (retry.at, retry.attempt_number, retry.original_created) == (T0 + timedelta(seconds=10), 2, T0)

    from kflow.execution.model import ExecutionMetadata

    second = engine.load(engine.new_execution("e2", {}, T0, schedule_date=retry.at,
                                              metadata=ExecutionMetadata(attemptNumber=2, originalCreatedDate=T0)))
    result = engine.start(second, T0 + timedelta(seconds=1))
    assert second.execution.state.current == State.CREATED and result.actions == [WakeAt(retry.at)]
    result = engine.step(second, [], retry.at)
    assert second.execution.state.current == State.RUNNING
    assert [a.task_id for a in result.actions if isinstance(a, RunTask)] == ["ok"]
