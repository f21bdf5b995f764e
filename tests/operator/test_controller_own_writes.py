"""Controller logic against the in-memory API double of fake_api.py (no cluster; the real operator's
tests are the other files here): the two halves of the flaky `fd-1` failure.

On the cluster, the watch event of the operator's own status write sometimes arrives before the
write's reply. The controller took it for a foreign write and reloaded from it; the reload
looked for the pod it had just created in the pod index, which lags the API server, and failed
the attempt: "the task's pod is gone (deleted while the operator was away)".
"""

from __future__ import annotations

import asyncio
import copy
from kflow.operator.controller import ExecutionController
from kflow.operator.settings import OperatorSettings
from tests.operator.fake_api import FakeKube, settle

NS, NAME = "ns", "ex-1"
FLOW = {"namespace": "t", "tasks": [{"id": "a", "type": "io.kestra.plugin.core.debug.Return", "format": "x"},
                                    {"id": "b", "type": "io.kestra.plugin.core.debug.Return", "format": "y"}]}


def run_first_attempt(watch_first: bool) -> tuple[FakeKube, ExecutionController, list[str]]:
    """Start the execution: task a's pod is created and the status says a runs."""
    api = FakeKube(watch_first)  # watch_first: a write's watch event comes before its reply
    # The pod index never sees the pod here: the lag the cluster showed, made permanent.
    controller = ExecutionController(api, OperatorSettings(), pods_of=lambda key: ())
    api.attach(controller)
    api.add_flow(NS, "two", FLOW)
    loads: list[str] = []
    original = controller._load
    controller._load = lambda tracked, status: loads.append(status.get("step")) or original(tracked, status)

    async def go():
        api.add_execution(NS, {"metadata": {"name": NAME}, "spec": {"flowRef": {"name": "two"}}})
        await settle(controller)
    asyncio.run(go())
    return api, controller, loads


def test_the_watch_event_of_its_own_write_is_not_taken_for_a_foreign_write():
    api, controller, loads = run_first_attempt(watch_first=True)
    assert api.executions[(NS, NAME)]["status"]["current"] == "RUNNING" and len(api.pods) == 1
    assert loads == []  # before the fix: reloaded from its own step 1
    assert controller.tracked[(NS, NAME)].run is not None


def test_a_reload_asks_the_api_server_for_a_pod_the_index_does_not_have_yet():
    api, controller, _ = run_first_attempt(watch_first=False)
    tracked = controller.tracked[(NS, NAME)]
    tracked.reload_from(copy.deepcopy(api.executions[(NS, NAME)]["status"]))  # a reload (foreign write, conflict)
    asyncio.run(_kick_and_settle(controller))
    runs = [tr for tr in api.executions[(NS, NAME)]["status"]["taskRuns"].values() if tr]
    assert [tr["state"]["current"] for tr in runs] == ["RUNNING"], runs  # before the fix: FAILED, "the task's pod is gone"
    api.pods.clear()  # now really gone: the API server says so
    tracked.reload_from(copy.deepcopy(api.executions[(NS, NAME)]["status"]))
    asyncio.run(_kick_and_settle(controller))
    reasons = [a.get("reason") for tr in api.executions[(NS, NAME)]["status"]["taskRuns"].values() if tr for a in tr["attempts"]]
    assert reasons == ["the task's pod is gone (deleted while the operator was away)"]


async def _kick_and_settle(controller: ExecutionController) -> None:
    controller.kick((NS, NAME))
    await settle(controller)
