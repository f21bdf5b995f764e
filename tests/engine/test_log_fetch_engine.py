"""Kestra's log Fetch in the pure engine, with the attempt logs a shell gives it (here a double
in memory of the storage / pod / ConfigMap readers, for the engine's unit tests)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from kflow.engine import AttemptEnded, Engine, RunTask
from kflow.execution import State
from kflow.flow import load_flow
from kflow.attempt_logs import parse_line
from kflow.tasks.log_fetch import fetch_rows

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class MemoryLogs:
    def __init__(self):
        self.logs: dict[tuple[str, int], bytes] = {}  # (task id, attempt) -> log
        self.files: dict[str, bytes] = {}

    def read(self, execution, taskrun, attempt, limit):
        data = self.logs.get((taskrun.taskId, attempt))
        return None if data is None else data[:limit]

    def store(self, data, uri):
        self.files[uri] = data


FLOW = """
id: fetching
namespace: team.a
tasks:
  - id: work
    type: io.kestra.plugin.core.log.Log
    message: x
    retry: {type: constant, interval: PT1S, maxAttempts: 2}
  - {id: fetch, type: io.kestra.plugin.core.log.Fetch}
  - {id: warnings, type: io.kestra.core.tasks.log.Fetch, level: WARN, tasksId: [work]}
  - {id: elsewhere, type: io.kestra.plugin.core.log.Fetch, executionId: other-one, allowFailure: true}
"""


def _run_to_end(logs: MemoryLogs):
    engine = Engine(load_flow(FLOW))
    run = engine.load(engine.new_execution("e1", {}, T0))
    run.logs = logs
    result = engine.start(run, T0)
    now = T0
    for number in range(10):
        ends = []
        for action in result.actions:
            if isinstance(action, RunTask):
                ends.append(AttemptEnded(action.taskrun_id, action.attempt, State.FAILED if action.attempt == 0 else State.SUCCESS))
        if not ends and run.execution.state.current.terminal:
            break
        now += timedelta(seconds=2)
        result = engine.step(run, ends, now)
    return run.execution


def test_fetch_reads_every_attempt_filters_by_level_and_task_and_stores_json_lines():
    logs = MemoryLogs()
    logs.logs[("work", 0)] = b"2026-01-01T00:00:00.001Z INFO  first try\n2026-01-01T00:00:00.002Z ERROR boom\n"
    logs.logs[("work", 1)] = b"2026-01-01T00:00:02.001Z DEBUG detail\n2026-01-01T00:00:02.002Z WARN  careful\nplain output\n"
    execution = _run_to_end(logs)
    runs = {tr.taskId: tr for tr in execution.taskRunList}
    assert execution.state.current == State.WARNING  # `elsewhere` failed, allowed
    fetch, warnings = runs["fetch"].outputs, runs["warnings"].outputs
    assert fetch["size"] == 4 and warnings["size"] == 2
    assert fetch["uri"].endswith(f"/team/a/fetching/executions/e1/tasks/fetch/{runs['fetch'].id}/logs.ion")
    rows = [json.loads(line) for line in logs.files[fetch["uri"]].splitlines()]
    assert [(r["attemptNumber"], r["level"], r["message"]) for r in rows] == [
        (0, "INFO", "first try"), (0, "ERROR", "boom"), (1, "WARN", "careful"), (1, "INFO", "plain output")]
    assert rows[0] == {"namespace": "team.a", "flowId": "fetching", "taskId": "work", "executionId": "e1",
                       "taskRunId": runs["work"].id, "attemptNumber": 0, "timestamp": "2026-01-01T00:00:00.001Z",
                       "level": "INFO", "message": "first try"}
    assert [json.loads(line)["message"] for line in logs.files[warnings["uri"]].splitlines()] == ["boom", "careful"]
    reason = runs["elsewhere"].attempts[-1].reason
    assert reason.startswith("task 'elsewhere': executionId 'other-one': only the current execution's logs"), reason


def test_fetch_without_logs_given_fails_saying_so():
    engine = Engine(load_flow("id: f\nnamespace: n\ntasks:\n  - {id: fetch, type: io.kestra.plugin.core.log.Fetch}\n"))
    run = engine.load(engine.new_execution("e1", {}, T0))
    engine.start(run, T0)
    assert run.execution.state.current == State.FAILED
    assert run.execution.taskRunList[0].attempts[-1].reason == "task 'fetch': no task logs can be read here"


def test_bounds_stop_at_whole_lines_and_say_truncated():
    engine = Engine(load_flow("id: f\nnamespace: n\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: x}\n"))
    execution = engine.new_execution("e1", {}, T0)
    run = engine.load(execution)
    engine.start(run, T0)
    logs = MemoryLogs()
    logs.logs[("a", 0)] = "".join(f"2026-01-01T00:00:00.000Z INFO  line {n}\n" for n in range(10)).encode()
    whole = fetch_rows(run.execution, logs, "INFO", None, None)
    assert (whole.size, whole.truncated) == (10, False)
    few = fetch_rows(run.execution, logs, "INFO", None, None, max_rows=3)
    assert (few.size, few.truncated) == (3, True)
    cut = fetch_rows(run.execution, logs, "INFO", None, None, max_bytes=100)  # 2 whole lines of 38 bytes, then a part
    assert (cut.size, cut.truncated) == (2, True)
    assert [json.loads(line)["message"] for line in cut.data.splitlines()] == ["line 0", "line 1"]


def test_parse_line_keeps_a_messages_own_leading_spaces():
    row = parse_line("2026-01-01T00:00:00.000Z INFO    indented")
    assert (row.level, row.message) == ("INFO", "  indented")
    assert parse_line("… 1,000 bytes omitted …").level == "INFO"
