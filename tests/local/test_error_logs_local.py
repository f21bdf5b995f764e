"""Kestra's errorLogs() through `kflow run` (real CLI, runner processes, the directory storage
the runners keep their attempt logs in): README's command verbatim, and ERROR lines of a task that did not fail."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.local.readme_blocks import readme_commands
from tests.local.test_log_fetch_local import kflow_run
from tests.local.test_run_examples import ROOT, runs


def _log(storage, task: str) -> str:
    return next(storage.rglob(f"{task}/*/logs/attempt-0.log")).read_text()


def test_readme_error_logs_command_logs_the_failed_tasks_first_error_line(tmp_path):
    [command] = readme_commands("### errorLogs()")
    assert command == "kflow run examples/error-logs.yaml"
    execution = kflow_run([*command.split(), "--json"], tmp_path / "storage", expect=1)
    by_task = runs(execution)
    assert execution["state"]["current"] == "FAILED"
    assert by_task["check"]["state"]["current"] == "FAILED" and by_task["alert"]["state"]["current"] == "SUCCESS"
    # Assert's own ERROR line first, then the reason the runner logged (not listed twice)
    assert "WARN  2 error lines, the first from check: Assertion conditions[0] is false\n" in _log(tmp_path / "storage", "alert")


def test_error_lines_of_a_task_that_succeeded_are_listed_before_a_later_failure(tmp_path):
    flow = tmp_path / "flow.yaml"
    flow.write_text("""
id: shell-errors
namespace: n
tasks:
  - id: load
    type: io.kestra.plugin.core.log.Log
    level: ERROR
    message: ["row 7 has no id", "row 9 has no id"]
  - id: broken
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.nope.value }}"
errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    message: "{% for line in errorLogs() %}[{{ line.taskId }} {{ line.attemptNumber }} {{ line.level }}: {{ line.message }}]{% endfor %}"
""")
    execution = kflow_run(["kflow", "run", str(flow), "--json"], tmp_path / "storage", expect=1)
    reason = runs(execution)["broken"]["attempts"][-1]["reason"]
    assert "[load 0 ERROR: row 7 has no id][load 0 ERROR: row 9 has no id]" \
           f"[broken 0 ERROR: {reason}]" in _log(tmp_path / "storage", "alert")


def test_a_timed_out_task_whose_log_says_nothing_of_it_gives_its_reason(tmp_path):
    flow = tmp_path / "flow.yaml"
    flow.write_text("""
id: slow
namespace: n
tasks:
  - id: slow
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    timeout: PT1S
    commands: [echo starting, sleep 20]
errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    message: "{% for line in errorLogs() %}[{{ line.taskId }}: {{ line.message }}]{% endfor %}"
""")
    execution = kflow_run(["kflow", "run", str(flow), "--json"], tmp_path / "storage", expect=1)
    reason = runs(execution)["slow"]["attempts"][-1]["reason"]
    assert "starting" in _log(tmp_path / "storage", "slow") and "ERROR" not in _log(tmp_path / "storage", "slow")
    assert f"INFO  [slow: {reason}]\n" in _log(tmp_path / "storage", "alert")


def test_a_scripts_stderr_is_error_so_errorlogs_lists_its_traceback(tmp_path):
    """Kestra logs a script's stderr at ERROR (since 0.21, kestra-io/kestra#6383), so the errors
    branch sees why a Python script failed, not only its exit code (kestra-io/kestra#6083)."""
    flow = tmp_path / "flow.yaml"
    flow.write_text("""
id: error_logs_demo
namespace: company.team
tasks:
  - id: fail
    type: io.kestra.plugin.scripts.python.Script
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    script: |
      raise ValueError("An error occurred: This is a manually raised exception.")
errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    message: "{% for line in errorLogs() %}[{{ line.taskId }} {{ line.level }}: {{ line.message }}]{% endfor %}"
""")
    env = {**os.environ, "KFLOW_STORAGE": str(tmp_path / "storage"), "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    proc = subprocess.run(["kflow", "run", str(flow)], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert proc.returncode == 1, proc.stderr
    # the only traceback printed is the script's own (its log, its failure's reason), never one of kflow's
    frames = [line for line in proc.stderr.splitlines() if 'File "' in line]
    assert frames and all(".kflow-script.py" in line for line in frames), proc.stderr
    assert "ERROR ValueError: An error occurred: This is a manually raised exception.\n" in _log(tmp_path / "storage", "fail")
    alert = _log(tmp_path / "storage", "alert")
    assert "[fail ERROR: Traceback (most recent call last):]" in alert
    assert "[fail ERROR: ValueError: An error occurred: This is a manually raised exception.]" in alert
