"""`kflow run` under hostile flows (issue 12): fan-out bounded by --workers, a regex bomb ends
FAILED at the render deadline naming the task, and Ctrl-C still works during one."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _flow(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(text)
    return path


def test_a_parallel_of_twelve_never_runs_more_than_the_workers(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    # each task notes how many tasks run beside it (marker files), holds a while, then leaves
    command = f"touch {marks}/$$; ls {marks} | wc -l >> {tmp_path}/counts; sleep 0.6; rm {marks}/$$"
    tasks = "".join(f"      - {{id: t{n}, type: io.kestra.plugin.scripts.shell.Commands, commands: ['{command}']}}\n" for n in range(12))
    flow = _flow(tmp_path, f"id: fan\nnamespace: t\ntasks:\n  - id: all\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n{tasks}")
    proc = subprocess.run([sys.executable, "-m", "kflow", "run", str(flow), "--workers", "3", "--json"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    counts = [int(line) for line in (tmp_path / "counts").read_text().split()]
    assert len(counts) == 12 and max(counts) <= 3, counts
    assert max(counts) >= 2, counts  # they did run side by side
    assert proc.stderr.count("waiting for a worker") >= 9 - 3, proc.stderr  # noted in each waiting task's log


def test_workers_must_be_a_positive_number(tmp_path):
    flow = _flow(tmp_path, "id: x\nnamespace: t\ntasks:\n  - {id: a, type: io.kestra.plugin.core.log.Log, message: hi}\n")
    proc = subprocess.run([sys.executable, "-m", "kflow", "run", str(flow), "--workers", "0"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "--workers" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


BOMB = """id: bomb
namespace: t
tasks:
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{ ('a' * 40 ~ 'b') | replace({'(a|aa)+$': 'x'}, regexp=true) == 'x' }}"
    then:
      - {id: never, type: io.kestra.plugin.core.debug.Return, format: never}
"""


def test_a_regex_bomb_ends_failed_at_the_render_deadline(tmp_path):
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "kflow", "run", str(_flow(tmp_path, BOMB)), "--json"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    took = time.monotonic() - start
    assert proc.returncode == 1, proc.stderr
    execution = json.loads(proc.stdout)
    assert execution["state"]["current"] == "FAILED"
    check = next(tr for tr in execution["taskRunList"] if tr["taskId"] == "check")
    reason = json.dumps(check)
    assert "task 'check'" in reason and "did not finish within the render deadline, 10s" in reason and "(a|aa)+$" in reason, reason
    print(f"kflow run of a regex bomb: {took:.1f}s")


def test_ctrl_c_stops_a_run_stuck_in_a_regex_bomb(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "kflow", "run", str(_flow(tmp_path, BOMB)), "--plain"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    time.sleep(3)  # inside the render
    proc.send_signal(signal.SIGINT)
    try:
        # At most the render deadline of CPU time, then the kill is seen: the regex timeout counts
        # CPU time, so on a loaded machine (load average 30 here) the wall time stretches past 30 s.
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode in (1, 130), stderr
    assert "Traceback" not in stderr, stderr
