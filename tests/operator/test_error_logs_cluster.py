"""Kestra's errorLogs() on the real cluster: examples/error-logs.yaml's Assert fails in its pod,
and the operator, building the errors task's invocation, reads that pod's log (the runner pods
have no API access) for its ERROR lines, which the errors task's pod renders."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.operator.support import taskruns

pytestmark = pytest.mark.cluster
EXAMPLES = Path(__file__).parents[2] / "examples"


def test_the_errors_task_gets_the_error_lines_the_failed_pod_logged(kflow, operator):
    flow = yaml.safe_load((EXAMPLES / "error-logs.yaml").read_text())
    flow["errors"] = [{"id": "alert", "type": "io.kestra.plugin.core.debug.Return",
                       "format": "{% for line in errorLogs() %}[{{ line.taskId }} {{ line.attemptNumber }}: {{ line.message }}]{% endfor %}"}]
    kflow.apply_flow(yaml.safe_dump(flow))
    kflow.execute("error-logs", "errlogs-1")
    execution = kflow.wait("errlogs-1", timeout=300)
    assert execution["status"]["current"] == "FAILED"
    runs = taskruns(execution)
    reason = runs["check"]["attempts"][-1]["reason"]
    assert reason == "task 'check': 1 of 1 assertions failed (conditions[0]): no orders today"
    # Assert's own ERROR line, then the one the runner logged as it failed (the reason, not listed twice)
    assert runs["alert"]["outputs"]["value"] == f"[check 0: Assertion conditions[0] is false][check 0: {reason}]"
