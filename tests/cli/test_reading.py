"""Pure helpers of the CLI: Flow names from flow ids, task trees and durations from a status."""

from __future__ import annotations

from kflow.client.executions import human_duration, span, tree
from kflow.client.kube import resource_name
from kflow.client.logs import attempts
from kflow.execution import StateInfo
from kflow.execution.status import ExecutionStatus


def test_resource_names_are_dns_1123_and_stable_for_dns_ids():
    assert resource_name("sample-parallel-task") == "sample-parallel-task"
    assert resource_name("My_Flow.v2") == "my-flow-v2"
    assert resource_name("_x_") == "x"
    assert len(resource_name("a" * 300)) == 253


def _run(id_, task, start, parent=None, value=None, state="SUCCESS", attempts=1):
    histories = [{"state": "CREATED", "date": start}, {"state": "RUNNING", "date": start}, {"state": state, "date": start[:-2] + "9Z"}]
    return {"id": id_, "taskId": task, "parentTaskRunId": parent, "value": value,
            "state": {"current": state, "histories": histories},
            "attempts": [{"state": {"current": state, "histories": histories}} for _ in range(attempts)]}


def test_tree_puts_children_under_parents_in_flow_order():
    status = ExecutionStatus.read({
        "flow": {"id": "f", "namespace": "company.team", "tasks": [{"id": "par", "type": "io.kestra.plugin.core.flow.Parallel", "tasks": [
            {"id": "b", "type": "io.kestra.plugin.core.log.Log", "message": "x"},
            {"id": "a", "type": "io.kestra.plugin.core.log.Log", "message": "x"}]}]},
        "taskRuns": {
            "3": _run("3", "a", "2024-01-01T00:00:01Z", parent="1"),
            "2": _run("2", "b", "2024-01-01T00:00:01Z", parent="1", attempts=2),
            "1": _run("1", "par", "2024-01-01T00:00:00Z"),
        },
    })
    assert [(depth, run.taskId) for depth, run in tree(status)] == [(0, "par"), (1, "b"), (1, "a")]
    # Logs: runnable tasks only (no Parallel), each attempt, retries marked.
    assert [ref.prefix for ref in attempts(status)] == ["[b]", "[b #1]", "[a]"]
    assert [ref.prefix for ref in attempts(status, "a")] == ["[a]"]


def test_durations():
    state = StateInfo.model_validate({"current": "SUCCESS", "histories": [
        {"state": "CREATED", "date": "2024-01-01T00:00:00Z"}, {"state": "RUNNING", "date": "2024-01-01T00:00:02Z"},
        {"state": "SUCCESS", "date": "2024-01-01T00:01:05.500Z"}]})
    assert span(state) == 63.5
    assert human_duration(63.5) == "1m03s" and human_duration(2.25) == "2.2s" and human_duration(None) == "-"
    assert human_duration(3 * 3600 + 120) == "3h02m"


def test_a_task_run_edited_past_reading_is_named():
    import pytest

    from kflow.execution.status import StatusError

    bad = _run("1", "a", "2024-01-01T00:00:00Z")
    bad["state"]["histories"][0]["date"] = "yesterday"
    with pytest.raises(StatusError, match=r"task run '1', state.histories.0.date"):
        tree(ExecutionStatus.read({"taskRuns": {"1": bad}}))


def test_get_and_describe_read_the_typed_status():
    import io

    from kflow.cli.describe import describe_execution
    from kflow.cli.get import execution_rows

    run = _run("1", "a", "2024-01-01T00:00:01Z", state="FAILED", attempts=2)
    run["attempts"][1]["reason"] = "exited with code 3"
    stored = {"id": "E1", "namespace": "company.team", "flowId": "f", "current": "FAILED", "progress": "1/1",
              "startDate": "2024-01-01T00:00:00Z", "state": run["state"], "error": "one\nline", "taskRuns": {"1": run}}
    body = {"metadata": {"name": "f-x", "namespace": "ns"}, "spec": {"flowRef": {"name": "f"}}, "status": stored}
    assert ExecutionStatus.summary(stored).taskRuns is None and ExecutionStatus.summary(stored).current == "FAILED"
    [header, row] = execution_rows([body], wide=True)
    assert row[:4] == ["f-x", "f", "FAILED", "1/1"] and row[-1] == "one line" and row[header.index("EXECUTION ID")] == "E1"
    out = io.StringIO()
    describe_execution(body, out)
    text = out.getvalue()
    assert "Flow:         f (company.team.f, revision -)" in text and "  a  FAILED  8.0s  (task run 1)" in text
    assert "attempt 1: FAILED 8.0s: exited with code 3" in text, text
