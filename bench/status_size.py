"""How big an Execution's status gets, and what one status write costs, as task runs pile up.

    python bench/status_size.py [N ...]      (default: 1000 5000 10000 20000)

Synthetic ForEach children shaped as the engine writes them (22-character ids, microsecond
dates, an output), 100 running at once, each step starting one and finishing one. Compared:
the status as plain JSON (every task run in `taskRuns`) and compacted (status_archive.py,
chunks of 50, the operator's default). Per write: bytes of the merge patch and the time of
StatusArchive.update + commit, averaged over the last 1,000 writes: flat in N means a write
costs the change, not the execution. The API server refuses an object of about 1.5 MiB.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone

from kflow.engine.ids import taskrun_id
from kflow.operator.status_archive import CHUNK_SIZE, StatusArchive

EXECUTION = "4ZWnQ8sY3bJ1x0aKpVtLqe"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _taskrun(parent: str, i: int, created: datetime, ended: datetime | None) -> dict:
    histories = [{"state": "CREATED", "date": _iso(created)}, {"state": "RUNNING", "date": _iso(created)}]
    if ended:
        histories.append({"state": "SUCCESS", "date": _iso(ended)})
    info = {"current": "SUCCESS" if ended else "RUNNING", "histories": histories}
    run = {"id": taskrun_id(EXECUTION, parent, "echo", f"{i}:{i + 1}"), "taskId": "echo", "parentTaskRunId": parent,
           "value": str(i + 1), "iteration": i, "state": info, "attempts": [{"state": info}]}
    if ended:
        run["outputs"] = {"value": str(i + 1)}
    return run


def steps(n: int, concurrency: int = 100):
    """(i, task runs changed) for each write of a ForEach over n values, `concurrency` at once:
    each write starts one task run and finishes the oldest running one."""
    parent = taskrun_id(EXECUTION, None, "each", None)
    now, running = T0, []
    for i in range(n + concurrency):
        now += timedelta(milliseconds=37, microseconds=i * 7919 % 1000)
        changed = {}
        if i < n:
            started = _taskrun(parent, i, now, None)
            changed[started["id"]] = started
            running.append((i, now))
        if len(running) > concurrency or (i >= n and running):
            j, created = running.pop(0)
            done = _taskrun(parent, j, created, now)
            changed[done["id"]] = done
        yield i, changed


def run(n: int, concurrency: int = 100, chunk_size: int = CHUNK_SIZE) -> dict:
    archive = StatusArchive(chunk_size)
    plain: dict[str, int] = {}  # id -> bytes of its JSON, for the uncompacted size
    stored_runs: dict[str, int] = {}
    chunks: dict[str, int] = {}
    patch_bytes, seconds, writes = 0, 0.0, 0
    for i, changed in steps(n, concurrency):
        begin = time.perf_counter()
        delta = archive.update(changed)
        archive.commit(delta)
        spent = time.perf_counter() - begin
        fragment = delta.fragment()
        for key, taskrun in fragment["taskRuns"].items():
            if taskrun is None:
                stored_runs.pop(key, None)
            else:
                stored_runs[key] = plain[key] = len(json.dumps(taskrun, separators=(",", ":")))
        chunks.update({k: len(v) for k, v in fragment.get("archive", {}).items()})
        if i >= n + concurrency - 1000:
            patch_bytes += len(json.dumps(fragment, separators=(",", ":")))
            seconds += spent
            writes += 1
    return {
        "n": n,
        "plain": sum(plain.values()),
        "compacted": sum(stored_runs.values()) + sum(chunks.values()),
        "chunks": len(chunks),
        "patch_bytes": patch_bytes / writes,
        "write_us": seconds / writes * 1e6,
    }


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1000, 5000, 10000, 20000]
    print(f"{'task runs':>9}  {'plain JSON':>12}  {'compacted':>10}  {'B/run':>5}  {'chunks':>6}  {'patch B/write':>13}  {'update µs/write':>15}")
    for n in sizes:
        r = run(n)
        print(f"{r['n']:>9,}  {r['plain']:>12,}  {r['compacted']:>10,}  {r['compacted'] / n:>5.0f}  {r['chunks']:>6}  {r['patch_bytes']:>13,.0f}  {r['write_us']:>15,.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
