"""The features the refactored controller carries, without a cluster: SECRET inputs (start,
reload after a restart, masking), the KV store, a flow retry's new try. The real controller,
engine and patch builders against `fake_api.FakeKube`, an in-memory double of the Kubernetes
API (the test plays the kubelet). On the real cluster: tests/cli/test_secret_inputs_cluster.py,
test_kv_cluster.py, test_flow_retry_cluster.py.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from pathlib import Path

import yaml

from kflow.execution.secret_inputs import INPUTS_OF, reference
from kflow.execution.status import ExecutionStatus
from kflow.operator.controller import ExecutionController
from kflow.operator.kv_configmaps import configmap_name
from kflow.operator.settings import OperatorSettings
from tests.operator.fake_api import FakeKube, settle

NS = "team"
EXAMPLES = Path(__file__).parents[2] / "examples"
SECRET = "s3cret-value-42"
SHOW_SECRET = {"namespace": "company.team", "inputs": [{"id": "pw", "type": "SECRET"}, {"id": "who", "type": "STRING", "defaults": "you"}],
               "tasks": [{"id": "show", "type": "io.kestra.plugin.core.debug.Return", "format": "{{ inputs.pw }} for {{ inputs.who }}"}]}


def controller_for(kube: FakeKube) -> ExecutionController:
    controller = ExecutionController(kube, OperatorSettings(), pods_of=kube.pods_of)
    kube.attach(controller)
    return controller


def status(kube: FakeKube, name: str) -> ExecutionStatus:
    return ExecutionStatus.read(kube.executions[(NS, name)].get("status"))


async def until_ended(kube: FakeKube, controller: ExecutionController, name: str, timeout: float = 30) -> ExecutionStatus:
    """Timers (a retry's scheduleDate) wake the controller later: wait for the end, not for quiet."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await settle(controller)
        if (NS, name) in kube.executions and status(kube, name).ended:
            return status(kube, name)
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} did not end: {kube.executions.get((NS, name), {}).get('status')}")


async def until_pod(kube: FakeKube, controller: ExecutionController, execution: str, timeout: float = 30) -> str:
    """The name of `execution`'s running pod, once there is one (a retry's try starts after its delay)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await settle(controller)
        running = [name for (_, name), pod in kube.pods.items() if pod["status"]["phase"] == "Pending"
                   and pod["metadata"]["ownerReferences"][0]["name"] == execution]
        if running:
            return running[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"{execution} made no pod: {kube.executions.get((NS, execution), {}).get('status')}")


def test_a_secret_input_is_read_from_its_secret_at_start_and_after_a_restart_and_shown_masked():
    kube = FakeKube()
    kube.add_flow(NS, "show", SHOW_SECRET)
    kube.add_secret(NS, {"metadata": {"name": "run-1-inputs", "annotations": {INPUTS_OF: "run-1"}},
                         "data": {"pw": base64.b64encode(SECRET.encode()).decode()}})

    async def go():
        controller = controller_for(kube)
        kube.add_execution(NS, {"metadata": {"name": "run-1"}, "spec": {"flowRef": {"name": "show"}, "inputs": {"pw": reference("run-1-inputs", "pw")}}})
        await settle(controller)
        restarted = controller_for(kube)  # an operator restart: the status shows ******, the Secret has the value
        kube.replay_watch()
        await settle(restarted)
        reloaded = restarted.tracked[(NS, "run-1")].run.execution.inputs
        [pod] = copy.deepcopy(list(kube.pods.values()))
        kube.succeed_pod(NS, pod["metadata"]["name"], {"value": f"{SECRET} for you"})
        await settle(restarted)
        return pod, reloaded
    pod, reloaded = asyncio.run(go())
    assert reloaded == {"pw": SECRET, "who": "you"}
    assert SECRET not in json.dumps(pod)  # the pod spec holds no value: the runner reads it from the mount
    [volume] = [v for v in pod["spec"]["volumes"] if v["name"] == "secret-inputs"]
    assert volume["projected"]["sources"] == [{"secret": {"name": "run-1-inputs", "items": [{"key": "pw", "path": "pw"}]}}]
    done = status(kube, "run-1")
    assert done.current == "SUCCESS", done
    assert done.inputs == {"pw": "******", "who": "you"}
    [show] = done.task_runs()
    assert show.outputs == {"value": "****** for you"}
    assert SECRET not in json.dumps(list(kube.executions.values())) and SECRET not in json.dumps(kube.events)


def test_a_secret_input_whose_secret_is_missing_fails_the_start_naming_the_field():
    kube = FakeKube()
    kube.add_flow(NS, "show", SHOW_SECRET)

    async def go():
        controller = controller_for(kube)
        kube.add_execution(NS, {"metadata": {"name": "run-1"}, "spec": {"flowRef": {"name": "show"}, "inputs": {"pw": reference("gone", "pw")}}})
        await settle(controller)
    asyncio.run(go())
    failed = status(kube, "run-1")
    assert failed.current == "FAILED" and failed.error == "spec.inputs.pw: Secret 'gone' not found in namespace 'team'", failed.error


def test_a_kv_set_writes_its_configmap_without_a_pod():
    kube = FakeKube()
    kube.add_flow(NS, "kv", {"namespace": "company.team", "tasks": [
        {"id": "set", "type": "io.kestra.plugin.core.kv.Set", "key": "answer", "value": "{{ 6 * 7 }}", "kvType": "NUMBER"},
        {"id": "get", "type": "io.kestra.plugin.core.kv.Get", "key": "answer"}]})

    async def go():
        controller = controller_for(kube)
        kube.add_execution(NS, {"metadata": {"name": "run-1"}, "spec": {"flowRef": {"name": "kv"}}})
        return await until_ended(kube, controller, "run-1")
    done = asyncio.run(go())
    assert done.current == "SUCCESS", done
    assert kube.pod_creates == []  # KV tasks run in the operator
    entry = json.loads(kube.config_maps[(NS, configmap_name("company.team", "answer"))]["data"]["entry.json"])
    assert entry["value"] == 42 and entry["type"] == "NUMBER"
    assert {tr.taskId: tr.outputs for tr in done.task_runs()}["get"] == {"value": 42}


def test_a_flow_retry_creates_its_next_tries_as_new_executions():
    kube = FakeKube()
    flow = yaml.safe_load((EXAMPLES / "flow-retry-new-execution.yaml").read_text())
    kube.add_flow(NS, "retry", flow)

    async def go():
        controller = controller_for(kube)
        kube.add_execution(NS, {"metadata": {"name": "run-1"}, "spec": {"flowRef": {"name": "retry"}, "labels": {"team": "a"}}})
        for name in ("run-1", "run-1-retry2", "run-1-retry3"):  # the kubelet runs each try's Fail task: it fails twice
            pod = await until_pod(kube, controller, name)
            if name == "run-1-retry3":
                kube.succeed_pod(NS, pod)
            else:
                kube.fail_pod(NS, pod, 1, json.dumps({"state": "FAILED", "reason": "try fails"}))
            await until_ended(kube, controller, name)
        return status(kube, "run-1-retry3")
    third = asyncio.run(go())
    assert [status(kube, n).current for n in ("run-1", "run-1-retry2")] == ["RETRIED", "RETRIED"]
    assert third.current == "SUCCESS", third
    assert third.metadata["attemptNumber"] == 3 and third.scheduleDate
    spec = kube.executions[(NS, "run-1-retry3")]["spec"]
    assert spec["flowRetry"]["firstExecution"] == "run-1" and spec["labels"]["team"] == "a"
    correlation = status(kube, "run-1").labels["system.correlationId"]
    assert third.labels["system.correlationId"] == correlation  # every try counts under one id
    assert not [k for k in kube.config_maps if k[1].startswith("kflow-kv-")]  # the last try deleted its counter


def test_a_subflow_child_gets_its_secret_input_through_a_secret_owned_by_the_parent():
    kube = FakeKube()
    kube.add_flow(NS, "child", {**SHOW_SECRET, "id": "child"})
    kube.add_flow(NS, "parent", {"namespace": "company.team", "inputs": [{"id": "pw", "type": "SECRET"}], "tasks": [
        {"id": "call", "type": "io.kestra.plugin.core.flow.Subflow", "namespace": "company.team", "flowId": "child", "wait": False,
         "inputs": {"pw": "{{ inputs.pw }}"}}]})
    kube.add_secret(NS, {"metadata": {"name": "run-1-inputs", "annotations": {INPUTS_OF: "run-1"}},
                         "data": {"pw": base64.b64encode(SECRET.encode()).decode()}})

    async def go():
        controller = controller_for(kube)
        kube.add_execution(NS, {"metadata": {"name": "run-1"}, "spec": {"flowRef": {"name": "parent"}, "inputs": {"pw": reference("run-1-inputs", "pw")}}})
        await until_ended(kube, controller, "run-1")
        [child] = [name for (_, name) in kube.executions if name != "run-1"]
        return child, copy.deepcopy(kube.pods[(NS, await until_pod(kube, controller, child))])
    child, pod = asyncio.run(go())
    assert status(kube, "run-1").current == "SUCCESS"
    ref = kube.executions[(NS, child)]["spec"]["inputs"]["pw"]
    stored = kube.secrets[(NS, ref["secretKeyRef"]["name"])]
    assert base64.b64decode(stored["data"][ref["secretKeyRef"]["key"]]).decode() == SECRET
    assert stored["metadata"]["ownerReferences"][0]["name"] == "run-1"  # it goes with the parent, which owns the child
    assert status(kube, child).inputs == {"pw": "******", "who": "you"}
    assert [v["name"] for v in pod["spec"]["volumes"] if v["name"] == "secret-inputs"] == ["secret-inputs"]
    assert SECRET not in json.dumps(list(kube.executions.values())) and SECRET not in json.dumps(pod)


def test_a_flow_retry_try_gets_its_secret_inputs_in_a_secret_of_its_own():
    """A try may not read the first try's Secret (it was written for that Execution): the
    operator writes the values into one for the try."""
    kube = FakeKube()
    kube.add_flow(NS, "retry", {**SHOW_SECRET, "id": "retry", "retry": {"type": "constant", "interval": "PT0.1S", "maxAttempts": 2,
                                                                          "behavior": "CREATE_NEW_EXECUTION"}})
    kube.add_secret(NS, {"metadata": {"name": "run-1-inputs", "annotations": {INPUTS_OF: "run-1"}},
                         "data": {"pw": base64.b64encode(SECRET.encode()).decode()}})

    async def go():
        controller = controller_for(kube)
        kube.add_execution(NS, {"metadata": {"name": "run-1"}, "spec": {"flowRef": {"name": "retry"}, "inputs": {"pw": reference("run-1-inputs", "pw")}}})
        kube.fail_pod(NS, await until_pod(kube, controller, "run-1"), 1, json.dumps({"state": "FAILED", "reason": "try fails"}))
        await until_ended(kube, controller, "run-1")
        pod = await until_pod(kube, controller, "run-1-retry2")
        kube.succeed_pod(NS, pod)
        return await until_ended(kube, controller, "run-1-retry2")
    second = asyncio.run(go())
    assert second.current == "SUCCESS", second
    ref = kube.executions[(NS, "run-1-retry2")]["spec"]["inputs"]["pw"]
    assert ref != reference("run-1-inputs", "pw") and "secretKeyRef" in ref, ref
    secret = kube.secrets[(NS, ref["secretKeyRef"]["name"])]
    assert secret["metadata"]["annotations"][INPUTS_OF] == "run-1-retry2"
    assert base64.b64decode(secret["data"]["pw"]).decode() == SECRET

