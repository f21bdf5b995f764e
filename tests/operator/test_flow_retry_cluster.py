"""Flow-level `retry` on the real cluster: the Execution waits RETRYING, then its failed task
runs get new attempts (new pods) in the same Execution, with Kestra's states and counts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.operator.support import taskruns

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.cluster
def test_a_failed_execution_is_retried_in_place_until_it_succeeds(kflow, operator):
    kflow.apply_flow((EXAMPLES / "flow-retry.yaml").read_text(), name="flow-retry")
    kflow.execute("flow-retry", "flow-retry-1")
    execution = kflow.wait("flow-retry-1", timeout=400)
    status = execution["status"]
    assert status["current"] == "SUCCESS", status
    assert [h["state"] for h in status["state"]["histories"]] == \
        ["CREATED", "RUNNING", "RETRYING", "RUNNING", "RETRYING", "RUNNING", "SUCCESS"]
    runs = taskruns(execution)
    assert [a["state"]["current"] for a in runs["flaky"]["attempts"]] == ["FAILED", "FAILED", "SUCCESS"]
    assert len(runs["prepare"]["attempts"]) == 1
    assert "alert" not in runs
    deadline = time.monotonic() + 60  # each attempt had its pod, whose log is kept per attempt at the end
    while True:
        kept = kflow.core.list_namespaced_config_map(kflow.namespace, label_selector="kflow.io/execution=flow-retry-1,kflow.io/task=flaky").items
        attempts = sorted(int(c.metadata.labels["kflow.io/attempt"]) for c in kept)
        if attempts == [0, 1, 2] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert attempts == [0, 1, 2]
