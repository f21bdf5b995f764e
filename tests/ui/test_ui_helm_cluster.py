"""The chart's UI on the real cluster: `ui.enabled` installs it, `kubectl port-forward` reaches it,
and its own ServiceAccount may list executions and kill one (ui.allowActions), nothing forbidden."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest
import yaml

from tests.operator.test_helm import CHART, NO_HELM
from tests.ui.conftest import free_port

pytestmark = pytest.mark.cluster


def test_helm_ui_behind_port_forward(cluster, k8s_api, k8s_namespace):
    from kubernetes import client

    if not cluster.helm_bin.exists():
        pytest.skip(NO_HELM)
    ns = k8s_namespace
    release = f"k{ns[-6:]}"
    repository, _, tag = cluster.project_image.rpartition(":")
    proc = cluster.helm("install", release, str(CHART), "--namespace", ns, "--set", f"image.repository={repository}",
                        "--set", f"image.tag={tag}", "--set", "image.pullPolicy=Never", "--set", f"namespaces={{{ns}}}",
                        "--set", "ui.enabled=true", "--wait", "--timeout", "180s", check=False)
    core = client.CoreV1Api(k8s_api)
    custom = client.CustomObjectsApi(k8s_api)
    forward = None
    try:
        if proc.returncode != 0:
            pods = "\n".join(f"{p.metadata.name}: {p.status.phase} {[(c.name, c.ready, c.state) for c in p.status.container_statuses or []]}"
                              for p in core.list_namespaced_pod(ns).items)
            logs = cluster.kubectl("-n", ns, "logs", "-l", "app.kubernetes.io/component=ui", "--tail=40", check=False)
            pytest.fail(f"helm install failed:\n{proc.stderr}\n{pods}\n{logs.stdout}{logs.stderr}")
        custom.create_namespaced_custom_object("kflow.io", "v1alpha1", ns, "flows", {
            "apiVersion": "kflow.io/v1alpha1", "kind": "Flow", "metadata": {"name": "nap"},
            "spec": yaml.safe_load("id: nap\nnamespace: t\ntasks:\n  - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT300S}\n")})
        custom.create_namespaced_custom_object("kflow.io", "v1alpha1", ns, "executions", {
            "apiVersion": "kflow.io/v1alpha1", "kind": "Execution", "metadata": {"name": "nap-1"}, "spec": {"flowRef": {"name": "nap"}}})
        port = free_port()
        forward = subprocess.Popen([str(cluster.kubectl_bin), "--kubeconfig", str(cluster.kubeconfig), "-n", ns,
                                    "port-forward", f"svc/{release}-kflow-ui", f"{port}:8090"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert "Forwarding from" in forward.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=20) as http:
            config = http.get(base + "/api/config").json()
            assert config["namespace"] == ns and config["allowActions"] is True and config["auth"] == "kubeconfig"
            assert "app.js" in http.get(base + "/").text
            deadline = time.monotonic() + 120
            while True:
                rows = http.get(base + "/api/executions").json()["executions"]
                if rows and rows[0]["state"] == "RUNNING":
                    break
                assert time.monotonic() < deadline, rows
                time.sleep(1)
            assert [f["name"] for f in http.get(base + "/api/flows").json()["flows"]] == ["nap"]
            killed = http.post(base + f"/api/executions/{ns}/nap-1/kill", headers={"X-Kflow-UI": "1"})
            assert killed.status_code == 200, killed.text
        spec = custom.get_namespaced_custom_object("kflow.io", "v1alpha1", ns, "executions", "nap-1")["spec"]
        assert spec["kill"] is True
        ui_pod = core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/component=ui").items[0]
        assert ui_pod.spec.service_account_name == f"{release}-kflow-ui"
        log = core.read_namespaced_pod_log(ui_pod.metadata.name, ns)
        assert "forbidden" not in log.lower() and "(403)" not in log, log[-3000:]
    finally:
        if forward is not None:
            forward.terminate()
        cluster.helm("uninstall", release, "--namespace", ns, "--wait", "--timeout", "60s", check=False)
