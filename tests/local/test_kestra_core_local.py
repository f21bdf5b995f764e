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


def test_storage_tasks_example_writes_splits_filters_asserts_then_purges(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from tests.local.test_run_examples import ROOT

    env = {**os.environ, "KFLOW_STORAGE": f"dir:{tmp_path}"}
    proc = subprocess.run([sys.executable, "-m", "kflow", "run", str(EXAMPLES / "storage-files.yaml"), "--json"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    execution = json.loads(proc.stdout)
    by_task = runs(execution)
    assert all(tr["state"]["current"] == "SUCCESS" for tr in execution["taskRunList"])
    assert by_task["size"]["outputs"] == {"size": 217} == by_task["templated"]["outputs"]
    assert by_task["big_orders"]["outputs"]["droppedItemsTotal"] == 2
    assert len(by_task["batches"]["outputs"]["uris"]) == 3
    assert [json.loads(line)["id"] for line in by_task["report"]["outputs"]["value"].splitlines()] == [3, 4, 5]
    assert by_task["delete_orders"]["outputs"]["deleted"] is True
    purged = by_task["purge"]["outputs"]["uris"]
    assert len(purged) == 8 and by_task["orders"]["outputs"]["uri"] not in purged  # deleted before
    left = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert left and all(p.parent.name == "logs" for p in left)  # only the attempt logs stay


def test_a_failed_assert_fails_the_run_naming_the_false_conditions():
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write("id: f\nnamespace: t\ninputs:\n  - {id: param, type: STRING, defaults: nok}\ntasks:\n"
                "  - id: check\n    type: io.kestra.plugin.core.execution.Assert\n"
                "    conditions: [\"{{ inputs.param == 'ok' }}\", \"{{ 1 + 1 == 2 }}\"]\n    errorMessage: param must be ok\n")
        f.flush()
        proc = kflow("run", f.name, "--plain")
    assert proc.returncode == 1
    assert "1 of 2 assertions failed (conditions[0]): param must be ok" in proc.stderr


def test_split_with_two_ways_is_a_load_error_naming_the_task():
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write("id: f\nnamespace: t\ntasks:\n  - {id: s, type: io.kestra.plugin.core.storage.Split, from: x, rows: 1, partitions: 2}\n")
        f.flush()
        proc = kflow("run", f.name)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "tasks[0]" in proc.stderr and "give exactly one of rows, bytes, partitions, regexPattern" in proc.stderr, proc.stderr
