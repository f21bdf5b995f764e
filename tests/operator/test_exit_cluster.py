"""Kestra's Exit on the real cluster: resolved by the operator; the other branch's pod is stopped."""

from __future__ import annotations

import pytest

from tests.local.test_exit_local import PARALLEL
from tests.operator.support import taskruns


@pytest.mark.cluster
def test_exit_ends_the_execution_and_stops_the_running_pod(kflow, operator):
    kflow.apply_flow(PARALLEL, name="exit-parallel")
    kflow.execute("exit-parallel", "exit-1")
    execution = kflow.wait("exit-1", timeout=300)
    assert execution["status"]["current"] == "WARNING", execution["status"]
    runs = taskruns(execution)
    assert runs["stop"]["state"]["current"] == "WARNING"
    assert runs["both"]["state"]["current"] == "WARNING"
    assert runs["slow"]["state"]["current"] == "KILLED"
    assert "never" not in runs and "after" not in runs
    assert {p.metadata.labels["kflow.io/task"] for p in kflow.pods("exit-1")} <= {"slow", "first"}  # Exit: no pod
