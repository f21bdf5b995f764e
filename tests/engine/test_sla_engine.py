"""Flow `sla` in the pure engine: the deadline is a WakeAt (no polling), a violation's behaviour."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kflow.engine import AttemptEnded, Engine, ExecutionEnded, KillTask, RunTask, WakeAt
from kflow.execution import State
from kflow.flow import parse_flow

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _flow(behavior: str, extra: list | None = None):
    return parse_flow({"id": "f", "namespace": "t",
                       "sla": [{"id": "quick", "type": "MAX_DURATION", "duration": "PT10S", "behavior": behavior, "labels": {"sla": "missed"}}, *(extra or [])],
                       "tasks": [{"id": "a", "type": "io.kestra.plugin.core.debug.Return", "format": "x"},
                                 {"id": "b", "type": "io.kestra.plugin.core.debug.Return", "format": "y"}]})


def _started(behavior: str, extra: list | None = None):
    engine = Engine(_flow(behavior, extra))
    run = engine.load(engine.new_execution("E", {}, T0))
    return engine, run, engine.start(run, T0)


def test_the_deadline_is_one_wake_at_and_nothing_happens_before_it():
    engine, run, result = _started("FAIL")
    assert [a.at for a in result.actions if isinstance(a, WakeAt)] == [T0 + timedelta(seconds=10)]
    result = engine.step(run, [], T0 + timedelta(seconds=9))
    assert run.execution.state.current == State.RUNNING and "sla" not in run.execution.labels
    assert [a.at for a in result.actions if isinstance(a, WakeAt)] == [T0 + timedelta(seconds=10)]


def test_fail_kills_the_running_task_and_fails_the_execution_with_the_labels():
    engine, run, result = _started("FAIL")
    running = next(a for a in result.actions if isinstance(a, RunTask))
    result = engine.step(run, [], T0 + timedelta(seconds=10))
    assert run.execution.state.current == State.FAILED
    assert run.execution.error == "SLA 'quick' violated: the execution ran longer than PT10S"
    assert run.execution.labels["sla"] == "missed"
    assert KillTask(running.taskrun_id, 0) in result.actions and ExecutionEnded(State.FAILED) in result.actions
    assert run.taskrun(running.taskrun_id).state.current == State.KILLED
    # the attempt's late end report changes nothing
    engine.step(run, [AttemptEnded(running.taskrun_id, 0, State.SUCCESS, {"value": "x"})], T0 + timedelta(seconds=11))
    assert run.execution.state.current == State.FAILED and run.taskrun(running.taskrun_id).state.current == State.KILLED


def test_cancel_ends_cancelled_and_none_only_adds_the_labels():
    engine, run, _ = _started("CANCEL")
    engine.step(run, [], T0 + timedelta(seconds=12))
    assert run.execution.state.current == State.CANCELLED
    engine, run, result = _started("NONE")
    first = next(a for a in result.actions if isinstance(a, RunTask))
    result = engine.step(run, [], T0 + timedelta(seconds=12))
    assert run.execution.state.current == State.RUNNING and run.execution.labels["sla"] == "missed"
    assert not any(isinstance(a, WakeAt) for a in result.actions)  # nothing left to wait for
    result = engine.step(run, [AttemptEnded(first.taskrun_id, 0, State.SUCCESS, {"value": "x"})], T0 + timedelta(seconds=13))
    second = next(a for a in result.actions if isinstance(a, RunTask))
    engine.step(run, [AttemptEnded(second.taskrun_id, 0, State.SUCCESS, {"value": "y"})], T0 + timedelta(seconds=14))
    assert run.execution.state.current == State.SUCCESS


def test_an_assertion_is_checked_as_the_execution_ends():
    extra = [{"id": "is_y", "type": "EXECUTION_ASSERTION", "assert": "{{ outputs.b.value == 'z' }}", "behavior": "CANCEL", "labels": [{"key": "assertion", "value": "failed"}]}]
    engine, run, result = _started("NONE", extra)
    first = next(a for a in result.actions if isinstance(a, RunTask))
    result = engine.step(run, [AttemptEnded(first.taskrun_id, 0, State.SUCCESS, {"value": "x"})], T0 + timedelta(seconds=1))
    assert run.execution.state.current == State.RUNNING  # not checked while running: b has no output yet
    second = next(a for a in result.actions if isinstance(a, RunTask))
    engine.step(run, [AttemptEnded(second.taskrun_id, 0, State.SUCCESS, {"value": "y"})], T0 + timedelta(seconds=2))
    assert run.execution.state.current == State.CANCELLED
    assert run.execution.error == "SLA 'is_y' violated: assertion is false: {{ outputs.b.value == 'z' }}"
    assert run.execution.labels["assertion"] == "failed" and "sla" not in run.execution.labels
