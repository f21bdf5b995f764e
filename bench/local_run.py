"""`kflow run` wall time per task, against a bare `python -c pass` started the same way.

Run: python bench/local_run.py [N]. Runs a Sequential of N Return tasks (each its own runner
process, one after another) and N bare interpreter starts, in the same run, and prints the
time per task of each and their ratio.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def flow_file(n: int) -> Path:
    tasks = "\n".join(
        f"      - {{id: t{i}, type: io.kestra.plugin.core.debug.Return, format: '{{{{ task.id }}}} of {{{{ flow.id }}}}'}}" for i in range(n)
    )
    path = Path(tempfile.mkdtemp()) / "bench.yaml"
    path.write_text(f"id: bench\nnamespace: bench\ntasks:\n  - id: seq\n    type: io.kestra.plugin.core.flow.Sequential\n    tasks:\n{tasks}\n")
    return path


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    path = flow_file(n)
    started = time.perf_counter()
    for _ in range(n):
        subprocess.run([sys.executable, "-c", "pass"], check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    bare = (time.perf_counter() - started) / n
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kflow", "run", str(path), "--quiet"], capture_output=True, text=True)
    per_task = (time.perf_counter() - started) / n
    assert proc.returncode == 0, proc.stderr
    print(json.dumps({
        "tasks": n,
        "bare python start (ms)": round(bare * 1000, 1),
        "kflow run per task (ms)": round(per_task * 1000, 1),
        "ratio kflow task / bare python": round(per_task / bare, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
