"""Flow-level `retry` through `kflow run`: the failed execution is retried as a whole, in place."""

from __future__ import annotations

from tests.local.test_run_examples import EXAMPLES, kflow, run_json, runs


def states(execution: dict) -> list[str]:
    return [h["state"] for h in execution["state"]["histories"]]


def test_retry_failed_task_reruns_the_failed_task_runs_until_success():
    execution = run_json("flow-retry.yaml")
    assert execution["state"]["current"] == "SUCCESS"
    assert states(execution) == ["CREATED", "RUNNING", "RETRYING", "RUNNING", "RETRYING", "RUNNING", "SUCCESS"]
    by_task = runs(execution)
    assert [a["state"]["current"] for a in by_task["flaky"]["attempts"]] == ["FAILED", "FAILED", "SUCCESS"]
    assert len(by_task["prepare"]["attempts"]) == 1  # what succeeded is not run again
    assert "alert" not in by_task  # the errors runs of a failed try are dropped, as a restart drops them
    assert by_task["done"]["outputs"]["value"] == "flaky passed after 0 earlier attempts of this task"


def test_retries_stop_at_max_attempts_and_the_execution_fails(tmp_path):
    text = (EXAMPLES / "flow-retry.yaml").read_text().replace("maxAttempts: 3", "maxAttempts: 2")
    path = tmp_path / "flow.yaml"
    path.write_text(text)
    proc = kflow("run", str(path), "--json")
    assert proc.returncode == 1, proc.stderr
    import json

    execution = json.loads(proc.stdout)
    assert states(execution) == ["CREATED", "RUNNING", "RETRYING", "RUNNING", "FAILED"]
    by_task = runs(execution)
    assert len(by_task["flaky"]["attempts"]) == 2
    assert by_task["alert"]["state"]["current"] == "SUCCESS"  # the last try's errors branch ran
    assert "done" not in by_task


def test_create_new_execution_is_refused_when_the_flow_loads(tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text((EXAMPLES / "flow-retry.yaml").read_text().replace("behavior: RETRY_FAILED_TASK", "behavior: CREATE_NEW_EXECUTION"))
    proc = kflow("run", str(path))
    assert proc.returncode == 2
    assert "retry: behavior CREATE_NEW_EXECUTION is not supported yet" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
