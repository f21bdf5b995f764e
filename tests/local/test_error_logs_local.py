"""Kestra's errorLogs() through `kflow run` (real CLI, runner processes, the directory storage
the runners keep their attempt logs in): README's command verbatim, and ERROR lines of a task that did not fail."""

from __future__ import annotations

from tests.local.readme_blocks import readme_commands
from tests.local.test_log_fetch_local import kflow_run
from tests.local.test_run_examples import runs


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
