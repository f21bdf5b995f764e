"""Kestra core tasks added for issue 16, through `kflow run`: the examples, as Kestra documents them."""

from __future__ import annotations

import re
import tempfile

from tests.local.test_run_examples import EXAMPLES, INSTANT, kflow, run_json, runs


def test_echo_logs_its_rendered_format_at_its_level_and_has_no_outputs():
    proc = kflow("run", str(EXAMPLES / "echo.yaml"), "--plain")
    assert proc.returncode == 0, proc.stderr
    assert re.search(rf"\[echo\] \S+ WARN  echo > {INSTANT}", proc.stderr), proc.stderr
    assert re.search(r"\[echo_old_name\] \S+ INFO  old name, flow echo_flow", proc.stderr), proc.stderr
    execution = run_json("echo.yaml")
    assert all(tr.get("outputs") in (None, {}) for tr in execution["taskRunList"])


def test_echo_without_format_is_a_load_error():
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write("id: f\nnamespace: t\ntasks:\n  - {id: e, type: io.kestra.plugin.core.debug.Echo, message: hi}\n")
        f.flush()
        proc = kflow("run", f.name)
    assert proc.returncode == 2
    assert "tasks[0].format: required property is missing" in proc.stderr
    assert "tasks[0].message: unknown property" in proc.stderr


def test_output_values_renders_every_json_type():
    execution = run_json("output-values.yaml")
    values = runs(execution)["output_values"]["outputs"]["values"]
    assert re.fullmatch(rf"output_values > {INSTANT}", values["taskrun_data"])
    assert re.fullmatch(rf"outputs_flow > {INSTANT}", values["execution_data"])
    assert values["number_value"] == 42
    assert values["array_value"] == ["output_values", "outputs_flow", "static value"]
    assert values["nested_object"] == {"key1": "value1", "key2": execution["id"]}
    assert runs(execution)["log_values"]["state"]["current"] == "SUCCESS"


def test_labels_task_sets_labels_on_the_execution():
    execution = run_json("execution-labels.yaml", "--input", "customer=c-7")
    assert execution["labels"] == {"team": "data", "customerId": "c-7", "orderId": "42", "system.correlationId": execution["id"]}
    assert runs(execution)["show"]["outputs"]["value"] == "c-7/42/data"
    assert [tr["state"]["current"] for tr in execution["taskRunList"]] == ["SUCCESS"] * 3


def test_local_files_create_and_store_files_in_a_working_directory():
    execution = run_json("local-files.yaml")
    by_task = runs(execution)
    assert set(by_task["export_files"]["outputs"]["outputFiles"]) == {"names.txt", "shouted.txt"}
    assert by_task["input_files"]["outputs"]["outputFiles"] == {}
    assert by_task["show"]["outputs"]["value"] == "ADA\nGRACE"


def test_pause_tasks_run_after_a_local_resume_with_on_resume_defaults():
    import json
    import signal
    import subprocess
    import sys

    from tests.local.test_run_examples import ROOT

    proc = subprocess.Popen([sys.executable, "-m", "kflow", "run", str(EXAMPLES / "pause-approval.yaml"), "--plain", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    seen = ""
    for line in proc.stderr:
        seen += line
        if "PAUSED" in line:
            break
    assert "PAUSED" in seen and "after_approval" not in seen, seen
    proc.send_signal(signal.SIGUSR1)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    by_task = runs(json.loads(out))
    assert list(by_task) == ["wait_for_approval", "after_approval", "summary"]
    assert by_task["wait_for_approval"]["outputs"] == {"onResume": {"approved": False, "reason": "no reason given"}}
    assert by_task["after_approval"]["outputs"]["value"] == "approved=false"
    assert by_task["summary"]["outputs"]["value"] == "no reason given"


def test_wait_for_example_loops_until_its_return_says_4():
    execution = run_json("wait-for.yaml")
    steps = [tr for tr in execution["taskRunList"] if tr["taskId"] == "return"]
    assert [tr["outputs"]["value"] for tr in steps] == ["1", "2", "3", "4"]
    assert [tr["iteration"] for tr in steps] == [0, 1, 2, 3]
    assert runs(execution)["loop"]["outputs"] == {"iterationCount": 4}
    assert runs(execution)["after"]["outputs"]["value"] == "stopped at 4 after 4 iterations"
