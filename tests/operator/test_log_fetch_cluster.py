"""Kestra's log Fetch on the real cluster: examples/log-fetch.yaml logs in two task pods, then
the operator (no pod for Fetch: runner pods have no API access) reads their logs from the pods
or, once collected (WhenRecorded), their ConfigMap copies, and writes the rows to internal
storage in a real S3 server (versitygw)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from kflow.uris import parse_uri
from tests.operator.support import taskruns, why_not_success
from tests.operator.test_files import STORAGE_BUCKET, servers  # noqa: F401 - fixture
from tests.servers.fixtures import GUIDE_ACCESS_KEY, GUIDE_REGION, GUIDE_SECRET_KEY

pytestmark = pytest.mark.cluster
EXAMPLES = Path(__file__).parents[2] / "examples"


def stored_rows(s3, uri: str) -> list[dict]:
    body = s3.client().get_object(Bucket=STORAGE_BUCKET, Key=parse_uri(uri).lstrip("/"))["Body"].read()
    return [json.loads(line) for line in body.decode().splitlines()]


def storage_operator_collecting(kflow, operator_factory, s3, collect: str, keep: str = "Always"):
    kflow.core.create_namespaced_secret(kflow.namespace, {
        "metadata": {"name": "storage-credentials"},
        "stringData": {"AWS_ACCESS_KEY_ID": GUIDE_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": GUIDE_SECRET_KEY},
    })
    return operator_factory(KFLOW_STORAGE=f"s3://{STORAGE_BUCKET}?endpoint={s3.endpoint}&region={GUIDE_REGION}",
                            KFLOW_STORAGE_S3_CREDENTIALS_SECRET="storage-credentials", KFLOW_COLLECT_FINISHED_PODS=collect,
                            KFLOW_KEEP_FINISHED_PODS=keep)


def assert_fetched(s3, execution: dict) -> None:
    assert execution["status"]["current"] == "SUCCESS", why_not_success(execution)
    runs = taskruns(execution)
    assert runs["fetch"]["outputs"]["size"] == 3 and runs["fetch_warnings"]["outputs"]["size"] == 1
    rows = stored_rows(s3, runs["fetch"]["outputs"]["uri"])
    assert [(r["taskId"], r["level"], r["message"]) for r in rows] == [
        ("work", "INFO", "processed 3 orders"), ("work", "INFO", "order 42 is late"), ("alert", "WARN", "1 order late")]
    assert {r["executionId"] for r in rows} == {execution["status"]["id"]}
    assert rows[0]["taskRunId"] == runs["work"]["id"]
    assert [r["message"] for r in stored_rows(s3, runs["fetch_warnings"]["outputs"]["uri"])] == ["1 order late"]


def test_fetch_reads_the_logs_of_the_task_pods_before_it(servers, kflow, operator_factory):  # noqa: F811
    _, s3 = servers
    storage_operator_collecting(kflow, operator_factory, s3, "AtEnd")
    kflow.apply_flow((EXAMPLES / "log-fetch.yaml").read_text())
    kflow.execute("log-fetch", "fetch-1")
    assert_fetched(s3, kflow.wait("fetch-1", timeout=300))  # the pods are kept (Always): read from them
    assert sorted(p.metadata.labels["kflow.io/task"] for p in kflow.pods("fetch-1")) == ["alert", "report", "work"]  # Fetch: no pod


def test_fetch_reads_the_configmap_copies_of_collected_pods(servers, kflow, operator_factory):  # noqa: F811
    """WhenRecorded: the pods go once their end is recorded. A Pause holds the flow until they
    are gone, and the runners' copies in storage are deleted: only the ConfigMaps are left."""
    _, s3 = servers
    storage_operator_collecting(kflow, operator_factory, s3, "WhenRecorded", keep="OnFailure")
    flow = yaml.safe_load((EXAMPLES / "log-fetch.yaml").read_text())
    flow["tasks"].insert(2, {"id": "hold", "type": "io.kestra.plugin.core.flow.Pause"})
    kflow.apply_flow(yaml.safe_dump(flow))
    kflow.execute("log-fetch", "fetch-2")
    paused = kflow.wait("fetch-2", timeout=300, until=lambda e: (e.get("status") or {}).get("current") == "PAUSED")
    deadline = time.monotonic() + 120
    while kflow.pods("fetch-2"):
        assert time.monotonic() < deadline, "the finished pods were not collected once recorded"
        time.sleep(0.3)
    client = s3.client()
    prefix = f"company/team/log-fetch/executions/{paused['status']['id']}/"
    stored = [o["Key"] for o in client.list_objects_v2(Bucket=STORAGE_BUCKET, Prefix=prefix).get("Contents", [])]
    assert len([key for key in stored if "/logs/attempt-" in key]) == 2, stored
    for key in stored:
        client.delete_object(Bucket=STORAGE_BUCKET, Key=key)
    kept = kflow.core.list_namespaced_config_map(kflow.namespace, label_selector="kflow.io/execution=fetch-2").items
    assert sorted(c.metadata.labels["kflow.io/task"] for c in kept) == ["alert", "work"]
    kflow.patch_spec("fetch-2", {"resume": 1})
    assert_fetched(s3, kflow.wait("fetch-2", timeout=300))


def test_without_storage_or_for_another_execution_fetch_fails_saying_why(kflow, operator):
    kflow.apply_flow("id: lone-fetch\nnamespace: t\ntasks:\n"
                     "  - {id: mine, type: io.kestra.plugin.core.log.Fetch, allowFailure: true}\n"
                     "  - {id: other, type: io.kestra.plugin.core.log.Fetch, executionId: someone-else}\n")
    kflow.execute("lone-fetch", "lone-1")
    execution = kflow.wait("lone-1", timeout=120)
    assert execution["status"]["current"] == "FAILED"
    runs = taskruns(execution)
    assert runs["mine"]["attempts"][-1]["reason"].startswith("task 'mine': no internal storage is configured, and the `uri` output is a file there")
    assert runs["other"]["attempts"][-1]["reason"].startswith("task 'other': executionId 'someone-else': only the current execution's logs can be fetched")
