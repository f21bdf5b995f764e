"""The KV store on the real cluster: one ConfigMap per key in the Executions' namespace, written
and read by the operator (no pod for a KV task; a runner pod is given the kv() values its task
names), read by another flow's Execution, deleted, expired."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kflow.operator.kv_configmaps import configmap_name
from tests.operator.support import taskruns

EXAMPLES = Path(__file__).parents[2] / "examples"


def kv_configmaps(kflow, selector: str = "kflow.io/kv=true") -> dict[str, dict]:
    items = kflow.core.list_namespaced_config_map(kflow.namespace, label_selector=selector).items
    return {item.metadata.annotations["kflow.io/kv-key"]: json.loads(item.data["entry.json"]) for item in items}


@pytest.mark.cluster
def test_set_in_one_execution_read_by_another_flow_deleted_and_expired(kflow, operator):
    kflow.apply_flow((EXAMPLES / "kv-store.yaml").read_text(), name="kv-store")
    kflow.apply_flow((EXAMPLES / "kv-consume.yaml").read_text(), name="kv-consume")
    kflow.execute("kv-store", "kv-store-1", {"orders": 7})
    first = kflow.wait("kv-store-1", timeout=300)
    assert first["status"]["current"] == "SUCCESS", first["status"]
    runs = taskruns(first)
    assert runs["get_config"]["outputs"]["value"] == {"region": "eu-west-1", "retries": 2, "enabled": True}
    assert runs["list_orders"]["outputs"]["keys"] == ["orders_config", "orders_count"]
    assert runs["report"]["outputs"]["value"] == "8 next, in eu-west-1, retries 2; keys orders_config,orders_count"
    assert [pod.metadata.labels["kflow.io/task"] for pod in kflow.pods("kv-store-1")] == ["report"]  # KV tasks: no pod

    stored = kv_configmaps(kflow, "kflow.io/kv-namespace=company.team")
    assert set(stored) == {"orders_count", "orders_config", "session_token"}
    assert stored["orders_count"]["value"] == 7 and stored["orders_count"]["type"] == "NUMBER"
    assert stored["session_token"]["expirationDate"] is not None
    item = kflow.core.read_namespaced_config_map(configmap_name("company.team", "orders_count"), kflow.namespace)
    assert not item.metadata.owner_references  # a value outlives the Execution that set it

    kflow.execute("kv-consume", "kv-consume-1")
    second = kflow.wait("kv-consume-1", timeout=300)
    assert second["status"]["current"] == "SUCCESS", second["status"]
    runs = taskruns(second)
    assert runs["read"]["outputs"]["value"].startswith("7 orders, token ")
    assert runs["forget"]["outputs"] == {"deleted": True}
    assert not runs["after"].get("outputs")  # a missing key: no value output
    assert "orders_count" not in kv_configmaps(kflow)


    kflow.execute("kv-consume", "kv-consume-2")  # orders_count is gone: kv() fails, naming the key
    third = kflow.wait("kv-consume-2", timeout=300)
    assert third["status"]["current"] == "FAILED"
    reason = taskruns(third)["read"]["attempts"][-1]["reason"]
    assert "kv('orders_count'): no such key in namespace 'company.team'" in reason, reason

    expires = datetime.fromisoformat(stored["session_token"]["expirationDate"].replace("Z", "+00:00"))
    time.sleep(max(0.0, (expires - datetime.now(timezone.utc)).total_seconds() + 0.5))
    kflow.apply_flow(TTL_READ, name="kv-ttl-read")
    kflow.execute("kv-ttl-read", "kv-ttl-read-1")
    expired = kflow.wait("kv-ttl-read-1", timeout=300)
    assert expired["status"]["current"] == "SUCCESS", expired["status"]
    runs = taskruns(expired)
    assert runs["keys"]["outputs"]["keys"] == ["orders_config"]
    assert runs["token"]["outputs"]["value"] == "expired"
    assert set(kv_configmaps(kflow)) == {"orders_config"}  # the expired one was removed when read


TTL_READ = """
id: kv-ttl-read
namespace: company.team
tasks:
  - {id: keys, type: io.kestra.plugin.core.kv.GetKeys}
  - {id: token, type: io.kestra.plugin.core.debug.Return, format: "{{ kv('session_token', errorOnMissing=false) ?? 'expired' }}"}
"""


@pytest.mark.cluster
def test_purge_kv_deletes_the_configmaps_of_expired_then_matching_keys(kflow, operator):
    kflow.apply_flow((EXAMPLES / "kv-purge.yaml").read_text(), name="kv-purge")
    kflow.execute("kv-purge", "kv-purge-1")
    execution = kflow.wait("kv-purge-1", timeout=300)
    assert execution["status"]["current"] == "SUCCESS", execution["status"]
    runs = taskruns(execution)
    assert runs["purge_expired"]["outputs"] == {"size": 1}
    assert runs["purge_all"]["outputs"] == {"size": 1}
    assert kv_configmaps(kflow) == {}
