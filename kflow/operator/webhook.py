"""The Webhook trigger's HTTP endpoint: Kestra's `/api/v1/executions/webhook/{namespace}/{flowId}/{key}`.

Served by every operator replica, leader or standby: a call only reads Flows and creates an
Execution through the API server, and the leader's watch picks the new Execution up. So the
chart's Service selects all operator pods and a failover never makes the URL unreachable.

Per call: the rate limit (429), the body size (413), the Flow whose Kestra namespace and id
match (listed from the API server, so a Flow applied a moment ago is found), its enabled
Webhook trigger with that key (else 404, nothing created), conditions (unmet: 204), inputs
(not rendered: 422), then the Execution `<flow>-<trigger>-<random>` and Kestra's answer with
its id. The key is never logged: there is no access log, and log lines name the trigger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Callable

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kflow.execution.instants import format_instant
from kflow.flow import FlowError
from kflow.flow.model import Flow
from kflow.operator.flows import flow_from_resource
from kflow.operator.kube import Conflict, KubeApi
from kflow.operator.names import execution_id_for_uid
from kflow.triggers import webhook as rules
from kflow.triggers.stop_after import is_stopped

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("kflow.operator.webhook")

PATHS = ("/api/v1/executions/webhook/{namespace}/{flowId}/{key}", "/api/v1/{tenant}/executions/webhook/{namespace}/{flowId}/{key}")
ANNOTATION_WEBHOOK = "kflow.io/webhook"


class WebhookSettings(BaseSettings):
    """KFLOW_WEBHOOK_* (the Helm chart's `webhook.*`)."""

    model_config = SettingsConfigDict(env_prefix="KFLOW_WEBHOOK_", extra="ignore")

    port: int = Field(0, ge=0, le=65535, description="Port of the webhook endpoint on 0.0.0.0; 0 serves none.")
    max_body_bytes: int = Field(262144, ge=0, description="Larger request bodies are answered 413 (the body is stored in the Execution).")
    rate: float = Field(10.0, gt=0, description="Calls per second this replica accepts on average; more are answered 429.")
    burst: int = Field(20, ge=1, description="Calls accepted at once before the rate applies.")


def settings_error(err: ValueError) -> str:
    """A bad KFLOW_WEBHOOK_* variable, named, in one line."""
    errors = getattr(err, "errors", None)
    if callable(errors):
        first = errors()[0]
        name = "KFLOW_WEBHOOK_" + "_".join(str(p) for p in first["loc"]).upper()
        return f"{name}: {first['msg']} (got {first.get('input')!r})"
    return str(err)


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved: a call takes one or is refused."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.stamp = float(burst), clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def retry_after(self) -> int:
        return max(1, int((1 - self.tokens) / self.rate + 0.999))


class FlowFinder:
    """Flows by Kestra namespace and id, read from the API server on each call; parsed once per generation."""

    def __init__(self, api: KubeApi, namespaces: list[str], cache_size: int = 512):
        self.api, self.namespaces, self.cache_size = api, namespaces, cache_size
        self._parsed: OrderedDict[tuple[str, Any], Flow | None] = OrderedDict()

    async def candidates(self, namespace: str, flow_id: str) -> list[tuple[dict[str, Any], Flow]]:
        """Valid Flows whose Kestra namespace and id match, by Kubernetes namespace."""
        if self.namespaces:
            bodies = [b for ns in self.namespaces for b in await self.api.list_flows(ns)]
        else:
            bodies = await self.api.list_all_flows()
        out = []
        for body in sorted(bodies, key=lambda b: b["metadata"]["namespace"]):
            spec = body.get("spec") or {}
            if spec.get("namespace") != namespace or (spec.get("id") or body["metadata"].get("name")) != flow_id:
                continue
            flow = self._parse(body)
            if flow is not None:
                out.append((body, flow))
        return out

    def _parse(self, body: dict[str, Any]) -> Flow | None:
        meta = body["metadata"]
        ident = (meta.get("uid"), meta.get("generation"))
        if ident in self._parsed:
            self._parsed.move_to_end(ident)
            return self._parsed[ident]
        try:
            flow: Flow | None = flow_from_resource(body)
        except FlowError:
            flow = None  # its status says why; a webhook of an invalid Flow is not found
        self._parsed[ident] = flow
        while len(self._parsed) > self.cache_size:
            self._parsed.popitem(last=False)
        return flow


def _json(status: int, body: Any, **headers: str) -> web.Response:
    from aiohttp import web

    return web.json_response(body, status=status, headers=headers or None)


def _message(status: int, text: str) -> web.Response:
    return _json(status, {"message": text})


class WebhookEndpoint:
    """The request handler, with its rate limit and flow lookup."""

    def __init__(self, api: KubeApi, settings: WebhookSettings, namespaces: list[str]):
        self.api = api
        self.settings = settings
        self.bucket = TokenBucket(settings.rate, settings.burst)
        self.flows = FlowFinder(api, namespaces)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            return await self._handle(request)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # never the path in a log line: it holds the key
            log.error("webhook call failed: %s: %s", type(err).__name__, err)
            return _message(500, "the webhook could not create an execution; see the operator's log")

    async def _handle(self, request: web.Request) -> web.Response:
        from aiohttp import web

        if not self.bucket.take():
            return _json(429, {"message": f"too many webhook calls: at most {self.settings.rate:g}/s (burst {self.settings.burst}) per operator replica"},
                         **{"Retry-After": str(self.bucket.retry_after())})
        limit = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return _message(413, f"the request body is larger than {limit} bytes (webhook.maxBodyBytes)")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _message(413, f"the request body is larger than {limit} bytes (webhook.maxBodyBytes)")
        namespace, flow_id, key = (request.match_info[k] for k in ("namespace", "flowId", "key"))
        found = None
        for body, flow in await self.flows.candidates(namespace, flow_id):
            trigger = rules.find_trigger(flow, key)
            stored = ((body.get("status") or {}).get("triggers") or {}).get(trigger.id) if trigger else None
            if trigger is not None and not is_stopped(stored, body["metadata"].get("generation")):  # stopAfter
                found = (body, flow, trigger)
                break
        if found is None:
            return _message(404, f"no flow {namespace}.{flow_id} with a webhook of this key")
        body, flow, trigger = found
        variables = rules.trigger_variables(
            rules.parse_body(raw), rules.multimap(request.headers.items(), lower=True), rules.multimap(request.query.items())
        )
        try:
            if not rules.conditions_met(trigger, flow, variables):
                return web.Response(status=204)
            inputs = rules.render_inputs(trigger, flow, variables)
        except Exception as err:  # a condition or an input that does not render: the caller's data
            return _message(422, f"trigger {trigger.id}: {err}")
        return await self._create(body, flow, trigger, inputs, variables)

    async def _create(self, body: dict[str, Any], flow: Flow, trigger: Any, inputs: dict[str, Any], variables: dict[str, Any]) -> web.Response:
        from kflow.operator.secret_inputs import adopt, secret_ids, store_values
        from kflow.operator.triggers import execution_manifest

        meta = body["metadata"]
        for _ in range(3):  # a random name that exists: draw again
            name = rules.execution_name(meta["name"], trigger.id)
            manifest = execution_manifest(meta, trigger.id, name, inputs, variables, {ANNOTATION_WEBHOOK: trigger.id})
            # SECRET inputs go into a Secret of the Execution's, as for every Execution kflow creates
            manifest["spec"]["inputs"] = await store_values(self.api, meta["namespace"], name, inputs, secret_ids(flow))
            try:
                created = await self.api.create_execution_object(meta["namespace"], manifest)
                if manifest["spec"]["inputs"] is not inputs:
                    await adopt(self.api, meta["namespace"], name)
                break
            except Conflict:
                continue
        else:
            return _message(503, "no free execution name; call again")
        execution_id = execution_id_for_uid(created["metadata"]["uid"])
        log.info("%s/%s: webhook trigger %s -> execution %s (%s)", meta["namespace"], meta["name"], trigger.id, name, execution_id)
        stamp = created["metadata"].get("creationTimestamp") or format_instant(datetime.now(timezone.utc))
        answer = rules.response(execution_id, flow, trigger, variables, flow.labels, stamp)
        answer["kubernetes"] = {"namespace": meta["namespace"], "name": name}
        return _json(200, answer)


def application(endpoint: WebhookEndpoint) -> web.Application:
    from aiohttp import web

    app = web.Application(client_max_size=max(endpoint.settings.max_body_bytes, 1))
    for path in PATHS:
        for method in ("GET", "POST", "PUT"):
            app.router.add_route(method, path, endpoint.handle)
    return app


class WebhookPortError(Exception):
    """The webhook port cannot be bound: one line saying what to do."""


@asynccontextmanager
async def serving(settings: WebhookSettings, namespaces: list[str], api: KubeApi | None = None) -> AsyncIterator[WebhookEndpoint | None]:
    """The endpoint served on the running loop for the duration of the block (nothing when the port is 0)."""
    if not settings.port:
        yield None
        return
    from aiohttp import web

    from kflow.operator.kube import api_client

    endpoint = WebhookEndpoint(api or KubeApi(api_client(), threads=4), settings, namespaces)
    runner = web.AppRunner(application(endpoint), access_log=None)  # the path holds the key: no access log
    await runner.setup()
    try:
        await web.TCPSite(runner, "0.0.0.0", settings.port).start()
    except OSError as err:
        await runner.cleanup()
        raise WebhookPortError(f"cannot serve webhooks on 0.0.0.0:{settings.port}: {err.strerror or err} (set KFLOW_WEBHOOK_PORT to another port; 0 disables)") from None
    log.info("serving webhooks on http://0.0.0.0:%d/api/v1/executions/webhook/...", settings.port)
    try:
        yield endpoint
    finally:
        await runner.cleanup()
