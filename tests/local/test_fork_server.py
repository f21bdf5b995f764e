"""The runner fork server of `kflow run` (real processes): each attempt is a fresh child of the
server, in its own session and process group, with the environment it was sent; its return
code comes back; the server ends when closed; `kflow run` uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kflow.local.forked import ForkedRunner, ForkServer


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _invocation(task_id: str, fmt: str) -> str:
    return json.dumps({
        "executionId": "e1", "taskRunId": f"tr-{task_id}", "namespace": "t", "flowId": "f",
        "task": {"id": task_id, "type": "io.kestra.plugin.core.debug.Return", "format": fmt}, "context": {},
    })


def test_each_attempt_is_a_fresh_child_in_its_own_group_with_its_own_environment(tmp_path):
    server = ForkServer({**os.environ, "TMPDIR": str(tmp_path)}, tmp_path)
    runners = []
    for name in ("a", "b"):
        env = {**os.environ, "TMPDIR": str(tmp_path), "ENV_PROBE": f"probe-{name}"}
        runner = server.start(["--invocation", "-", "--result", str(tmp_path / f"{name}.json")], env)
        assert isinstance(runner, ForkedRunner)
        runners.append((name, runner))
    (_, first), (_, second) = runners
    assert first.pid != second.pid
    for _, runner in runners:  # alive: each waits for its invocation on stdin
        assert os.getpgid(runner.pid) == runner.pid and os.getsid(runner.pid) == runner.pid
        assert _parent(runner.pid) == server._server.pid != os.getpid()
    for name, runner in runners:
        runner.stdin.write(_invocation(name, "{{ envs.probe }}"))
        runner.stdin.close()
        runner.stdout.read()
        assert runner.wait(30) == 0
        result = json.loads((tmp_path / f"{name}.json").read_text())
        assert result["outputs"] == {"value": f"probe-{name}"}
    server.close()
    assert server._server.poll() is not None


def test_a_killed_attempt_reports_its_signal(tmp_path):
    server = ForkServer({**os.environ, "TMPDIR": str(tmp_path)}, tmp_path)
    runner = server.start(["--invocation", "-"], {**os.environ, "TMPDIR": str(tmp_path)})
    runner.kill()
    assert runner.wait(30) == -9
    server.close()


def test_kflow_run_forks_its_runners_from_the_server(tmp_path):
    """A Shell task's runner (the script's parent) is a child of the server, not of `kflow run`."""
    flow = tmp_path / "flow.yaml"
    flow.write_text(
        "id: f\nnamespace: t\ntasks:\n  - id: sh\n    type: io.kestra.plugin.scripts.shell.Commands\n    commands:\n"
        "      - server=$(awk '{print $4}' /proc/$PPID/stat)\n"
        "      - tr '\\0' ' ' < /proc/$server/cmdline\n"
    )
    out = subprocess.run([sys.executable, "-m", "kflow", "run", str(flow), "--plain"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "TMPDIR": str(tmp_path)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert " -m kflow.runner.zygote " in out.stderr  # the task's log line (--plain progress)
