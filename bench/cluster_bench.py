"""What the cluster benchmarks share: a namespace of their own on the test cluster, kflow's
operator as a local process, a watch of pods and of the operator's writes, bare pods as the
yardstick, and the kflow side of each workload (bench/scale.py, bench/peers/argo/run.py).

Everything here goes through the real API server of the test cluster (tests/cluster).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.cluster import harness  # noqa: E402
from tests.cluster.images import PROJECT_IMAGE  # noqa: E402
from tests.operator.support import Kflow, Operator, apply_crds  # noqa: E402

TERMINAL = ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED")
ONE_TASK = "id: one\nnamespace: bench\ntasks:\n  - {id: r, type: io.kestra.plugin.core.debug.Return, format: '{{ task.id }} of {{ flow.id }}'}\n"
ONE_PAUSE = "id: wait\nnamespace: bench\ntasks:\n  - {id: p, type: io.kestra.plugin.core.flow.Pause}\n"


def sequence_flow(n: int) -> str:
    tasks = "\n".join(f"      - {{id: t{i:02d}, type: io.kestra.plugin.core.debug.Return, format: x}}" for i in range(n))
    return f"id: seq\nnamespace: bench\ntasks:\n  - id: s\n    type: io.kestra.plugin.core.flow.Sequential\n    tasks:\n{tasks}\n"


def load() -> str:
    """The machine's load averages, to print beside every figure (the machine is shared)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def quantile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


class Session:
    """A fresh namespace on the test cluster (deleted at the end), with kflow's CRDs applied and
    the project image (KFLOW_TEST_IMAGE) loaded, so pods run the code being measured."""

    def __init__(self, prefix: str = "bench", load_image: bool = True):
        if not all(harness.running(c) for c in harness.COMPONENTS):  # up() waits for the harness lock
            harness.up()
        if load_image and os.environ.get("KFLOW_CLUSTER_LOAD_IMAGE", "1") != "0":
            harness.load_image()
        self.cluster = harness.Cluster()
        self.api = self.cluster.api_client()
        self.api.configuration.connection_pool_maxsize = 32
        from kubernetes import client

        self.core = client.CoreV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        apply_crds(self.api)
        self.namespace = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.core.create_namespace({"metadata": {"name": self.namespace}})
        while True:  # pods need the namespace's default service account
            try:
                self.core.read_namespaced_service_account("default", self.namespace)
                break
            except client.exceptions.ApiException:
                time.sleep(0.2)
        self.kflow = Kflow(self.api, self.namespace)
        self.operator: Operator | None = None

    def start_operator(self, env: dict[str, str] | None = None, sources: Path | None = None) -> Operator:
        """kflow's operator as a local process, as the chart runs it (not verbose;
        keepFinishedPods OnFailure, collected at the end), not as the tests do; `sources`:
        run the kflow package in that directory instead (e.g. an older checkout)."""
        from tests.operator import support

        self.operator = Operator(
            str(self.cluster.kubeconfig), self.namespace, Path(tempfile.mkdtemp(prefix="kflow-bench-")),
            {"KFLOW_KEEP_FINISHED_PODS": "OnFailure", **(env or {})}, verbose=False, sources=sources or support.ROOT,
        )
        self.operator.start()
        return self.operator

    def close(self) -> None:
        if self.operator:
            self.operator.stop()
        try:
            self.core.delete_namespace(self.namespace)
        except Exception as err:  # noqa: BLE001 - the figures are printed already
            print(f"could not delete namespace {self.namespace}: {err}", file=sys.stderr)


class Watcher(threading.Thread):
    """Counts events of one resource in the namespace, and remembers when each object was first
    seen and first seen done (by `done(obj)`), client-side, on the monotonic clock."""

    def __init__(self, list_fn: Callable, namespace: str, done: Callable[[Any], bool] = lambda obj: False, count: Callable[[Any], bool] = lambda obj: True):
        super().__init__(daemon=True)
        self.list_fn, self.namespace, self.done, self.count = list_fn, namespace, done, count
        self.added: dict[str, float] = {}
        self.ended: dict[str, float] = {}
        self.objects: dict[str, Any] = {}
        self.counts: dict[str, int] = {"ADDED": 0, "MODIFIED": 0, "DELETED": 0}
        self.lock = threading.Lock()

    def run(self) -> None:
        """Watch until the process ends; a watch the API server closes (a busy server does) is
        resumed from the last resourceVersion seen, so no change is counted twice or missed.
        Only when that version is gone (410) does it list again: `relists` says how often."""
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        self.relists = 0
        version: str | None = None
        while True:
            stream = watch.Watch()
            try:
                kwargs = {"resource_version": version, "allow_watch_bookmarks": True} if version else {}
                for event in stream.stream(self.list_fn, self.namespace, timeout_seconds=300, **kwargs):
                    if event["type"] == "BOOKMARK":
                        version = stream.resource_version
                        continue
                    self._record(event)
                    version = stream.resource_version
            except ApiException as err:
                if err.status == 410:
                    version, self.relists = None, self.relists + 1
                else:
                    time.sleep(1)
            except Exception:  # noqa: BLE001 - a dropped connection: resume
                time.sleep(1)

    def _record(self, event: dict) -> None:
        obj, now = event["object"], time.monotonic()
        meta = obj["metadata"] if isinstance(obj, dict) else obj.metadata
        name = meta["name"] if isinstance(meta, dict) else meta.name
        with self.lock:
            if self.count(obj):
                self.counts[event["type"]] = self.counts.get(event["type"], 0) + 1
            self.added.setdefault(name, now)
            self.objects[name] = obj
            if self.done(obj):
                self.ended.setdefault(name, now)

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)

    def wait_ended(self, names: list[str], timeout: float) -> float:
        """When the last of `names` was seen done."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                missing = [n for n in names if n not in self.ended]
                if not missing:
                    return max(self.ended[n] for n in names)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(missing)} of {len(names)} not done after {timeout:.0f} s, e.g. {missing[:3]}")
            time.sleep(0.05)


def pod_ended(pod) -> bool:
    statuses = pod.status.container_statuses or []
    return pod.status.phase in ("Succeeded", "Failed") or bool(statuses) and all(c.state.terminated for c in statuses)


def watch_pods(session: Session) -> Watcher:
    watcher = Watcher(session.core.list_namespaced_pod, session.namespace, done=pod_ended)
    watcher.start()
    return watcher


def watch_executions(session: Session) -> Watcher:
    def done(obj) -> bool:
        return ((obj.get("status") or {}).get("current")) in TERMINAL

    def list_executions(namespace, **kwargs):
        return session.custom.list_namespaced_custom_object("kflow.io", "v1alpha1", namespace, "executions", **kwargs)

    watcher = Watcher(list_executions, session.namespace, done=done)
    watcher.start()
    return watcher


def watch_log_config_maps(session: Session) -> Watcher:
    """The ConfigMaps the operator keeps finished pods' logs in (pod_logs.py): a write per pod."""

    def ours(config_map) -> bool:
        return ((config_map.metadata.labels or {}).get("app.kubernetes.io/managed-by")) == "kflow"

    watcher = Watcher(session.core.list_namespaced_config_map, session.namespace, count=ours)
    watcher.start()
    return watcher


def watch_operator_events(session: Session) -> Watcher:
    """Kubernetes Events the operator posted (the kubelet's and scheduler's are not counted)."""

    def ours(event) -> bool:
        return (event.source and event.source.component == "kflow-operator") or event.reporting_component == "kflow.io/operator"

    watcher = Watcher(session.core.list_namespaced_event, session.namespace, count=ours)
    watcher.start()
    return watcher


def bare_pod(namespace: str, name: str, command: list[str] | None = None) -> dict[str, Any]:
    """The operator's own pod manifest for a one-task flow, as a standalone pod running
    `python3 -c "print('r')"` (the interpreter, none of kflow): the yardstick."""
    from kflow.engine import Engine, RunTask
    from kflow.flow import load_flow
    from kflow.operator.pods import pod_manifest
    from kflow.operator.settings import OperatorSettings

    engine = Engine(load_flow(ONE_TASK))
    now = datetime.now(timezone.utc)
    run = engine.load(engine.new_execution("bare", {}, now))
    action = next(a for a in engine.start(run, now).actions if isinstance(a, RunTask))
    settings = OperatorSettings(image=PROJECT_IMAGE, image_pull_policy="Never")
    manifest = pod_manifest({"metadata": {"name": name, "namespace": namespace, "uid": "bare"}}, action, engine.invocation(run, action), settings)
    manifest["metadata"] = {"name": name, "namespace": namespace, "labels": {"bench": "bare"}}
    container = manifest["spec"]["containers"][0]
    container["command"] = command or ["python3", "-c", "print('r')"]
    container.pop("env", None)
    return manifest


def at_once(fn: Callable[[int], Any], n: int, threads: int = 16) -> None:
    """Call fn(0..n-1) from a pool of threads, as n clients creating objects together."""
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fn, range(n)))


def bare_pods_at_once(session: Session, pods: Watcher, n: int, prefix: str, timeout: float = 900) -> float:
    """Seconds from the first create to the last of n bare pods ended."""
    names = [f"{prefix}-{i}" for i in range(n)]
    started = time.monotonic()
    at_once(lambda i: session.core.create_namespaced_pod(session.namespace, bare_pod(session.namespace, names[i])), n)
    return pods.wait_ended(names, timeout) - started


def bare_pod_once(session: Session, pods: Watcher, name: str, timeout: float = 300) -> float:
    started = time.monotonic()
    session.core.create_namespaced_pod(session.namespace, bare_pod(session.namespace, name))
    return pods.wait_ended([name], timeout) - started


def executions_at_once(session: Session, executions: Watcher, flow: str, n: int, prefix: str, timeout: float = 900) -> tuple[float, dict[str, int]]:
    """Seconds from the first create to the last of n Executions ended, and how many ended in each state."""
    names = [f"{prefix}-{i}" for i in range(n)]
    started = time.monotonic()
    at_once(lambda i: session.kflow.execute(flow, names[i]), n)
    wall = executions.wait_ended(names, timeout) - started
    states: dict[str, int] = {}
    with executions.lock:
        for name in names:
            state = executions.objects[name]["status"]["current"]
            states[state] = states.get(state, 0) + 1
    return wall, states


def execution_once(session: Session, executions: Watcher, flow: str, name: str, timeout: float = 300) -> float:
    started = time.monotonic()
    session.kflow.execute(flow, name)
    ended = executions.wait_ended([name], timeout)
    state = executions.objects[name]["status"]["current"]
    if state != "SUCCESS":
        raise RuntimeError(f"{name} ended {state}: {executions.objects[name]['status'].get('error')}")
    return ended - started


def sequence_gaps(pods: Watcher, owner_label: str, owner: str) -> list[float]:
    """Between consecutive steps of one run (its pods in creation order): a pod's end to the
    next pod's creation, as seen by the watch."""
    with pods.lock:
        mine = sorted((pods.added[name], name) for name, p in pods.objects.items() if (p.metadata.labels or {}).get(owner_label) == owner)
        return [pods.added[after] - pods.ended[before] for (_, before), (_, after) in zip(mine, mine[1:])]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
