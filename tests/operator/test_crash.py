"""Crash safety: the operator is SIGKILLed again and again while executions run."""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from tests.operator.support import taskruns

pytestmark = pytest.mark.cluster

FLOW = """
id: crashy
namespace: t
tasks:
  - id: fan
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: left
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - {id: l1, type: io.kestra.plugin.core.debug.Return, format: "l1 {{ execution.id }}"}
          - {id: l2, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.l1.value }} l2"}
          - {id: l3, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.l2.value }} l3"}
      - id: right
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - {id: r1, type: io.kestra.plugin.core.flow.Sleep, duration: PT1S}
          - {id: r2, type: io.kestra.plugin.core.debug.Return, format: "r2"}
  - {id: last, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.l3.value }} + {{ outputs.r2.value }}"}
"""


def test_operator_killed_repeatedly_loses_nothing_and_duplicates_no_pod(kflow, operator):
    kflow.apply_flow(FLOW)
    names = [f"crashy-{i}" for i in range(4)]
    for name in names:
        kflow.execute("crashy", name)
    rng = random.Random(7)
    kills = 0
    for _ in range(10):  # SIGKILL at random instants: mid-reconcile, mid-startup, idle
        time.sleep(rng.uniform(0.5, 4.0))
        operator.kill()
        kills += 1
        operator.start()
        states = [(kflow.get("executions", n).get("status") or {}).get("current") for n in names]
        if all(s in ("SUCCESS", "FAILED", "KILLED", "WARNING") for s in states):
            break
    assert kills >= 3
    for name in names:
        execution = kflow.wait(name, timeout=120)
        assert execution["status"]["current"] == "SUCCESS", execution["status"]
        runs = taskruns(execution)
        assert runs["last"]["outputs"]["value"] == f"l1 {execution['status']['id']} l2 l3 + r2"
        pods = kflow.pods(name)
        per_attempt = Counter((p.metadata.labels["kflow.io/taskrun"], p.metadata.labels["kflow.io/attempt"]) for p in pods)
        assert all(n == 1 for n in per_attempt.values())
        runnable = {tid: tr for tid, tr in runs.items() if tr.get("attempts")}
        assert sum(len(tr["attempts"]) for tr in runnable.values()) == len(pods), "a pod per attempt, no more"
        assert all(len(tr["attempts"]) == 1 for tr in runnable.values()), "no attempt was lost and redone"
