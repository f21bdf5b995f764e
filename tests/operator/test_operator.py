"""The operator on the real cluster: flows applied as resources, one pod per task attempt."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.operator.support import taskruns

pytestmark = pytest.mark.cluster
EXAMPLES = Path(__file__).parents[2] / "examples"
INSTANT = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3,6})?Z"

PARALLEL_OF_SEQUENTIALS = """
id: parallel-of-sequentials
namespace: io.kestra.tests
tasks:
  - id: parallel
    type: io.kestra.core.tasks.flows.Parallel
    tasks:
      - id: seq-a
        type: io.kestra.core.tasks.flows.Sequential
        tasks:
          - {id: a1, type: io.kestra.core.tasks.debugs.Return, format: "a1"}
          - {id: a2, type: io.kestra.core.tasks.debugs.Return, format: "{{ outputs.a1.value }} then a2"}
      - id: seq-b
        type: io.kestra.core.tasks.flows.Sequential
        tasks:
          - {id: b1, type: io.kestra.core.tasks.debugs.Return, format: "b1"}
          - {id: b2, type: io.kestra.core.tasks.debugs.Return, format: "{{ outputs.b1.value }} then b2"}
"""


def pod_span(pod) -> tuple:
    terminated = pod.status.container_statuses[0].state.terminated
    return terminated.started_at, terminated.finished_at


def pods_by_task(kflow, execution: str) -> dict:
    return {p.metadata.labels["kflow.io/task"]: p for p in kflow.pods(execution)}


def test_getting_started_flows_run_to_success(kflow, operator):
    import re

    for example in ("sample-task", "sample-sequential-task", "sample-parallel-task"):
        kflow.apply_flow((EXAMPLES / f"{example}.yaml").read_text())
        kflow.execute(example, f"{example}-1")
    for example in ("sample-task", "sample-sequential-task", "sample-parallel-task"):
        execution = kflow.wait(f"{example}-1")
        status = execution["status"]
        assert status["current"] == "SUCCESS", status
        runs = taskruns(execution)
        assert all(tr["state"]["current"] == "SUCCESS" for tr in runs.values())
        assert re.fullmatch(rf".* task1 running within flow > {example} started on {INSTANT}", runs["task1"]["outputs"]["value"])
        assert status["progress"] == f"{len(runs)}/{len(runs)}"
    seq = pods_by_task(kflow, "sample-sequential-task-1")
    assert pod_span(seq["task1"])[1] <= pod_span(seq["task2"])[0]
    assert pod_span(seq["task2"])[1] <= pod_span(seq["task3"])[0]
    par = pods_by_task(kflow, "sample-parallel-task-1")
    # Parallel: every branch's pod was created before any of them ended. Their run times need
    # not overlap: the light runner ends a Return in tens of ms, and a busy node starts the
    # containers a second apart (the run-time overlap assertion failed that way).
    created = sorted(p.metadata.creation_timestamp for p in par.values())
    assert created[-1] <= min(pod_span(p)[1] for p in par.values()), "parallel pods were not all created before one ended"


def test_parallel_of_sequentials_and_pod_shape(kflow, operator):
    kflow.apply_flow(PARALLEL_OF_SEQUENTIALS)
    kflow.execute("parallel-of-sequentials", "pos-1")
    execution = kflow.wait("pos-1")
    runs = taskruns(execution)
    assert execution["status"]["current"] == "SUCCESS"
    assert runs["a2"]["outputs"]["value"] == "a1 then a2" and runs["b2"]["outputs"]["value"] == "b1 then b2"
    pods = pods_by_task(kflow, "pos-1")
    assert set(pods) == {"a1", "a2", "b1", "b2"}
    pod = pods["a1"]
    assert pod.metadata.owner_references[0].kind == "Execution" and pod.metadata.owner_references[0].name == "pos-1"
    assert pod.spec.automount_service_account_token is False
    assert pod.spec.security_context.run_as_non_root is True
    assert pod.spec.containers[0].security_context.allow_privilege_escalation is False
    labels = pod.metadata.labels
    assert labels["kflow.io/flow"] == "parallel-of-sequentials" and labels["kflow.io/attempt"] == "0"
    assert labels["kflow.io/taskrun"] == runs["a1"]["id"]
    deadline = time.monotonic() + 15
    while "ExecutionSuccess" not in (reasons := {e.reason for e in kflow.events("pos-1")}) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert "ExecutionSuccess" in reasons  # how it ended; not one Event per task-run transition (event_policy.py)
    assert not reasons & {"Started", "TaskRunning", "TaskSuccess"}


def test_flow_status_names_the_bad_field_and_invalid_flow_never_runs(kflow, operator):
    bad = "id: broken\nnamespace: t\ntasks:\n  - {id: a, type: io.kestra.plugin.core.debug.Retrun, format: x}\n"
    kflow.apply_flow(bad)
    flow = kflow.wait_flow("broken")
    assert flow["status"]["valid"] == "False"
    assert "tasks[0].type" in flow["status"]["conditions"][0]["message"]
    kflow.execute("broken", "broken-1")
    execution = kflow.wait("broken-1")
    assert execution["status"]["current"] == "FAILED"
    assert "did you mean io.kestra.plugin.core.debug.Return" in execution["status"]["error"]
    assert kflow.pods("broken-1") == []


def test_bad_input_fails_the_execution_naming_it(kflow, operator):
    kflow.apply_flow((EXAMPLES / "hello-inputs.yaml").read_text())
    kflow.execute("hello-inputs", "hello-bad", inputs={"times": "many"})
    execution = kflow.wait("hello-bad")
    assert execution["status"]["current"] == "FAILED"
    assert "input 'times' (INT)" in execution["status"]["error"]
    kflow.execute("hello-inputs", "hello-good", inputs={"name": "k8s", "shout": True})
    good = kflow.wait("hello-good")
    assert taskruns(good)["greet"]["outputs"]["value"] == "Hello, K8S!"


def test_missing_flow_fails_clearly(kflow, operator):
    kflow.execute("nowhere", "lost-1")
    assert "Flow 'nowhere' not found" in kflow.wait("lost-1")["status"]["error"]


def test_editing_a_flow_does_not_change_a_running_execution(kflow, operator):
    kflow.apply_flow("id: slow\nnamespace: t\ntasks:\n  - {id: wait, type: io.kestra.plugin.core.flow.Sleep, duration: PT3S}\n  - {id: r, type: io.kestra.plugin.core.debug.Return, format: first}\n")
    kflow.execute("slow", "slow-1")
    kflow.wait("slow-1", until=lambda e: (e.get("status") or {}).get("current") == "RUNNING")
    flow = kflow.get("flows", "slow")
    flow["spec"]["tasks"][1]["format"] = "second"
    kflow.custom.replace_namespaced_custom_object("kflow.io", "v1alpha1", kflow.namespace, "flows", "slow", flow)
    assert taskruns(kflow.wait("slow-1"))["r"]["outputs"]["value"] == "first"


def test_task_resources_and_finished_pod_collection(kflow, operator_factory):
    operator_factory(KFLOW_KEEP_FINISHED_PODS="OnFailure")
    kflow.apply_flow(
        "id: res\nnamespace: t\ntasks:\n"
        "  - id: sized\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n"
        "    taskRunner: {type: io.kestra.plugin.ee.kubernetes.runner.Kubernetes, resources: {request: {cpu: 20m}, limit: {memory: 300Mi}}}\n"
        "  - {id: fails, type: io.kestra.plugin.core.debug.Return, format: '{{ outputs.nope }}'}\n"
    )
    kflow.execute("res", "res-1")
    seen = {}
    deadline = time.monotonic() + 60
    while "sized" not in seen and time.monotonic() < deadline:
        seen.update(pods_by_task(kflow, "res-1"))
        time.sleep(0.2)
    resources = seen["sized"].spec.containers[0].resources
    assert resources.requests["cpu"] == "20m" and resources.limits["memory"] == "300Mi"
    assert kflow.wait("res-1")["status"]["current"] == "FAILED"
    wanted = {("TaskFailed", "Warning"), ("ExecutionFailed", "Warning")}  # failures always get an Event
    deadline = time.monotonic() + 15
    while not wanted <= (events := {(e.reason, e.type) for e in kflow.events("res-1")}) and time.monotonic() < deadline:
        time.sleep(0.3)  # Task Events are posted beside the status write, not before it
    assert wanted <= events, events
    assert not {reason for reason, _ in events} & {"TaskRunning", "TaskSuccess"}
    deadline = time.monotonic() + 30
    while True:  # the successful task's pod is collected, the failed one kept for inspection
        left = set(pods_by_task(kflow, "res-1"))
        if left == {"fails"}:
            break
        assert time.monotonic() < deadline, left
        time.sleep(0.3)


def test_outputs_too_large_for_a_termination_message(kflow, operator):
    kflow.apply_flow("id: big\nnamespace: t\ntasks:\n  - {id: huge, type: io.kestra.plugin.core.debug.Return, format: \"{{ range(1, 2000) | join(',') }}\"}\n")
    kflow.execute("big", "big-1")
    execution = kflow.wait("big-1")
    assert execution["status"]["current"] == "FAILED"
    assert "more than the 4096" in taskruns(execution)["huge"]["attempts"][-1]["reason"]
