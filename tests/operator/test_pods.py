"""Pod manifests and how a pod's status reads as an attempt's end (pure functions, no cluster).

The statuses below have the shape the kubelet writes; the cluster tests see the real thing.
"""

from __future__ import annotations

import json

import pytest

from kflow.engine import RunTask
from kflow.execution import State
from kflow.operator import names
from kflow.operator.pods import pod_manifest, pod_outcome
from kflow.operator.settings import OperatorSettings
from kflow.runner.invocation import Invocation

EXECUTION = {"metadata": {"name": "my-execution", "namespace": "team-a", "uid": "u-1"}}
INVOCATION = Invocation(executionId="e", taskRunId="TR1", attempt=0, namespace="n", flowId="f", task={"id": "t", "type": "x"}, context={})


def manifest(**kw):
    return pod_manifest(EXECUTION, RunTask("TR1", 0, "t", kw.pop("timeout", None)), INVOCATION, OperatorSettings(**kw))


def pod(phase, terminated=None, waiting=None, reason=None, message=None):
    body = manifest()
    state = {}
    if terminated is not None:
        state["terminated"] = terminated
    if waiting is not None:
        state["waiting"] = waiting
    body["status"] = {"phase": phase, "reason": reason, "message": message, "containerStatuses": [{"name": "task", "state": state}]}
    return body


@pytest.mark.parametrize(
    "status, state, reason",
    [
        (pod("Succeeded", {"exitCode": 0, "message": json.dumps({"state": "SUCCESS", "outputs": {"value": 1}})}), State.SUCCESS, None),
        (pod("Failed", {"exitCode": 1, "message": json.dumps({"state": "FAILED", "reason": "task 't': boom"})}), State.FAILED, "task 't': boom"),
        (pod("Failed", {"exitCode": 137, "reason": "OOMKilled"}), State.FAILED, "OOMKilled: the task used more than its memory limit of 512Mi (exit code 137)"),
        (pod("Failed", {"exitCode": 3, "message": "Traceback...\nValueError: x"}), State.FAILED, "the task exited with code 3: Traceback...\nValueError: x"),
        (pod("Failed", reason="Evicted", message="The node was low on resource: memory."), State.FAILED, "the pod was evicted: The node was low on resource: memory."),
        (pod("Pending", waiting={"reason": "ErrImageNeverPull", "message": "image not present"}), State.FAILED, "image 'localhost/kflow:dev' cannot be pulled: ErrImageNeverPull: image not present"),
        (pod("Running"), None, None),
        (pod("Succeeded", {"exitCode": 0}), State.FAILED, "the task pod succeeded but left no result in its termination message"),
    ],
)
def test_pod_outcome(status, state, reason):
    outcome = pod_outcome(status)
    if state is None:
        assert outcome is None
        return
    assert (outcome.taskrun_id, outcome.attempt, outcome.state) == ("TR1", 0, state)
    assert outcome.reason == reason


def test_deadline_and_deletion():
    body = manifest(timeout=2.5)
    assert body["spec"]["activeDeadlineSeconds"] == 3
    body["status"] = {"phase": "Failed", "reason": "DeadlineExceeded"}
    assert pod_outcome(body).reason == "timed out after 3s (task timeout); the pod was stopped"
    running = pod("Running")
    assert pod_outcome(running, deleted=True).reason.endswith("was deleted before the task ended")


def test_manifest_is_locked_down_and_owned():
    body = manifest()
    spec = body["spec"]
    assert spec["automountServiceAccountToken"] is False and spec["restartPolicy"] == "Never"
    assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    container = spec["containers"][0]
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    owner = body["metadata"]["ownerReferences"][0]
    assert owner == {"apiVersion": "kflow.io/v1alpha1", "kind": "Execution", "name": "my-execution", "uid": "u-1", "controller": True, "blockOwnerDeletion": True}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert Invocation.model_validate_json(env["KFLOW_INVOCATION"]) == INVOCATION


@pytest.mark.parametrize("text", ["ok-value", "a" * 63, "a" * 64, "Has Spaces!", "-leading", "ü"])
def test_label_values_fit(text):
    import re

    value = names.label_value(text)
    assert len(value) <= 63 and re.fullmatch(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", value)
    if len(text) <= 63 and re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", text):
        assert value == text


def test_pod_names_are_deterministic_dns_labels():
    import re

    a = names.pod_name("An-Execution.With.Dots" * 5, "My_Task", "aBcDeF", 2)
    assert a == names.pod_name("An-Execution.With.Dots" * 5, "My_Task", "aBcDeF", 2)
    assert a != names.pod_name("An-Execution.With.Dots" * 5, "My_Task", "aBcDeF", 3)
    assert len(a) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", a)
