"""What a person at a terminal sees: the live tree, and Ctrl-C killing the execution."""

from __future__ import annotations

import json
import os
import re
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[2]


def on_a_terminal(args: list[str], env: dict | None = None, timeout: float = 60) -> tuple[int, str]:
    """Run `kflow ARGS` on a pseudo-terminal (so it shows the live tree): its exit code and the
    screen's text without escape sequences."""
    main, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kflow", *args],
        stdin=secondary, stdout=secondary, stderr=secondary, cwd=ROOT, env={**(env or os.environ), "COLUMNS": "160", "TERM": "xterm"},
    )
    os.close(secondary)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                data = os.read(main, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data.decode(errors="replace"))
        elif proc.poll() is not None:
            break
    proc.wait(10)
    os.close(main)
    return proc.returncode, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", "".join(chunks))


def test_live_tree_on_a_terminal():
    returncode, screen = on_a_terminal(["run", str(ROOT / "examples" / "sample-parallel-task.yaml")])
    assert returncode == 0
    assert "io.kestra.tests.sample-parallel-task" in screen
    for task in ("parallel", "task1", "task2", "task3"):
        assert f"✔ {task} SUCCESS" in screen, screen[-2000:]
    assert "First parallel task, task id > task1" in screen  # the summary's outputs


def test_ctrl_c_kills_the_execution(tmp_path):
    flow = tmp_path / "slow.yaml"
    flow.write_text(
        "id: slow\nnamespace: t\ntasks:\n"
        "  - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT60S}\n"
        "  - {id: never, type: io.kestra.plugin.core.debug.Return, format: x}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "kflow", "run", str(flow), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    # Signalled once the task runs (its plain line on stderr), not after a fixed sleep: on a
    # busy machine the interpreter may still be importing, before kflow handles SIGINT.
    first = proc.stderr.readline()
    assert first.startswith("nap") and "RUNNING" in first, first
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10, "the sleeping task was not stopped"
    assert proc.returncode == 1, err
    execution = json.loads(out)
    assert execution["state"]["current"] == "KILLED"
    assert [tr["taskId"] for tr in execution["taskRunList"]] == ["nap"]
    assert execution["taskRunList"][0]["state"]["current"] == "KILLED"
