"""Controller logic against an in-memory API double (no cluster; the real operator's tests are
the other files here): the two halves of the flaky `fd-1` failure.

On the cluster, the watch event of the operator's own status write sometimes arrives before the
write's reply. The controller took it for a foreign write and reloaded from it; the reload
looked for the pod it had just created in the pod index, which lags the API server, and failed
the attempt: "the task's pod is gone (deleted while the operator was away)".
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from kflow.operator.controller import ExecutionController
from kflow.operator.kube import NotFound
from kflow.operator.settings import OperatorSettings

NS, NAME = "ns", "ex-1"
FLOW = {"metadata": {"name": "two", "namespace": NS, "generation": 1},
        "spec": {"namespace": "t", "tasks": [{"id": "a", "type": "io.kestra.plugin.core.debug.Return", "format": "x"},
                                             {"id": "b", "type": "io.kestra.plugin.core.debug.Return", "format": "y"}]}}


class MemoryApi:
    """Just what a reconcile calls; `watch_first` delivers a write's watch event before its reply."""

    core = None

    def __init__(self, watch_first: bool):
        self.watch_first = watch_first
        self.controller: ExecutionController | None = None
        self.body = {"apiVersion": "kflow.io/v1alpha1", "kind": "Execution",
                     "metadata": {"name": NAME, "namespace": NS, "uid": "u-1", "resourceVersion": "1"},
                     "spec": {"flowRef": {"name": "two"}}, "status": {}}
        self.pods: dict[str, dict[str, Any]] = {}

    async def get_flow(self, namespace, name):
        return FLOW

    async def create_pod(self, namespace, manifest):
        self.pods[manifest["metadata"]["name"]] = manifest
        return True

    async def get_pod(self, namespace, name):
        return copy.deepcopy(self.pods.get(name))

    async def patch_status(self, plural, namespace, name, patch):
        assert patch["metadata"]["resourceVersion"] == self.body["metadata"]["resourceVersion"]
        merge(self.body["status"], patch["status"])
        self.body["metadata"]["resourceVersion"] = str(int(self.body["metadata"]["resourceVersion"]) + 1)
        if self.watch_first:
            self.controller.execution_event("MODIFIED", copy.deepcopy(self.body))
        await asyncio.sleep(0)
        return copy.deepcopy(self.body)

    async def patch_execution(self, namespace, name, patch):  # labels from the Kestra labels
        assert patch["metadata"]["resourceVersion"] == self.body["metadata"]["resourceVersion"]
        self.body["metadata"].setdefault("labels", {}).update(patch["metadata"].get("labels") or {})
        self.body["metadata"]["resourceVersion"] = str(int(self.body["metadata"]["resourceVersion"]) + 1)
        return copy.deepcopy(self.body)

    async def get_execution(self, namespace, name):
        return copy.deepcopy(self.body)

    async def event(self, *args, **kwargs):
        pass

    async def delete_pod(self, namespace, name):
        self.pods.pop(name, None)


def merge(target: dict, patch: dict) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


async def settle(controller: ExecutionController) -> None:
    """Until no reconcile runs. Engine steps run in a thread pool (offloop.py), so how many loop
    turns that takes depends on the threads' scheduling: wait on time, not on a turn count."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        await asyncio.sleep(0.01)
        if not controller._running:
            return
    raise AssertionError("reconciles did not settle")


def run_first_attempt(watch_first: bool) -> tuple[MemoryApi, ExecutionController, list[str]]:
    """Start the execution: task a's pod is created and the status says a runs."""
    api = MemoryApi(watch_first)
    # The pod index never sees the pod here: the lag the cluster showed, made permanent.
    controller = ExecutionController(api, OperatorSettings(), pods_of=lambda key: ())
    api.controller = controller
    loads: list[str] = []
    original = controller._load
    controller._load = lambda tracked, status: loads.append(status.get("step")) or original(tracked, status)

    async def go():
        controller.execution_event("ADDED", copy.deepcopy(api.body))
        await settle(controller)
    asyncio.run(go())
    return api, controller, loads


def test_the_watch_event_of_its_own_write_is_not_taken_for_a_foreign_write():
    api, controller, loads = run_first_attempt(watch_first=True)
    assert api.body["status"]["current"] == "RUNNING" and len(api.pods) == 1
    assert loads == []  # before the fix: reloaded from its own step 1
    assert controller.tracked[(NS, NAME)].run is not None


def test_a_reload_asks_the_api_server_for_a_pod_the_index_does_not_have_yet():
    api, controller, _ = run_first_attempt(watch_first=False)
    tracked = controller.tracked[(NS, NAME)]
    tracked.run, tracked.status, tracked.step = None, copy.deepcopy(api.body["status"]), -1  # a reload (foreign write, conflict)
    asyncio.run(_kick_and_settle(controller))
    runs = [tr for tr in api.body["status"]["taskRuns"].values() if tr]
    assert [tr["state"]["current"] for tr in runs] == ["RUNNING"], runs  # before the fix: FAILED, "the task's pod is gone"
    api.pods.clear()  # now really gone: the API server says so
    tracked.run, tracked.status, tracked.step = None, copy.deepcopy(api.body["status"]), -1
    asyncio.run(_kick_and_settle(controller))
    reasons = [a.get("reason") for tr in api.body["status"]["taskRuns"].values() if tr for a in tr["attempts"]]
    assert reasons == ["the task's pod is gone (deleted while the operator was away)"]


async def _kick_and_settle(controller: ExecutionController) -> None:
    controller.kick((NS, NAME))
    await settle(controller)
