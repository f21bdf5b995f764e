"""What the operator adds per task, measured on the real test cluster in one run.

Run (as root, the test cluster is started if needed): python bench/operator_latency.py [N]

1. A bare pod running one Return task (the same runner, image and invocation the operator
   would use), create to Succeeded, against a one-task flow's Execution, create to SUCCESS.
2. In a Sequential of Return tasks: the gap between one task's pod ending (its container seen terminated)
   and the next task's pod being created (seen ADDED), p50 and p99.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.cluster import harness  # noqa: E402
from tests.operator.support import Kflow, Operator, apply_crds  # noqa: E402

from kflow.engine import Engine, RunTask  # noqa: E402
from kflow.flow import load_flow  # noqa: E402
from kflow.operator.pods import pod_manifest  # noqa: E402
from kflow.operator.settings import OperatorSettings  # noqa: E402

ONE = "id: one\nnamespace: bench\ntasks:\n  - {id: r, type: io.kestra.plugin.core.debug.Return, format: '{{ task.id }} of {{ flow.id }}'}\n"


def seq_flow(n: int) -> str:
    tasks = "\n".join(f"      - {{id: t{i:02d}, type: io.kestra.plugin.core.debug.Return, format: x}}" for i in range(n))
    return f"id: seq\nnamespace: bench\ntasks:\n  - id: s\n    type: io.kestra.plugin.core.flow.Sequential\n    tasks:\n{tasks}\n"


class PodWatch(threading.Thread):
    """Client-side times at which each pod was first seen, and first seen ended (its container terminated)."""

    def __init__(self, api_client, namespace: str):
        super().__init__(daemon=True)
        from kubernetes import client

        self.core = client.CoreV1Api(api_client)
        self.namespace = namespace
        self.added: dict[str, float] = {}
        self.succeeded: dict[str, float] = {}
        self.labels: dict[str, dict] = {}

    def run(self) -> None:
        from kubernetes import watch

        for event in watch.Watch().stream(self.core.list_namespaced_pod, self.namespace, timeout_seconds=3600):
            pod = event["object"]
            now = time.monotonic()
            self.added.setdefault(pod.metadata.name, now)
            self.labels[pod.metadata.name] = pod.metadata.labels or {}
            statuses = pod.status.container_statuses or []
            if pod.status.phase == "Succeeded" or any(c.state.terminated for c in statuses):
                self.succeeded.setdefault(pod.metadata.name, now)  # as the operator sees an end

    def wait_succeeded(self, name: str, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        while name not in self.succeeded:
            if time.monotonic() > deadline:
                raise TimeoutError(name)
            time.sleep(0.005)
        return self.succeeded[name]


def wait_state(kflow: Kflow, name: str, timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while True:
        status = kflow.get("executions", name).get("status") or {}
        if status.get("current") in ("SUCCESS", "FAILED", "KILLED", "WARNING"):
            assert status["current"] == "SUCCESS", status
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(name)
        time.sleep(0.01)


def bare_pod(namespace: str, name: str) -> dict:
    """The operator's own manifest for the one-task flow, as a standalone pod."""
    engine = Engine(load_flow(ONE))
    run = engine.load(engine.new_execution("bare", {}, datetime.now(timezone.utc)))
    action = next(a for a in engine.start(run, datetime.now(timezone.utc)).actions if isinstance(a, RunTask))
    settings = OperatorSettings(image="localhost/kflow:dev", image_pull_policy="Never")
    manifest = pod_manifest({"metadata": {"name": name, "namespace": namespace, "uid": "bare"}}, action, engine.invocation(run, action), settings)
    manifest["metadata"] = {"name": name, "namespace": namespace}
    return manifest


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    harness.up()
    harness.load_image()  # task pods must run the code being measured
    cluster = harness.Cluster()
    api = cluster.api_client()
    apply_crds(api)
    kflow_ns = f"bench-{uuid.uuid4().hex[:6]}"
    from kubernetes import client

    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": kflow_ns}})
    while True:
        try:
            core.read_namespaced_service_account("default", kflow_ns)
            break
        except client.exceptions.ApiException:
            time.sleep(0.2)
    operator = Operator(str(cluster.kubeconfig), kflow_ns, Path(tempfile.mkdtemp()), {"KFLOW_KEEP_FINISHED_PODS": "Always"})
    pods = PodWatch(api, kflow_ns)
    pods.start()
    kflow = Kflow(api, kflow_ns)
    try:
        operator.start()
        kflow.apply_flow(ONE)
        kflow.apply_flow(seq_flow(12))
        kflow.execute("one", "warmup")
        wait_state(kflow, "warmup")

        bare, flows = [], []
        for i in range(n):
            started = time.monotonic()
            core.create_namespaced_pod(kflow_ns, bare_pod(kflow_ns, f"bare-{i}"))
            bare.append(pods.wait_succeeded(f"bare-{i}") - started)
            started = time.monotonic()
            kflow.execute("one", f"one-{i}")
            flows.append(wait_state(kflow, f"one-{i}") - started)

        gaps = []
        for i in range(3):
            kflow.execute("seq", f"seq-{i}")
            wait_state(kflow, f"seq-{i}", timeout=300)
            mine = sorted(
                (p for p, labels in pods.labels.items() if labels.get("kflow.io/execution") == f"seq-{i}"),
                key=lambda p: pods.labels[p]["kflow.io/task"],
            )
            for before, after in zip(mine, mine[1:]):
                gaps.append(pods.added[after] - pods.succeeded[before])
    finally:
        operator.stop()
        core.delete_namespace(kflow_ns)

    def ms(values, q=None):
        if q is None:
            return round(statistics.median(values) * 1000)
        return round(statistics.quantiles(values, n=100)[q - 1] * 1000)

    print(json.dumps({
        "bare pod, create to Succeeded, median (ms)": ms(bare),
        "one-task flow, Execution create to SUCCESS, median (ms)": ms(flows),
        "operator overhead per one-task flow, median (ms)": ms(flows) - ms(bare),
        "ratio flow / bare pod": round(statistics.median(flows) / statistics.median(bare), 2),
        "pod ended -> next pod created, p50 (ms)": ms(gaps),
        "pod ended -> next pod created, p99 (ms)": ms(gaps, 99),
        "samples": {"bare": len(bare), "flows": len(flows), "gaps": len(gaps)},
    }, indent=2))


if __name__ == "__main__":
    main()
