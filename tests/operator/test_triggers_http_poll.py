"""The HTTP polling trigger in the operator's Triggers: real HTTP calls to the loopback test
server, the Kubernetes API as an in-memory double (unit tests of the trigger logic, fake clock)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from kflow.operator.triggers import Triggers
from tests.operator.test_triggers_backfill_stop import ApiDouble, at, flow_resource
from tests.servers.http_server import HttpServer


@pytest.fixture(scope="module")
def server():
    http = HttpServer().start()
    yield http
    http.stop()


class PollApi(ApiDouble):
    async def list_executions(self, namespace, label_selector):
        return [e for e in self.executions.values() if "kflow.io/trigger=http" in label_selector]


def flow(uri: str, condition: str | None = None, more: str = "") -> dict:
    text = f"""
id: report
namespace: company.team
inputs:
  - {{id: method, type: STRING}}
tasks: [{{id: a, type: io.kestra.plugin.core.debug.Return, format: "{{{{ trigger.body }}}}"}}]
triggers:
  - id: http
    type: io.kestra.plugin.core.http.Trigger
    uri: "{uri}"
    method: POST
    body: '{{"flow": "{{{{ flow.id }}}}"}}'
    contentType: application/json
    headers: {{X-Kflow: poll}}
    interval: PT30S
    inputs: {{method: "{{{{ json(trigger.body).method }}}}"}}
{more}"""
    if condition:
        text += f"    responseCondition: \"{condition}\"\n"
    return flow_resource(text)


def tick(triggers, api):
    return asyncio.run(triggers.schedule_tick(("ns", "report"), ("u1", 1), triggers.parsed(api.flow)))


def test_a_true_condition_starts_an_execution_with_the_response_as_trigger(server):
    api = PollApi(flow(server.url("/echo"), "{{ response.statusCode == 200 and json(response.body).method == 'POST' }}"))
    now = [at("2026-01-11T06:00:00Z")]
    triggers = Triggers(api, clock=lambda: now[0])
    wake = tick(triggers, api)
    (name, run), = api.executions.items()
    assert name == "report-http-20260111060000"
    variables = run["spec"]["trigger"]
    assert variables["code"] == 200 and variables["uri"] == server.url("/echo")
    echoed = json.loads(variables["body"])
    assert echoed["method"] == "POST" and json.loads(echoed["body"]) == {"flow": "report"}
    assert echoed["headers"]["X-Kflow"] == "poll" and echoed["headers"]["Content-Type"] == "application/json"
    assert variables["headers"]["content-type"]
    assert run["spec"]["inputs"] == {"method": "POST"}
    assert wake == now[0] + timedelta(seconds=30)
    assert api.flow["status"]["triggers"]["http"]["lastDate"] == "2026-01-11T06:00:00Z"
    # allowConcurrent false: while that execution runs, no call
    now[0] += timedelta(seconds=30)
    tick(triggers, api)
    assert len(api.executions) == 1
    run["status"] = {"current": "SUCCESS", "state": {"current": "SUCCESS"}}
    now[0] += timedelta(seconds=30)
    tick(triggers, api)
    assert len(api.executions) == 2


def test_default_condition_is_a_status_below_400_and_a_bad_response_starts_nothing(server):
    api = PollApi(flow(server.url("/status/503")))
    triggers = Triggers(api, clock=lambda: at("2026-01-11T06:00:00Z"))
    tick(triggers, api)
    assert api.executions == {}
    api = PollApi(flow("http://127.0.0.1:1/nothing-listens"))
    triggers = Triggers(api, clock=lambda: at("2026-01-11T06:00:00Z"))
    wake = tick(triggers, api)
    assert api.executions == {} and wake == at("2026-01-11T06:00:30Z")
    assert any(reason == "TriggerFailed" and "poll of http://127.0.0.1:1/nothing-listens failed" in message for reason, message in api.events)


def test_not_due_before_its_interval(server):
    api = PollApi(flow(server.url("/echo")))
    now = [at("2026-01-11T06:00:00Z")]
    triggers = Triggers(api, clock=lambda: now[0])
    tick(triggers, api)
    api.executions["report-http-20260111060000"]["status"] = {"current": "SUCCESS"}
    now[0] += timedelta(seconds=10)
    wake = tick(triggers, api)
    assert len(api.executions) == 1 and wake == at("2026-01-11T06:00:30Z")
