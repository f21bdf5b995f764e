"""The README's `helm install` line, run verbatim on the real cluster: cluster-wide, then some namespaces.

Both paths of `python -m kflow.operator` (`--all-namespaces`, `--namespace X`) run here as the
chart's real pods (two replicas, one leading), each running the README's example Flow and
Execution to SUCCESS before `helm uninstall`.

What the test does around the verbatim command, and why:
* The release goes to the test's own namespace (`HELM_NAMESPACE`, as a user's kubeconfig
  context would choose it), and the example is applied there (`kubectl -n`).
* The README's image is `localhost/kflow:dev`. Under another KFLOW_TEST_IMAGE, the test points
  that name at this checkout's image in containerd for its duration and restores the previous
  target afterwards (`ctr images tag`), so the code under test is this checkout's; a session
  using the default tag is not affected otherwise.
* A cluster-wide operator sees every namespace of the shared test cluster, including other
  tests' namespaces where their own operators run. A ValidatingAdmissionPolicy, made only for
  this release's service account while it exists, denies its writes outside the test's
  namespace (pods, Executions, Flows, Events): it may read, never act, there. The release name
  `kflow` is fixed (cluster-scoped RBAC names derive from it), so a file lock serializes
  concurrent sessions of this test on one machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from tests.operator.releases import ROOT, diagnostics, helm, holder_pod, lease, wait_holder, wait_ready
from tests.operator.support import Kflow

README = (ROOT / "README.md").read_text()
README_IMAGE = "localhost/kflow:dev"
RELEASE = "kflow"  # what the README's command names it
OPERATOR_SA = "kflow-operator"


def operator_logs(core, namespace: str, pod: str) -> str:
    """A pod's log, its previous container's first when the kubelet restarted it."""
    from kubernetes.client.exceptions import ApiException

    try:
        previous = core.read_namespaced_pod_log(pod, namespace, previous=True)
    except ApiException:  # 400: no previous container
        previous = ""
    return previous + core.read_namespaced_pod_log(pod, namespace)


def readme_command(prefix: str) -> list[str]:
    """The README line that starts with `prefix`, comment removed, as argv."""
    lines = [line for line in README.splitlines() if line.startswith(prefix)]
    assert lines, f"no README line starts with {prefix!r}"
    return shlex.split(lines[0], comments=True)


def readme_example() -> str:
    """The YAML the README pipes into `kubectl apply -f - <<'YAML'`."""
    match = re.search(r"kubectl apply -f - <<'YAML'\n(.*?)\nYAML\n", README, re.S)
    assert match, "no kubectl apply heredoc in the README"
    return match.group(1)


@contextlib.contextmanager
def machine_lock(cluster) -> None:
    path = Path(cluster.helm_bin).parents[2] / "readme-release.lock"
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def readme_image(cluster):
    """`localhost/kflow:dev` is this checkout's image while the block runs."""
    from tests.cluster import harness
    from tests.cluster.images import containerd_images, ctr

    if cluster.project_image == README_IMAGE:
        yield
        return
    sock = harness.CONTAINERD_SOCK
    saved = "localhost/kflow:dev-saved-by-readme-test"
    had = README_IMAGE in containerd_images(sock)
    if had:
        ctr(sock, "images", "tag", "--force", README_IMAGE, saved)
    ctr(sock, "images", "tag", "--force", cluster.project_image, README_IMAGE)
    try:
        yield
    finally:
        if had:
            ctr(sock, "images", "tag", "--force", saved, README_IMAGE)
            ctr(sock, "images", "rm", saved, check=False)
        else:
            ctr(sock, "images", "rm", README_IMAGE, check=False)


FENCE = """
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: NAME}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: ["", "kflow.io", "events.k8s.io"]
        apiVersions: ["*"]
        operations: ["CREATE", "UPDATE", "DELETE"]
        resources: ["pods", "events", "executions", "executions/status", "flows", "flows/status"]
  matchConditions:
    - name: this-release-only
      expression: "request.userInfo.username in ['system:serviceaccount:NS:SA', 'PROBE']"
  validations:
    - expression: "request.namespace == 'NS'"
      message: "the README test's cluster-wide operator may act only in NS"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: NAME}
spec:
  policyName: NAME
  validationActions: [Deny]
"""


@contextlib.contextmanager
def fenced(cluster, namespace: str):
    """Writes of the release's operator outside `namespace` are denied while the block runs."""
    name = f"kflow-readme-fence-{namespace}"[:63]
    probe = f"kflow-fence-probe-{namespace}"
    manifest = FENCE.replace("NAME", name).replace("NS", namespace).replace("SA", OPERATOR_SA).replace("PROBE", probe)
    subprocess.run([str(cluster.kubectl_bin), "--kubeconfig", str(cluster.kubeconfig), "apply", "-f", "-"],
                   input=manifest, text=True, check=True, capture_output=True)
    try:
        # The policy takes effect once the API server has loaded it: probe until it denies.
        deadline = time.monotonic() + 60
        while True:
            proc = cluster.kubectl("--as", probe, "--as-group", "system:masters", "-n", "default", "run", "fence-probe",
                                   "--image", cluster.test_image, "--dry-run=server", "-o", "name", check=False)
            if proc.returncode != 0 and "may act only in" in proc.stderr:
                break
            assert time.monotonic() < deadline, f"admission fence never took effect: {proc.stdout} {proc.stderr}"
            time.sleep(0.5)
        yield
    finally:
        cluster.kubectl("delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", name, "--ignore-not-found", check=False)


def install_run_uninstall(cluster, k8s_api, namespace: str, command: list[str]) -> None:
    from kubernetes import client

    apps, core = client.AppsV1Api(k8s_api), client.CoreV1Api(k8s_api)
    coordination = client.CoordinationV1Api(k8s_api)
    assert command[:2] == ["helm", "install"]
    proc = helm(cluster, *command[1:], namespace=namespace)
    try:
        assert proc.returncode == 0, f"{shlex.join(command)}:\n{proc.stdout}\n{proc.stderr}"
        wait_ready(apps, core, namespace, RELEASE, replicas=2, image=README_IMAGE)
        # A release installed again within 15 s finds the lease of the last one's leader (its
        # release on the way out may race the uninstall of its RBAC): it waits for the expiry.
        deadline = time.monotonic() + 60
        while (leader := holder_pod(held := wait_holder(coordination, namespace, "kflow-operator"))) not in {
                p.metadata.name for p in core.list_namespaced_pod(namespace).items}:
            assert time.monotonic() < deadline, f"the lease is still held by {leader}"
            time.sleep(0.2)
        transitions = held.get("leaseTransitions") or 0

        kubectl = subprocess.run(
            [str(cluster.kubectl_bin), "--kubeconfig", str(cluster.kubeconfig), "-n", namespace, "apply", "-f", "-"],
            input=readme_example(), text=True, capture_output=True)
        assert kubectl.returncode == 0, kubectl.stderr
        try:
            execution = Kflow(k8s_api, namespace).wait("run-1", timeout=180)
        except AssertionError:
            print(diagnostics(core, namespace, RELEASE))
            raise
        assert execution["status"]["current"] == "SUCCESS", f"{execution['status']}\n{diagnostics(core, namespace, RELEASE)}"
        outputs = {tr["taskId"]: (tr.get("outputs") or {}).get("value") for tr in execution["status"]["taskRuns"].values()}
        assert outputs["task1"] == "task1 > sample-parallel-task" and outputs["task2"] == "task2 > sample-parallel-task"
        table = cluster.kubectl("-n", namespace, "get", "executions").stdout
        assert re.search(r"^run-1\s+sample-parallel-task\s+SUCCESS\s", table, re.M), table
        # One replica acted at a time: every lease acquisition a replica logged (in its current or
        # restarted container) is one the Lease recorded. On a quiet node that is the leader's alone;
        # a leader too starved to renew within its deadline exits and the standby takes over, which
        # the Lease counts as a transition.
        logs = {p.metadata.name: operator_logs(core, namespace, p.metadata.name)
                for p in core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/component=operator").items}
        acquisitions = {name: log.count("leader: acquired lease") for name, log in logs.items()}
        takeovers = (lease(coordination, namespace, "kflow-operator").get("leaseTransitions") or 0) - transitions
        assert acquisitions.get(leader) and sum(acquisitions.values()) == 1 + takeovers, (
            acquisitions, takeovers, {name: log[-2000:] for name, log in logs.items()})
        # RBAC: the chart grants all it needs (writes the fence denied, in other namespaces, aside).
        refused = [line for log in logs.values() for line in log.splitlines()
                   if "forbidden" in line.lower() and "may act only in" not in line]
        assert not refused, "\n".join(refused[:20])
    finally:
        uninstall = helm(cluster, "uninstall", RELEASE, "--wait", "--timeout", "90s", namespace=namespace)
        assert uninstall.returncode == 0, uninstall.stderr
    assert not client.RbacAuthorizationV1Api(k8s_api).list_cluster_role(label_selector=f"app.kubernetes.io/instance={RELEASE}").items


@pytest.mark.cluster
def test_readme_helm_install_cluster_wide_then_some_namespaces(cluster, k8s_api, k8s_namespace, crds):
    install = readme_command("helm install kflow helm/kflow")
    assert install == ["helm", "install", "kflow", "helm/kflow", "--set", "image.tag=dev"]
    some = readme_command("helm install kflow helm/kflow --set image.tag=dev --set")
    assert some[-1] == "namespaces={team-a,team-b}"
    some[-1] = f"namespaces={{{k8s_namespace}}}"
    with machine_lock(cluster), readme_image(cluster), fenced(cluster, k8s_namespace):
        install_run_uninstall(cluster, k8s_api, k8s_namespace, install)
        cluster.kubectl("-n", k8s_namespace, "delete", "execution", "run-1", "--wait=true")
        install_run_uninstall(cluster, k8s_api, k8s_namespace, some)
