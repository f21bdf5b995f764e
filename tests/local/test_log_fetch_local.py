"""Kestra's log Fetch through `kflow run` (real CLI, runner processes, the directory storage the
runners keep their attempt logs in): README's command verbatim, and a wrong executionId."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.local.readme_blocks import readme_commands
from tests.local.test_run_examples import ROOT, runs


def kflow_run(args: list[str], storage, expect: int) -> dict:
    env = {**os.environ, "KFLOW_STORAGE": str(storage), "PATH": f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert proc.returncode == expect, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def test_readme_fetch_command_fetches_the_logs_of_the_tasks_before_it(tmp_path):
    [command] = readme_commands("### Log Fetch")
    assert command == "kflow run examples/log-fetch.yaml"
    execution = kflow_run([*command.split(), "--json"], tmp_path / "storage", expect=0)
    by_task = runs(execution)
    assert execution["state"]["current"] == "SUCCESS"
    assert by_task["fetch"]["outputs"]["size"] == 3 and by_task["fetch_warnings"]["outputs"]["size"] == 1
    path = tmp_path / "storage" / by_task["fetch"]["outputs"]["uri"].removeprefix("kestra:///")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["taskId"], r["level"], r["message"]) for r in rows] == [
        ("work", "INFO", "processed 3 orders"), ("work", "INFO", "order 42 is late"), ("alert", "WARN", "1 order late")]
    assert {r["executionId"] for r in rows} == {execution["id"]}
    assert rows[0]["taskRunId"] == by_task["work"]["id"] and rows[0]["attemptNumber"] == 0
    warning = json.loads((tmp_path / "storage" / by_task["fetch_warnings"]["outputs"]["uri"].removeprefix("kestra:///")).read_text())
    assert warning["message"] == "1 order late"
    log = (tmp_path / "storage").rglob("report/*/logs/attempt-0.log")
    assert "3 lines fetched, 1 warning: {" in next(log).read_text()


def test_another_execution_id_fails_naming_the_property(tmp_path):
    flow = tmp_path / "flow.yaml"
    flow.write_text("id: f\nnamespace: n\ntasks:\n  - {id: fetch, type: io.kestra.plugin.core.log.Fetch, executionId: '{{ \"nope\" }}'}\n")
    execution = kflow_run(["kflow", "run", str(flow), "--json"], tmp_path / "storage", expect=1)
    reason = runs(execution)["fetch"]["attempts"][-1]["reason"]
    assert reason.startswith("task 'fetch': executionId 'nope': only the current execution's logs can be fetched"), reason


def test_a_wrong_level_is_refused_when_the_flow_loads(tmp_path):
    flow = tmp_path / "flow.yaml"
    flow.write_text("id: f\nnamespace: n\ntasks:\n  - {id: fetch, type: io.kestra.plugin.core.log.Fetch, level: LOUD}\n")
    env = {**os.environ, "KFLOW_STORAGE": str(tmp_path / "storage")}
    proc = subprocess.run([sys.executable, "-m", "kflow", "run", str(flow)], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "tasks[0].level: Input should be 'TRACE', 'DEBUG', 'INFO', 'WARN' or 'ERROR' (got 'LOUD')" in proc.stderr, proc.stderr
