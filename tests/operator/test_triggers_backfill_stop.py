"""Schedule `backfill` and `stopAfter`, Flow-trigger preconditions in the operator's Triggers, on
an in-memory API double (unit tests of the trigger logic with a fake clock; the same flows on the
real cluster are in test_triggers_issue16_cluster.py)."""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime

import yaml

from kflow.operator.triggers import Triggers
from tests.operator.fake_api import merge
from tests.operator.support import DAILY_REPORT, JOIN



class ApiDouble:
    """Flows and Executions in memory; status patches are JSON merge patches, as the API server does."""

    def __init__(self, flow: dict):
        self.flow = flow
        self.executions: dict[str, dict] = {}
        self.events: list[tuple[str, str]] = []

    async def get_flow(self, namespace, name):
        return copy.deepcopy(self.flow)

    async def list_flows(self, namespace):
        return [copy.deepcopy(self.flow)]

    async def patch_status(self, plural, namespace, name, patch):
        merge(self.flow, patch)
        return self.flow

    async def create_execution(self, namespace, body):
        if body["metadata"]["name"] in self.executions:
            return False
        self.executions[body["metadata"]["name"]] = body
        return True

    async def event(self, involved, reason, message, type_="Normal"):
        self.events.append((reason, message))


def flow_resource(text: str, generation: int = 1) -> dict:
    """A Flow resource named after its flow's id, in Kubernetes namespace ns."""
    spec = yaml.safe_load(text)
    return {"metadata": {"name": spec["id"], "namespace": "ns", "uid": "u1", "generation": generation,
                         "creationTimestamp": "2025-12-01T00:00:00Z"}, "spec": spec, "status": {}}


DAILY = ("ns", "daily-report")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_backfill_runs_each_date_from_start_to_end_once_then_the_schedule_goes_on():
    api = ApiDouble(flow_resource(DAILY_REPORT))
    now = [at("2026-01-10T12:00:00Z")]
    triggers = Triggers(api, clock=lambda: now[0])
    flow = triggers.parsed(api.flow)

    async def go():
        await triggers.schedule_tick(DAILY, ("u1", 1), flow)
        first = dict(api.executions)
        await triggers.schedule_tick(DAILY, ("u1", 1), flow)  # a repeat (restart): nothing new
        assert api.executions == first
        now[0] = at("2026-01-11T06:00:01Z")
        return await triggers.schedule_tick(DAILY, ("u1", 1), flow)

    wake = asyncio.run(go())
    backfilled = sorted(n for n in api.executions if "-backfill-" in n)
    assert backfilled == [f"daily-report-daily-backfill-2026010{d}060000" for d in (1, 2, 3)]  # 06:00 on the 1st..3rd; `end` is the 3rd at 23:00
    run = api.executions[backfilled[0]]
    assert run["spec"]["inputs"] == {"day": "2026-01-01"} and run["spec"]["labels"] == {"source": "backfill"}
    assert run["metadata"]["annotations"]["kflow.io/backfill"] == "true"
    assert sorted(n for n in api.executions if "-backfill-" not in n) == ["daily-report-daily-20260111060000"]  # first seen on the 10th at noon
    state = api.flow["status"]["triggers"]["daily"]
    assert state["backfillDone"] is True and state["backfillLastDate"] == "2026-01-03T06:00:00Z"
    assert wake == at("2026-01-12T06:00:00Z")


def test_a_new_backfill_range_runs_again():
    api = ApiDouble(flow_resource(DAILY_REPORT))
    now = at("2026-01-10T12:00:00Z")
    triggers = Triggers(api, clock=lambda: now)
    asyncio.run(triggers.schedule_tick(DAILY, ("u1", 1), triggers.parsed(api.flow)))
    api.flow["spec"]["triggers"][0]["backfill"] = {"start": "2026-01-05T00:00:00Z", "end": "2026-01-05T23:00:00Z"}
    api.flow["metadata"]["generation"] = 2
    asyncio.run(triggers.schedule_tick(DAILY, ("u1", 2), triggers.parsed(api.flow)))
    assert "daily-report-daily-backfill-20260105060000" in api.executions
    assert len([n for n in api.executions if "-backfill-" in n]) == 4


def test_paused_backfill_starts_nothing_until_unpaused():
    api = ApiDouble(flow_resource(DAILY_REPORT.replace("labels: {source: backfill}", "paused: true")))
    triggers = Triggers(api, clock=lambda: at("2026-01-10T12:00:00Z"))
    asyncio.run(triggers.schedule_tick(DAILY, ("u1", 1), triggers.parsed(api.flow)))
    assert not [n for n in api.executions if "-backfill-" in n]
    assert api.flow["status"]["triggers"]["daily"]["backfillDone"] is False


def ended(name: str, state: str, trigger: str = "daily", flow: str = "daily-report") -> dict:
    """An ended Execution of `flow` (its Flow resource has the flow's name), started by `trigger`."""
    return {"metadata": {"name": name, "namespace": "ns", "uid": name, "labels": {"kflow.io/trigger": trigger}},
            "spec": {"flowRef": {"name": flow}},
            "status": {"id": name, "namespace": "company.team", "flowId": flow, "current": state,
                       "state": {"histories": [{"state": state, "date": "2026-01-11T06:00:05Z"}]}, "taskRuns": {}}}


def test_stop_after_stops_the_schedule_until_the_flow_changes():
    api = ApiDouble(flow_resource(DAILY_REPORT.split("    backfill:")[0]))
    now = [at("2026-01-11T06:00:01Z")]
    triggers = Triggers(api, clock=lambda: now[0])
    triggers.flows[DAILY] = api.flow

    async def go():
        await triggers.execution_event(None, ended("daily-report-daily-1", "SUCCESS"))
        assert "stoppedBy" not in (api.flow["status"].get("triggers") or {}).get("daily", {})
        await triggers.execution_event(None, ended("daily-report-daily-2", "FAILED"))
        now[0] = at("2026-01-13T07:00:00Z")
        return await triggers.schedule_tick(DAILY, ("u1", 1), triggers.parsed(api.flow))

    wake = asyncio.run(go())
    state = api.flow["status"]["triggers"]["daily"]
    assert state["stoppedBy"] == "execution daily-report-daily-2 ended FAILED" and state["stoppedGeneration"] == 1
    assert wake is None and api.executions == {}
    assert any(reason == "TriggerStopped" for reason, _ in api.events)
    # editing the spec (a new generation) starts it again
    api.flow["metadata"]["generation"] = 2
    wake = asyncio.run(triggers.schedule_tick(DAILY, ("u1", 2), triggers.parsed(api.flow)))
    assert wake == at("2026-01-14T06:00:00Z")


def test_stop_after_of_a_flow_trigger_stops_it():
    downstream = """
id: report
namespace: company.team
tasks: [{id: a, type: io.kestra.plugin.core.debug.Return, format: x}]
triggers:
  - id: after-extract
    type: io.kestra.plugin.core.trigger.Flow
    stopAfter: [SUCCESS]
    conditions: [{type: io.kestra.plugin.core.condition.ExecutionFlow, namespace: company.team, flowId: extract}]
"""
    api = ApiDouble(flow_resource(downstream))
    triggers = Triggers(api, clock=lambda: at("2026-01-11T06:00:00Z"))
    triggers.flows[("ns", "report")] = api.flow

    async def go():
        await triggers.execution_event(None, ended("extract-1", "SUCCESS", trigger="x", flow="extract"))
        (started,) = api.executions
        await triggers.execution_event(None, ended(started, "SUCCESS", trigger="after-extract", flow="report"))
        await triggers.execution_event(None, ended("extract-2", "SUCCESS", trigger="x", flow="extract"))

    asyncio.run(go())
    assert list(api.executions) == ["report-after-extract-extract-1"]
    assert api.flow["status"]["triggers"]["after-extract"]["stoppedBy"].endswith("ended SUCCESS")


def test_preconditions_on_two_flows_start_one_execution_and_remember_in_the_status():
    api = ApiDouble(flow_resource(JOIN))
    triggers = Triggers(api, clock=lambda: at("2026-01-11T07:00:00Z"))
    triggers.flows[("ns", "join")] = api.flow

    def upstream(flow: str, n: int, hour: int) -> dict:
        body = ended(f"{flow}-{n}", "SUCCESS", trigger="x", flow=flow)
        body["status"]["state"]["histories"][0]["date"] = f"2026-01-11T0{hour}:00:00Z"
        return body

    async def go():
        await triggers.execution_event(None, upstream("extract-orders", 1, 1))
        assert api.executions == {}
        assert list(api.flow["status"]["triggers"]["both"]["preconditionsMet"]) == ["flow.company.team.extract-orders"]
        # both end at once: the per-Flow lock makes one of them complete the set
        await asyncio.gather(triggers.execution_event(None, upstream("extract-customers", 1, 2)),
                             triggers.execution_event(None, upstream("extract-orders", 2, 2)))
        # a restarted operator hears the old ones again: nothing new
        restarted = Triggers(api, clock=lambda: at("2026-01-11T07:00:00Z"))
        restarted.flows[("ns", "join")] = api.flow
        for body in (upstream("extract-orders", 1, 1), upstream("extract-customers", 1, 2), upstream("extract-orders", 2, 2)):
            await restarted.execution_event(None, body)

    asyncio.run(go())
    assert len(api.executions) == 1, api.executions
    (name,) = api.executions
    assert name in ("join-both-extract-customers-1", "join-both-extract-orders-2")
    state = api.flow["status"]["triggers"]["both"]
    assert state["lastFired"] == "2026-01-11T02:00:00Z" and not state.get("preconditionsMet")
