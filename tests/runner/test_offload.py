"""Outputs larger than a pod can report move to internal storage (a real directory here)."""

from __future__ import annotations

from kflow.runner.invocation import Invocation, TaskResult
from kflow.runner.offload import fit
from kflow.storage import StorageConfig, open_storage


def invocation(storage):
    return Invocation(executionId="e1", taskRunId="tr1", namespace="company.team", flowId="f", task={"id": "t", "type": "x"}, context={}, storage=storage)


def test_small_results_are_untouched():
    result = TaskResult(state="SUCCESS", outputs={"value": "x"})
    assert fit(result, 4096, invocation(None)) is result


def test_largest_values_move_to_storage_until_the_result_fits(tmp_path):
    storage = StorageConfig(type="dir", path=str(tmp_path))
    big = "y" * 10_000
    result = TaskResult(state="SUCCESS", outputs={"body": big, "rows": list(range(800)), "code": 200})
    fitted = fit(result, 4096, invocation(storage))
    assert fitted.state == "SUCCESS" and len(fitted.to_json()) <= 4096
    assert fitted.outputs["code"] == 200
    uri = fitted.outputs["body"]
    assert uri.startswith("kestra:///company/team/f/executions/e1/tasks/t/tr1/")
    with open_storage(storage).open(uri) as handle:
        assert handle.read().decode() == big


def test_without_storage_the_task_fails_saying_why():
    fitted = fit(TaskResult(state="SUCCESS", outputs={"value": "z" * 5000}), 4096, invocation(None))
    assert fitted.state == "FAILED"
    assert "more than the 4096" in fitted.reason and "configure internal storage" in fitted.reason
