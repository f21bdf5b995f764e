"""Status writes of a large execution against the real API server: compacted vs plain.

    python bench/status_writes.py [N] [--plain]     (N task runs, default 5000; needs tests/cluster/up)

Writes, to one Execution object of a fresh namespace (no operator watches it), the sequence of
merge patches the operator makes for a ForEach over N values with 100 at once (bench/status_size
generates the task runs): each write starts one task run and finishes one. Compacted is what the
operator does (status_archive.py, chunks of 50); --plain keeps every task run in `taskRuns`,
as before, and shows where the API server refuses the object. Prints the object size, write
latency at the start and at the end of the run, and the time of `kubectl get executions`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.status_size import steps  # noqa: E402
from kflow.operator.status_archive import CHUNK_SIZE, StatusArchive  # noqa: E402


def main(argv: list[str]) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    from tests.cluster import harness
    from tests.operator.support import apply_crds

    n = int(next((a for a in argv if a.isdigit()), 5000))
    plain = "--plain" in argv
    cluster = harness.Cluster()
    api = cluster.api_client()
    apply_crds(api)
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    namespace = f"bench-status-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": namespace}})
    try:
        custom.create_namespaced_custom_object("kflow.io", "v1alpha1", namespace, "executions", {
            "apiVersion": "kflow.io/v1alpha1", "kind": "Execution", "metadata": {"name": "big"}, "spec": {"flowRef": {"name": "many"}}})
        archive = StatusArchive(10**9 if plain else CHUNK_SIZE)
        latencies = []
        refused = None
        for i, changed in steps(n, 100):
            delta = archive.update(changed)
            patch = {"status": {"current": "RUNNING", "progress": f"{max(0, i - 100)}/{min(i + 1, n)}", **delta.fragment()}}
            begin = time.perf_counter()
            try:
                custom.patch_namespaced_custom_object_status("kflow.io", "v1alpha1", namespace, "executions", "big", patch)
            except ApiException as err:
                refused = (i, err.status, (err.body or "")[:200])
                break
            latencies.append(time.perf_counter() - begin)
            archive.commit(delta)
        out = subprocess.run([str(cluster.kubectl_bin), "--kubeconfig", str(cluster.kubeconfig), "get", "execution", "big", "-n", namespace, "-o", "json"],
                             check=True, capture_output=True, text=True).stdout
        gets = []
        for _ in range(5):
            begin = time.perf_counter()
            subprocess.run([str(cluster.kubectl_bin), "--kubeconfig", str(cluster.kubeconfig), "get", "executions", "-n", namespace], check=True, capture_output=True)
            gets.append(time.perf_counter() - begin)
        first, last = latencies[:500], latencies[-500:]
        mode = "plain" if plain else "compacted"
        print(f"{mode}: {len(latencies):,} writes of {n:,} task runs" + (f"; REFUSED at write {refused[0]:,}: HTTP {refused[1]} {refused[2]}" if refused else ""))
        print(f"  object as `kubectl get -o json`: {len(out.encode()):,} bytes")
        print(f"  write latency p50 first 500 {statistics.median(first) * 1000:.1f} ms, last 500 {statistics.median(last) * 1000:.1f} ms; "
              f"p99 last 500 {sorted(last)[int(len(last) * 0.99)] * 1000:.1f} ms")
        print(f"  `kubectl get executions`: median of 5 {statistics.median(gets) * 1000:.0f} ms")
    finally:
        core.delete_namespace(namespace)


if __name__ == "__main__":
    main(sys.argv[1:])
