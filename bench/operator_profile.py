"""Where the operator spends its CPU per one-task execution: py-spy samples it during a batch.

Run (as root, py-spy on PATH; KFLOW_TEST_IMAGE names the image):
    python bench/operator_profile.py [--executions 50] [--top 25]

Starts the operator as a local process on a fresh namespace of the test cluster (as
bench/scale.py does), warms it with one execution, then records it with `py-spy record
--format raw --gil` (only the thread holding the GIL: CPU, not waits) while N one-task Executions are created at once and run to SUCCESS.
Prints the operator's CPU per execution (/proc/<pid>/stat) and the functions holding the most
samples: own (the function itself) and total (with what it calls), as shares of all samples.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cluster_bench import ONE_TASK, Session, executions_at_once, load, process_cpu, watch_executions


def top(collapsed: Path, n: int) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if f]
        samples += int(count)
        if frames:
            own[frames[-1]] += int(count)
        for frame in set(frames):
            total[frame] += int(count)
    return samples, own.most_common(n), total.most_common(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        sys.exit("py-spy is not on PATH (pip install py-spy)")
    session = Session("profile")
    try:
        executions = watch_executions(session)
        operator = session.start_operator()
        session.kflow.apply_flow(ONE_TASK)
        session.kflow.wait_flow("one")
        executions_at_once(session, executions, "one", 1, "warm")
        out = Path(tempfile.mkdtemp()) / "operator.txt"
        recorder = subprocess.Popen([spy, "record", "--pid", str(operator.proc.pid), "--format", "raw", "--rate", "200", "--gil",
                                     "--output", str(out), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu = process_cpu(operator.proc.pid)
        wall, states = executions_at_once(session, executions, "one", args.executions, "prof")
        time.sleep(2)  # pods are collected just after the end
        cpu = process_cpu(operator.proc.pid) - cpu
        recorder.send_signal(2)  # SIGINT: py-spy writes what it recorded
        recorder.wait(60)
    finally:
        session.close()
    samples, own, total = top(out, args.top)
    print(f"{args.executions} one-task executions in {wall:.1f} s, {states}; operator CPU {cpu / args.executions * 1000:.1f} ms/execution; "
          f"{samples} samples; load {load()}")
    for title, rows in (("own", own), ("total", total)):
        print(f"\n--- {title} ---")
        for frame, count in rows:
            print(f"{100 * count / max(samples, 1):5.1f}%  {frame}")


if __name__ == "__main__":
    main()
