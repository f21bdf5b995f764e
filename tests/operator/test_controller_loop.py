"""The controller's reconcile loop without a cluster: the real controller, engine, pod builders and
status patches against `fake_api.FakeKube`, an in-memory double of the Kubernetes API (the test
plays the kubelet). The same behaviours on the real cluster: test_operator.py, test_crash.py.
"""

from __future__ import annotations

import asyncio

from kflow.execution import State
from kflow.execution.status import ExecutionStatus
from kflow.operator.controller import ExecutionController
from kflow.operator.settings import OperatorSettings
from tests.operator.fake_api import FakeKube, settle

NS = "team"
RETURN = "io.kestra.plugin.core.debug.Return"
THREE = {"namespace": "company.team", "tasks": [{"id": "outer", "type": "io.kestra.plugin.core.flow.Sequential", "tasks": [
    {"id": "a", "type": RETURN, "format": "one"},
    {"id": "b", "type": RETURN, "format": "{{ outputs.a.value }} two"},
    {"id": "c", "type": RETURN, "format": "three"},
]}]}


def start(kube: FakeKube, flow: dict = THREE, name: str = "run-1", **settings) -> ExecutionController:
    controller = ExecutionController(kube, OperatorSettings(**settings), pods_of=kube.pods_of)
    kube.attach(controller)
    kube.add_flow(NS, "three", flow)
    kube.add_execution(NS, {"metadata": {"name": name}, "spec": {"flowRef": {"name": "three"}}})
    return controller


def status(kube: FakeKube, name: str = "run-1") -> ExecutionStatus:
    return ExecutionStatus.read(kube.executions[(NS, name)].get("status"))


def running_pods(kube: FakeKube) -> list[str]:
    return [name for (_, name), pod in kube.pods.items() if pod["status"]["phase"] == "Pending"]


async def kubelet(kube: FakeKube, controller: ExecutionController, outputs_of=lambda name: {"value": name}) -> None:
    """Run every pod to success, one by one, until none is left running."""
    await settle(controller)
    while running_pods(kube):
        for name in running_pods(kube):
            task_id = kube.pods[(NS, name)]["metadata"]["annotations"]["kflow.io/task-id"]
            kube.succeed_pod(NS, name, outputs_of(task_id))
        await settle(controller)


def test_a_three_task_sequential_runs_to_success():
    kube = FakeKube()

    async def go():
        controller = start(kube)
        await kubelet(kube, controller, outputs_of=lambda task_id: {"value": f"{task_id}!"})
    asyncio.run(go())
    done = status(kube)
    assert done.current == "SUCCESS", done
    runs = {tr.taskId: tr for tr in done.task_runs()}
    assert [runs[t].state.current for t in ("outer", "a", "b", "c")] == [State.SUCCESS] * 4
    assert runs["b"].outputs == {"value": "b!"}
    assert len(kube.pod_creates) == len(set(kube.pod_creates)) == 3  # one pod per task, each created once
    assert kube.pods == {}  # the keep policy (OnFailure) let every succeeded pod go, logs kept first
    assert len(kube.config_maps) == 3
    assert done.progress == "4/4" and done.duration and done.flow["id"] == "three"
    reasons = sorted(e["reason"] for e in kube.events)  # task Events are posted in the background: any order
    assert reasons == ["ExecutionSuccess", "Started", *["TaskRunning"] * 4, *["TaskSuccess"] * 4], reasons


def test_a_failed_pod_fails_the_execution_with_its_reason():
    kube = FakeKube()

    async def go():
        controller = start(kube)
        await settle(controller)
        [first] = running_pods(kube)
        kube.fail_pod(NS, first, 3, "no such file: data.csv")
        await settle(controller)
    asyncio.run(go())
    failed = status(kube)
    assert failed.current == "FAILED"
    [a] = [tr for tr in failed.task_runs() if tr.taskId == "a"]
    assert a.attempts[-1].reason == "the task exited with code 3: no such file: data.csv"
    assert not [tr for tr in failed.task_runs() if tr.taskId in ("b", "c")]  # nothing after the failure ran
    assert len(kube.pods) == 1  # a failed pod is kept (OnFailure)
    failures = {e["message"]: e["type"] for e in kube.events if e["reason"] == "TaskFailed"}
    assert failures == {"task a FAILED: the task exited with code 3: no such file: data.csv": "Warning", "task outer FAILED": "Warning"}


def test_a_restarted_controller_resumes_without_duplicate_pods():
    kube = FakeKube()

    async def go():
        first = start(kube)
        await settle(first)
        [a] = running_pods(kube)
        kube.succeed_pod(NS, a, {"value": "one"})
        await settle(first)
        [b] = running_pods(kube)
        kube.attach(None)  # the operator dies; a new one starts from the objects alone (kopf lists them on start)
        second = ExecutionController(kube, OperatorSettings(), pods_of=kube.pods_of)
        kube.attach(second)
        kube.replay_watch()
        await settle(second)
        assert running_pods(kube) == [b]  # the same pod, adopted: not made again
        await kubelet(kube, second)
    asyncio.run(go())
    assert status(kube).current == "SUCCESS"
    assert len(kube.pod_creates) == len(set(kube.pod_creates)) == 3


def test_a_restart_while_a_step_was_not_written_adopts_the_pod_it_made():
    """A crash between creating a pod and writing the status: the next operator creates it again,
    which the API server refuses (409); the pod is adopted, and its end still counts."""
    kube = FakeKube()

    async def go():
        first = start(kube)
        await settle(first)
        [a] = running_pods(kube)
        kube.attach(None)  # the operator dies
        kube.executions[(NS, "run-1")]["status"] = {}  # as if the first write (a runs) was lost
        kube.succeed_pod(NS, a, {"value": "one"})  # ... and a ended while no one watched
        second = ExecutionController(kube, OperatorSettings(), pods_of=kube.pods_of)
        kube.attach(second)
        kube.replay_watch()
        await kubelet(kube, second)
    asyncio.run(go())
    assert status(kube).current == "SUCCESS"
    assert kube.pod_creates.count(kube.pod_creates[0]) == 2 and len(set(kube.pod_creates)) == 3


def test_a_missing_flow_fails_the_execution_naming_it():
    kube = FakeKube()

    async def go():
        controller = ExecutionController(kube, OperatorSettings(), pods_of=kube.pods_of)
        kube.attach(controller)
        kube.add_execution(NS, {"metadata": {"name": "lost"}, "spec": {"flowRef": {"name": "nowhere"}}})
        await settle(controller)
    asyncio.run(go())
    lost = status(kube, "lost")
    assert lost.current == "FAILED" and lost.error == "Flow 'nowhere' not found in namespace 'team'; apply it first (kubectl get flows)"
    assert kube.pod_creates == []


def test_a_concurrency_limit_queues_the_second_execution_until_the_first_ends():
    kube = FakeKube()
    limited = {**THREE, "concurrency": {"limit": 1}}

    async def go():
        controller = start(kube, limited, "first")
        await settle(controller)
        kube.add_execution(NS, {"metadata": {"name": "second"}, "spec": {"flowRef": {"name": "three"}}})
        await settle(controller)
        assert status(kube, "second").current == "QUEUED"
        assert all("first" in name for name in running_pods(kube))
        await kubelet(kube, controller)
    asyncio.run(go())
    assert status(kube, "first").current == status(kube, "second").current == "SUCCESS"
    assert any(e["reason"] == "Queued" and e["name"] == "second" for e in kube.events)


def test_a_foreign_status_write_is_reloaded_and_a_stale_patch_conflicts():
    """Someone else writes the status (another replica): the controller's next patch, conditional
    on the version it saw, gets a 409; it reads the object again and carries on from it."""
    kube = FakeKube()

    async def go():
        controller = start(kube)
        await settle(controller)
        [a] = running_pods(kube)
        kube.controller = None  # the foreign write's watch event is lost
        await kube.patch_status("executions", NS, "run-1", {"status": {"labels": {"seen": "by-another"}}})
        kube.attach(controller)
        kube.succeed_pod(NS, a, {"value": "one"})
        await kubelet(kube, controller)
    asyncio.run(go())
    assert status(kube).current == "SUCCESS"
    assert len(set(kube.pod_creates)) == 3
