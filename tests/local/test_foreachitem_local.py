"""Issue 16 items 5 and 9 (flow side) through `kflow run`: ForEachItem, Subflow `outputs`, sla, listeners."""

from __future__ import annotations

from tests.local.test_run_examples import run_json, runs


def test_subflow_task_outputs_are_rendered_in_the_child_context():
    execution = run_json("subflow-task-outputs.yaml")
    call = runs(execution)["call_quiet"]
    assert call["outputs"]["state"] == "SUCCESS"
    assert call["outputs"]["outputs"] == {"shouted": "KESTRA", "length": "6"}
    assert runs(execution)["use_it"]["outputs"]["value"] == "KESTRA has 6 letters"


def test_subflow_task_outputs_give_way_to_the_child_flow_outputs():
    """Kestra applies a Subflow's own `outputs` only when the child flow declares none."""
    from kflow.flow import parse_flow
    from kflow.tasks.subflow import with_task_outputs

    child = parse_flow({"id": "c", "namespace": "t", "tasks": [{"id": "r", "type": "io.kestra.plugin.core.debug.Return", "format": "x"}],
                        "outputs": [{"id": "mine", "value": "{{ outputs.r.value }}"}]})
    assert [o.id for o in with_task_outputs(child, {"theirs": "y"}).outputs] == ["mine"]
    bare = child.model_copy(update={"outputs": []})
    assert [(o.id, o.value) for o in with_task_outputs(bare, {"theirs": "y"}).outputs] == [("theirs", "y")]


# -- ForEachItem ----------------------------------------------------------------------------------
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from kflow.tasks.foreach_item import Batch, parse_bytes, split_lines  # noqa: E402
from tests.local.test_run_examples import kflow  # noqa: E402


def test_foreach_item_example_has_kestras_task_runs_and_merged_outputs():
    execution = run_json("foreach-item.yaml")
    assert execution["state"]["current"] == "SUCCESS"
    ids = [tr["taskId"] for tr in execution["taskRunList"]]
    assert sorted(ids) == sorted(["extract", "each", "each_split", "each_items", "each_merge", "summary"])  # one items run for 3 batches
    by_task = runs(execution)
    assert by_task["each_split"]["outputs"]["numberOfBatches"] == 3
    items = by_task["each_items"]["outputs"]
    assert items["numberOfBatches"] == 3 and {k: n for k, n in items["iterations"].items() if n} == {"SUCCESS": 3}
    assert [e["outputs"] for e in items["executions"]] == [{"batch": "0", "orders": "2"}, {"batch": "1", "orders": "2"}, {"batch": "2", "orders": "1"}]
    assert by_task["each_merge"]["outputs"]["subflowOutputs"].endswith("/outputs.jsonl")
    assert by_task["summary"]["outputs"]["value"] == '3 batches: {"batch":"0","orders":"2"}\n{"batch":"1","orders":"2"}\n{"batch":"2","orders":"1"}'


def test_split_by_rows_bytes_partitions_and_regex_as_kestra():
    lines = ["a1", "b22", "a333", "b4", "c5"]
    assert split_lines(lines, Batch()) == [[x] for x in lines]  # rows: 1 by default
    assert split_lines(lines, Batch(rows=2)) == [["a1", "b22"], ["a333", "b4"], ["c5"]]
    assert split_lines(lines, Batch(bytes="6")) == [["a1", "b22"], ["a333", "b4"], ["c5"]]  # a new file once 6 bytes were written
    assert split_lines(lines, Batch(partitions=2)) == [["a1", "a333", "c5"], ["b22", "b4"]]  # dealt out in turn
    assert split_lines(lines[:1], Batch(partitions=3)) == [["a1"]]  # empty partitions dropped
    assert split_lines(lines, Batch(regexPattern=r"^([ab])")) == [["a1", "a333"], ["b22", "b4"]]  # c5 does not match
    assert parse_bytes("10MB") == 10 * 1024 * 1024 and parse_bytes("512kb") == 512 * 1024
    with pytest.raises(ValueError, match="batch.bytes"):
        parse_bytes("ten")


def _flows(tmp_path: Path, child_tasks: str, each: str, lines: int = 4) -> Path:
    (tmp_path / "child.yaml").write_text(f"""id: child
namespace: t
inputs:
  - {{id: items, type: STRING}}
  - {{id: n, type: INT}}
tasks:
{child_tasks}
""")
    rows = "; ".join(f"echo line{i} >> items.txt" for i in range(lines)) or "touch items.txt"
    parent = tmp_path / "parent.yaml"
    parent.write_text(f"""id: parent
namespace: t
tasks:
  - id: make
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: [items.txt]
    commands: ["{rows}"]
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{{{ outputs.make.outputFiles['items.txt'] }}}}"
    namespace: t
    flowId: child
    inputs: {{items: "{{{{ taskrun.items }}}}", n: "{{{{ taskrun.iteration }}}}"}}
{each}
""")
    return parent


def _run(parent: Path, expect: int) -> dict:
    proc = kflow("run", str(parent), "--json")
    assert proc.returncode == expect, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


FAIL_ON_ONE = """  - id: maybe_fail
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.n == 1 }}"
    errorMessage: batch one is bad
"""


def test_a_failed_batch_fails_the_foreach_item_with_transmit_failed(tmp_path):
    execution = _run(_flows(tmp_path, FAIL_ON_ONE, "    batch: {rows: 2}"), expect=1)
    items = runs(execution)["each_items"]
    assert items["state"]["current"] == "FAILED"
    assert items["outputs"]["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 1, "WARNING": 0, "FAILED": 1, "KILLED": 0}
    assert "1 of 2 batch executions failed (batch 1" in items["attempts"][-1]["reason"]
    assert "each_merge" not in runs(execution)


def test_without_transmit_failed_a_failed_batch_is_counted_but_does_not_fail(tmp_path):
    execution = _run(_flows(tmp_path, FAIL_ON_ONE, "    batch: {rows: 2}\n    transmitFailed: false"), expect=0)
    items = runs(execution)["each_items"]
    assert items["state"]["current"] == "SUCCESS"
    assert items["outputs"]["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 1, "WARNING": 0, "FAILED": 1, "KILLED": 0}
    assert runs(execution)["each_merge"]["state"]["current"] == "SUCCESS"


def test_an_empty_items_file_starts_no_child(tmp_path):
    execution = _run(_flows(tmp_path, "  - {id: r, type: io.kestra.plugin.core.debug.Return, format: x}", "", lines=0), expect=0)
    assert runs(execution)["each_items"]["outputs"]["numberOfBatches"] == 0
    assert "subflowOutputs" not in (runs(execution)["each_merge"].get("outputs") or {})


def test_more_batches_than_the_cap_is_a_clear_failure(tmp_path):
    execution = _run(_flows(tmp_path, "  - {id: r, type: io.kestra.plugin.core.debug.Return, format: x}", "", lines=1001), expect=1)
    split = runs(execution)["each_split"]
    assert split["state"]["current"] == "FAILED"
    assert "1001 batches, more than the 1000 one ForEachItem may start; make batch.rows larger" in split["attempts"][-1]["reason"]
    assert "each_items" not in runs(execution)


def test_items_that_are_not_a_storage_uri_fail_naming_the_property(tmp_path):
    parent = tmp_path / "p.yaml"
    parent.write_text("""id: p
namespace: t
tasks:
  - {id: each, type: io.kestra.plugin.core.flow.ForEachItem, items: "/etc/passwd", namespace: t, flowId: other}
""")
    execution = _run(parent, expect=1)
    assert "items: unable to split the items from '/etc/passwd': not an internal storage URI" in runs(execution)["each_split"]["attempts"][-1]["reason"]


def test_foreach_item_without_flow_id_is_a_load_error(tmp_path):
    stderr = _load_error(tmp_path, "id: p\nnamespace: t\ntasks:\n  - {id: each, type: io.kestra.plugin.core.flow.ForEachItem, items: x, namespace: t}\n")
    assert "tasks[0].flowId: required property is missing" in stderr


# -- flow sla -------------------------------------------------------------------------------------
def test_sla_example_fails_the_execution_past_its_max_duration_and_stops_the_sleep():
    execution = run_json("sla.yaml", expect=1)
    assert execution["state"]["current"] == "FAILED"
    assert execution["error"] == "SLA 'quick' violated: the execution ran longer than PT10S"
    assert execution["labels"]["sla"] == "missed"
    assert runs(execution)["hello"]["state"]["current"] == "SUCCESS"
    assert runs(execution)["slow"]["state"]["current"] == "KILLED"


def _load_error(tmp_path: Path, text: str) -> str:
    """`kflow run` of a flow that must not load: exit 2, one clear message (returned), no traceback."""
    flow = tmp_path / "f.yaml"
    flow.write_text(text)
    proc = kflow("run", str(flow))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    return proc.stderr


def test_an_sla_without_its_duration_is_a_load_error(tmp_path):
    stderr = _load_error(tmp_path, "id: f\nnamespace: t\nsla:\n  - {id: s, type: MAX_DURATION, behavior: FAIL}\n"
                                   "tasks:\n  - {id: r, type: io.kestra.plugin.core.debug.Return, format: x}\n")
    assert "sla[0]" in stderr and "a MAX_DURATION sla needs `duration`" in stderr


# -- flow listeners (Kestra's older form) ----------------------------------------------------------
def test_listeners_run_after_the_end_when_their_conditions_hold_and_keep_the_state():
    failed = run_json("listeners.yaml", expect=1)
    assert failed["state"]["current"] == "FAILED"
    assert [tr["taskId"] for tr in failed["taskRunList"]] == ["work", "on_failure"]
    assert runs(failed)["on_failure"]["outputs"]["value"] == "listeners failed: task 'work': the work failed"
    succeeded = run_json("listeners.yaml", "--input", "fail=false")
    assert succeeded["state"]["current"] == "SUCCESS"
    assert [tr["taskId"] for tr in succeeded["taskRunList"]] == ["work", "on_success"]


def test_a_failing_listener_task_neither_stops_the_next_nor_changes_the_state(tmp_path):
    flow = tmp_path / "f.yaml"
    flow.write_text("""id: f
namespace: t
tasks:
  - {id: ok, type: io.kestra.plugin.core.debug.Return, format: x}
listeners:
  - tasks:
      - {id: broken, type: io.kestra.plugin.core.execution.Fail}
      - {id: after, type: io.kestra.plugin.core.debug.Return, format: y}
""")
    execution = _run(flow, expect=0)
    assert execution["state"]["current"] == "SUCCESS"
    # each listener task runs, one after another, whatever the one before ended in (like `finally`)
    assert [(tr["taskId"], tr["state"]["current"]) for tr in execution["taskRunList"]] == [("ok", "SUCCESS"), ("broken", "FAILED"), ("after", "SUCCESS")]


def test_a_listener_with_an_unknown_condition_type_is_a_load_error(tmp_path):
    stderr = _load_error(tmp_path, "id: f\nnamespace: t\ntasks:\n  - {id: ok, type: io.kestra.plugin.core.debug.Return, format: x}\n"
                                   "listeners:\n  - conditions: [{type: io.kestra.plugin.core.condition.Nope}]\n"
                                   "    tasks: [{id: l, type: io.kestra.plugin.core.debug.Return, format: y}]\n")
    assert "listeners[0].conditions[0]" in stderr, stderr
