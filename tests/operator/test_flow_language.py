"""The rest of the flow language on the cluster: the same flows as local mode, same results."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.operator.support import why_not_success

pytestmark = pytest.mark.cluster

EXAMPLES = Path(__file__).parents[2] / "examples"
RETURN = "io.kestra.plugin.core.debug.Return"


def all_taskruns(execution: dict) -> list[dict]:
    status = execution["status"]
    try:
        from kflow.operator.resources import taskruns_from_status
    except ImportError:  # before status compaction
        return list((status.get("taskRuns") or {}).values())
    return taskruns_from_status(status)


def by_task(execution: dict) -> dict[str, dict]:
    return {tr["taskId"]: tr for tr in all_taskruns(execution)}


def apply_example(kflow, name: str) -> str:
    text = (EXAMPLES / name).read_text()
    flow_id = name.removesuffix(".yaml")
    kflow.apply_flow(text, name=flow_id)
    return flow_id


def test_switch_if_outputs_foreach_and_dag_as_in_local_mode(kflow, operator):
    apply_example(kflow, "switch-and-if.yaml")
    apply_example(kflow, "foreach-dag.yaml")
    kflow.execute("switch-and-if", "sw-1", {"environment": "prod", "replicas": 9})
    kflow.execute("foreach-dag", "fd-1")
    switch = kflow.wait("sw-1", timeout=300)
    assert switch["status"]["current"] == "SUCCESS", why_not_success(switch)
    assert set(by_task(switch)) == {"by_environment", "careful", "scale_check", "big"}
    assert switch["status"]["outputs"] == {"size": "big"}
    loop = kflow.wait("fd-1", timeout=300)
    assert loop["status"]["current"] == "SUCCESS", why_not_success(loop)
    reports = [tr for tr in all_taskruns(loop) if tr["taskId"] == "report"]
    assert sorted(tr["value"] for tr in reports) == ["ap-south-1", "eu-west-1", "us-east-1"]
    assert by_task(loop)["load"]["outputs"]["value"] == "a of report for eu-west-1 + b of report for eu-west-1"


def test_subflow_is_a_child_execution_with_outputs_back(kflow, operator):
    apply_example(kflow, "subflow-child.yaml")
    apply_example(kflow, "subflow-parent.yaml")
    kflow.execute("subflow-parent", "parent-1")
    parent = kflow.wait("parent-1", timeout=300)
    assert parent["status"]["current"] == "SUCCESS", parent["status"]
    call = by_task(parent)["call_child"]
    assert call["outputs"]["outputs"] == {"greeting": "hello subflow-parent"}
    assert by_task(parent)["use_output"]["outputs"]["value"] == "child said: hello subflow-parent"
    children = [e for e in kflow.custom.list_namespaced_custom_object("kflow.io", "v1alpha1", kflow.namespace, "executions")["items"]
                if e["metadata"].get("labels", {}).get("kflow.io/parent-execution") == "parent-1"]
    assert len(children) == 1
    assert children[0]["status"]["id"] == call["outputs"]["executionId"]
    assert children[0]["metadata"]["ownerReferences"][0]["name"] == "parent-1"


def test_subflow_of_a_missing_flow_fails_naming_it(kflow, operator):
    kflow.apply_flow(f"""id: orphan
namespace: t
tasks:
  - {{id: call, type: io.kestra.plugin.core.flow.Subflow, namespace: t, flowId: nowhere}}
""")
    kflow.execute("orphan", "orphan-1")
    execution = kflow.wait("orphan-1", timeout=60)
    assert execution["status"]["current"] == "FAILED"
    assert "'nowhere'" in by_task(execution)["call"]["attempts"][-1]["reason"]


def test_pause_waits_for_resume(kflow, operator):
    kflow.apply_flow(f"""id: gate
namespace: t
tasks:
  - {{id: approve, type: io.kestra.plugin.core.flow.Pause}}
  - {{id: after, type: {RETURN}, format: approved}}
""")
    kflow.execute("gate", "gate-1")
    paused = kflow.wait("gate-1", timeout=60, until=lambda e: (e.get("status") or {}).get("current") == "PAUSED")
    assert by_task(paused)["approve"]["state"]["current"] == "PAUSED"
    assert not kflow.pods("gate-1")  # nothing waits in a pod
    kflow.patch_spec("gate-1", {"resume": 1})
    execution = kflow.wait("gate-1", timeout=300)
    assert execution["status"]["current"] == "SUCCESS"
    assert execution["status"]["resumed"] == 1
    assert by_task(execution)["after"]["outputs"]["value"] == "approved"


def test_restart_reruns_the_failed_task_and_keeps_earlier_outputs(kflow, operator):
    kflow.apply_flow(f"""id: flaky
namespace: t
tasks:
  - {{id: first, type: {RETURN}, format: "{{{{ execution.id }}}}"}}
  - id: second
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{{{ taskrun.attemptsCount == 0 }}}}"
    errorMessage: first attempt fails
  - {{id: third, type: {RETURN}, format: "{{{{ outputs.first.value }}}}"}}
errors:
  - {{id: alert, type: {RETURN}, format: alerted}}
""")
    kflow.execute("flaky", "flaky-1")
    failed = kflow.wait("flaky-1", timeout=300)
    assert failed["status"]["current"] == "FAILED"
    assert "alert" in by_task(failed)
    first_outputs = by_task(failed)["first"]["outputs"]
    kflow.patch_spec("flaky-1", {"restart": 1})
    execution = kflow.wait("flaky-1", timeout=300, until=lambda e: (e.get("status") or {}).get("restarted") == 1
                           and e["status"]["current"] in ("SUCCESS", "FAILED"))
    assert execution["status"]["current"] == "SUCCESS", execution["status"].get("error")
    runs = by_task(execution)
    assert "alert" not in runs
    assert [a["state"]["current"] for a in runs["second"]["attempts"]] == ["FAILED", "SUCCESS"]
    assert runs["first"]["outputs"] == first_outputs and len(runs["first"]["attempts"]) == 1
    assert runs["third"]["outputs"]["value"] == first_outputs["value"]
    states = [h["state"] for h in execution["status"]["state"]["histories"]]
    assert "RESTARTED" in states


def test_concurrency_limit_queues_then_fails_per_behavior(kflow, operator):
    kflow.apply_flow("""id: one-at-a-time
namespace: t
concurrency: {limit: 1, behavior: QUEUE}
tasks:
  - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT3S}
""")
    kflow.execute("one-at-a-time", "q-1")
    kflow.wait("q-1", timeout=60, until=lambda e: (e.get("status") or {}).get("current") == "RUNNING")
    kflow.execute("one-at-a-time", "q-2")
    queued = kflow.wait("q-2", timeout=30, until=lambda e: (e.get("status") or {}).get("current") == "QUEUED")
    assert queued["status"]["current"] == "QUEUED"
    first, second = kflow.wait("q-1", timeout=300), kflow.wait("q-2", timeout=300)
    assert first["status"]["current"] == second["status"]["current"] == "SUCCESS"
    first_end = by_task(first)["nap"]["state"]["histories"][-1]["date"]
    second_start = by_task(second)["nap"]["state"]["histories"][0]["date"]
    assert first_end <= second_start  # never two at once

    kflow.apply_flow("""id: fail-when-busy
namespace: t
concurrency: {limit: 1, behavior: FAIL}
tasks:
  - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT5S}
""")
    kflow.execute("fail-when-busy", "f-1")
    kflow.wait("f-1", timeout=60, until=lambda e: (e.get("status") or {}).get("current") == "RUNNING")
    kflow.execute("fail-when-busy", "f-2")
    refused = kflow.wait("f-2", timeout=30)
    assert refused["status"]["current"] == "FAILED"
    assert "concurrency limit" in refused["status"]["error"]
    assert kflow.wait("f-1", timeout=60)["status"]["current"] == "SUCCESS"


def test_replay_from_a_task_run_into_a_new_execution(kflow, operator):
    kflow.apply_flow(f"""id: replayable
namespace: t
tasks:
  - {{id: first, type: {RETURN}, format: "{{{{ execution.id }}}}"}}
  - {{id: second, type: {RETURN}, format: "{{{{ outputs.first.value }}}} again"}}
""")
    kflow.execute("replayable", "rp-1")
    original = kflow.wait("rp-1", timeout=300)
    assert original["status"]["current"] == "SUCCESS"
    second = by_task(original)["second"]
    kflow.execute("replayable", "rp-2", replay={"execution": "rp-1", "taskRunId": second["id"]})
    replayed = kflow.wait("rp-2", timeout=300)
    assert replayed["status"]["current"] == "SUCCESS", replayed["status"].get("error")
    assert replayed["status"]["originalId"] == original["status"]["id"]
    runs = by_task(replayed)
    assert runs["first"]["outputs"] == by_task(original)["first"]["outputs"]  # kept, not run again
    assert runs["second"]["outputs"]["value"] == f"{original['status']['id']} again"
    assert {p.metadata.labels["kflow.io/task"] for p in kflow.pods("rp-2")} <= {"second"}
