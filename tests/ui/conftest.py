"""Web UI fixtures: the in-memory Kubernetes API double (kube_double.py) and the UI server
running against it in a thread, or the real `kflow ui` process against the real cluster."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
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
    """`make(namespace="team", all_namespaces=False, mode="kubeconfig", allow_actions=True, storage=None)`: a UI on the double."""
    from kflow.client.kube import Cluster
    from kflow.ui.access import Access
    from kflow.ui.hub import WatchHub
    from kflow.ui.command import BackgroundServer
    from kflow.ui.server import make_app

    stops = []

    def make(namespace: str = "team", all_namespaces: bool = False, mode: str = "kubeconfig", allow_actions: bool = True, token: str = ADMIN,
             storage: str | None = None) -> UiUnderTest:
        api = api_client(double, token)
        access = Access(Cluster(api, namespace, double.url), all_namespaces, mode, allow_actions)
        hub = WatchHub(api, None if all_namespaces else namespace)
        app = make_app(access, hub, storage=storage, loopback_only=True)
        server = BackgroundServer(app)
        http = httpx.Client(timeout=20)

        def stop() -> None:
            http.close()
            server.stop()

        stops.append(stop)
        return UiUnderTest(server.url, app, hub, http)

    yield make
    for stop in stops:
        stop()


CHROMIUM = "/usr/bin/chromium"


def artifacts() -> Path:
    """Where screenshots go: $KFLOW_TEST_ARTIFACTS/ui (default /tmp/kflow-test-artifacts/ui)."""
    path = Path(os.environ.get("KFLOW_TEST_ARTIFACTS", "/tmp/kflow-test-artifacts")) / "ui"
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def browser():
    """Debian's Chromium driven by Playwright (no browser download: Playwright's own is not used)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("chromium is not installed (tests/run installs it with apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """`item.rep_call`: the browser fixture keeps a screenshot of a failed test's page."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
