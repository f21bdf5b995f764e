"""Helm releases of the chart on the real cluster, and what tests watch while they run.

Used by the README-install, high-availability and upgrade tests: install and wait for the
operator pods, find the Lease holder, record every pod and every status write of a namespace
as they happen (a watch in a thread), so a test can count pods per task attempt and check that
the engine's step counter never went back.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "kflow"


def sequential_flow(flow_id: str, tasks: int) -> str:
    """A Sequential of `tasks` Return tasks: one pod each, one after the other."""
    body = {
        "id": flow_id, "namespace": "io.kflow.tests",
        "tasks": [{"id": "seq", "type": "io.kestra.plugin.core.flow.Sequential", "tasks": [
            {"id": f"t{i:02d}", "type": "io.kestra.plugin.core.debug.Return", "format": f"task {i}"} for i in range(1, tasks + 1)
        ]}],
    }
    return yaml.safe_dump(body, sort_keys=False)


def helm(cluster, *args: str, namespace: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`helm ARGS` from the repository root (so `helm/kflow` resolves), as a user would type it."""
    env = dict(os.environ, KUBECONFIG=str(cluster.kubeconfig))
    cache = Path(cluster.helm_bin).parents[2] / "helm"
    env.update(HELM_CACHE_HOME=str(cache / "cache"), HELM_CONFIG_HOME=str(cache / "config"), HELM_DATA_HOME=str(cache / "data"))
    if namespace:
        env["HELM_NAMESPACE"] = namespace  # the kubeconfig context's namespace, for a user
    return subprocess.run([str(cluster.helm_bin), *args], cwd=ROOT, env=env, text=True, capture_output=True, timeout=timeout)


def operator_pods(core, namespace: str, release: str) -> list:
    selector = f"app.kubernetes.io/instance={release},app.kubernetes.io/component=operator"
    return core.list_namespaced_pod(namespace, label_selector=selector).items


def diagnostics(core, namespace: str, release: str, tail: int = 200) -> str:
    out = []
    for pod in operator_pods(core, namespace, release):
        out.append(f"--- {pod.metadata.name} {pod.status.phase} {[c.state for c in pod.status.container_statuses or []]}")
        with contextlib.suppress(Exception):
            out.append(core.read_namespaced_pod_log(pod.metadata.name, namespace, tail_lines=tail))
    return "\n".join(out)


def wait_ready(apps, core, namespace: str, release: str, replicas: int, timeout: float = 240, image: str | None = None) -> None:
    """The operator Deployment has `replicas` ready pods (all of `image`, when given) and no others."""
    deadline = time.monotonic() + timeout
    name = f"{release}-kflow-operator" if release != "kflow" else "kflow-operator"
    while True:
        dep = apps.read_namespaced_deployment(name, namespace)
        pods = [p for p in operator_pods(core, namespace, release) if not p.metadata.deletion_timestamp]
        ready = [p for p in pods if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]
        if (dep.status.ready_replicas or 0) == replicas and len(ready) == replicas == len(pods) \
                and (image is None or all(p.spec.containers[0].image == image for p in pods)) \
                and (dep.status.updated_replicas or 0) == replicas:
            return
        assert time.monotonic() < deadline, f"operator not ready: {dep.status}\n{diagnostics(core, namespace, release)}"
        time.sleep(0.5)


def lease(coordination, namespace: str, name: str) -> dict[str, Any]:
    resp = coordination.read_namespaced_lease(name, namespace, _preload_content=False)
    return json.loads(resp.data)["spec"]


def holder_pod(spec: dict[str, Any]) -> str | None:
    """The pod name in a holderIdentity (`<pod>_<random>`)."""
    holder = spec.get("holderIdentity")
    return holder.rsplit("_", 1)[0] if holder else None


def wait_holder(coordination, namespace: str, name: str, timeout: float = 60, not_pod: str | None = None) -> dict[str, Any]:
    """The lease once some pod (other than `not_pod`) holds it; polled every 50 ms."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            spec = lease(coordination, namespace, name)
            if holder_pod(spec) and holder_pod(spec) != not_pod:
                return {**spec, "seenAt": time.time()}
        assert time.monotonic() < deadline, f"lease {namespace}/{name} not taken"
        time.sleep(0.05)


@dataclass
class Recorder:
    """Every pod and Execution event of a namespace, as seen by a watch (local wall time)."""

    api_client: Any
    namespace: str
    pods: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> first sight
    steps: dict[str, list[int]] = field(default_factory=dict)  # execution -> status.step per event
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def start(self) -> Recorder:
        for target in (self._watch_pods, self._watch_executions):
            thread = threading.Thread(target=self._loop, args=(target,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def _loop(self, target) -> None:
        while not self._stop.is_set():
            try:
                target()
            except Exception as err:  # noqa: BLE001 - a dropped watch is resumed; kept for the report
                self.errors.append(err)
                time.sleep(0.2)

    def _watch_pods(self) -> None:
        from kubernetes import client, watch

        core = client.CoreV1Api(self.api_client)
        for event in watch.Watch().stream(core.list_namespaced_pod, self.namespace, label_selector="app.kubernetes.io/managed-by=kflow",
                                          timeout_seconds=5):
            pod = event["object"]
            self.pods.setdefault(pod.metadata.uid, {"name": pod.metadata.name, "seen": time.time(),
                                                    "labels": dict(pod.metadata.labels or {}),
                                                    "image": pod.spec.containers[0].image})
            if self._stop.is_set():
                return

    def _watch_executions(self) -> None:
        from kubernetes import client, watch

        custom = client.CustomObjectsApi(self.api_client)
        for event in watch.Watch().stream(custom.list_namespaced_custom_object, "kflow.io", "v1alpha1", self.namespace, "executions",
                                          timeout_seconds=5):
            obj = event["object"]
            step = (obj.get("status") or {}).get("step")
            if step is not None:
                seen = self.steps.setdefault(obj["metadata"]["name"], [])
                if not seen or seen[-1] != step:
                    seen.append(step)
            if self._stop.is_set():
                return

    def pods_by_attempt(self, execution: str) -> dict[tuple[str, str], list[str]]:
        """(task run, attempt) -> the names of every distinct pod (uid) seen for it."""
        out: dict[tuple[str, str], list[str]] = {}
        for info in self.pods.values():
            labels = info["labels"]
            if labels.get("kflow.io/execution") == execution:
                out.setdefault((labels["kflow.io/taskrun"], labels["kflow.io/attempt"]), []).append(info["name"])
        return out

    def first_pod_after(self, instant: float) -> float | None:
        times = sorted(info["seen"] for info in self.pods.values() if info["seen"] > instant)
        return times[0] if times else None


@contextlib.contextmanager
def recording(api_client, namespace: str) -> Iterator[Recorder]:
    recorder = Recorder(api_client, namespace).start()
    try:
        yield recorder
    finally:
        recorder.stop()


def assert_ran_once_each(recorder: Recorder, execution: dict[str, Any], tasks: int) -> None:
    """SUCCESS, every task run present and SUCCESS after one attempt, one pod per attempt, and
    the step counter only ever went up (no write lost or replayed from an older state)."""
    from tests.operator.support import taskruns

    name = execution["metadata"]["name"]
    status = execution["status"]
    assert status["current"] == "SUCCESS", status
    runs = taskruns(execution)
    leaves = {k: v for k, v in runs.items() if k != "seq"}
    assert sorted(leaves) == [f"t{i:02d}" for i in range(1, tasks + 1)], sorted(runs)
    for task, run in leaves.items():
        assert run["state"]["current"] == "SUCCESS", (task, run["state"])
        assert len(run.get("attempts") or []) == 1, (task, run.get("attempts"))
        assert run["outputs"]["value"] == f"task {int(task[1:])}"
    by_attempt = recorder.pods_by_attempt(name)
    doubled = {key: pods for key, pods in by_attempt.items() if len(pods) > 1}
    assert not doubled, f"task attempts with more than one pod: {doubled}"
    assert len(by_attempt) == tasks, sorted(by_attempt)
    steps = recorder.steps.get(name) or []
    assert steps and steps == sorted(steps), f"status.step went back: {steps}"
    assert steps[-1] == status["step"]
