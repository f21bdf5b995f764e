"""Kestra core tasks of issue 16 that have a cluster side, on the real cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from kflow.operator.execution_labels import kube_labels, missing_labels

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_only_labels_kubernetes_accepts_are_copied_to_the_object():
    labels = {"customerId": "c-7", "team": "data", "note": "two words", "k" * 64: "v", "x/y/z": "v",
              "kflow.io/flow": "mine", "company.io/owner": "ops", "empty": ""}
    assert kube_labels(labels) == {"customerId": "c-7", "team": "data", "company.io/owner": "ops", "empty": ""}
    assert missing_labels({"team": "data", "a": "1"}, {"team": "data", "kflow.io/x": "y"}) == {"a": "1"}


@pytest.mark.cluster
def test_labels_task_sets_status_labels_and_the_execution_objects_labels(kflow, operator):
    kflow.apply_flow((EXAMPLES / "execution-labels.yaml").read_text(), name="execution-labels")
    kflow.execute("execution-labels", "labels-1", {"customer": "c-9"}, labels={"origin": "test"})
    execution = kflow.wait("labels-1", timeout=300)
    assert execution["status"]["current"] == "SUCCESS", execution["status"]
    expected = {"team": "data", "customerId": "c-9", "orderId": "42", "origin": "test",
                "system.correlationId": execution["status"]["id"]}
    assert execution["status"]["labels"] == expected
    taskruns = {tr["taskId"]: tr for tr in (execution["status"].get("taskRuns") or {}).values() if tr}
    assert taskruns["show"]["outputs"]["value"] == "c-9/42/data"
    assert {k: v for k, v in execution["metadata"]["labels"].items() if not k.startswith("kflow.io/")} == expected
    found = kflow.custom.list_namespaced_custom_object("kflow.io", "v1alpha1", kflow.namespace, "executions",
                                                       label_selector="customerId=c-9,team=data")["items"]
    assert [e["metadata"]["name"] for e in found] == ["labels-1"]
    assert len(kflow.pods("labels-1")) <= 1  # only `show` ran a pod: Labels is resolved by the operator


@pytest.mark.cluster
def test_pause_resumed_with_on_resume_inputs_runs_its_tasks_and_wait_for_loops_on_the_cluster(kflow, operator):
    kflow.apply_flow((EXAMPLES / "pause-approval.yaml").read_text(), name="pause-approval")
    kflow.apply_flow((EXAMPLES / "wait-for.yaml").read_text(), name="wait-for")
    kflow.execute("pause-approval", "approval-1")
    kflow.execute("wait-for", "wait-for-1")
    kflow.wait("approval-1", timeout=120, until=lambda e: (e.get("status") or {}).get("current") == "PAUSED")
    kflow.patch_spec("approval-1", {"resume": 1, "resumeInputs": {"approved": "true", "reason": "looks good"}})
    approval = kflow.wait("approval-1", timeout=300)
    assert approval["status"]["current"] == "SUCCESS", approval["status"]
    taskruns = {tr["taskId"]: tr for tr in (approval["status"].get("taskRuns") or {}).values() if tr}
    assert taskruns["wait_for_approval"]["outputs"] == {"onResume": {"approved": True, "reason": "looks good"}}
    assert taskruns["after_approval"]["outputs"]["value"] == "approved=true"
    assert taskruns["summary"]["outputs"]["value"] == "looks good"
    loop = kflow.wait("wait-for-1", timeout=300)
    assert loop["status"]["current"] == "SUCCESS", loop["status"]
    from kflow.operator.resources import taskruns_from_status
    steps = [tr for tr in taskruns_from_status(loop["status"]) if tr["taskId"] == "return"]
    assert sorted(tr["outputs"]["value"] for tr in steps) == ["1", "2", "3", "4"]
