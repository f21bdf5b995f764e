"""Flow-level `retry` on the real cluster: the Execution waits RETRYING, then its failed task
runs get new attempts (new pods) in the same Execution, with Kestra's states and counts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.operator.support import apply_crds, taskruns

EXAMPLES = Path(__file__).parents[2] / "examples"


def apply_retry_flow(kflow, k8s_api, example: str) -> None:
    """CRDs are cluster-wide: another tree's, applied meanwhile, would prune `retry` (and spec.flowRetry)."""
    apply_crds(k8s_api)
    flow = kflow.apply_flow((EXAMPLES / f"{example}.yaml").read_text(), name=example)
    assert "retry" in flow["spec"], "the cluster's Flow CRD has no `retry`: CRDs were re-applied from an older tree"


@pytest.mark.cluster
def test_a_failed_execution_is_retried_in_place_until_it_succeeds(kflow, operator, k8s_api):
    apply_retry_flow(kflow, k8s_api, "flow-retry")
    kflow.execute("flow-retry", "flow-retry-1")
    execution = kflow.wait("flow-retry-1", timeout=400)
    status = execution["status"]
    assert status["current"] == "SUCCESS", ([h["state"] for h in status["state"]["histories"]], status["flow"].get("retry"))
    assert [h["state"] for h in status["state"]["histories"]] == \
        ["CREATED", "RUNNING", "RETRYING", "RUNNING", "RETRYING", "RUNNING", "SUCCESS"]
    runs = taskruns(execution)
    assert [a["state"]["current"] for a in runs["flaky"]["attempts"]] == ["FAILED", "FAILED", "SUCCESS"]
    assert len(runs["prepare"]["attempts"]) == 1
    assert "alert" not in runs
    deadline = time.monotonic() + 60  # each attempt had its pod, whose log is kept per attempt at the end
    while True:
        kept = kflow.core.list_namespaced_config_map(kflow.namespace, label_selector="kflow.io/execution=flow-retry-1,kflow.io/task=flaky").items
        attempts = sorted(int(c.metadata.labels["kflow.io/attempt"]) for c in kept)
        if attempts == [0, 1, 2] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert attempts == [0, 1, 2]


@pytest.mark.cluster
def test_create_new_execution_makes_a_new_execution_per_try(kflow, operator, k8s_api):
    apply_retry_flow(kflow, k8s_api, "flow-retry-new-execution")
    kflow.execute("flow-retry-new-execution", "fr-new")
    ended = lambda e: (e.get("status") or {}).get("current") in ("SUCCESS", "WARNING", "FAILED", "KILLED", "RETRIED")
    first = kflow.wait("fr-new", timeout=300, until=ended)
    assert first["status"]["current"] == "RETRIED", (first["status"]["current"], first["status"]["flow"].get("retry"))
    second = kflow.wait("fr-new-retry2", timeout=300, until=ended)  # made by the operator
    assert second["status"]["current"] == "RETRIED", (second["status"]["current"], second["status"]["flow"].get("retry"))
    assert second["status"]["flow"] == first["status"]["flow"]  # every try runs the first one's flow
    third = kflow.wait("fr-new-retry3", timeout=300, until=ended)
    assert third["status"]["current"] == "SUCCESS", third["status"]
    assert [e["status"].get("metadata", {}).get("attemptNumber", 1) for e in (first, second, third)] == [1, 2, 3]
    assert third["spec"]["flowRetry"]["firstExecution"] == "fr-new"
    assert third["spec"]["inputs"] == first["spec"]["inputs"]
    assert third["status"]["scheduleDate"] <= third["status"]["state"]["histories"][1]["date"]  # it waited its delay
    correlation = {e["status"]["labels"]["system.correlationId"] for e in (first, second, third)}
    assert correlation == {first["status"]["id"]}  # every try shares the first one's correlation id
    assert taskruns(third)["previous"]["outputs"]["value"] == 2
    assert [int(taskruns(e)["flaky"]["attempts"][-1]["state"]["current"] == "SUCCESS") for e in (first, second, third)] == [0, 0, 1]
    assert not kflow.core.list_namespaced_config_map(kflow.namespace, label_selector="kflow.io/kv=true").items  # the counter was deleted
