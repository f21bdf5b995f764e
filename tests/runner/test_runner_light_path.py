"""A Return or Log that only prints variables starts like a bare interpreter (issue 15):
`python -m kflow.runner` runs it without importing pydantic, jinja2 or any network client
(an import budget, checked with `-X importtime`: no timing), with the same result and log
as the full runner; anything else still goes the full way."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from kflow.runner.context import TaskLocation, TaskLogger
from kflow.runner.invocation import Invocation
from kflow.runner.run import execute
from kflow.storage import StorageConfig, open_storage

# Packages a light task must not load: pydantic-core-heavy, the expression sandbox, YAML, and
# network or cloud clients. kflow modules that would pull them in are named too.
FORBIDDEN = (
    "pydantic", "pydantic_core", "jinja2", "yaml", "httpx", "httpcore", "h11", "anyio", "boto3", "botocore",
    "s3transfer", "urllib3", "requests", "aiohttp", "kopf", "kubernetes", "ssl", "http.client", "socket",
    "kflow.flow.task", "kflow.flow.model", "kflow.expr.environment", "kflow.runner.invocation", "kflow.execution",
    "kflow.storage.config", "kflow.storage.s3",
)
CONTEXT = {"flow": {"id": "f", "namespace": "company.team"}, "task": {"id": "t"}, "inputs": {"who": "kflow"}}


def invocation(task, storage=None, attempt=0):
    return Invocation(executionId="e1", taskRunId="tr1", attempt=attempt, namespace="company.team", flowId="f", task=task, context=CONTEXT, storage=storage)


def imported(args, tmp_path, importtime=True):
    """Run the runner; (exit code, result JSON, stdout, modules it imported beyond `-c pass`)."""
    flags = ["-X", "importtime"] if importtime else []
    result = tmp_path / "result.json"
    proc = subprocess.run([sys.executable, *flags, "-m", "kflow.runner", *args, "--result", str(result)], capture_output=True, text=True, cwd=tmp_path)
    bare = subprocess.run([sys.executable, *flags, "-c", "pass"], capture_output=True, text=True, cwd=tmp_path)

    def modules(stderr):
        return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:") and "|" in line}

    return proc.returncode, json.loads(result.read_text()) if result.exists() else None, proc.stdout, modules(proc.stderr) - modules(bare.stderr)


def run_file(tmp_path, inv: Invocation, *extra):
    path = tmp_path / "invocation.json"
    path.write_text(inv.model_dump_json())
    return imported(["--invocation", str(path), *extra], tmp_path)


def forbidden(modules):
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


def lines(log: str) -> list[str]:
    """Log lines without their timestamps."""
    return [line.split(" ", 1)[1] for line in log.splitlines()]


@pytest.mark.parametrize(
    "task",
    [
        {"id": "r", "type": "io.kestra.plugin.core.debug.Return", "format": "{{ task.id }} > {{ flow.id }}"},
        {"id": "r", "type": "io.kestra.core.tasks.debugs.Return", "format": "hi {{ inputs.who }}", "level": "INFO"},
        {"id": "l", "type": "io.kestra.plugin.core.log.Log", "message": ["one {{ inputs.who }}", "two"], "level": "WARN"},
        {"id": "l", "type": "io.kestra.core.tasks.log.Log", "message": "plain", "logLevel": "INFO", "timeout": "PT1M"},
    ],
)
def test_a_plain_light_task_imports_only_what_it_uses_and_ends_as_the_full_runner_does(task, tmp_path):
    code, result, stdout, modules = run_file(tmp_path, invocation(task))
    assert code == 0
    assert "kflow.runner.light" in modules and "kflow.tasks.debug_actions" in modules
    assert forbidden(modules) == [], "a light task loaded modules it does not need"
    full_log = io.StringIO()
    full = execute(invocation(task), TaskLogger(full_log, min_level=task.get("logLevel") or "INFO"))
    assert result == json.loads(full.to_json())
    assert lines(stdout) == lines(full_log.getvalue())


def test_the_log_goes_to_a_directory_storage_as_the_full_runner_puts_it(tmp_path):
    storage = StorageConfig(type="dir", path=str(tmp_path / "storage"))
    task = {"id": "l", "type": "io.kestra.plugin.core.log.Log", "message": "kept {{ inputs.who }}"}
    code, result, stdout, modules = run_file(tmp_path, invocation(task, storage, attempt=1))
    assert code == 0 and result == {"state": "SUCCESS"}
    assert forbidden(modules) == []
    stored = open_storage(storage).read_bytes(TaskLocation("company.team", "f", "e1", "l", "tr1").log_uri(1)).decode()
    assert stored == stdout and lines(stored) == ["INFO  kept kflow"]


def test_a_result_over_the_limit_is_offloaded_the_full_runner_way(tmp_path):
    storage = StorageConfig(type="dir", path=str(tmp_path / "storage"))
    task = {"id": "r", "type": "io.kestra.plugin.core.debug.Return", "format": "x" * 5000 + "{{ flow.id }}"}
    code, result, _, _ = run_file(tmp_path, invocation(task, storage), "--result-limit", "4096")
    assert code == 0 and result["state"] == "SUCCESS"
    uri = result["outputs"]["value"]
    assert uri.startswith("kestra:///company/team/f/executions/e1/tasks/r/tr1/")
    with open_storage(storage).open(uri) as handle:
        assert handle.read().decode() == "x" * 5000 + "f"


@pytest.mark.parametrize(
    ("task", "state", "text"),
    [
        ({"id": "r", "type": "io.kestra.plugin.core.debug.Return", "format": "{{ task.id | upper }}"}, "SUCCESS", "T"),
        ({"id": "r", "type": "io.kestra.plugin.core.debug.Return", "format": "{{ outputs.nope.value }}"}, "FAILED", "'outputs' is undefined"),
        ({"id": "r", "type": "io.kestra.plugin.core.debug.Return", "format": "x", "level": "LOUD"}, "FAILED", "level"),
        ({"id": "r", "type": "io.kestra.plugin.core.debug.Return", "format": 5}, "FAILED", "format"),
        ({"id": "r", "type": "io.kestra.plugin.core.debug.Return", "format": "x", "nope": 1}, "FAILED", "nope"),
        ({"id": "l", "type": "io.kestra.plugin.core.log.Log", "message": "{{ secret('NOPE') }}"}, "FAILED", "NOPE"),
    ],
)
def test_anything_not_plain_goes_the_full_way(task, state, text, tmp_path):
    code, result, _, modules = run_file(tmp_path, invocation(task))
    assert "pydantic" in modules, "the full runner ran it"
    assert result["state"] == state and code == (0 if state == "SUCCESS" else 1)
    assert text in json.dumps(result)


def test_an_unusable_invocation_is_reported_by_the_full_runner(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"executionId": "e1", "task": {"id": "r", "type": "io.kestra.plugin.core.debug.Return", "format": "x"}}))
    proc = subprocess.run([sys.executable, "-m", "kflow.runner", "--invocation", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "unusable invocation" in proc.stderr and "taskRunId" in proc.stderr
