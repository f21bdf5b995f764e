"""No process outlives its run (real processes): a script that ignores SIGTERM is SIGKILLed
after the grace period on timeout; background children (`nohup ... &`) end with their task;
one that keeps stdout open does not hold the task; `kflow run` stopped by SIGTERM or SIGHUP
kills its runners, ends KILLED (exit 1) and removes its scratch directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.servers.fixtures import kflow_env, run_flow, storage_dir  # noqa: F401 - fixtures
from tests.tasks.support import reason, runs


def marked(marker: str) -> list[int]:
    """Live processes (not zombies) whose command line holds `marker`."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            out.append(int(pid))
    return out


def gone(marker: str, within: float = 10.0) -> bool:
    """No live process carries `marker` (allowing `within` seconds for SIGKILL to land)."""
    deadline = time.monotonic() + within
    while marked(marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def marker():
    return f"kflow-probe-{uuid.uuid4().hex[:12]}"


def flow_of(commands: list[str], **extra: str) -> str:
    props = "".join(f"    {k}: {v}\n" for k, v in extra.items())
    lines = "".join(f"      - {json.dumps(c)}\n" for c in commands)
    return f"id: procs\nnamespace: t\ntasks:\n  - id: sh\n    type: io.kestra.plugin.scripts.shell.Commands\n    warningOnStdErr: false\n{props}    commands:\n{lines}"


def test_a_script_ignoring_sigterm_is_killed_after_the_grace_period(run_flow, marker):
    flow = flow_of(["trap '' TERM", f"sh -c 'trap \"\" TERM; while true; do sleep 1; done # {marker}' &", f"while true; do sleep 1; done # {marker}"], timeout="PT1S")
    execution, _ = run_flow(flow, expect=1, timeout=60)
    assert "timed out after 1s" in reason(runs(execution)["sh"])
    assert gone(marker, within=0)  # nothing left once kflow run has returned


def test_background_children_end_with_their_task(run_flow, marker):
    flow = flow_of([f"nohup sh -c 'sleep 300 # {marker}' > /dev/null 2>&1 &", "echo started"])
    execution, _ = run_flow(flow, timeout=60)
    assert runs(execution)["sh"]["state"]["current"] == "SUCCESS"
    assert gone(marker, within=0)


def test_a_child_holding_stdout_open_does_not_hold_the_task(run_flow, marker):
    # The child inherits stdout and stderr and would keep them open for 300 s.
    flow = flow_of([f"sh -c 'sleep 300 # {marker}' &", "echo main-done"])
    execution, proc = run_flow(flow, timeout=60)  # would time out if the task waited for the child
    assert runs(execution)["sh"]["state"]["current"] == "SUCCESS"
    assert "main-done" in proc.stderr
    assert gone(marker, within=0)


def test_a_child_escaping_into_its_own_session_ends_with_the_run(run_flow, marker):
    flow = flow_of([f"setsid sh -c 'sleep 300 # {marker}' > /dev/null 2>&1 < /dev/null &", "sleep 0.5"])
    run_flow(flow, timeout=60)
    assert gone(marker, within=0)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_kflow_run_stopped_by_a_signal_kills_everything_and_cleans_up(kflow_env, tmp_path, marker, sig):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    flow = tmp_path / "flow.yaml"
    flow.write_text(
        "id: long\nnamespace: t\ntasks:\n  - id: both\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n"
        + "".join(
            f"      - id: s{i}\n        type: io.kestra.plugin.scripts.shell.Commands\n"
            f"        commands: [\"trap '' TERM; nohup sh -c 'sleep 300 # {marker}' >/dev/null 2>&1 & while true; do sleep 1; done # {marker}\"]\n"
            for i in (1, 2)
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "kflow", "run", str(flow), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**kflow_env, "TMPDIR": str(scratch)},
    )
    deadline = time.monotonic() + 60
    while len(marked(marker)) < 4:  # two scripts and their two background children
        assert time.monotonic() < deadline and proc.poll() is None, "the scripts never started"
        time.sleep(0.1)
    assert list(scratch.glob("kflow-run-*"))
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr
    execution = json.loads(stdout)
    assert execution["state"]["current"] == "KILLED"
    assert {tr["state"]["current"] for tr in execution["taskRunList"]} == {"KILLED"}
    assert gone(marker, within=0)
    assert list(scratch.iterdir()) == []


def test_runners_end_their_scripts_when_kflow_run_is_sigkilled(kflow_env, tmp_path, marker):
    """SIGKILL cannot be caught: each runner gets SIGTERM when `kflow run` dies (PDEATHSIG) and
    ends its script's process group as on any kill."""
    flow = tmp_path / "flow.yaml"
    flow.write_text(flow_of([f"nohup sh -c 'sleep 300 # {marker}' >/dev/null 2>&1 &", f"while true; do sleep 1; done # {marker}"]))
    proc = subprocess.Popen([sys.executable, "-m", "kflow", "run", str(flow), "--plain"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**kflow_env, "TMPDIR": str(tmp_path)})
    deadline = time.monotonic() + 60
    while len(marked(marker)) < 2:
        assert time.monotonic() < deadline and proc.poll() is None, "the script never started"
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    assert gone(marker, within=15)  # the runner's grace for its script is 2 s


def test_a_child_writing_forever_does_not_hold_the_task(run_flow, marker):
    flow = flow_of([f"sh -c 'while true; do echo flood; done # {marker}' &", "sleep 0.2"])
    execution, _ = run_flow(flow, timeout=60)
    assert runs(execution)["sh"]["state"]["current"] == "SUCCESS"
    assert gone(marker, within=0)
