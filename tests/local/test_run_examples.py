"""`kflow run` end to end: every example through the real CLI, runner processes and all."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
INSTANT = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3,6})?Z"


def kflow(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kflow", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def run_json(example: str, *args: str, expect: int = 0) -> dict:
    proc = kflow("run", str(EXAMPLES / example), "--json", *args)
    assert proc.returncode == expect, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def runs(execution: dict) -> dict[str, dict]:
    return {tr["taskId"]: tr for tr in execution["taskRunList"]}


def span(taskrun: dict) -> tuple[datetime, datetime]:
    dates = [datetime.fromisoformat(h["date"].replace("Z", "+00:00")) for h in taskrun["state"]["histories"]]
    return dates[0], dates[-1]


def test_sample_task_renders_kestra_variables():
    execution = run_json("sample-task.yaml")
    assert execution["state"]["current"] == "SUCCESS"
    value = runs(execution)["task1"]["outputs"]["value"]
    import re

    assert re.fullmatch(rf"This is task id > task1 running within flow > sample-task started on {INSTANT}", value), value


def test_sample_sequential_runs_in_order():
    execution = run_json("sample-sequential-task.yaml")
    by_task = runs(execution)
    assert [tr["taskId"] for tr in execution["taskRunList"]] == ["sequential", "task1", "task2", "task3"]
    assert span(by_task["task1"])[1] <= span(by_task["task2"])[0]
    assert span(by_task["task2"])[1] <= span(by_task["task3"])[0]
    assert by_task["task3"]["outputs"]["value"].startswith("Third sequentia task, task id > task3 running within flow > sample-sequential-task")


def test_sample_parallel_tasks_overlap():
    execution = run_json("sample-parallel-task.yaml")
    leaves = [span(runs(execution)[t]) for t in ("task1", "task2", "task3")]
    assert max(start for start, _ in leaves) < min(end for _, end in leaves), "parallel tasks did not run at once"
    assert runs(execution)["task2"]["outputs"]["value"].startswith("Second parallel task, task id > task2")


def test_inputs_and_expressions():
    execution = run_json("hello-inputs.yaml", "--input", "name=kflow", "--input", "shout=true")
    by_task = runs(execution)
    assert by_task["greet"]["outputs"]["value"] == "Hello, KFLOW!"
    assert execution["inputs"] == {"name": "kflow", "times": 2, "shout": True}
    assert by_task["dated"]["outputs"]["value"] == execution["state"]["histories"][0]["date"][:10] + " docs"


def test_nested_parallel_and_outputs_across_branches():
    execution = run_json("nested-parallel.yaml")
    assert runs(execution)["after"]["outputs"]["value"] == "left one, then left two / right one"


def test_errors_branch_runs_and_execution_fails():
    execution = run_json("errors-branch.yaml", expect=1)
    by_task = runs(execution)
    assert execution["state"]["current"] == "FAILED"
    assert by_task["broken"]["state"]["current"] == "FAILED"
    assert "nope" in by_task["broken"]["attempts"][-1]["reason"]
    assert by_task["alert"]["state"]["current"] == "SUCCESS"
    assert "never" not in by_task


def test_timeout_retry_and_allow_failure():
    execution = run_json("retry-timeout.yaml", expect=1)
    slow = runs(execution)["slow"]
    assert len(slow["attempts"]) == 2
    assert all("timed out" in attempt["reason"] for attempt in slow["attempts"])
    assert slow["state"]["current"] == "WARNING"
    assert execution["state"]["current"] == "WARNING"
    assert runs(execution)["next"]["outputs"]["value"] == "ran after 0 earlier attempts"


def test_plain_progress_shows_states_and_logs():
    proc = kflow("run", str(EXAMPLES / "hello-inputs.yaml"), "--plain")
    assert proc.returncode == 0
    assert "greet" in proc.stderr and "SUCCESS" in proc.stderr
    assert "[log]" in proc.stderr and "Hello, world! (x2)" in proc.stderr
    assert "Execution" in proc.stdout and "value: Hello, world!" in proc.stdout


@pytest.mark.parametrize(
    "flow_text, args, expected",
    [
        ("id: f\nnamespace: t\ninputs:\n  - {id: n, type: INT}\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: m}\n", [], "input 'n' (INT): required input is missing"),
        ("id: f\nnamespace: t\ninputs:\n  - {id: n, type: INT}\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: m}\n", ["--input", "n=abc"], "input 'n' (INT)"),
        ("id: f\nnamespace: t\ntasks:\n  - id: a\n   type: x\n", [], "invalid YAML at line 5"),
        ("id: f\nnamespace: t\ntasks:\n  - {id: a, type: io.kestra.core.tasks.debugs.Retrun}\n", [], "did you mean io.kestra.plugin.core.debug.Return"),
        (None, [], "cannot read the file"),
        ("id: f\nnamespace: t\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: m}\n", ["--input", "novalue"], "expected KEY=VALUE"),
    ],
)
def test_bad_input_is_one_clear_message_and_exit_2(tmp_path, flow_text, args, expected):
    path = tmp_path / "flow.yaml"
    if flow_text is not None:
        path.write_text(flow_text)
    proc = kflow("run", str(path), *args)
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr


def test_fail_task_on_its_condition():
    ok = run_json("fail-on-condition.yaml")
    assert runs(ok)["done"]["outputs"]["value"] == "count 3 is fine"
    failed = run_json("fail-on-condition.yaml", "--input", "count=9", expect=1)
    assert runs(failed)["check"]["attempts"][-1]["reason"] == "task 'check': too many: 9 is more than 5"
    assert "done" not in runs(failed)
