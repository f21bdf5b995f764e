"""Tests of the test cluster itself: each would fail against a fake API server or kubelet."""
from __future__ import annotations

import json
import time
import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.cluster


def _pod(name: str, image: str, command: list[str], **container_extra) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": image, "imagePullPolicy": "Never",
                            "command": command, **container_extra}],
        },
    }


def _wait_finished(core: client.CoreV1Api, ns: str, name: str, timeout: float = 120) -> client.V1Pod:
    deadline = time.monotonic() + timeout
    while True:
        pod = core.read_namespaced_pod(name, ns)
        if pod.status.phase in ("Succeeded", "Failed"):
            return pod
        if time.monotonic() > deadline:
            raise AssertionError(f"pod {ns}/{name} still {pod.status.phase}: {pod.status}")
        time.sleep(0.3)


def _terminated(pod: client.V1Pod) -> client.V1ContainerStateTerminated:
    state = pod.status.container_statuses[0].state
    assert state.terminated is not None, state
    return state.terminated


def _log(core: client.CoreV1Api, ns: str, name: str) -> str:
    # raw bytes: some client releases return str(bytes) from the decoded call
    return core.read_namespaced_pod_log(name, ns, _preload_content=False).data.decode()


@pytest.fixture
def core(k8s_api) -> client.CoreV1Api:
    return client.CoreV1Api(k8s_api)


def test_node_is_ready(core, cluster):
    node = core.read_node(cluster.node_name)
    ready = {c.type: c.status for c in node.status.conditions}
    assert ready["Ready"] == "True"
    assert node.status.node_info.kubelet_version == "v1.34.4"
    res = cluster.kubectl("get", "node", cluster.node_name, "-o", "jsonpath={.status.addresses[0].address}")
    assert res.stdout == "10.244.0.1"


def test_pod_succeeds_with_log_and_termination_message(core, cluster, k8s_namespace):
    core.create_namespaced_pod(k8s_namespace, _pod(
        "hello", cluster.test_image,
        ["sh", "-c", "echo hello from kflow; echo line two; printf 'result=42' > /dev/termination-log"]))
    pod = _wait_finished(core, k8s_namespace, "hello")
    assert pod.status.phase == "Succeeded"
    term = _terminated(pod)
    assert term.exit_code == 0
    assert term.reason == "Completed"
    assert term.message == "result=42"
    assert _log(core, k8s_namespace, "hello") == "hello from kflow\nline two\n"


def test_pod_exit_code_is_reported(core, cluster, k8s_namespace):
    core.create_namespaced_pod(k8s_namespace, _pod("fails", cluster.test_image, ["sh", "-c", "echo bye >&2; exit 3"]))
    pod = _wait_finished(core, k8s_namespace, "fails")
    assert pod.status.phase == "Failed"
    term = _terminated(pod)
    assert term.exit_code == 3
    assert term.reason == "Error"
    assert _log(core, k8s_namespace, "fails") == "bye\n"


def test_pod_over_memory_limit_is_oomkilled(core, cluster, k8s_namespace):
    limits = {"memory": "32Mi", "cpu": "500m"}
    core.create_namespaced_pod(k8s_namespace, _pod(
        "hog", cluster.test_image, ["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"],
        resources={"limits": limits, "requests": limits}))
    pod = _wait_finished(core, k8s_namespace, "hog")
    assert pod.status.phase == "Failed"
    term = _terminated(pod)
    assert term.reason == "OOMKilled", term
    assert term.exit_code == 137


def test_garbage_collector_deletes_owned_pods(core, cluster, k8s_namespace):
    owner = core.create_namespaced_config_map(k8s_namespace, {"metadata": {"name": "owner"}, "data": {"a": "b"}})
    owned = _pod("owned", cluster.test_image, ["sleep", "3600"])
    owned["metadata"]["ownerReferences"] = [{
        "apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}]
    core.create_namespaced_pod(k8s_namespace, owned)
    core.create_namespaced_pod(k8s_namespace, _pod("bystander", cluster.test_image, ["sleep", "3600"]))
    deadline = time.monotonic() + 60
    while core.read_namespaced_pod("owned", k8s_namespace).status.phase != "Running":
        assert time.monotonic() < deadline, "owned pod never ran"
        time.sleep(0.3)
    core.delete_namespaced_config_map("owner", k8s_namespace)
    deadline = time.monotonic() + 90
    while True:
        try:
            core.read_namespaced_pod("owned", k8s_namespace)
        except ApiException as e:
            assert e.status == 404
            break
        assert time.monotonic() < deadline, "the garbage collector did not delete the owned pod"
        time.sleep(0.5)
    bystander = core.read_namespaced_pod("bystander", k8s_namespace)
    assert bystander.metadata.deletion_timestamp is None


def test_api_server_rejects_invalid_pod(core, cluster, k8s_namespace):
    bad = _pod("Not_A_Valid_Name", cluster.test_image, ["true"])
    bad["spec"]["containers"][0]["name"] = "Bad_Container"
    bad["spec"]["containers"][0]["resources"] = {"limits": {"memory": "lots"}}
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod(k8s_namespace, bad)
    # a malformed quantity fails decoding (400); the rest fails validation (422)
    assert exc.value.status in (400, 422)
    del bad["spec"]["containers"][0]["resources"]
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_pod(k8s_namespace, bad)
    assert exc.value.status == 422
    body = json.loads(exc.value.body)
    assert body["reason"] == "Invalid"
    fields = {c["field"] for c in body["details"]["causes"]}
    assert "metadata.name" in fields and "spec.containers[0].name" in fields, fields


def test_api_server_enforces_crd_schema(k8s_api, k8s_namespace):
    ext = client.ApiextensionsV1Api(k8s_api)
    custom = client.CustomObjectsApi(k8s_api)
    group = f"g{uuid.uuid4().hex[:8]}.kflow.test"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {
                        "type": "object", "required": ["size"],
                        "properties": {"size": {"type": "integer", "minimum": 1},
                                       "color": {"type": "string", "enum": ["red", "blue"]}},
                    }},
                }},
            }],
        },
    }
    ext.create_custom_resource_definition(crd)
    try:
        deadline = time.monotonic() + 30
        while True:
            conds = ext.read_custom_resource_definition(f"widgets.{group}").status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conds):
                break
            assert time.monotonic() < deadline, conds
            time.sleep(0.2)

        def make(name, spec):
            body = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}
            return custom.create_namespaced_custom_object(group, "v1", k8s_namespace, "widgets", body)

        deadline = time.monotonic() + 30
        while True:  # discovery of a new CRD can lag its Established condition for a moment
            try:
                created = make("good", {"size": 3, "color": "red"})
                break
            except ApiException as e:
                if e.status != 404 or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        assert created["spec"]["size"] == 3
        for name, spec in (("bad-type", {"size": "big"}), ("bad-min", {"size": 0}),
                           ("bad-enum", {"size": 1, "color": "green"}), ("missing", {"color": "red"})):
            with pytest.raises(ApiException) as exc:
                make(name, spec)
            assert exc.value.status == 422, (name, exc.value.body)
    finally:
        ext.delete_custom_resource_definition(f"widgets.{group}")


def test_service_account_without_rbac_is_forbidden(core, cluster, k8s_namespace):
    core.create_namespaced_service_account(k8s_namespace, {"metadata": {"name": "nobody"}})
    token = core.create_namespaced_service_account_token(
        "nobody", k8s_namespace, {"spec": {"expirationSeconds": 600}}).status.token
    cfg = client.Configuration()
    cfg.host = cluster.api_server
    cfg.ssl_ca_cert = str(cluster.ca_cert)
    cfg.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(cfg) as api:
        as_sa = client.CoreV1Api(api)
        with pytest.raises(ApiException) as exc:
            as_sa.list_namespaced_pod(k8s_namespace)
        assert exc.value.status == 403
        assert f"system:serviceaccount:{k8s_namespace}:nobody" in exc.value.body
    # the same call as cluster-admin works
    assert core.list_namespaced_pod(k8s_namespace).items == []


IN_CLUSTER_PROBE = r"""
import json, os, ssl, urllib.request, urllib.error
sa = "/var/run/secrets/kubernetes.io/serviceaccount"
base = "https://%s:%s" % (os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"])
ctx = ssl.create_default_context(cafile=sa + "/ca.crt")
token = open(sa + "/token").read()
ns = open(sa + "/namespace").read()
out = {"base": base}
for key, path in (("version", "/version"), ("pods", "/api/v1/namespaces/%s/pods" % ns)):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            out[key] = [r.status, json.loads(r.read())]
    except urllib.error.HTTPError as e:
        out[key] = [e.code, json.loads(e.read())]
import kflow
print(json.dumps(out))
"""


def test_project_image_runs_kflow_and_reaches_the_api_in_cluster(core, cluster, k8s_namespace):
    pod = _pod("probe", cluster.project_image, ["python", "-c", IN_CLUSTER_PROBE])
    pod["spec"]["securityContext"] = {"runAsNonRoot": True}
    core.create_namespaced_pod(k8s_namespace, pod)
    pod = _wait_finished(core, k8s_namespace, "probe")
    log = _log(core, k8s_namespace, "probe")
    assert pod.status.phase == "Succeeded", log
    out = json.loads(log.strip().splitlines()[-1])
    assert out["base"] == "https://10.96.0.1:443"
    assert out["version"][0] == 200 and out["version"][1]["gitVersion"] == "v1.34.4"
    assert out["pods"][0] == 403, out["pods"]


def test_project_image_imports_kflow(core, cluster, k8s_namespace):
    pod = _pod("import", cluster.project_image, ["python", "-c", "import kflow; print('kflow', kflow.__name__)"])
    pod["spec"]["securityContext"] = {"runAsNonRoot": True}
    core.create_namespaced_pod(k8s_namespace, pod)
    pod = _wait_finished(core, k8s_namespace, "import")
    log = _log(core, k8s_namespace, "import")
    assert pod.status.phase == "Succeeded", log
    assert log == "kflow kflow\n"


def test_helm_installs_a_chart(core, cluster, k8s_namespace, tmp_path):
    chart = tmp_path / "probe-chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("greeting: hello\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n")
    res = cluster.helm("install", "rel", str(chart), "--namespace", k8s_namespace,
                       "--set", "greeting=hi", "--wait", "--timeout", "60s", check=False)
    assert res.returncode == 0, res.stderr
    assert core.read_namespaced_config_map("rel-cm", k8s_namespace).data == {"greeting": "hi"}
    res = cluster.helm("uninstall", "rel", "--namespace", k8s_namespace, "--wait", check=False)
    assert res.returncode == 0, res.stderr


def test_pod_network_is_confined_to_the_bridge_and_services(core, cluster, k8s_namespace):
    """Pods get an address on kflow0 and no default route: nothing leaves this machine."""
    core.create_namespaced_pod(k8s_namespace, _pod("routes", cluster.test_image, ["ip", "-4", "route"]))
    pod = _wait_finished(core, k8s_namespace, "routes")
    assert pod.status.phase == "Succeeded"
    assert pod.status.pod_ip.startswith("10.244.0.")
    routes = sorted(line.split()[0] for line in _log(core, k8s_namespace, "routes").splitlines())
    assert routes == ["10.244.0.0/24", "10.96.0.0/16"], routes


def test_bridge_keeps_its_mac_while_pods_come_and_go(core, cluster, k8s_namespace):
    """The pods' gateway MAC never changes: a bridge that took its lowest port's MAC changed it
    when a pod's veth was removed, and the pods still running lost the node (API server, S3)
    until their ARP entry expired (the flaky log upload and HA-lease losses of issue 11)."""
    from pathlib import Path

    from tests.cluster.harness import BRIDGE, BRIDGE_MAC

    address = Path(f"/sys/class/net/{BRIDGE}/address")
    seen = {address.read_text().strip()}
    for name in ("mac-a", "mac-b"):
        core.create_namespaced_pod(k8s_namespace, _pod(name, cluster.test_image, ["true"]))
    for name in ("mac-a", "mac-b"):
        _wait_finished(core, k8s_namespace, name)
        seen.add(address.read_text().strip())
    core.delete_namespaced_pod("mac-a", k8s_namespace, grace_period_seconds=0)
    deadline = time.monotonic() + 60
    while any(p.metadata.name == "mac-a" for p in core.list_namespaced_pod(k8s_namespace).items):
        assert time.monotonic() < deadline, "pod mac-a was not deleted"
        seen.add(address.read_text().strip())
        time.sleep(0.2)
    seen.add(address.read_text().strip())
    assert seen == {BRIDGE_MAC}, seen
