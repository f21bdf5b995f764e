"""The webhook endpoint over real HTTP (aiohttp on loopback) with an in-memory Kubernetes API double.

Unit tests of the endpoint's decisions (status codes, what is created, rate and size bounds,
the key never logged); the real cluster is in test_webhook_cluster.py.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import yaml

from kflow.operator.kube import Conflict
from kflow.operator.names import execution_id_for_uid
from kflow.operator.webhook import TokenBucket, WebhookSettings, serving

KEY = "4wjtkzwVGBM9yKnjm3yv8r"
FLOW = f"""
id: hook
namespace: company.team
inputs:
  - {{id: who, type: STRING, defaults: nobody}}
tasks: [{{id: a, type: io.kestra.plugin.core.debug.Return, format: "{{{{ trigger.body }}}}"}}]
triggers:
  - id: gh
    type: io.kestra.plugin.core.trigger.Webhook
    key: {KEY}
    inputs: {{who: "{{{{ trigger.body.user ?? 'anonymous' }}}}"}}
    conditions:
      - {{type: io.kestra.plugin.core.condition.Expression, expression: "{{{{ trigger.body.skip is not defined }}}}"}}
"""


class ApiDouble:
    """In memory: Flows by namespace, and the Executions created (a name once only)."""

    def __init__(self, flows: dict[str, list[dict]]):
        self.flows = flows
        self.created: list[dict] = []

    async def list_flows(self, namespace: str) -> list[dict]:
        return self.flows.get(namespace, [])

    async def list_all_flows(self) -> list[dict]:
        return [f for items in self.flows.values() for f in items]

    async def create_execution_object(self, namespace: str, body: dict) -> dict:
        if any(c["metadata"]["name"] == body["metadata"]["name"] for c in self.created):
            raise Conflict("exists")
        made = {**body, "metadata": {**body["metadata"], "uid": str(uuid.uuid4()), "creationTimestamp": "2026-01-01T00:00:00Z"}}
        self.created.append(made)
        return made


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resource(name: str, namespace: str, text: str) -> dict:
    return {"apiVersion": "kflow.io/v1alpha1", "kind": "Flow", "metadata": {"name": name, "namespace": namespace, "uid": name + namespace, "generation": 1},
            "spec": yaml.safe_load(text)}


def call(api: ApiDouble, requests, **settings):
    """Serve the endpoint on a loopback port, make `requests(session, base)`, return its result."""
    from aiohttp import ClientSession

    port = free_port()

    async def go():
        async with serving(WebhookSettings(port=port, **settings), ["ns-a"], api=api):  # as the operator serves it
            async with ClientSession() as session:
                return await requests(session, f"http://127.0.0.1:{port}")

    return asyncio.run(go())


def test_post_creates_one_execution_and_answers_its_id(caplog):
    api = ApiDouble({"ns-a": [resource("hook", "ns-a", FLOW)]})

    async def requests(session, base):
        async with session.post(f"{base}/api/v1/executions/webhook/company.team/hook/{KEY}?ref=main&ref=dev",
                                json={"user": "ana"}, headers={"X-GitHub-Event": "push"}) as r:
            return r.status, await r.json()

    with caplog.at_level(logging.DEBUG):
        status, answer = call(api, requests)
    assert status == 200, answer
    (made,) = api.created
    assert answer["id"] == execution_id_for_uid(made["metadata"]["uid"])
    assert (answer["namespace"], answer["flowId"], answer["trigger"]["id"]) == ("company.team", "hook", "gh")
    assert answer["kubernetes"] == {"namespace": "ns-a", "name": made["metadata"]["name"]}
    assert made["metadata"]["name"].startswith("hook-gh-")
    assert made["spec"]["flowRef"] == {"name": "hook"}
    assert made["spec"]["inputs"] == {"who": "ana"}
    trigger = made["spec"]["trigger"]
    assert trigger["body"] == {"user": "ana"}
    assert trigger["headers"]["x-github-event"] == ["push"]
    assert trigger["parameters"] == {"ref": ["main", "dev"]}
    assert made["metadata"]["labels"]["kflow.io/trigger"] == "gh"
    assert KEY not in caplog.text  # never logged
    assert KEY not in str(made["metadata"])


def test_get_and_put_work_and_the_tenant_path_too():
    api = ApiDouble({"ns-a": [resource("hook", "ns-a", FLOW)]})

    async def requests(session, base):
        out = []
        async with session.get(f"{base}/api/v1/executions/webhook/company.team/hook/{KEY}") as r:
            out.append(r.status)
        async with session.put(f"{base}/api/v1/main/executions/webhook/company.team/hook/{KEY}", data=b"plain text") as r:
            out.append(r.status)
        async with session.delete(f"{base}/api/v1/executions/webhook/company.team/hook/{KEY}") as r:
            out.append(r.status)
        return out

    assert call(api, requests) == [200, 200, 405]
    assert [c["spec"]["trigger"]["body"] for c in api.created] == [None, "plain text"]
    assert [c["spec"]["inputs"]["who"] for c in api.created] == ["anonymous", "anonymous"]


def test_wrong_key_unknown_flow_or_other_namespace_is_404_and_creates_nothing():
    api = ApiDouble({"ns-a": [resource("hook", "ns-a", FLOW)], "ns-b": [resource("other", "ns-b", FLOW.replace("id: hook", "id: other"))]})

    async def requests(session, base):
        out = []
        for path in (f"company.team/hook/{KEY}x", f"company.team/nope/{KEY}", f"other.team/hook/{KEY}", f"company.team/other/{KEY}"):
            async with session.post(f"{base}/api/v1/executions/webhook/{path}", json={}) as r:
                out.append((r.status, KEY in await r.text()))
        return out

    assert call(api, requests) == [(404, False)] * 4  # ns-b is not watched
    assert api.created == []


def test_unmet_condition_is_204_and_a_broken_input_is_422():
    text = FLOW.replace("{{ trigger.body.user ?? 'anonymous' }}", "{{ trigger.body.user.name }}")
    api = ApiDouble({"ns-a": [resource("hook", "ns-a", text)]})

    async def requests(session, base):
        out = []
        for body in ({"skip": True}, {"user": "ana"}):
            async with session.post(f"{base}/api/v1/executions/webhook/company.team/hook/{KEY}", json=body) as r:
                out.append((r.status, await r.text()))
        return out

    (skipped, broken) = call(api, requests)
    assert skipped == (204, "")
    assert broken[0] == 422
    assert "trigger gh:" in broken[1] and "(at inputs.who)" in broken[1] and "trigger.body.user.name" in broken[1]
    assert api.created == []


def test_body_over_the_limit_is_413_and_calls_over_the_rate_are_429():
    api = ApiDouble({"ns-a": [resource("hook", "ns-a", FLOW)]})

    async def requests(session, base):
        url = f"{base}/api/v1/executions/webhook/company.team/hook/{KEY}"
        out = []
        async with session.post(url, data=b"x" * 101) as r:
            out.append(r.status)
        async with session.post(url, data=b"x" * 100) as r:
            out.append(r.status)
        async with session.post(url, data=b"x") as r:
            out.append((r.status, r.headers.get("Retry-After")))
        return out

    big, fits, limited = call(api, requests, max_body_bytes=100, rate=0.01, burst=2)
    assert big == 413 and fits == 200
    assert limited == (429, "100")
    assert len(api.created) == 1


def test_token_bucket_refills_at_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5
    assert bucket.take() and not bucket.take()
    now[0] = 100
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
