"""ForEachItem, Subflow `outputs` and flow `sla` on the real cluster: every batch a child Execution object,
the items file and its batches in internal storage (an S3 bucket on versitygw)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.operator.support import apply_crds, why_not_success
from tests.operator.test_flow_language import all_taskruns, apply_example, by_task
from tests.operator.test_workdir_pod import s3, storage_operator  # noqa: F401 - the storage bucket and an operator using it

pytestmark = pytest.mark.cluster
EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(autouse=True)
def own_crds(k8s_api, crds):
    """The shared cluster's CRDs are replaced by each engineer's test session: apply this tree's
    (with `spec.sla` and `spec.outputs`) right before each test, or the API server prunes them."""
    apply_crds(k8s_api)


def children_of(kflow, parent: str) -> list[dict]:
    items = kflow.custom.list_namespaced_custom_object("kflow.io", "v1alpha1", kflow.namespace, "executions")["items"]
    return [e for e in items if e["metadata"].get("labels", {}).get("kflow.io/parent-execution") == parent]


def test_foreach_item_runs_a_child_execution_per_batch_and_merges_their_outputs(kflow, storage_operator):
    apply_example(kflow, "foreach-item-batch.yaml")
    apply_example(kflow, "foreach-item.yaml")
    kflow.execute("foreach-item", "fei-1")
    parent = kflow.wait("fei-1", timeout=600)
    assert parent["status"]["current"] == "SUCCESS", [why_not_success(parent), *(why_not_success(c) for c in children_of(kflow, "fei-1"))]
    runs = by_task(parent)
    assert [tr["taskId"] for tr in all_taskruns(parent)].count("each_items") == 1  # Kestra: one task run for all batches
    assert {"each", "each_split", "each_items", "each_merge"} <= set(runs)
    items = runs["each_items"]["outputs"]
    assert items["numberOfBatches"] == 3 and {k: n for k, n in items["iterations"].items() if n} == {"SUCCESS": 3}
    children = children_of(kflow, "fei-1")
    assert len(children) == 3
    assert sorted(c["status"]["id"] for c in children) == sorted(e["executionId"] for e in items["executions"])
    assert all(c["status"]["current"] == "SUCCESS" for c in children)
    lines = runs["summary"]["outputs"]["value"].split(": ", 1)[1].splitlines()
    assert [json.loads(line) for line in lines] == [{"batch": "0", "orders": "2"}, {"batch": "1", "orders": "2"}, {"batch": "2", "orders": "1"}]


def test_subflow_task_outputs_come_back_from_the_child_execution(kflow, operator):
    apply_example(kflow, "subflow-quiet.yaml")
    apply_example(kflow, "subflow-task-outputs.yaml")
    kflow.execute("subflow-task-outputs", "sto-1")
    parent = kflow.wait("sto-1", timeout=300)
    assert parent["status"]["current"] == "SUCCESS", why_not_success(parent)
    assert by_task(parent)["call_quiet"]["outputs"]["outputs"] == {"shouted": "KESTRA", "length": "6"}
    assert by_task(parent)["use_it"]["outputs"]["value"] == "KESTRA has 6 letters"
    [child] = children_of(kflow, "sto-1")
    assert child["spec"]["outputs"] == {"shouted": "{{ outputs.shout.value }}", "length": "{{ outputs.shout.value | length }}"}


def test_sla_max_duration_fails_the_execution_and_stops_its_pod(kflow, operator, k8s_api):
    stored = kflow.apply_flow((EXAMPLES / "sla.yaml").read_text(), name="sla")
    for _ in range(3):  # another session's CRDs (without spec.sla) may have replaced ours since own_crds
        if "sla" in stored["spec"]:
            break
        apply_crds(k8s_api)
        kflow.custom.delete_namespaced_custom_object("kflow.io", "v1alpha1", kflow.namespace, "flows", "sla")
        stored = kflow.apply_flow((EXAMPLES / "sla.yaml").read_text(), name="sla")
    assert "sla" in stored["spec"], "the cluster's Flow CRD keeps pruning spec.sla (another session's CRDs)"
    kflow.execute("sla", "sla-1")
    execution = kflow.wait("sla-1", timeout=300)
    status = execution["status"]
    assert status["current"] == "FAILED", why_not_success(execution)
    assert status["error"] == "SLA 'quick' violated: the execution ran longer than PT10S"
    assert status["labels"]["sla"] == "missed"
    assert execution["metadata"]["labels"]["sla"] == "missed"  # on the object too: kubectl get executions -l sla=missed
    states = {tr["taskId"]: tr["state"]["current"] for tr in all_taskruns(execution)}
    assert "KILLED" in states.values() and "RUNNING" not in states.values()
