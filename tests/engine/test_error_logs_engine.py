"""Kestra's errorLogs() in the pure engine: the ERROR lines of the attempts' logs, read through
the AttemptLogs a shell gives (here MemoryLogs, the in-memory double of the storage / pod /
ConfigMap readers that the log Fetch tests use), plus the reasons the logs do not give."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kflow.engine import AttemptEnded, Engine, RunTask
from kflow.engine.error_logs import MAX_ENTRIES, MAX_MESSAGE
from kflow.execution import State
from kflow.expr import render
from kflow.flow import load_flow
from tests.engine.test_log_fetch_engine import MemoryLogs

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
FLOW = """
id: failing
namespace: team.a
tasks:
  - {id: a, type: io.kestra.plugin.core.log.Log, message: x, allowFailure: true}
  - {id: b, type: io.kestra.plugin.core.log.Log, message: x}
errors:
  - {id: alert, type: io.kestra.plugin.core.log.Log, message: "{{ errorLogs()[0].taskId }}: {{ errorLogs()[0].message }}"}
  - {id: quiet, type: io.kestra.plugin.core.log.Log, message: "no function here"}
"""
A_REASON = "OOMKilled: the task used more than its memory limit of 64Mi (exit code 137)"


def _fail_a_then_b(logs: MemoryLogs | None, b_reason: str = "task 'b': boom"):
    """a ends FAILED (allowed) at T0+1s, b FAILED at T0+3s; returns the engine, run and the errors tasks' actions."""
    engine = Engine(load_flow(FLOW))
    run = engine.load(engine.new_execution("e1", {}, T0))
    run.logs = logs
    (a,) = engine.start(run, T0).actions
    (b,) = [x for x in engine.step(run, [AttemptEnded(a.taskrun_id, 0, State.FAILED, reason=A_REASON)], T0 + timedelta(seconds=1)).actions
            if isinstance(x, RunTask)]
    result = engine.step(run, [AttemptEnded(b.taskrun_id, 0, State.FAILED, reason=b_reason)], T0 + timedelta(seconds=3))
    return engine, run, [x for x in result.actions if isinstance(x, RunTask)]


def _logs() -> MemoryLogs:
    logs = MemoryLogs()
    logs.logs[("a", 0)] = b"2026-01-01T00:00:00.500Z INFO  loading\n2026-01-01T00:00:00.600Z WARN  memory is tight\n"
    logs.logs[("b", 0)] = (b"2026-01-01T00:00:02.001Z INFO  reading rows\n2026-01-01T00:00:02.002Z ERROR bad row 7\n"
                           b"plain script output\n2026-01-01T00:00:02.003Z ERROR task 'b': boom\n")
    return logs


def test_the_logged_error_lines_and_the_reasons_no_log_gives_oldest_first():
    engine, run, (alert,) = _fail_a_then_b(_logs())
    lines = engine.context(run, alert.taskrun_id)["_error_logs"]
    b = run.execution.taskRunList[1]
    assert [(line["taskId"], line["message"]) for line in lines] == [
        ("a", A_REASON),  # no ERROR line in a's log: its reason, at its end (T0+1s)
        ("b", "bad row 7"),  # b's own ERROR lines, its reason not repeated: the runner logged it
        ("b", "task 'b': boom")]
    assert lines[1] == {"namespace": "team.a", "flowId": "failing", "taskId": "b", "executionId": "e1", "taskRunId": b.id,
                        "attemptNumber": 0, "timestamp": datetime(2026, 1, 1, 0, 0, 2, 2000, tzinfo=timezone.utc),
                        "level": "ERROR", "message": "bad row 7"}
    assert lines[0]["timestamp"] == T0 + timedelta(seconds=1)
    assert render(engine.plan.task("alert").message, engine.context(run, alert.taskrun_id)) == f"a: {A_REASON}"


def test_a_reason_the_log_does_not_say_is_added_to_its_error_lines():
    """b logged an ERROR line, then the kubelet killed it: both are listed."""
    _, run, (alert,) = _fail_a_then_b(_logs(), b_reason="Timeout: the task ran longer than PT1S")
    lines = Engine(load_flow(FLOW)).context(run, alert.taskrun_id)["_error_logs"]
    assert [line["message"] for line in lines] == [A_REASON, "bad row 7", "task 'b': boom", "Timeout: the task ran longer than PT1S"]


def test_without_logs_given_the_failed_attempts_reasons():
    engine, run, (alert,) = _fail_a_then_b(None)
    assert [line["message"] for line in engine.context(run, alert.taskrun_id)["_error_logs"]] == [A_REASON, "task 'b': boom"]


class CountingLogs(MemoryLogs):
    def __init__(self):
        super().__init__()
        self.reads: list[tuple[str, int]] = []

    def read(self, execution, taskrun, attempt, limit):
        self.reads.append((taskrun.taskId, attempt))
        return super().read(execution, taskrun, attempt, limit)


def test_logs_are_read_only_for_a_task_that_calls_errorLogs_and_never_its_own():
    logs = CountingLogs()
    engine, run, (alert,) = _fail_a_then_b(logs)
    assert logs.reads == []  # starting the errors branch read nothing yet
    engine.context(run, alert.taskrun_id)
    assert logs.reads == [("a", 0), ("b", 0)]  # not alert's own
    result = engine.step(run, [AttemptEnded(alert.taskrun_id, 0, State.SUCCESS)], T0 + timedelta(seconds=4))
    (quiet,) = [x for x in result.actions if isinstance(x, RunTask)]
    logs.reads.clear()
    assert "_error_logs" not in engine.context(run, quiet.taskrun_id)
    assert logs.reads == []


def test_bounded_to_kestras_first_25_and_a_message_of_4_kib():
    logs = _logs()
    logs.logs[("b", 0)] = "".join(f"2026-01-01T00:00:02.{n:03d}Z ERROR line {n}\n" for n in range(40)).encode() \
        + b"2026-01-01T00:00:01.500Z ERROR " + b"y" * 10_000 + b"\n"
    engine, run, (alert,) = _fail_a_then_b(logs)
    lines = engine.context(run, alert.taskrun_id)["_error_logs"]
    assert len(lines) == MAX_ENTRIES == 25
    assert [line["message"][:6] for line in lines[:3]] == [A_REASON[:6], "yyyyyy", "line 0"]  # by time, not by log order
    assert len(lines[1]["message"]) == MAX_MESSAGE and lines[1]["message"].endswith("… (cut)")
    assert lines[-1]["message"] == "line 22"


class RefusingLogs(MemoryLogs):
    def read(self, execution, taskrun, attempt, limit):
        raise ValueError("could not read the log of pod x: 403 Forbidden")


def test_a_log_the_cluster_refuses_falls_back_to_the_reasons():
    engine, run, (alert,) = _fail_a_then_b(RefusingLogs())
    assert [line["message"] for line in engine.context(run, alert.taskrun_id)["_error_logs"]] == [A_REASON, "task 'b': boom"]
