"""Two operator replicas on a Lease, on the real cluster: failover and `helm upgrade` mid-execution.

The chart is installed watching only the test's namespace (two replicas, the default), with
this checkout's image. A 30-task Sequential runs while the leader's pod is deleted, then the
new leader's pod is evicted as a node drain would (through the PodDisruptionBudget), or while
`helm upgrade` rolls the Deployment to a new image tag. Each time: the execution ends SUCCESS,
no task attempt got two pods (every pod of the namespace is recorded by a watch, by uid), every
task run is there after one attempt, and `status.step` only ever increased. The takeover times
are printed (`-s`) and quoted in the README.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.operator.releases import (
    CHART, ROOT, assert_ran_once_each, diagnostics, helm, holder_pod, recording, sequential_flow, wait_holder, wait_ready,
)
from tests.operator.support import Kflow

# Long enough that tasks are left when each leader goes: a Return pod takes about a second here,
# and the drain waits seconds for the PodDisruptionBudget (12 tasks were all done by then).
TASKS = 30
# The upgrade test's Sequential must outlast the roll (17-39 s measured) so that later task pods
# come from the new image: with the light runner 12 Returns end in about 25 s on an idle node.
UPGRADE_TASKS = 40
README = (ROOT / "README.md").read_text()


def install(cluster, namespace: str, release: str, image: str, *more: str) -> None:
    repository, _, tag = image.rpartition(":")
    proc = helm(cluster, "install", release, str(CHART), "--set", f"image.repository={repository}", "--set", f"image.tag={tag}",
                "--set", "image.pullPolicy=Never", "--set", f"namespaces={{{namespace}}}", "--set", "runner.keepFinishedPods=Always",
                *more, namespace=namespace)
    assert proc.returncode == 0, f"helm install:\n{proc.stdout}\n{proc.stderr}"


def wait_done_tasks(kflow: Kflow, name: str, done: int, timeout: float = 180) -> None:
    def enough(execution) -> bool:
        runs = ((execution.get("status") or {}).get("taskRuns") or {}).values()
        return sum(1 for r in runs if r["taskId"] != "seq" and r["state"]["current"] == "SUCCESS") >= done

    kflow.wait(name, timeout=timeout, until=enough)


def evict(core, namespace: str, pod: str, timeout: float = 60) -> float:
    """As `kubectl drain` does: retry while the PodDisruptionBudget refuses (429); the wall time it was accepted."""
    from kubernetes.client.exceptions import ApiException

    deadline = time.monotonic() + timeout
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": namespace}}
    while True:
        try:
            core.create_namespaced_pod_eviction(pod, namespace, body)
            return time.time()
        except ApiException as err:
            assert err.status == 429 and time.monotonic() < deadline, f"eviction of {pod}: {err.status} {err.body}"
            time.sleep(0.5)


def wait_disruption_allowed(policy, namespace: str, name: str, timeout: float = 60) -> None:
    """The PodDisruptionBudget allows an eviction again: the disruption controller has counted
    the replacement pod Ready, which it does a few seconds after the pod is (an eviction before
    that is refused, and the leader would finish the execution while the drain retries)."""
    deadline = time.monotonic() + timeout
    while (policy.read_namespaced_pod_disruption_budget(name, namespace).status.disruptions_allowed or 0) < 1:
        assert time.monotonic() < deadline, f"PodDisruptionBudget {name} still allows no disruption"
        time.sleep(0.3)


def fail_over(release: Release, recorder, how: str, execution: str) -> dict[str, float]:
    """Remove the leader's pod (`delete` or `evict`); the times until a new leader and a new pod."""
    ns, coordination = release.namespace, release.coordination
    leader = holder_pod(wait_holder(coordination, ns, release.lease))
    if how == "delete":
        lost = time.time()
        release.core.delete_namespaced_pod(leader, ns)
    else:
        lost = evict(release.core, ns, leader)
    taken = wait_holder(coordination, ns, release.lease, not_pod=leader)
    deadline = time.monotonic() + 60
    while (pod_at := recorder.first_pod_after(lost)) is None:
        if time.monotonic() > deadline:
            status = release.kflow.get("executions", execution).get("status") or {}
            runs = [(r["taskId"], r["state"]["current"]) for r in (status.get("taskRuns") or {}).values()]
            raise AssertionError(f"no task pod created after the leader left; the execution: {status.get('current')} {runs}")
        time.sleep(0.1)
    return {"takeover_s": taken["seenAt"] - lost, "next_pod_s": pod_at - lost}


@dataclass
class Release:
    """The chart installed in the test's namespace with this checkout's image, and API clients."""

    name: str
    namespace: str
    apps: Any
    core: Any
    coordination: Any
    kflow: Kflow

    @property
    def lease(self) -> str:
        return f"{self.name}-kflow-operator"


@pytest.fixture
def release(cluster, k8s_api, k8s_namespace, crds, request):
    from kubernetes import client

    name = f"r{k8s_namespace[-6:]}"
    rel = Release(name, k8s_namespace, client.AppsV1Api(k8s_api), client.CoreV1Api(k8s_api),
                  client.CoordinationV1Api(k8s_api), Kflow(k8s_api, k8s_namespace))
    install(cluster, k8s_namespace, name, cluster.project_image)
    try:
        wait_ready(rel.apps, rel.core, k8s_namespace, name, replicas=2, image=cluster.project_image)
        yield rel
        if request.node.rep_call.failed:
            print(diagnostics(rel.core, k8s_namespace, name))
    finally:
        helm(cluster, "uninstall", name, "--wait", "--timeout", "90s", namespace=k8s_namespace)


@pytest.mark.cluster
def test_leader_pod_deleted_then_evicted_mid_execution(k8s_api, release):
    from kubernetes import client

    kflow, ns = release.kflow, release.namespace
    assert client.PolicyV1Api(k8s_api).read_namespaced_pod_disruption_budget(release.lease, ns).spec.min_available == 1
    with recording(k8s_api, ns) as recorder:
        kflow.apply_flow(sequential_flow("ha-seq", TASKS))
        kflow.wait_flow("ha-seq")
        kflow.execute("ha-seq", "ha-run")
        wait_done_tasks(kflow, "ha-run", 4)
        deleted = fail_over(release, recorder, "delete", "ha-run")
        wait_ready(release.apps, release.core, ns, release.name, replicas=2)  # the replacement pod stands by, Ready
        wait_disruption_allowed(client.PolicyV1Api(k8s_api), ns, release.lease)  # as a drain would find it
        wait_done_tasks(kflow, "ha-run", 8)
        evicted = fail_over(release, recorder, "evict", "ha-run")
        execution = kflow.wait("ha-run", timeout=240)
    print(f"\nleader pod deleted: takeover {deleted['takeover_s']:.2f} s, next task pod {deleted['next_pod_s']:.2f} s; "
          f"leader pod evicted: takeover {evicted['takeover_s']:.2f} s, next task pod {evicted['next_pod_s']:.2f} s")
    assert_ran_once_each(recorder, execution, TASKS)


@pytest.mark.cluster
def test_helm_upgrade_to_a_new_image_mid_execution(cluster, k8s_api, release):
    """`helm upgrade --set image.tag=<new>` while an execution runs: not lost, not duplicated."""
    from tests.cluster import harness
    from tests.cluster.images import ctr

    kflow, ns = release.kflow, release.namespace
    repository, _, tag = cluster.project_image.rpartition(":")
    new_image = f"{repository}:{tag}-upgrade"  # the same build under a second tag: a new image for Kubernetes
    ctr(harness.CONTAINERD_SOCK, "images", "tag", "--force", cluster.project_image, new_image)
    # The README's CRD step of an upgrade, as a server dry run: the test cluster's CRDs are shared
    # by every session on it, this test must not replace another checkout's.
    (crd_line,) = [line.strip() for line in README.splitlines() if line.strip().startswith("kubectl apply --server-side")]
    crd_command = shlex.split(crd_line)
    assert crd_command == ["kubectl", "apply", "--server-side", "--force-conflicts", "-f", "helm/kflow/crds/"]
    proc = subprocess.run([str(cluster.kubectl_bin), "--kubeconfig", str(cluster.kubeconfig), *crd_command[1:], "--dry-run=server"],
                          cwd=ROOT, text=True, capture_output=True)
    assert proc.returncode == 0 and "executions.kflow.io serverside-applied" in proc.stdout, proc.stdout + proc.stderr
    try:
        old_leader = holder_pod(wait_holder(release.coordination, ns, release.lease))
        with recording(k8s_api, ns) as recorder:
            kflow.apply_flow(sequential_flow("up-seq", UPGRADE_TASKS))
            kflow.wait_flow("up-seq")
            kflow.execute("up-seq", "up-run")
            wait_done_tasks(kflow, "up-run", 3)
            started = time.time()
            proc = helm(cluster, "upgrade", release.name, str(CHART), "--reuse-values", "--set", f"image.tag={tag}-upgrade",
                        namespace=ns)
            assert proc.returncode == 0, f"helm upgrade:\n{proc.stdout}\n{proc.stderr}"
            wait_ready(release.apps, release.core, ns, release.name, replicas=2, image=new_image, timeout=300)
            new_leader = holder_pod(wait_holder(release.coordination, ns, release.lease, not_pod=old_leader))
            rolled = time.time() - started
            execution = kflow.wait("up-run", timeout=240)
        assert new_leader in {p.metadata.name for p in release.core.list_namespaced_pod(ns).items}
        print(f"\nhelm upgrade mid-execution: rolled and new leader in {rolled:.1f} s")
        assert_ran_once_each(recorder, execution, UPGRADE_TASKS)
        # Task pods made after the upgrade run the new image (the operator's KFLOW_IMAGE).
        images = [info["image"] for info in sorted(recorder.pods.values(), key=lambda i: i["seen"])]
        assert images[0] == cluster.project_image and images[-1] == new_image, images
    finally:
        ctr(harness.CONTAINERD_SOCK, "images", "rm", new_image, check=False)


@pytest.mark.cluster
def test_lease_standby_expiry_and_a_stolen_lease(operator_factory, k8s_api, k8s_namespace):
    """Two `python -m kflow.operator --lease` processes: one leads, the other only waits; a
    SIGKILLed leader (a node that died: no release) is replaced once its lease expired (15 s);
    a leader whose lease another took exits at once (75) instead of acting on."""
    from kubernetes import client

    coordination = client.CoordinationV1Api(k8s_api)
    ns = k8s_namespace
    lease_env = {"KFLOW_LEASE": "ops", "KFLOW_OPERATOR_NAMESPACE": ns}
    first = operator_factory(**lease_env, KFLOW_POD_NAME="op-a")
    assert holder_pod(wait_holder(coordination, ns, "ops")) == "op-a"
    second = operator_factory(**lease_env, KFLOW_POD_NAME="op-b")
    deadline = time.monotonic() + 30
    while "standby: lease" not in second.logs():
        assert time.monotonic() < deadline and second.proc.poll() is None, second.logs()
        time.sleep(0.2)
    time.sleep(3)
    assert holder_pod(wait_holder(coordination, ns, "ops")) == "op-a"
    assert "acquired lease" not in second.logs() and "kopf" not in second.logs().split("standby: lease", 1)[1]

    killed = time.time()
    first.kill()
    taken = wait_holder(coordination, ns, "ops", timeout=40, not_pod="op-a")
    expiry = taken["seenAt"] - killed
    print(f"\nleader SIGKILLed (no release): standby took the lease after {expiry:.1f} s (lease 15 s)")
    assert holder_pod(taken) == "op-b" and 13 <= expiry <= 25, expiry

    spec = dict(taken, holderIdentity="thief_0", renewTime=time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()))
    spec.pop("seenAt")
    coordination.patch_namespaced_lease("ops", ns, {"spec": spec})
    assert second.proc.wait(10) == 75, second.logs()[-3000:]
    assert "lease " + ns + "/ops is now held by thief_0" in second.logs()
