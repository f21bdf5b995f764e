"""An in-memory double of the Kubernetes API server, for fast tests of the web UI's server.

It is a test double of the API (HTTP, JSON, list/watch with resourceVersions, merge patches,
409 on a stale resourceVersion, 401/403 by bearer token), not of kflow: the UI talks to it
through the real `kubernetes` client exactly as to a cluster. Only what the UI uses is there:
kflow's custom resources, pods (none) and SelfSubjectReview. Tests on the real cluster
(tests/ui/test_ui_browser.py) cover the rest.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ADMIN = "admin-token"
RIGHTS = web.RequestKey("rights", object)


@dataclass
class Rights:
    user: str
    verbs: set[str] = field(default_factory=lambda: {"get", "list", "watch", "create", "patch"})


class KubeDouble:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}  # (plural, namespace, name) -> object
        self.version = 100
        self.events: list[tuple[int, str, dict[str, Any]]] = []  # (resourceVersion, type, object) of executions
        self.tokens: dict[str, Rights] = {ADMIN: Rights("admin")}
        self.watch_requests = 0
        self.requests: list[tuple[str, str]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.changed: asyncio.Condition | None = None
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- seeding and changing, from the test's thread ------------------------------------------------
    def put(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an object now (as another client would), telling watchers."""
        return self._call(self._put, plural, body)

    def delete(self, plural: str, namespace: str, name: str) -> None:
        self._call(self._delete, plural, namespace, name)

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.objects[(plural, namespace, name)])

    def _call(self, fn, *args):
        if self.loop is None:
            return fn(*args)
        future = asyncio.run_coroutine_threadsafe(self._async(fn, *args), self.loop)
        return future.result(10)

    async def _async(self, fn, *args):
        return fn(*args)

    def _put(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(body)
        meta = body.setdefault("metadata", {})
        key = (plural, meta.get("namespace") or "default", meta["name"])
        meta["namespace"] = key[1]
        existed = key in self.objects
        self.version += 1
        meta["resourceVersion"] = str(self.version)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", f"2026-01-01T00:{self.version // 60 % 60:02d}:{self.version % 60:02d}Z")
        meta.setdefault("generation", 1)
        self.objects[key] = body
        self._notify(plural, "MODIFIED" if existed else "ADDED", body)
        return copy.deepcopy(body)

    def _delete(self, plural: str, namespace: str, name: str) -> None:
        body = self.objects.pop((plural, namespace, name))
        self.version += 1
        self._notify(plural, "DELETED", body)

    def _notify(self, plural: str, kind: str, body: dict[str, Any]) -> None:
        self.events.append((self.version, f"{plural}:{kind}", copy.deepcopy(body)))
        if self.changed is not None:
            async def wake():
                async with self.changed:
                    self.changed.notify_all()
            asyncio.ensure_future(wake())

    # -- the server --------------------------------------------------------------------------------
    def start(self) -> KubeDouble:
        ready = threading.Event()

        def run() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            self.changed = asyncio.Condition()
            app = web.Application(middlewares=[self._auth])
            base = "/apis/kflow.io/v1alpha1"
            app.router.add_get(base + "/{plural}", self._list)
            app.router.add_get(base + "/namespaces/{namespace}/{plural}", self._list)
            app.router.add_post(base + "/namespaces/{namespace}/{plural}", self._create)
            app.router.add_get(base + "/namespaces/{namespace}/{plural}/{name}", self._get)
            app.router.add_patch(base + "/namespaces/{namespace}/{plural}/{name}", self._patch)
            app.router.add_get("/api/v1/namespaces/{namespace}/pods", self._pods)
            app.router.add_post("/apis/authentication.k8s.io/v1/selfsubjectreviews", self._review)
            self._runner = web.AppRunner(app, shutdown_timeout=0.5)
            self.loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self.loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self.loop is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        self.requests.append((request.method, request.path_qs))
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        rights = self.tokens.get(token.strip()) if scheme == "Bearer" else None
        if rights is None:
            return _status(401, "Unauthorized")
        verb = {"GET": "list" if "name" not in request.match_info else "get", "POST": "create", "PATCH": "patch"}[request.method]
        if request.query.get("watch") in ("true", "1", "True"):
            verb = "watch"
        if request.path.endswith("selfsubjectreviews"):
            verb = "get"
        if verb not in rights.verbs:
            return _status(403, f'executions is forbidden: User "{rights.user}" cannot {verb} resource')
        request[RIGHTS] = rights
        return await handler(request)

    async def _review(self, request: web.Request) -> web.Response:
        return web.json_response({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                                  "status": {"userInfo": {"username": request[RIGHTS].user}}}, status=201)

    async def _pods(self, request: web.Request) -> web.Response:
        return web.json_response({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": str(self.version)}, "items": []})

    async def _list(self, request: web.Request):
        plural, namespace = request.match_info["plural"], request.match_info.get("namespace")
        selector = request.query.get("fieldSelector") or ""
        name = selector.removeprefix("metadata.name=") if selector.startswith("metadata.name=") else None

        def matches(key, obj) -> bool:
            return key[0] == plural and (namespace is None or key[1] == namespace) and (name is None or key[2] == name)

        if request.query.get("watch") in ("true", "1", "True"):
            return await self._watch(request, plural, matches)
        items = [o for k, o in sorted(self.objects.items()) if matches(k, o)]
        limit = int(request.query.get("limit") or 0)
        start = int(request.query.get("continue") or 0)
        page = copy.deepcopy(items[start: start + limit] if limit else items)
        more = str(start + limit) if limit and start + limit < len(items) else None
        meta = {"resourceVersion": str(self.version), **({"continue": more} if more else {})}
        return web.json_response({"apiVersion": "kflow.io/v1alpha1", "kind": "List", "metadata": meta, "items": page})

    async def _watch(self, request: web.Request, plural: str, matches) -> web.StreamResponse:
        self.watch_requests += 1
        since = int(request.query.get("resourceVersion") or self.version)
        timeout = float(request.query.get("timeoutSeconds") or 30)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        sent = since
        while loop.time() < deadline:
            for version, kind, obj in self.events:
                if version <= sent:
                    continue
                sent = version
                kind_plural, _, kind = kind.partition(":")
                meta = obj["metadata"]
                if kind_plural == plural and matches((plural, meta["namespace"], meta["name"]), obj):
                    await response.write((json.dumps({"type": kind, "object": obj}) + "\n").encode())
            async with self.changed:
                try:
                    await asyncio.wait_for(self.changed.wait(), timeout=max(deadline - loop.time(), 0.01))
                except asyncio.TimeoutError:
                    break
        return response

    async def _get(self, request: web.Request) -> web.Response:
        key = (request.match_info["plural"], request.match_info["namespace"], request.match_info["name"])
        if key not in self.objects:
            return _status(404, f'{key[0]}.kflow.io "{key[2]}" not found')
        return web.json_response(self.objects[key])

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        meta = body.setdefault("metadata", {})
        meta["namespace"] = request.match_info["namespace"]
        if not meta.get("name"):
            meta["name"] = (meta.get("generateName") or "x-") + uuid.uuid4().hex[:5]
        if (request.match_info["plural"], meta["namespace"], meta["name"]) in self.objects:
            return _status(409, "already exists")
        return web.json_response(self._put(request.match_info["plural"], body), status=201)

    async def _patch(self, request: web.Request) -> web.Response:
        key = (request.match_info["plural"], request.match_info["namespace"], request.match_info["name"])
        if key not in self.objects:
            return _status(404, f'{key[0]}.kflow.io "{key[2]}" not found')
        patch = await request.json()
        current = self.objects[key]
        wanted = ((patch.get("metadata") or {}).get("resourceVersion"))
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            return _status(409, "the object has been modified; please apply your changes to the latest version and try again")
        merged = _merge(copy.deepcopy(current), patch)
        return web.json_response(self._put(key[0], merged))


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _merge(target.get(key), value)
    return target


def _status(code: int, message: str) -> web.Response:
    return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code}, status=code)


def api_client(double: KubeDouble, token: str = ADMIN):
    """A real kubernetes ApiClient pointed at the double."""
    from kubernetes import client

    config = client.Configuration()
    config.host = double.url
    config.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(config)
