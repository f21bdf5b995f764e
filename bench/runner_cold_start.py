"""A runner process's cold start against the bare interpreter's, in the same run.

Run: python bench/runner_cold_start.py [ROUNDS] [--tree DIR]

Each round starts, one after another: `python -c pass`, `python -m kflow.runner` for a Return
(`{{ task.id }} > {{ flow.id }}`), for a Log, and for a Return whose expression is not a plain
path (`| upper`: the full renderer, pydantic and jinja2). Prints the median wall time and the
median CPU time (user + system, from the children's rusage: less sensitive to a loaded machine
than wall time) of each, the runner's excess over the bare interpreter and the ratio, as JSON.
`--tree DIR` measures the kflow sources in DIR instead (put first on PYTHONPATH), e.g. an
older checkout, for a before/after figure. The goal (issue 15): a Return or Log costs at most
60 ms more than `python -c pass`.
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
from pathlib import Path


def invocation(task: dict) -> str:
    return json.dumps({
        "executionId": "bench", "taskRunId": "tr", "namespace": "bench", "flowId": "cold-start", "task": task,
        "context": {"flow": {"id": "cold-start", "namespace": "bench"}, "task": {"id": task["id"], "type": task["type"]}},
    })


CASES = {
    "Return": {"id": "r", "type": "io.kestra.plugin.core.debug.Return", "format": "{{ task.id }} > {{ flow.id }}"},
    "Log": {"id": "l", "type": "io.kestra.plugin.core.log.Log", "message": "hello from {{ flow.id }}"},
    "Return, full renderer": {"id": "u", "type": "io.kestra.plugin.core.debug.Return", "format": "{{ task.id | upper }}"},
}


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=15)
    parser.add_argument("--tree", help="measure the kflow package in this directory")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.tree:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(args.tree).resolve()), env.get("PYTHONPATH")]))
    workdir = Path(tempfile.mkdtemp(prefix="kflow-cold-"))
    commands = {"python -c pass": [sys.executable, "-c", "pass"]}
    for name, task in CASES.items():
        path = workdir / f"{task['id']}.json"
        path.write_text(invocation(task))
        commands[name] = [sys.executable, "-m", "kflow.runner", "--invocation", str(path), "--result", str(workdir / "result.json")]
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    load_before = os.getloadavg()[0]
    for name, command in commands.items():  # warm the page cache once
        timed(command, env)
    for _ in range(args.rounds):
        for name, command in commands.items():
            samples[name].append(timed(command, env))
    bare_wall = statistics.median(w for w, _ in samples["python -c pass"])
    bare_cpu = statistics.median(c for _, c in samples["python -c pass"])
    report: dict[str, object] = {"rounds": args.rounds, "tree": args.tree or "installed kflow", "load average (1 min) before/after": [round(load_before, 1), round(os.getloadavg()[0], 1)]}
    for name, runs in samples.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        entry = {"wall ms": round(wall * 1000, 1), "cpu ms": round(cpu * 1000, 1)}
        if name != "python -c pass":
            entry |= {
                "wall over bare ms": round((wall - bare_wall) * 1000, 1),
                "cpu over bare ms": round((cpu - bare_cpu) * 1000, 1),
                "wall ratio": round(wall / bare_wall, 2),
                "cpu ratio": round(cpu / bare_cpu, 2),
            }
        report[name] = entry
    print(json.dumps(report, indent=2))
    ret = report["Return"]
    print(f"Return runner: +{ret['wall over bare ms']} ms wall / +{ret['cpu over bare ms']} ms CPU over `python -c pass` ({ret['wall ratio']}x wall); goal +60 ms")  # type: ignore[index]


if __name__ == "__main__":
    main()
