"""How fast the pure engine drives big flows, and how a step's cost grows with size.

Run: python bench/engine_steps.py. Prints steps per second for a Sequential, a Parallel and a
ForEach of N tasks (ForEach: N values, 100 at a time, one task each), and the time per step at N = 100, 1,000 and 10,000 relative to N = 100 (a ratio
near 1 means a step costs what changed, not what exists).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from kflow.engine import AttemptEnded, Engine, RunTask
from kflow.execution import State
from kflow.flow import parse_flow

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def make_flow(kind: str, n: int):
    if kind == "ForEach":  # one task run per value; 100 values at a time
        one = [{"id": "each", "type": "io.kestra.plugin.core.debug.Return", "format": "{{ taskrun.value }}"}]
        root = {"id": "root", "type": "io.kestra.plugin.core.flow.ForEach", "values": list(range(n)), "concurrencyLimit": 100, "tasks": one}
    else:
        children = [{"id": f"t{i}", "type": "io.kestra.plugin.core.debug.Return", "format": "x"} for i in range(n)]
        root = {"id": "root", "type": f"io.kestra.plugin.core.flow.{kind}", "tasks": children}
    return parse_flow({"id": "bench", "namespace": "bench", "tasks": [root]})


def drive(kind: str, n: int) -> tuple[float, int]:
    """Seconds spent inside the engine, and the number of steps, to run the flow to its end."""
    engine = Engine(make_flow(kind, n))
    run = engine.load(engine.new_execution("bench", {}, T0))
    started = time.perf_counter()
    pending = [a for a in engine.start(run, T0).actions if isinstance(a, RunTask)]
    steps = 0
    while pending:
        action = pending.pop()
        result = engine.step(run, [AttemptEnded(action.taskrun_id, action.attempt, State.SUCCESS, {"value": "x"})], T0)
        pending.extend(a for a in result.actions if isinstance(a, RunTask))
        steps += 1
    elapsed = time.perf_counter() - started
    assert run.execution.state.current == State.SUCCESS
    return elapsed, steps


def _time_per_step(kind: str, n: int) -> float:
    """Best of 3 trials, each driving at least 10,000 steps, so small flows are no noisier."""
    trials = []
    for _ in range(3):
        total_time = total_steps = 0
        for _ in range(max(1, 10_000 // n)):
            elapsed, steps = drive(kind, n)
            total_time += elapsed
            total_steps += steps
        trials.append(total_time / total_steps)
    return min(trials)


def main() -> None:
    report = {}
    for kind in ("Sequential", "Parallel", "ForEach"):
        elapsed, steps = drive(kind, 1000)
        report[f"{kind} 1,000 tasks: steps/s"] = round(steps / elapsed)
        per_step = {n: _time_per_step(kind, n) for n in (100, 1000, 10_000)}
        for n in (1000, 10_000):
            report[f"{kind} time per step at {n:,} vs 100"] = round(per_step[n] / per_step[100], 2)
        report[f"{kind} 10,000 tasks: µs per step"] = round(per_step[10_000] * 1e6, 1)
    elapsed, steps = drive("ForEach", 10_000)
    report["ForEach 10,000 values: task runs/s"] = round(steps / elapsed)
    # Kestra's own benchmark reports about 25 task runs/s for a 100-iteration ForEach.
    report["ForEach 10,000 values: vs Kestra's 25/s"] = round(steps / elapsed / 25)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
