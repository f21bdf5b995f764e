"""Issue 16 items 5 and 9 (flow side) through `kflow run`: ForEachItem, Subflow `outputs`."""

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
