"""Large executions on the real cluster: the status stays compact, pods do not pile up.

Finished task runs move into sealed chunks of status.archive (kflow/operator/status_archive.py);
with collect_finished_pods=WhenRecorded each pod goes as soon as the status records its end.
Measurements (object size, `kubectl get` time, pods/s) are printed, never asserted on time.
"""

from __future__ import annotations

import json
import os
import statistics
import time

import pytest

from kflow.operator.resources import taskruns_from_status

pytestmark = pytest.mark.cluster

LIMIT = 1_572_864  # about what etcd and the API server accept for one object
OPERATOR_ENV = {
    "KFLOW_KEEP_FINISHED_PODS": "Never",
    "KFLOW_COLLECT_FINISHED_PODS": "WhenRecorded",
    "KFLOW_STATUS_CHUNK_SIZE": "50",
    # Small requests: the node has 2 CPUs and other tests run beside this one.
    "KFLOW_RUNNER_RESOURCES": json.dumps({"requests": {"cpu": "5m", "memory": "32Mi"}, "limits": {"memory": "256Mi"}}),
}


def wide_parallel(n: int, concurrent: int) -> str:
    tasks = "\n".join(f"      - {{id: t{i}, type: io.kestra.plugin.core.debug.Return, format: '{{{{ task.id }}}} done'}}" for i in range(n))
    return f"id: wide\nnamespace: t\ntasks:\n  - id: par\n    type: io.kestra.plugin.core.flow.Parallel\n    concurrent: {concurrent}\n    tasks:\n{tasks}\n"


# A pod per value: this 2-CPU node starts about 1 runner pod/s, so 5,000 would take 85 minutes;
# 300 by default (about 5 minutes), more with KFLOW_TEST_FOREACH_VALUES.
VALUES = int(os.environ.get("KFLOW_TEST_FOREACH_VALUES", "300"))
FOREACH = """
id: many
namespace: t
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ range(1, %d) }}"
    concurrencyLimit: 100
    tasks:
      - {id: echo, type: io.kestra.plugin.core.debug.Return, format: "{{ taskrun.value }}"}
""" % VALUES

# 5,000 values, every 100th runs a pod: most iterations end in the engine, hundreds in one step.
FILTERED = """
id: filtered
namespace: t
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ range(1, 5000) }}"
    concurrencyLimit: 100
    tasks:
      - id: pick
        type: io.kestra.plugin.core.flow.If
        condition: "{{ taskrun.value | number % 100 == 0 }}"
        then:
          - {id: work, type: io.kestra.plugin.core.debug.Return, format: "{{ parent.taskrun.value }}"}
  - {id: after, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.work | length }}"}
"""


class Watch:
    """Samples an execution while it runs: pods alive, task runs in plain JSON, chunks."""

    def __init__(self, kflow, name: str):
        self.kflow, self.name = kflow, name
        self.max_pods = self.max_plain = 0
        self.samples = 0

    def sample(self, execution: dict) -> None:
        status = execution.get("status") or {}
        self.max_plain = max(self.max_plain, len(status.get("taskRuns") or {}))
        self.max_pods = max(self.max_pods, sum(1 for p in self.kflow.pods(self.name) if not p.metadata.deletion_timestamp))
        self.samples += 1

    def until(self, condition):
        def check(execution: dict) -> bool:
            self.sample(execution)
            return condition(execution)
        return check


def measure(cluster, kflow, name: str) -> dict:
    """The object as `kubectl get -o json` prints it (indented) and as stored (compact), and `kubectl get` time."""
    body = cluster.kubectl("get", "execution", name, "-n", kflow.namespace, "-o", "json").stdout
    compact = json.dumps(json.loads(body), separators=(",", ":"))
    times = []
    for _ in range(5):
        start = time.perf_counter()
        table = cluster.kubectl("get", "executions", "-n", kflow.namespace).stdout
        times.append(time.perf_counter() - start)
    assert name in table and "SUCCESS" in table
    return {"object_bytes": len(body.encode()), "compact_bytes": len(compact.encode()), "get_executions_s": statistics.median(times)}


def archived_bytes_per_run(status: dict) -> float:
    """What one finished task run costs in status.archive."""
    from kflow.operator.status_archive import decode_chunk

    chunks = status.get("archive") or {}
    runs = sum(len(decode_chunk(text)) for text in chunks.values())
    return sum(len(k) + len(v) + 6 for k, v in chunks.items()) / max(runs, 1)


def finished(execution: dict) -> bool:
    return (execution.get("status") or {}).get("current") in ("SUCCESS", "WARNING", "FAILED", "KILLED")


def test_wide_parallel_is_compacted_and_survives_an_operator_crash(cluster, kflow, operator_factory, capsys):
    n, concurrent, chunk = 200, 10, 25  # 2 CPUs shared with other tests: more pods at once only thrash
    operator = operator_factory(**{**OPERATOR_ENV, "KFLOW_STATUS_CHUNK_SIZE": str(chunk)})
    kflow.apply_flow(wide_parallel(n, concurrent))
    started = time.monotonic()
    kflow.execute("wide", "wide-1")
    watch = Watch(kflow, "wide-1")
    # Crash once two chunks are sealed: the restarted operator must rebuild from chunks + taskRuns.
    kflow.wait("wide-1", timeout=900, until=watch.until(lambda e: finished(e) or len((e.get("status") or {}).get("archive") or {}) >= 2))
    operator.kill()
    operator.start()
    execution = kflow.wait("wide-1", timeout=900, until=watch.until(finished))
    wall = time.monotonic() - started
    status = execution["status"]
    assert status["current"] == "SUCCESS", status.get("error")
    runs = taskruns_from_status(status)
    assert len(runs) == n + 1 and status["progress"] == f"{n + 1}/{n + 1}"
    tasks = [tr for tr in runs if tr["taskId"] != "par"]
    assert sorted(tr["outputs"]["value"] for tr in tasks) == sorted(f"t{i} done" for i in range(n))
    assert all(len(tr["attempts"]) == 1 for tr in tasks), "the crash made no attempt run twice"
    chunks, plain_left = len(status["archive"]), len(status.get("taskRuns") or {})
    assert sorted(status["archive"], key=int) == [str(i) for i in range(chunks)]
    assert chunks * chunk + plain_left == n + 1 and plain_left < chunk + concurrent + 1, (chunks, plain_left)
    assert watch.max_plain <= 2 * chunk + concurrent + 1, watch.max_plain  # a chunk's worth of finished ones, the running ones, the Parallel
    assert watch.max_pods < n / 3, f"finished pods piled up: {watch.max_pods} at once"
    figures = measure(cluster, kflow, "wide-1")
    plain = sum(len(json.dumps(tr, separators=(",", ":"))) for tr in runs)
    per_run = archived_bytes_per_run(status)
    assert per_run < plain / len(runs) / 4, (per_run, plain / len(runs))  # sealed chunks: a fraction of plain JSON
    with capsys.disabled():
        print(f"\n{n}-task Parallel (concurrent {concurrent}), one operator crash: {wall:.0f} s, {n / wall:.1f} pods/s; "
              f"object {figures['object_bytes']:,} bytes as kubectl prints it, {figures['compact_bytes']:,} stored "
              f"(task runs alone as plain JSON: {plain:,}; archived: {per_run:.0f} B/run vs {plain / len(runs):.0f}); "
              f"`kubectl get executions` {figures['get_executions_s'] * 1000:.0f} ms; "
              f"at most {watch.max_pods} pods alive and {watch.max_plain} plain task runs over {watch.samples} samples")


def test_foreach_over_5000_values_most_ending_in_the_engine(cluster, kflow, operator_factory, capsys):
    operator_factory(**OPERATOR_ENV)
    kflow.apply_flow(FILTERED)
    started = time.monotonic()
    kflow.execute("filtered", "filtered-1")
    execution = kflow.wait("filtered-1", timeout=900)
    wall = time.monotonic() - started
    status = execution["status"]
    assert status["current"] == "SUCCESS", status.get("error")
    runs = taskruns_from_status(status)
    picks = [tr for tr in runs if tr["taskId"] == "pick"]
    assert sorted(int(tr["value"]) for tr in picks) == list(range(1, 5001)), "every value once"
    works = sorted(int(tr["outputs"]["value"]) for tr in runs if tr["taskId"] == "work")
    assert works == list(range(100, 5001, 100))
    assert next(tr for tr in runs if tr["taskId"] == "after")["outputs"]["value"] == "50"
    figures = measure(cluster, kflow, "filtered-1")
    assert figures["compact_bytes"] < LIMIT / 3
    with capsys.disabled():
        print(f"\nForEach over 5,000 values, 50 pods: {wall:.0f} s; {len(runs):,} task runs; object {figures['object_bytes']:,} bytes "
              f"as kubectl prints it, {figures['compact_bytes']:,} stored; `kubectl get executions` {figures['get_executions_s'] * 1000:.0f} ms")


@pytest.mark.slow
def test_foreach_a_pod_per_value(cluster, kflow, operator_factory, capsys):
    operator_factory(**OPERATOR_ENV)
    kflow.apply_flow(FOREACH)
    started = time.monotonic()
    kflow.execute("many", "many-1")
    watch = Watch(kflow, "many-1")
    execution = kflow.wait("many-1", timeout=5400, until=watch.until(finished))
    wall = time.monotonic() - started
    status = execution["status"]
    assert status["current"] == "SUCCESS", status.get("error")
    runs = taskruns_from_status(status)
    echoes = [tr for tr in runs if tr["taskId"] == "echo"]
    assert [tr["outputs"]["value"] for tr in echoes] == [str(i) for i in range(1, VALUES + 1)], "every value once, in order"
    chunks, plain_left = len(status["archive"]), len(status.get("taskRuns") or {})
    assert len(runs) == VALUES + 1 and chunks * 50 + plain_left == VALUES + 1 and plain_left < 50 + 100 + 1, (chunks, plain_left)
    assert watch.max_pods < 300, f"finished pods piled up: {watch.max_pods} at once"
    figures = measure(cluster, kflow, "many-1")
    assert figures["compact_bytes"] < LIMIT / 3
    with capsys.disabled():
        print(f"\nForEach over {VALUES:,} values (concurrencyLimit 100): {wall:.0f} s, {VALUES / wall:.1f} pods/s; "
              f"object {figures['object_bytes']:,} bytes as kubectl prints it, {figures['compact_bytes']:,} stored; "
              f"`kubectl get executions` {figures['get_executions_s'] * 1000:.0f} ms; "
              f"at most {watch.max_pods} pods alive, {watch.max_plain} plain task runs")


def test_finished_pods_go_as_soon_as_recorded_failed_ones_stay(kflow, operator_factory):
    """WhenRecorded + OnFailure: a succeeded task's pod is deleted while the execution still runs
    (held by a Pause, so nothing here depends on timing); the failed one is kept for inspection."""
    operator_factory(KFLOW_KEEP_FINISHED_PODS="OnFailure", KFLOW_COLLECT_FINISHED_PODS="WhenRecorded")
    kflow.apply_flow(
        "id: gated\nnamespace: t\ntasks:\n"
        "  - {id: ok, type: io.kestra.plugin.core.debug.Return, format: fine}\n"
        "  - {id: hold, type: io.kestra.plugin.core.flow.Pause}\n"
        "  - {id: fails, type: io.kestra.plugin.core.debug.Return, format: '{{ outputs.nope }}'}\n"
    )
    kflow.execute("gated", "gated-1")
    kflow.wait("gated-1", timeout=300, until=lambda e: (e.get("status") or {}).get("current") == "PAUSED")
    deadline = time.monotonic() + 120
    while any(p.metadata.labels["kflow.io/task"] == "ok" for p in kflow.pods("gated-1")):
        assert time.monotonic() < deadline, "the succeeded pod was not deleted once recorded"
        time.sleep(0.3)
    assert kflow.get("executions", "gated-1")["status"]["current"] == "PAUSED"  # deleted before the end
    kflow.patch_spec("gated-1", {"resume": 1})
    assert kflow.wait("gated-1", timeout=300)["status"]["current"] == "FAILED"
    deadline = time.monotonic() + 60
    while True:
        left = {p.metadata.labels["kflow.io/task"] for p in kflow.pods("gated-1") if not p.metadata.deletion_timestamp}
        if left == {"fails"}:
            break
        assert time.monotonic() < deadline, left
        time.sleep(0.3)
