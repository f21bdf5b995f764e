"""The chart's webhook values: a Service over every operator pod, the KFLOW_WEBHOOK_* settings, checks."""

from __future__ import annotations

import os
import subprocess
import sys

from kflow.operator.webhook import WebhookSettings
from tests.operator.test_helm import CHART, RELEASE_NS, env_of, helm, helm_env, of_kind, one, operator_container, render  # noqa: F401

assert helm_env  # the fixture, imported for these tests


def test_webhook_service_selects_every_operator_pod_not_only_the_leader(helm_env):
    docs = render(helm_env)
    service = one(docs, "Service", "kflow-webhook")
    deployment = one(docs, "Deployment", "kflow-operator")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()  # no leader-only label: standbys answer too
    assert service["spec"]["ports"] == [{"name": "webhook", "port": 8082, "targetPort": "webhook", "protocol": "TCP"}]
    container = operator_container(docs)
    assert {"name": "webhook", "containerPort": 8082, "protocol": "TCP"} in container["ports"]
    env = env_of(container)
    assert (env["KFLOW_WEBHOOK_PORT"], env["KFLOW_WEBHOOK_MAX_BODY_BYTES"], env["KFLOW_WEBHOOK_RATE"], env["KFLOW_WEBHOOK_BURST"]) == (
        "8082", "262144", "10", "20")


def test_webhook_values_reach_the_operator_settings(helm_env, monkeypatch):
    docs = render(helm_env, **{"webhook.port": "9000", "webhook.maxBodyBytes": "1024", "webhook.rateLimit.perSecond": "3",
                               "webhook.rateLimit.burst": "5", "webhook.service.type": "NodePort"})
    env = env_of(operator_container(docs))
    for key, value in env.items():
        if key.startswith("KFLOW_WEBHOOK_"):
            monkeypatch.setenv(key, value)
    assert WebhookSettings() == WebhookSettings(port=9000, max_body_bytes=1024, rate=3, burst=5)
    assert one(docs, "Service", "kflow-webhook")["spec"]["type"] == "NodePort"


def test_webhook_disabled_and_port_clashes(helm_env):
    docs = render(helm_env, **{"webhook.enabled": "false"})
    assert not [d for d in of_kind(docs, "Service") if d["metadata"]["name"] == "kflow-webhook"]
    assert not any(k.startswith("KFLOW_WEBHOOK_") for k in env_of(operator_container(docs)))
    proc = helm(helm_env, "template", "kflow", str(CHART), "--namespace", RELEASE_NS, "--set", "webhook.port=8080", check=False)
    assert proc.returncode != 0 and "webhook.port 8080 is also the health or metrics port" in proc.stderr
    proc = helm(helm_env, "template", "kflow", str(CHART), "--set", "webhook.rateLimit.perSecond=0", check=False)
    assert proc.returncode != 0 and "perSecond" in proc.stderr


def test_a_bad_webhook_setting_is_one_line_exit_2():
    env = {**os.environ, "KFLOW_WEBHOOK_MAX_BODY_BYTES": "lots"}
    proc = subprocess.run([sys.executable, "-m", "kflow.operator", "--namespace", "nowhere"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "kflow operator: KFLOW_WEBHOOK_MAX_BODY_BYTES: Input should be a valid integer, unable to parse string as an integer (got 'lots')"
