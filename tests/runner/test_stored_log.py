"""Each attempt's log is kept in internal storage next to the task run's files, so it can be
read after the pod that printed it is gone (a real directory storage here)."""

from __future__ import annotations

import io

from kflow.runner.context import TaskLocation, TaskLogger
from kflow.runner.invocation import Invocation
from kflow.runner.run import execute
from kflow.storage import StorageConfig, open_storage


def invocation(task, storage, attempt=0):
    return Invocation(executionId="e1", taskRunId="tr1", attempt=attempt, namespace="company.team", flowId="f", task=task, context={}, storage=storage)


def test_the_attempt_log_is_stored_at_a_deterministic_key(tmp_path):
    storage = StorageConfig(type="dir", path=str(tmp_path))
    stdout = io.StringIO()
    task = {"id": "hello", "type": "io.kestra.plugin.core.log.Log", "message": ["one", "two\nthree"]}
    result = execute(invocation(task, storage, attempt=2), TaskLogger(stdout))
    assert result.state == "SUCCESS"
    uri = TaskLocation("company.team", "f", "e1", "hello", "tr1").log_uri(2)
    assert uri == "kestra:///company/team/f/executions/e1/tasks/hello/tr1/logs/attempt-2.log"
    stored = open_storage(storage).read_bytes(uri).decode()
    assert stored == stdout.getvalue(), "the stored log is what the pod printed"
    assert [line.split(maxsplit=2)[2] for line in stored.splitlines()] == ["one", "two", "three"]


def test_a_failed_attempt_keeps_its_reason_and_masks_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "czNjcjN0")  # base64 of s3cr3t
    storage = StorageConfig(type="dir", path=str(tmp_path))
    task = {"id": "boom", "type": "io.kestra.plugin.core.execution.Fail", "errorMessage": "token {{ secret('TOKEN') }} refused"}
    result = execute(invocation(task, storage), TaskLogger(io.StringIO()))
    assert result.state == "FAILED"
    stored = open_storage(storage).read_bytes(TaskLocation("company.team", "f", "e1", "boom", "tr1").log_uri(0)).decode()
    assert "refused" in stored and "ERROR" in stored
    assert "s3cr3t" not in stored and "******" in stored


def test_without_storage_nothing_is_kept(tmp_path):
    task = {"id": "hello", "type": "io.kestra.plugin.core.log.Log", "message": "hi"}
    stdout = io.StringIO()
    assert execute(invocation(task, None), TaskLogger(stdout)).state == "SUCCESS"
    assert "hi" in stdout.getvalue()
    assert not any(tmp_path.iterdir())
