"""`kflow run` wall time per task, against a bare `python -c pass` started the same way.

Run: python bench/local_run.py [N] [--parallel M]. In the same run:
- a Sequential of N Return tasks (each its own runner process, one after another) against N
  bare interpreter starts one after another: time per task of each, the overhead per task
  (goal: at most 50 ms) and the ratio;
- a Parallel of M Return tasks (default 100) against M bare interpreter starts run as many
  at a time as there are CPUs: wall time, and how busy the CPUs were (CPU time of every
  process started / (wall time x CPUs): 1.0 is every core busy the whole time).
Each figure is the median of --repeat runs (default 3), the pairs interleaved.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def flow_file(n: int, flowable: str) -> Path:
    tasks = "\n".join(
        f"      - {{id: t{i}, type: io.kestra.plugin.core.debug.Return, format: '{{{{ task.id }}}} of {{{{ flow.id }}}}'}}" for i in range(n)
    )
    path = Path(tempfile.mkdtemp()) / "bench.yaml"
    path.write_text(f"id: bench\nnamespace: bench\ntasks:\n  - id: all\n    type: io.kestra.plugin.core.flow.{flowable}\n    tasks:\n{tasks}\n")
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(run) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process it started and waited for)."""
    cpu, started = _children_cpu(), time.perf_counter()
    run()
    return time.perf_counter() - started, _children_cpu() - cpu


def bare(count: int, at_once: int) -> None:
    def one(_):
        subprocess.run([sys.executable, "-c", "pass"], check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    with ThreadPoolExecutor(at_once) as pool:
        list(pool.map(one, range(count)))


def kflow_run(path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "kflow", "run", str(path), "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="?", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    sequential, parallel = flow_file(args.tasks, "Sequential"), flow_file(args.parallel, "Parallel")
    seq_bare, seq_kflow, par_bare, par_kflow = [], [], [], []
    for _ in range(args.repeat):
        seq_bare.append(timed(lambda: bare(args.tasks, 1))[0] / args.tasks)
        seq_kflow.append(timed(lambda: kflow_run(sequential))[0] / args.tasks)
        if args.parallel:
            par_bare.append(timed(lambda: bare(args.parallel, cpus)))
            par_kflow.append(timed(lambda: kflow_run(parallel)))
    bare_ms, kflow_ms = statistics.median(seq_bare) * 1000, statistics.median(seq_kflow) * 1000
    out = {
        "cpus": cpus,
        "load average before": os.getloadavg()[0],
        f"Sequential of {args.tasks}: bare python start (ms)": round(bare_ms, 1),
        f"Sequential of {args.tasks}: kflow run per task (ms)": round(kflow_ms, 1),
        "overhead per task over bare python (ms, goal <= 50)": round(kflow_ms - bare_ms, 1),
        "ratio kflow task / bare python": round(kflow_ms / bare_ms, 2),
    }
    if args.parallel:
        wall_bare = statistics.median(w for w, _ in par_bare)
        wall_kflow = statistics.median(w for w, _ in par_kflow)
        busy = statistics.median(c / (w * cpus) for w, c in par_kflow)
        out.update({
            f"Parallel of {args.parallel}: bare python, {cpus} at a time (s)": round(wall_bare, 2),
            f"Parallel of {args.parallel}: kflow run (s)": round(wall_kflow, 2),
            "ratio kflow Parallel / bare": round(wall_kflow / wall_bare, 2),
            "CPU busy during the kflow Parallel (1.0 = all cores)": round(busy, 2),
            "CPU busy during the bare run": round(statistics.median(c / (w * cpus) for w, c in par_bare), 2),
        })
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
