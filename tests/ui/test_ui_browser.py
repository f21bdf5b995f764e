"""The web UI end to end: `kflow ui -n NS` as a real process against the real test cluster (with
the real operator running the flows' pods), driven in Debian's Chromium by Playwright.
Screenshots of each page go to $KFLOW_TEST_ARTIFACTS (default /tmp/kflow-test-artifacts)/ui/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.operator.conftest import crds, kflow, operator, operator_factory  # noqa: F401
from tests.ui.conftest import artifacts, free_port

pytestmark = pytest.mark.cluster
ROOT = Path(__file__).parents[2]
LIVE = 120_000  # ms a state change may take to show (pod start on a busy shared 2-CPU node)

FLOWS = {
    "hello-ui": (
        "id: hello-ui\nnamespace: company.team\n"
        "inputs:\n  - {id: name, type: STRING}\n  - {id: count, type: INT, defaults: 1, min: 1}\n"
        "tasks:\n  - {id: greet, type: io.kestra.plugin.core.debug.Return, format: 'hello {{ inputs.name }} x{{ inputs.count }}'}\n"
    ),
    "broken": (
        "id: broken\nnamespace: company.team\n"
        "tasks:\n  - {id: ok, type: io.kestra.plugin.core.debug.Return, format: fine}\n"
        "  - {id: bad, type: io.kestra.plugin.core.debug.Return, format: '{{ outputs.nope.value }}'}\n"
        "errors:\n  - {id: alert, type: io.kestra.plugin.core.log.Log, message: 'bad failed'}\n"
    ),
    "sleeper": "id: sleeper\nnamespace: company.team\ntasks:\n  - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT300S}\n",
    "approval": (
        "id: approval\nnamespace: company.team\ntasks:\n  - {id: wait, type: io.kestra.plugin.core.flow.Pause}\n"
        "  - {id: after, type: io.kestra.plugin.core.debug.Return, format: resumed}\n"
    ),
}


class UiProcess:
    """`kflow ui ARGS` in its own process (output in a file, printed when a test fails); `url` once it printed it."""

    def __init__(self, kubeconfig: str, *args: str):
        self.port = free_port()
        self.log = artifacts() / f"kflow-ui-{self.port}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kflow.cli.main", "ui", "--port", str(self.port), *args],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT, text=True, cwd=ROOT,
            env={**os.environ, "KUBECONFIG": kubeconfig},
        )
        deadline = time.monotonic() + 60
        while not (match := re.search(r"http://127\.0\.0\.1:\d+/", self.log.read_text())):
            assert self.proc.poll() is None and time.monotonic() < deadline, f"kflow ui printed no URL: {self.log.read_text()}"
            time.sleep(0.1)
        self.url = match.group(0).rstrip("/")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def stop(self) -> None:
        print(f"--- {self.log.name}:\n{self.log.read_text()[-5000:]}")
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def ui_env(cluster, k8s_namespace, operator, kflow):  # noqa: F811
    for text in FLOWS.values():
        kflow.apply_flow(text)
    for name in FLOWS:
        kflow.wait_flow(name)
    ui = UiProcess(str(cluster.kubeconfig), "-n", k8s_namespace)
    yield ui, kflow
    ui.stop()


@pytest.fixture
def page(browser, request):
    """A browser page; on a failure its screenshot and the executions' states are kept."""
    opened = browser.new_page(viewport={"width": 1300, "height": 900})
    yield opened
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        opened.screenshot(path=artifacts() / f"FAILED-{request.node.name[:60]}.png", full_page=True)
        print("page at failure:", opened.url, opened.locator("main").inner_text()[:3000])


def execute_from_form(page, url: str, namespace: str, flow: str) -> None:
    """Open the flow's page and press Execute (a flow without inputs): the new execution's page opens."""
    page.goto(f"{url}/flows/{namespace}/{flow}")
    page.click("#execute-form button[type=submit]")
    page.wait_for_url(re.compile(f"/executions/{namespace}/{flow}-"))


def state_badge(page):
    return page.locator("h1 .badge")


def test_flows_execute_form_live_success_logs_kill_and_resume(ui_env, page):
    ui, kflow = ui_env  # noqa: F811
    shots = artifacts()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("dialog", lambda dialog: dialog.accept())

    # The flows list on `/`.
    page.goto(ui.url + "/")
    for name in FLOWS:
        page.locator(f'tr[data-flow="{name}"]').wait_for()
    page.screenshot(path=shots / "flows.png", full_page=True)

    # Execute a flow from its form: a bad input is named, then a good run turns SUCCESS live.
    page.click('a[href$="/hello-ui"]')
    page.fill("#input-name", "kflow")
    page.fill("#input-count", "zero")
    page.click("#execute-form button[type=submit]")
    page.locator("#input-count-error").filter(has_text="zero").wait_for()
    assert kflow.custom.list_namespaced_custom_object("kflow.io", "v1alpha1", kflow.namespace, "executions")["items"] == []
    page.screenshot(path=shots / "flow-execute-form.png", full_page=True)
    page.fill("#input-count", "2")
    page.click("#execute-form button[type=submit]")
    page.wait_for_url(re.compile(r"/executions/[^/]+/hello-ui-"))
    page.evaluate("window.__sameDocument = true")
    state_badge(page).filter(has_text="SUCCESS").wait_for(timeout=LIVE)
    assert page.evaluate("window.__sameDocument") is True, "the state changed live, without a reload"
    row = page.locator('tr[data-task="greet"]')
    assert row.get_attribute("data-state") == "SUCCESS"
    row.locator("summary").click()
    assert "hello kflow x2" in row.inner_text()
    page.locator("#gantt-img").wait_for()
    graph = page.locator("#execution-graph svg.graph")
    assert graph.locator('[data-node="greet"]').get_attribute("data-state") == "SUCCESS", "the topology node coloured by state"
    page.screenshot(path=shots / "execution-success.png", full_page=True)
    name = page.url.rsplit("/", 1)[1]
    assert kflow.get("executions", name)["spec"]["inputs"] == {"name": "kflow", "count": 2}

    # A failed task's log, opened from its node in the graph (keyboard), then searched.
    page.goto(f"{ui.url}/flows/{kflow.namespace}/broken")
    flow_graph = page.locator("#flow-graph svg.graph")
    flow_graph.wait_for()
    assert flow_graph.locator("[data-node]").evaluate_all("els => els.map(e => e.dataset.node)") == ["ok", "bad", "alert"]
    assert flow_graph.locator('polyline.edge[data-from="ok"][data-to="bad"]').count() == 1
    assert flow_graph.locator('g.branch.errors').count() == 1, "the errors branch, drawn apart"
    page.screenshot(path=shots / "flow-graph.png", full_page=True)
    page.click("#execute-form button[type=submit]")
    page.wait_for_url(re.compile(f"/executions/{kflow.namespace}/broken-"))
    state_badge(page).filter(has_text="FAILED").wait_for(timeout=LIVE)
    page.locator('#execution-graph [data-node="bad"][data-state="FAILED"]').wait_for()
    assert page.locator('#execution-graph [data-node="ok"]').get_attribute("data-state") == "SUCCESS"
    page.locator('#execution-graph [data-node="bad"]').focus()
    page.keyboard.press("Enter")
    page.locator("#tasks-h").filter(has_text="Task runs of bad").wait_for()
    page.locator("#log-lines").filter(has_text="'outputs.nope' is undefined").wait_for()
    page.click("#show-all-tasks")
    page.locator("#tasks-h").filter(has_text="Task runs (3)").wait_for()
    assert page.locator('#execution-graph [data-node="alert"]').get_attribute("data-state") == "SUCCESS", "the errors branch ran"
    assert page.locator('tr[data-task="ok"]').get_attribute("data-state") == "SUCCESS"
    assert page.locator('tr[data-task="bad"]').get_attribute("data-state") == "FAILED"
    assert "'outputs.nope' is undefined" in page.locator('tr[data-task="bad"]').inner_text(), "the attempt's failure reason"
    page.click('tr[data-task="bad"] button[data-logs]')
    page.locator("#log-lines").filter(has_text="'outputs.nope' is undefined").wait_for()
    page.fill("#log-search", "ERROR")
    assert page.locator("#log-lines mark").count() >= 1
    page.screenshot(path=shots / "execution-failed-log.png", full_page=True)

    # Kill a running execution.
    execute_from_form(page, ui.url, kflow.namespace, "sleeper")
    page.locator('tr[data-task="nap"][data-state="RUNNING"]').wait_for(timeout=LIVE)
    page.click('button[data-action="kill"]')
    state_badge(page).filter(has_text="KILLED").wait_for(timeout=LIVE)
    page.screenshot(path=shots / "execution-killed.png", full_page=True)

    # Resume a paused one.
    execute_from_form(page, ui.url, kflow.namespace, "approval")
    page.locator('button[data-action="resume"]').wait_for(timeout=LIVE)
    page.click('button[data-action="resume"]')
    state_badge(page).filter(has_text="SUCCESS").wait_for(timeout=LIVE)
    assert page.locator('tr[data-task="after"]').get_attribute("data-state") == "SUCCESS"

    # The executions list and the dashboard show all four.
    page.goto(ui.url + "/executions")
    page.locator("tr[data-execution]").nth(3).wait_for()
    states = sorted(page.locator("tr[data-execution]").evaluate_all("rows => rows.map(r => r.dataset.state)"))
    assert states == ["FAILED", "KILLED", "SUCCESS", "SUCCESS"]
    page.screenshot(path=shots / "executions.png", full_page=True)
    page.goto(ui.url + "/dashboard")
    page.locator('.card[data-state="SUCCESS"]').wait_for()
    page.screenshot(path=shots / "dashboard.png", full_page=True)
    assert errors == []
    print(f"kflow ui RSS after the run: {ui.rss_mib():.1f} MiB")


def sign_in_and_open(page, url: str, token: str, user: str, path: str) -> None:
    """On the sign-in page (where token mode sends a visitor without a session): sign in, then open `path`."""
    page.wait_for_url(re.compile(r"/signin$"))
    page.fill("#token", token)
    page.click("form button[type=submit]")
    page.locator("#signout").filter(has_text=user).wait_for()
    page.goto(url + path)


def service_account_token(k8s_api, namespace: str, who: str, rules: list[dict]) -> str:
    """A ServiceAccount in `namespace` bound to a Role of `rules` there; its token."""
    from kubernetes import client

    rbac, core = client.RbacAuthorizationV1Api(k8s_api), client.CoreV1Api(k8s_api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": who}})
    rbac.create_namespaced_role(namespace, {"metadata": {"name": who}, "rules": rules})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": who}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": who},
        "subjects": [{"kind": "ServiceAccount", "name": who, "namespace": namespace}]})
    return core.create_namespaced_service_account_token(who, namespace, {"spec": {"expirationSeconds": 3600}}).status.token


READ = [{"apiGroups": ["kflow.io"], "resources": ["flows", "executions"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}]


def test_token_mode_all_namespaces_picker_lists_or_asks(cluster, k8s_namespace, kflow, k8s_api, browser):  # noqa: F811
    """`kflow ui -A --auth token`: a token that may list namespaces picks one from a list; one that
    may not types it; either way the namespace's flows show, under that user's RBAC."""
    from kubernetes import client

    kflow.apply_flow(FLOWS["sleeper"])
    typer = service_account_token(k8s_api, k8s_namespace, "typer", READ)
    lister = service_account_token(k8s_api, k8s_namespace, "lister", READ)
    rbac = client.RbacAuthorizationV1Api(k8s_api)
    cluster_role = f"kflow-ui-test-{k8s_namespace}"  # cluster-wide: made for this test only, deleted below
    rbac.create_cluster_role({"metadata": {"name": cluster_role}, "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"]}]})
    rbac.create_cluster_role_binding({
        "metadata": {"name": cluster_role}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"kind": "ServiceAccount", "name": "lister", "namespace": k8s_namespace}]})
    ui = UiProcess(str(cluster.kubeconfig), "-A", "--auth", "token")
    try:
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(ui.url + "/")
        sign_in_and_open(page, ui.url, typer, f"system:serviceaccount:{k8s_namespace}:typer", "/")
        page.locator("#namespace-input").wait_for()
        assert page.locator("#namespace-picker").count() == 0, "this token may not list namespaces: no list to offer"
        page.fill("#namespace-input", k8s_namespace)
        page.click("#namespace-open")
        page.locator('tr[data-flow="sleeper"]').wait_for()
        page.screenshot(path=artifacts() / "token-namespace-typed.png", full_page=True)
        page.click("#signout")

        page.evaluate("localStorage.removeItem('kflow.namespace')")
        sign_in_and_open(page, ui.url, lister, f"system:serviceaccount:{k8s_namespace}:lister", "/")
        picker = page.locator("#namespace-picker")
        picker.wait_for()
        offered = picker.locator("option").evaluate_all("options => options.map(o => o.value)")
        assert k8s_namespace in offered and "kube-system" in offered
        picker.select_option(k8s_namespace)
        page.locator('tr[data-flow="sleeper"]').wait_for()
        page.screenshot(path=artifacts() / "token-namespace-picked.png", full_page=True)
        picker.select_option("kube-system")  # listed, but this token may not read kflow resources there
        page.locator("main .error-box").filter(has_text="403").wait_for()
    finally:
        ui.stop()
        rbac.delete_cluster_role_binding(cluster_role)
        rbac.delete_cluster_role(cluster_role)


def test_token_mode_a_read_only_token_cannot_kill(cluster, k8s_namespace, operator, kflow, k8s_api, page):  # noqa: F811
    """Each user signs in with their own token; a reader's Kill is refused by Kubernetes RBAC."""
    from kubernetes import client

    kflow.apply_flow(FLOWS["sleeper"])
    kflow.wait_flow("sleeper")
    kflow.execute("sleeper", "nap-1")
    kflow.wait("nap-1", until=lambda e: (e.get("status") or {}).get("current") == "RUNNING")
    tokens = {}
    rbac, core = client.RbacAuthorizationV1Api(k8s_api), client.CoreV1Api(k8s_api)
    read = [{"apiGroups": ["kflow.io"], "resources": ["flows", "executions"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}]
    for who, rules in (("reader", read), ("operator", read + [{"apiGroups": ["kflow.io"], "resources": ["executions"], "verbs": ["patch", "create"]}])):
        core.create_namespaced_service_account(k8s_namespace, {"metadata": {"name": who}})
        rbac.create_namespaced_role(k8s_namespace, {"metadata": {"name": who}, "rules": rules})
        rbac.create_namespaced_role_binding(k8s_namespace, {
            "metadata": {"name": who}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": who},
            "subjects": [{"kind": "ServiceAccount", "name": who, "namespace": k8s_namespace}]})
        tokens[who] = core.create_namespaced_service_account_token(who, k8s_namespace, {"spec": {"expirationSeconds": 3600}}).status.token
    ui = UiProcess(str(cluster.kubeconfig), "-n", k8s_namespace, "--auth", "token")
    try:
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(ui.url + "/executions/" + k8s_namespace + "/nap-1")
        sign_in_and_open(page, ui.url, tokens["reader"], f"system:serviceaccount:{k8s_namespace}:reader", f"/executions/{k8s_namespace}/nap-1")
        state_badge(page).filter(has_text="RUNNING").wait_for()
        page.click('button[data-action="kill"]')
        page.locator("#toast").filter(has_text="403").wait_for()
        page.screenshot(path=artifacts() / "token-reader-kill-refused.png", full_page=True)
        assert not kflow.get("executions", "nap-1")["spec"].get("kill"), "the reader's kill was refused"
        page.click("#signout")
        sign_in_and_open(page, ui.url, tokens["operator"], f"system:serviceaccount:{k8s_namespace}:operator", f"/executions/{k8s_namespace}/nap-1")
        page.click('button[data-action="kill"]')
        state_badge(page).filter(has_text="KILLED").wait_for(timeout=LIVE)
        assert kflow.get("executions", "nap-1")["spec"]["kill"] is True
    finally:
        ui.stop()
