"""PodAdmission, the pure bookkeeping of the runner pod caps (no cluster: plain objects)."""

from __future__ import annotations

from kflow.engine import RunTask
from kflow.operator.admission import PodAdmission

A, B = ("ns", "a"), ("ns", "b")


def runs(prefix: str, n: int) -> list[RunTask]:
    return [RunTask(f"{prefix}{i}", 0, f"t{i}", None) for i in range(n)]


def test_per_execution_cap_makes_the_rest_wait_then_admits_oldest_first():
    admission = PodAdmission(max_in_flight=0, max_per_execution=2)
    started, waiting = admission.admit(A, runs("a", 5))
    assert [r.taskrun_id for r in started] == ["a0", "a1"]
    assert set(waiting) == {"a2", "a3", "a4"} and "maxPodsPerExecution" in waiting["a2"]
    assert admission.ended(A, ("a0", 0)) == A
    started, waiting = admission.admit(A, [])
    assert [r.taskrun_id for r in started] == ["a2"] and waiting == {"a2": None}


def test_operator_cap_is_shared_and_wakes_the_oldest_waiter():
    admission = PodAdmission(max_in_flight=3, max_per_execution=0)
    assert len(admission.admit(A, runs("a", 3))[0]) == 3
    started, waiting = admission.admit(B, runs("b", 2))
    assert started == [] and "maxPodsInFlight" in waiting["b0"]
    assert admission.ended(A, ("a1", 0)) == B  # A waits for nothing: B is woken
    assert [r.taskrun_id for r in admission.admit(B, [])[0]] == ["b0"]


def test_killed_waiting_attempts_and_ended_executions_free_everything():
    admission = PodAdmission(max_in_flight=2, max_per_execution=0)
    admission.admit(A, runs("a", 2))
    admission.admit(B, runs("b", 2))
    assert admission.drop(B, ("b0", 0)) and not admission.drop(B, ("b0", 0))
    assert admission.forget(A) == B
    started, _ = admission.admit(B, [])
    assert [r.taskrun_id for r in started] == ["b1"]


def test_a_restart_requeues_waiting_attempts_and_counts_running_ones():
    admission = PodAdmission(max_in_flight=0, max_per_execution=1)
    admission.running(A, ("a0", 0))
    admission.requeue(A, RunTask("a1", 0, "t1", None))
    assert admission.admit(A, [])[0] == []
    admission.ended(A, ("a0", 0))
    assert [r.taskrun_id for r in admission.admit(A, [])[0]] == ["a1"]
