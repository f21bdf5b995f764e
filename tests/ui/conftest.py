"""Web UI fixtures: the in-memory Kubernetes API double (kube_double.py) and the UI server
running against it in a thread, or the real `kflow ui` process against the real cluster."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.ui.kube_double import ADMIN, KubeDouble, api_client


@pytest.fixture
def double():
    server = KubeDouble().start()
    yield server
    server.stop()


@dataclass
class UiUnderTest:
    url: str
    app: Any
    hub: Any
    http: httpx.Client

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.http.get(self.url + path, **kwargs)

    def post(self, path: str, body: Any = None, headers: dict | None = None, **kwargs) -> httpx.Response:
        return self.http.post(self.url + path, json=body, headers={"X-Kflow-UI": "1", **(headers or {})}, **kwargs)


@pytest.fixture
def ui_factory(double):
    """`make(namespace="team", all_namespaces=False, mode="kubeconfig", allow_actions=True)`: a UI server on the double."""
    from aiohttp import web

    from kflow.cli.kube import Cluster
    from kflow.ui.access import Access
    from kflow.ui.hub import WatchHub
    from kflow.ui.server import make_app

    stops = []

    def make(namespace: str = "team", all_namespaces: bool = False, mode: str = "kubeconfig", allow_actions: bool = True, token: str = ADMIN) -> UiUnderTest:
        api = api_client(double, token)
        access = Access(Cluster(api, namespace, double.url), all_namespaces, mode, allow_actions)
        hub = WatchHub(api, None if all_namespaces else namespace)
        app = make_app(access, hub, loopback_only=True)
        ready = threading.Event()
        box: dict[str, Any] = {}

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(app, shutdown_timeout=0.5)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            box.update(loop=loop, runner=runner, port=site._server.sockets[0].getsockname()[1])
            ready.set()
            loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)
        http = httpx.Client(timeout=20)

        def stop() -> None:
            http.close()
            loop = box["loop"]
            asyncio.run_coroutine_threadsafe(box["runner"].cleanup(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)

        stops.append(stop)
        return UiUnderTest(f"http://127.0.0.1:{box['port']}", app, hub, http)

    yield make
    for stop in stops:
        stop()
