"""Flow-level `retry` through `kflow run`: the failed execution is retried as a whole, in place."""

from __future__ import annotations

from tests.local.readme_blocks import run_readme_commands
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


def test_create_new_execution_runs_new_tries_until_one_succeeds(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from tests.local.test_run_examples import ROOT

    env = {**os.environ, "KFLOW_KV_DIR": str(tmp_path / "kv")}
    proc = subprocess.run([sys.executable, "-m", "kflow", "run", str(EXAMPLES / "flow-retry-new-execution.yaml"), "--json", "--plain"],
                          capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    last = json.loads(proc.stdout)
    assert last["state"]["current"] == "SUCCESS"
    assert last["metadata"]["attemptNumber"] == 3  # the third try: two ended RETRIED before it
    assert states(last) == ["CREATED", "RUNNING", "SUCCESS"]
    assert last["scheduleDate"] <= last["state"]["histories"][1]["date"]  # it waited for the policy's delay
    assert runs(last)["previous"]["outputs"]["value"] == 2
    assert len(runs(last)["flaky"]["attempts"]) == 1  # a new execution: new task runs, one attempt each
    assert proc.stderr.count("FAILED in") == 2 and "try 2 fails" in proc.stderr
    assert list((tmp_path / "kv" / "company.team").iterdir()) == []  # the last try deleted its counter


def test_the_readme_flow_retry_commands_run_as_written(tmp_path):
    procs = run_readme_commands("### Flow-level retry and `workerTaskrun`", tmp_path, "--plain")
    assert [p.returncode for p in procs] == [0, 0], [p.stderr for p in procs]
    assert "Execution" in procs[0].stdout and "SUCCESS" in procs[0].stdout
    assert procs[1].stderr.count("FAILED in") == 2  # two tries ended RETRIED before the third succeeded
