"""What ForEachItem's items task run costs in the status: its outputs' size and the engine's
time per child end, for N batches (pure engine, no cluster).

    python bench/foreach_item_status.py [N]
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone

from kflow.engine import AttemptEnded, Engine, RunTask
from kflow.execution import State
from kflow.flow import parse_flow


def main(batches: int) -> None:
    flow = parse_flow({"id": "p", "namespace": "t", "tasks": [{
        "id": "each", "type": "io.kestra.plugin.core.flow.ForEachItem", "items": "kestra:///t/items.jsonl",
        "namespace": "t", "flowId": "child", "inputs": {"batch": "{{ taskrun.items }}"}}]})
    engine, now = Engine(flow), datetime.now(timezone.utc)
    run = engine.load(engine.new_execution("X", {}, now))
    split = next(a for a in engine.start(run, now).actions if isinstance(a, RunTask))
    starts = engine.step(run, [AttemptEnded(split.taskrun_id, 0, State.SUCCESS, {"splits": "s", "numberOfBatches": batches, "extension": ".jsonl"})], now).actions
    began = time.perf_counter()
    for action in starts:
        outputs = {"executionId": action.execution_id, "state": "SUCCESS", "outputs": {"n": "1"}}
        engine.step(run, [AttemptEnded(action.taskrun_id, 0, State.SUCCESS, outputs, iteration=action.iteration)], now)
    spent = time.perf_counter() - began
    items = run.taskrun(starts[0].taskrun_id)
    print(f"{batches} batches: items outputs {len(json.dumps(items.outputs)):,} bytes, "
          f"engine {spent / batches * 1000:.2f} ms per child end, items task run {items.state.current.value}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
