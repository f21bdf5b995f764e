"""Kestra's storage tasks and Assert (issue 16) on the real cluster: examples/storage-files.yaml,
each task in a runner pod, files through internal storage in a real S3 server (versitygw)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.operator.support import taskruns, why_not_success
from tests.operator.test_files import STORAGE_BUCKET, servers, storage_operator  # noqa: F401 - fixtures

pytestmark = pytest.mark.cluster
EXAMPLES = Path(__file__).parents[2] / "examples"


def test_storage_tasks_run_in_pods_against_a_bucket_and_purge_it(servers, kflow, storage_operator):  # noqa: F811
    _, s3 = servers
    kflow.apply_flow((EXAMPLES / "storage-files.yaml").read_text())
    kflow.execute("storage-files", "storage-1")
    execution = kflow.wait("storage-1", timeout=600)
    assert execution["status"]["current"] == "SUCCESS", why_not_success(execution)
    runs = taskruns(execution)
    assert runs["size"]["outputs"] == {"size": 217} == runs["templated"]["outputs"]
    assert (runs["big_orders"]["outputs"]["processedItemsTotal"], runs["big_orders"]["outputs"]["droppedItemsTotal"]) == (5, 2)
    assert runs["last_per_customer"]["outputs"]["numKeys"] == 3
    assert [json.loads(line)["id"] for line in runs["report"]["outputs"]["value"].splitlines()] == [3, 4, 5]
    assert len(runs["batches"]["outputs"]["uris"]) == 3
    assert runs["delete_orders"]["outputs"]["deleted"] is True
    assert len(runs["purge"]["outputs"]["uris"]) == 8
    tasks = {p.metadata.labels["kflow.io/task"] for p in kflow.pods("storage-1")}
    assert {"orders", "all_orders", "batches", "big_orders", "newest_first", "check", "purge"} <= tasks
    prefix = f"company/team/storage-files/executions/{execution['status']['id']}/"
    left = [o["Key"] for o in s3.client().list_objects_v2(Bucket=STORAGE_BUCKET, Prefix=prefix).get("Contents", [])]
    assert left and all("/logs/attempt-" in key for key in left), left  # the purge left only attempt logs


def test_schedule_on_dates_starts_one_execution_per_listed_date(kflow, operator):
    from datetime import datetime, timedelta, timezone

    from kflow.triggers.names import schedule_execution_name

    now = datetime.now(timezone.utc).replace(microsecond=0)
    dates = [now + timedelta(seconds=25), now + timedelta(seconds=40)]
    kflow.apply_flow(
        "id: on-dates\nnamespace: t\ntriggers:\n  - id: listed\n    type: io.kestra.plugin.core.trigger.ScheduleOnDates\n"
        f"    dates: [{', '.join(d.strftime('%Y-%m-%dT%H:%M:%SZ') for d in dates)}]\n"
        "tasks:\n  - {id: when, type: io.kestra.plugin.core.debug.Return, format: '{{ trigger.date }}'}\n")
    for date in dates:
        name = schedule_execution_name("on-dates", "listed", date)
        deadline = time.monotonic() + 300
        while not any(e["metadata"]["name"] == name for e in kflow.custom.list_namespaced_custom_object(
                "kflow.io", "v1alpha1", kflow.namespace, "executions")["items"]):
            assert time.monotonic() < deadline, f"no execution {name} for the date {date}"
            time.sleep(1)
        execution = kflow.wait(name, timeout=300)
        assert execution["status"]["current"] == "SUCCESS", why_not_success(execution)
        assert taskruns(execution)["when"]["outputs"]["value"] == date.strftime("%Y-%m-%dT%H:%M:%SZ")
    names = [e["metadata"]["name"] for e in kflow.custom.list_namespaced_custom_object(
        "kflow.io", "v1alpha1", kflow.namespace, "executions")["items"]]
    assert len(names) == 2, names  # each date once, nothing after the last
