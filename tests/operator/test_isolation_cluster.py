"""One hostile flow cannot stall the operator for the others (issue 12), on the real cluster.

The bad flow's single engine step renders four catastrophic-backtracking regexes (a Parallel of
four Ifs): each runs until the render deadline (10 s of CPU: the regex module counts CPU time),
40 s of CPU in all, longer in wall time on a busy node. Were that step on the operator's event
loop, nothing else would move until it ended; off the loop, a normal Execution started beside
it runs to its end while the step is still rendering.
"""

from __future__ import annotations

import time

import pytest

from tests.operator.support import apply_crds, taskruns

pytestmark = pytest.mark.cluster

NORMAL = """
id: normal
namespace: team.a
tasks:
  - {id: one, type: io.kestra.plugin.core.debug.Return, format: "one"}
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "{{ outputs.one.value == 'one' }}"
    then:
      - {id: two, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.one.value }} two"}
  - {id: three, type: io.kestra.plugin.core.debug.Return, format: "three"}
"""

BOMB_IF = """      - id: bomb{n}
        type: io.kestra.plugin.core.flow.If
        condition: "{{{{ ('a' * 40 ~ 'b') | replace({{'(a|aa)+$': 'x'}}, regexp=true) == 'x' }}}}"
        then:
          - {{id: never{n}, type: io.kestra.plugin.core.debug.Return, format: never}}
"""

BOMBS = """
id: bombs
namespace: team.b
tasks:
  - id: all
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
""" + "".join(BOMB_IF.format(n=n) for n in range(4))

HUGE = """
id: huge
namespace: team.b
tasks:
  - id: pad
    type: io.kestra.plugin.core.flow.If
    condition: "{{ 'x'.ljust(2000000000) | length > 0 }}"
    then:
      - {id: never, type: io.kestra.plugin.core.debug.Return, format: never}
"""


def _duration(kflow, name: str) -> float:
    start = time.monotonic()
    execution = kflow.wait(name, timeout=600)
    assert execution["status"]["current"] == "SUCCESS", execution["status"]
    return time.monotonic() - start


def test_a_regex_bomb_in_one_execution_does_not_stall_another(kflow, operator):
    kflow.apply_flow(NORMAL)
    kflow.apply_flow(BOMBS)
    kflow.apply_flow(HUGE)
    kflow.wait_flow("normal")
    kflow.wait_flow("bombs")

    kflow.execute("normal", "normal-alone")
    alone = _duration(kflow, "normal-alone")

    started = time.monotonic()
    kflow.execute("bombs", "bombs-1")
    time.sleep(1)  # the bomb step is under way
    kflow.execute("normal", "normal-beside")
    beside = _duration(kflow, "normal-beside")
    bombs_status = (kflow.get("executions", "bombs-1").get("status") or {}).get("current")
    bad = kflow.wait("bombs-1", timeout=1200)
    bomb_step = time.monotonic() - started
    print(f"normal execution: alone {alone:.1f}s, beside four regex bombs {beside:.1f}s; the bomb step took {bomb_step:.1f}s")

    # the normal execution ended while the bomb step was still rendering (no status yet)
    assert bombs_status is None, bombs_status
    assert bad["status"]["current"] == "FAILED"
    runs = taskruns(bad)
    for n in range(4):
        reason = str(runs[f"bomb{n}"])
        assert f"bomb{n}" in reason and "did not finish within the render deadline" in reason and "(a|aa)+$" in reason, reason

    kflow.execute("huge", "huge-1")
    huge = kflow.wait("huge-1", timeout=300)
    assert huge["status"]["current"] == "FAILED"
    assert "ljust() result exceeds 10485760 characters" in str(taskruns(huge)["pad"]), taskruns(huge)["pad"]


def test_flows_over_the_load_bounds_are_not_valid(kflow, operator):
    deep: dict = {"x": 1}
    for _ in range(150):
        deep = {"x": deep}
    kflow.custom.create_namespaced_custom_object("kflow.io", "v1alpha1", kflow.namespace, "flows", {
        "apiVersion": "kflow.io/v1alpha1", "kind": "Flow", "metadata": {"name": "deep"},
        "spec": {"namespace": "team.a", "variables": deep, "tasks": [{"id": "t", "type": "io.kestra.plugin.core.debug.Return", "format": "x"}]},
    })
    kflow.apply_flow(NORMAL.replace("id: normal\n", "id: bad-concurrency\nconcurrency: {limit: -1, behavior: MAYBE}\n"))
    for name, words in (("deep", ("variables", "nested deeper than 100 levels")), ("bad-concurrency", ("concurrency", "at least 1"))):
        deadline = time.monotonic() + 30
        while not (kflow.get("flows", name).get("status") or {}).get("conditions"):
            assert time.monotonic() < deadline, f"flow {name} has no status"
            time.sleep(0.2)
        condition = kflow.get("flows", name)["status"]["conditions"][0]
        assert condition["type"] == "Valid" and condition["status"] == "False", condition
        assert all(w in condition["message"] for w in words), condition


FAN_OUT = """
id: fan-out
namespace: team.a
tasks:
  - id: all
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
""" + "".join(f"      - {{id: s{n}, type: io.kestra.plugin.core.flow.Sleep, duration: PT2S}}\n" for n in range(6))


def _in_flight(pod) -> bool:
    """Its runner has not ended (a pod whose container ended may say Running a moment longer)."""
    if pod.status.phase == "Pending":
        return True
    return pod.status.phase == "Running" and not any(cs.state.terminated for cs in pod.status.container_statuses or [])


def test_pods_beyond_the_per_execution_cap_wait_in_the_status(kflow, operator_factory, k8s_api):
    apply_crds(k8s_api)  # status.waiting is new: CRDs are shared, another checkout may have applied older ones
    operator_factory(KFLOW_MAX_PODS_PER_EXECUTION="2")
    kflow.apply_flow(FAN_OUT)
    kflow.wait_flow("fan-out")
    kflow.execute("fan-out", "fan-out-1")
    most_alive, seen_waiting = 0, {}
    deadline = time.monotonic() + 300
    while True:
        execution = kflow.get("executions", "fan-out-1")
        status = execution.get("status") or {}
        seen_waiting.update(status.get("waiting") or {})
        alive = [p for p in kflow.pods("fan-out-1") if _in_flight(p)]
        most_alive = max(most_alive, len(alive))
        if status.get("current") in ("SUCCESS", "FAILED", "KILLED", "WARNING"):
            break
        assert time.monotonic() < deadline, status.get("progress")
        time.sleep(0.2)
    assert status["current"] == "SUCCESS", status
    assert most_alive <= 2, most_alive
    assert len(seen_waiting) >= 3 and all("maxPodsPerExecution" in why for why in seen_waiting.values()), seen_waiting
    assert not status.get("waiting"), status.get("waiting")  # every waiting attempt got its pod
    assert len(kflow.pods("fan-out-1")) == 6
    assert any(e.reason == "TaskWaiting" for e in kflow.events("fan-out-1"))
