"""Webhook triggers on the real cluster, through the Helm chart: every replica answers.

The chart is installed watching only the test's namespace (two operator replicas on a Lease).
The test calls Kestra's webhook URL on each operator pod's own address (the host reaches pods
on the harness bridge; a ClusterIP would leave through the host's default route), the leader's
and the standby's: each call answers 200 with the new execution's id, and the Execution runs to
SUCCESS seeing `trigger.body` and `trigger.headers`. A wrong key is 404 and creates nothing; a
body over `webhook.maxBodyBytes` is 413; the Service selects both pods; the key is in no log.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.operator.releases import diagnostics, helm, holder_pod, operator_pods, wait_holder, wait_ready
from tests.operator.support import Kflow, taskruns
from tests.operator.test_ha_failover import install

pytestmark = pytest.mark.cluster

KEY = "Hq3ZpXkVr9TnLmA2bCdEfW"
FLOW = f"""
id: github-push
namespace: company.team
inputs:
  - {{id: repo, type: STRING}}
tasks:
  - id: show
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ inputs.repo }}}} {{{{ trigger.body.ref }}}} {{{{ trigger.headers['x-github-event'][0] }}}}"
triggers:
  - id: push
    type: io.kestra.plugin.core.trigger.Webhook
    key: {KEY}
    inputs: {{repo: "{{{{ trigger.body.repository.name }}}}"}}
"""


def call(url: str, body: bytes | None, method: str = "POST", headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def call_until_up(url: str, body: bytes, headers: dict, timeout: float = 60) -> tuple[int, str]:
    """The pod is Ready (its health port) a moment before the webhook port listens, on a busy node."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call(url, body, headers=headers)
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens at {url.split('/api/')[0]}"
            time.sleep(0.5)


def test_webhook_on_leader_and_standby_runs_the_flow(cluster, k8s_api, k8s_namespace):
    from kubernetes import client

    ns, release = k8s_namespace, f"w{k8s_namespace[-6:]}"
    core, apps = client.CoreV1Api(k8s_api), client.AppsV1Api(k8s_api)
    coordination, discovery = client.CoordinationV1Api(k8s_api), client.DiscoveryV1Api(k8s_api)
    kflow = Kflow(k8s_api, ns)
    install(cluster, ns, release, cluster.project_image, "--set", "webhook.maxBodyBytes=4096")
    try:
        wait_ready(apps, core, ns, release, replicas=2)
        kflow.apply_flow(FLOW)
        leader = holder_pod(wait_holder(coordination, ns, f"{release}-kflow-operator"))
        pods = {p.metadata.name: p.status.pod_ip for p in operator_pods(core, ns, release)}
        assert leader in pods and len(pods) == 2
        slices = discovery.list_namespaced_endpoint_slice(ns, label_selector=f"kubernetes.io/service-name={release}-kflow-webhook").items
        served = {e.target_ref.name for s in slices for e in s.endpoints or [] if e.conditions.ready}
        assert served == set(pods), "the webhook Service selects every replica, the standby too"

        runs = {}
        for pod, ip in sorted(pods.items(), key=lambda kv: kv[0] != leader):  # the leader first, then the standby
            url = f"http://{ip}:8082/api/v1/executions/webhook/company.team/github-push/{KEY}"
            payload = {"ref": f"refs/heads/{pod[-5:]}", "repository": {"name": "kflow"}}
            status, text = call_until_up(url, json.dumps(payload).encode(), {"Content-Type": "application/json", "X-GitHub-Event": "push"})
            assert status == 200, text
            answer = json.loads(text)
            assert (answer["namespace"], answer["flowId"], answer["trigger"]["id"]) == ("company.team", "github-push", "push")
            assert answer["trigger"]["variables"]["body"] == payload
            runs[answer["kubernetes"]["name"]] = (answer["id"], payload["ref"])

            base = f"http://{ip}:8082/api/v1/executions/webhook/company.team/github-push/"
            assert call(base + KEY[:-1] + "x", b"{}")[0] == 404
            assert call(base.replace("github-push", "no-such-flow") + KEY, b"{}")[0] == 404
            assert call(base + KEY, b"x" * 5000)[0] == 413

        assert len(runs) == 2
        for name, (execution_id, ref) in runs.items():
            done = kflow.wait(name, timeout=180)
            assert done["status"]["current"] == "SUCCESS", done["status"]
            assert done["status"]["id"] == execution_id  # the id the webhook answered
            assert taskruns(done)["show"]["outputs"]["value"] == f"kflow {ref} push"
        items = kflow.custom.list_namespaced_custom_object("kflow.io", "v1alpha1", ns, "executions")["items"]
        assert sorted(e["metadata"]["name"] for e in items) == sorted(runs), "a 404 or a 413 created nothing"
        for pod in pods:
            log = core.read_namespaced_pod_log(pod, ns)
            assert KEY not in log and KEY[:-1] not in log, "the key is never logged"
            assert "forbidden" not in log.lower(), log[-3000:]
    except AssertionError:
        print(diagnostics(core, ns, release))
        raise
    finally:
        helm(cluster, "uninstall", release, "--namespace", ns, "--wait", "--timeout", "60s")
