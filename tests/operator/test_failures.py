"""Failure is first-class: each way a task pod can fail ends its attempt FAILED with the reason."""

from __future__ import annotations

import time

import pytest

from tests.operator.support import taskruns

pytestmark = pytest.mark.cluster

SLEEP = "io.kestra.plugin.core.flow.Sleep"
RETURN = "io.kestra.plugin.core.debug.Return"


def flow(flow_id: str, tasks: str) -> str:
    return f"id: {flow_id}\nnamespace: t\ntasks:\n{tasks}"


def run_to_end(kflow, flow_id: str, tasks: str, timeout: float = 120) -> dict:
    """Apply a one-off flow, execute it once, and return the Execution once it has ended."""
    kflow.apply_flow(flow(flow_id, tasks))
    kflow.execute(flow_id, f"{flow_id}-1")
    return kflow.wait(f"{flow_id}-1", timeout=timeout)


def reason(execution, task_id: str, attempt: int = -1) -> str:
    return taskruns(execution)[task_id]["attempts"][attempt]["reason"]


def wait_for_pod(kflow, execution: str, phase: str = "Running", timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = [p for p in kflow.pods(execution) if p.status.phase == phase]
        if pods:
            return pods[0]
        time.sleep(0.3)
    raise AssertionError(f"no {phase} pod for {execution}")


def test_task_failure_has_the_runner_reason_and_retries(kflow, operator):
    execution = run_to_end(kflow, "fails", f"  - {{id: bad, type: {RETURN}, format: '{{{{ outputs.nope.value }}}}', retry: {{type: constant, interval: PT1S, maxAttempt: 2}}}}\n")
    assert execution["status"]["current"] == "FAILED"
    run = taskruns(execution)["bad"]
    assert len(run["attempts"]) == 2
    assert "nope" in reason(execution, "bad")
    assert sorted(p.metadata.labels["kflow.io/attempt"] for p in kflow.pods("fails-1")) == ["0", "1"]


def test_timeout_kills_the_pod(kflow, operator):
    execution = run_to_end(kflow, "too-slow", f"  - {{id: nap, type: {SLEEP}, duration: PT120S, timeout: PT3S}}\n", timeout=90)
    assert execution["status"]["current"] == "FAILED"
    assert "timed out" in reason(execution, "nap")


def test_oom_killed(kflow, operator_factory):
    operator_factory(KFLOW_RUNNER_RESOURCES='{"limits": {"memory": "12Mi"}}')
    # A filter takes the full runner (pydantic, jinja2: well over 12 MiB); a plain Return's light
    # path now fits in 12 MiB and would not be killed.
    execution = run_to_end(kflow, "oom", f"  - {{id: r, type: {RETURN}, format: \"{{{{ 'x' | upper }}}}\"}}\n", timeout=90)
    assert execution["status"]["current"] == "FAILED"
    assert "OOMKilled" in reason(execution, "r")


def test_image_that_cannot_be_pulled(kflow, operator_factory):
    operator_factory(KFLOW_IMAGE="localhost/kflow-missing:0")
    execution = run_to_end(kflow, "noimage", f"  - {{id: r, type: {RETURN}, format: x}}\n", timeout=90)
    assert execution["status"]["current"] == "FAILED"
    assert "cannot be pulled" in reason(execution, "r") and "kflow-missing" in reason(execution, "r")


def test_externally_deleted_pod(kflow, operator):
    kflow.apply_flow(flow("deleted", f"  - {{id: nap, type: {SLEEP}, duration: PT120S}}\n"))
    kflow.execute("deleted", "deleted-1")
    pod = wait_for_pod(kflow, "deleted-1")
    kflow.core.delete_namespaced_pod(pod.metadata.name, kflow.namespace, grace_period_seconds=0)
    execution = kflow.wait("deleted-1", timeout=60)
    assert execution["status"]["current"] == "FAILED"
    assert "deleted" in reason(execution, "nap")


def test_kill_deletes_pods_and_ends_killed(kflow, operator):
    kflow.apply_flow(flow("killme", f"  - {{id: nap, type: {SLEEP}, duration: PT120S}}\n  - {{id: never, type: {RETURN}, format: x}}\n"))
    kflow.execute("killme", "killme-1")
    wait_for_pod(kflow, "killme-1")
    kflow.patch_spec("killme-1", {"kill": True})
    execution = kflow.wait("killme-1", timeout=60)
    assert execution["status"]["current"] == "KILLED"
    assert taskruns(execution)["nap"]["state"]["current"] == "KILLED"
    assert "never" not in taskruns(execution)
    deadline = time.monotonic() + 30
    while any(p.status.phase == "Running" for p in kflow.pods("killme-1")):
        assert time.monotonic() < deadline, "pod still running after kill"
        time.sleep(0.3)
