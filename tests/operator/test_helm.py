"""The Helm chart helm/kflow: lint-clean, least-privilege RBAC, a restricted operator Deployment.

Needs a `helm` binary: the one the cluster harness builds (~/.cache/kflow-cluster/helm-*/bin/helm,
or under $KFLOW_CLUSTER_CACHE), else one on PATH; skipped when there is none.
"""

from __future__ import annotations

import json
import time
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kflow.operator.settings import OperatorSettings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "kflow"
RELEASE_NS = "kflow-system"


def find_helm() -> str | None:
    cache = Path(os.environ.get("KFLOW_CLUSTER_CACHE", str(Path.home() / ".cache" / "kflow-cluster")))
    built = sorted(cache.glob("helm-*/bin/helm"), reverse=True)
    for path in built:
        if os.access(path, os.X_OK):
            return str(path)
    return shutil.which("helm")


HELM = find_helm()
NO_HELM = (
    "no helm binary: none built by the cluster harness in ~/.cache/kflow-cluster/helm-*/bin/ "
    "(tests/cluster/up builds it) and none on PATH"
)


@pytest.fixture(scope="module")
def helm_env(tmp_path_factory) -> dict[str, str]:
    if HELM is None:
        pytest.skip(NO_HELM)
    home = tmp_path_factory.mktemp("helm-home")
    return dict(
        os.environ,
        HELM_CACHE_HOME=str(home / "cache"),
        HELM_CONFIG_HOME=str(home / "config"),
        HELM_DATA_HOME=str(home / "data"),
    )


def helm(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([HELM, *args], env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, f"helm {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def sets(values: dict[str, str]) -> list[str]:
    out = []
    for key, value in values.items():
        out += ["--set", f"{key}={value}"]
    return out


def render(env: dict[str, str], **values: str) -> list[dict[str, Any]]:
    proc = helm(env, "template", "kflow", str(CHART), "--namespace", RELEASE_NS, *sets(values))
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in of_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {[d['metadata']['name'] for d in of_kind(docs, kind)]}"
    return found[0]


def operator_container(docs) -> dict[str, Any]:
    deployment = one(docs, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def env_of(container) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def rules(docs) -> list[dict[str, Any]]:
    return [rule for role in of_kind(docs, "ClusterRole") + of_kind(docs, "Role") for rule in role["rules"]]


def verbs(docs, group: str, resource: str) -> set[str]:
    out: set[str] = set()
    for rule in rules(docs):
        if group in rule.get("apiGroups", []) and resource in rule.get("resources", []):
            out |= set(rule["verbs"])
    return out


# ------------------------------------------------------------------------------------------


def test_chart_metadata():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "kflow"
    assert chart["version"] == "0.1.0" and str(chart["appVersion"]) == "0.1.0"


def test_chart_crds_are_the_generated_ones():
    names = sorted(p.name for p in (CHART / "crds").glob("*.yaml"))
    assert names == ["executions.kflow.io.yaml", "flows.kflow.io.yaml"]
    for name in names:
        assert (CHART / "crds" / name).read_bytes() == (ROOT / "crds" / name).read_bytes()


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"namespaces": "{team-a,team-b}", "secrets.enabled": "true", "storage.type": "s3", "storage.s3.bucket": "b",
         "storage.s3.credentialsSecret": "creds", "apiServer": "https://10.96.0.1:443", "runner.keepFinishedPods": "Never"},
    ],
    ids=["defaults", "everything-set"],
)
def test_lint_is_clean(helm_env, values):
    proc = helm(helm_env, "lint", "--strict", str(CHART), *sets(values))
    assert "0 chart(s) failed" in proc.stdout
    assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout


def test_values_are_checked(helm_env):
    proc = helm(helm_env, "template", "kflow", str(CHART), "--set", "runner.keepFinishedPods=Sometimes", check=False)
    assert proc.returncode != 0 and "keepFinishedPods" in proc.stderr
    proc = helm(helm_env, "template", "kflow", str(CHART), "--set", "storage.type=s3", check=False)
    assert proc.returncode != 0 and "storage.s3.bucket" in proc.stderr


def test_rbac_is_least_privilege(helm_env):
    docs = render(helm_env)
    assert of_kind(docs, "ClusterRole"), "no ClusterRole rendered"
    for rule in rules(docs):
        for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
            assert not any("*" in item for item in rule.get(key, [])), rule
        assert "nonResourceURLs" not in rule
    assert verbs(docs, "kflow.io", "flows") == {"get", "list", "watch"}
    assert verbs(docs, "kflow.io", "flows/status") == {"get", "patch", "update"}
    assert verbs(docs, "kflow.io", "executions") == {"get", "list", "watch", "create", "patch", "delete"}  # create: triggers
    assert verbs(docs, "kflow.io", "executions/status") == {"get", "patch", "update"}
    assert verbs(docs, "", "pods") == {"get", "list", "watch", "create", "delete", "patch"}
    assert verbs(docs, "", "events") == {"create", "patch"}
    assert verbs(docs, "", "pods/log") == {"get"}  # kept in a ConfigMap before a pod goes
    assert verbs(docs, "", "configmaps") == {"get", "list", "create", "update", "delete"}  # pod logs; the KV store
    assert verbs(docs, "events.k8s.io", "events") == {"create", "patch"}
    assert verbs(docs, "apiextensions.k8s.io", "customresourcedefinitions") == {"get", "list", "watch"}
    assert verbs(docs, "", "namespaces") == {"list", "watch"}
    # SECRET inputs: read from the Secret an Execution references; written for the Executions
    # the operator creates (Subflow children, triggers). Never list or watch (no bulk read).
    assert verbs(docs, "", "secrets") == {"get", "create", "update", "patch"}
    granted = {(g, r) for rule in rules(docs) for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == {
        ("kflow.io", "flows"), ("kflow.io", "flows/status"), ("kflow.io", "executions"), ("kflow.io", "executions/status"),
        ("", "pods"), ("", "events"), ("events.k8s.io", "events"), ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("", "namespaces"), ("coordination.k8s.io", "leases"), ("", "pods/log"), ("", "configmaps"), ("", "secrets"),
    }
    # Leader election: one Lease, by name for get/update (create cannot be limited by name).
    assert verbs(docs, "coordination.k8s.io", "leases") == {"create", "get", "update"}
    lease_role = one(docs, "Role", "kflow-operator-lease")
    assert lease_role["metadata"]["namespace"] == RELEASE_NS
    assert [r.get("resourceNames") for r in lease_role["rules"] if "update" in r["verbs"]] == [["kflow-operator"]]
    # Every role is bound to the operator's service account, and to nothing else.
    operator_sa = one(docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"]
    bindings = of_kind(docs, "ClusterRoleBinding") + of_kind(docs, "RoleBinding")
    roles = of_kind(docs, "ClusterRole") + of_kind(docs, "Role")
    assert {b["roleRef"]["name"] for b in bindings} == {r["metadata"]["name"] for r in roles}
    for binding in bindings:
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": operator_sa, "namespace": RELEASE_NS}]
    # The only namespaced binding is the lease's, in the release namespace.
    assert [(b["metadata"]["name"], b["metadata"]["namespace"]) for b in of_kind(docs, "RoleBinding")] == [("kflow-operator-lease", RELEASE_NS)]


def test_secrets_rights_do_not_grow_with_flow_secrets(helm_env):
    docs = render(helm_env, **{"secrets.enabled": "true"})
    assert verbs(docs, "", "secrets") == {"get", "create", "update", "patch"}


def test_watched_namespaces(helm_env):
    docs = render(helm_env, namespaces="{team-a,team-b}")
    container = operator_container(docs)
    command = container["command"]
    assert "--all-namespaces" not in command
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "--namespace"] == ["team-a", "team-b"]
    assert json.loads(env_of(container)["KFLOW_NAMESPACES"]) == ["team-a", "team-b"]
    # Namespaced rights only in the watched namespaces; CRDs and namespaces cluster-wide.
    role_bindings = [b for b in of_kind(docs, "RoleBinding") if b["roleRef"]["name"] == "kflow-operator"]
    assert sorted(b["metadata"]["namespace"] for b in role_bindings) == ["team-a", "team-b"]
    cluster_bound = {b["roleRef"]["name"] for b in of_kind(docs, "ClusterRoleBinding")}
    for name in cluster_bound:
        role = one(docs, "ClusterRole", name)
        assert {r for rule in role["rules"] for r in rule["resources"]} <= {"customresourcedefinitions", "namespaces"}
    # The runner account exists where the pods run, and the operator uses it.
    runner_sas = [sa for sa in of_kind(docs, "ServiceAccount") if sa["automountServiceAccountToken"] is False]
    assert sorted(sa["metadata"]["namespace"] for sa in runner_sas) == sorted([RELEASE_NS, "team-a", "team-b"])
    assert env_of(container)["KFLOW_RUNNER_SERVICE_ACCOUNT"] == runner_sas[0]["metadata"]["name"]


def test_deployment(helm_env):
    docs = render(helm_env)
    deployment = one(docs, "Deployment")
    spec = deployment["spec"]
    # Two replicas behind a Lease: a rolling update starts the new pod before the old one goes.
    assert spec["replicas"] == 2
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    pod = spec["template"]["spec"]
    container = operator_container(docs)
    assert container["command"] == ["python", "-m", "kflow.operator", "--liveness", "http://0.0.0.0:8081/healthz",
                                    "--lease", "kflow-operator", "--all-namespaces"]
    assert env_of(container)["KFLOW_POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    assert anti["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
    assert {"name": "health", "containerPort": 8081, "protocol": "TCP"} in container["ports"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
        assert container[probe]["httpGet"]["port"] in (8081, "health")
    # Restricted security context.
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsNonRoot"] is True and sc["runAsUser"] == 65532
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert any(v["name"] == "tmp" and "emptyDir" in v for v in pod["volumes"])
    assert container["resources"]["requests"] and container["resources"]["limits"]
    # The operator's service account is not the runner's; the runner's has no token.
    service_accounts = {sa["metadata"]["name"]: sa for sa in of_kind(docs, "ServiceAccount")}
    assert pod["serviceAccountName"] in service_accounts
    runner = [sa for name, sa in service_accounts.items() if name != pod["serviceAccountName"]]
    assert len(runner) == 1 and runner[0]["automountServiceAccountToken"] is False


def test_pod_disruption_budget(helm_env):
    docs = render(helm_env)
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    # One replica: a budget of one available pod would block every drain, so there is none.
    assert not of_kind(render(helm_env, **{"operator.replicas": "1"}), "PodDisruptionBudget")
    assert one(render(helm_env, **{"operator.replicas": "1"}), "Deployment")["spec"]["replicas"] == 1


def test_operator_settings_from_the_rendered_env(helm_env, monkeypatch):
    docs = render(helm_env, **{"image.tag": "v9", "runner.keepFinishedPods": "Always", "apiServer": "https://10.96.0.1:443",
                               "runner.resources.limits.memory": "1Gi"})
    container = operator_container(docs)
    env = env_of(container)
    assert container["image"] == "localhost/kflow:v9" == env["KFLOW_IMAGE"]
    for name in list(os.environ):
        if name.startswith("KFLOW_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)
    settings = OperatorSettings.from_env()
    assert settings.image == "localhost/kflow:v9"
    assert settings.image_pull_policy == "IfNotPresent"
    assert settings.keep_finished_pods == "Always"
    assert settings.namespaces == []
    assert settings.api_server == "https://10.96.0.1:443"
    assert settings.runner_resources == {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "1Gi"}}
    # All namespaces: runner pods use each namespace's default account (never with a token).
    assert settings.runner_service_account is None


def test_default_image_is_the_app_version(helm_env):
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    container = operator_container(render(helm_env))
    assert container["image"] == f"localhost/kflow:{chart['appVersion']}"
    assert container["imagePullPolicy"] == "IfNotPresent"


def test_extra_env(helm_env):
    container = operator_container(render(helm_env, **{"extraEnv[0].name": "FOO", "extraEnv[0].value": "bar"}))
    assert env_of(container)["FOO"] == "bar"


# ------------------------------------------------------------------------------------------
# On the real cluster: install the chart, run a flow through it


@pytest.mark.cluster
def test_helm_install_runs_a_flow(cluster, k8s_api, k8s_namespace):
    """The chart's operator, RBAC and security context work: a flow runs to SUCCESS.

    The release watches only the test's namespace, so it never competes with other tests'
    operators; the CRDs come from the chart (or are already there).
    """
    from kubernetes import client

    if not cluster.helm_bin.exists():
        pytest.skip(NO_HELM)
    ns = k8s_namespace
    release = f"k{ns[-6:]}"
    repository, _, tag = cluster.project_image.rpartition(":")
    args = [
        "--namespace", ns, "--set", f"image.repository={repository}", "--set", f"image.tag={tag}",
        "--set", "image.pullPolicy=Never", "--set", f"namespaces={{{ns}}}", "--set", "runner.keepFinishedPods=Always",
    ]
    proc = cluster.helm("install", release, str(CHART), *args, "--wait", "--timeout", "180s", check=False)
    apps = client.AppsV1Api(k8s_api)
    core = client.CoreV1Api(k8s_api)
    custom = client.CustomObjectsApi(k8s_api)
    try:
        if proc.returncode != 0:
            logs = ""
            for pod in core.list_namespaced_pod(ns).items:
                try:
                    logs += core.read_namespaced_pod_log(pod.metadata.name, ns, tail_lines=40)
                except Exception as err:  # noqa: BLE001 - best effort, for the message
                    logs += str(err)
            pytest.fail(f"helm install failed:\n{proc.stdout}\n{proc.stderr}\n{logs}")
        deployment = apps.read_namespaced_deployment(f"{release}-kflow-operator", ns)
        assert deployment.status.ready_replicas == 2  # operator.replicas: one leads, one stands by

        flow = yaml.safe_load((ROOT / "examples" / "sample-task.yaml").read_text())
        custom.create_namespaced_custom_object(
            "kflow.io", "v1alpha1", ns, "flows",
            {"apiVersion": "kflow.io/v1alpha1", "kind": "Flow", "metadata": {"name": "sample-task"}, "spec": flow},
        )
        custom.create_namespaced_custom_object(
            "kflow.io", "v1alpha1", ns, "executions",
            {"apiVersion": "kflow.io/v1alpha1", "kind": "Execution", "metadata": {"name": "run"},
             "spec": {"flowRef": {"name": "sample-task"}}},
        )
        deadline = time.monotonic() + 120
        while True:
            status = custom.get_namespaced_custom_object("kflow.io", "v1alpha1", ns, "executions", "run").get("status") or {}
            if status.get("current") in ("SUCCESS", "WARNING", "FAILED", "KILLED"):
                break
            assert time.monotonic() < deadline, f"execution still {status.get('current')}"
            time.sleep(0.5)
        assert status["current"] == "SUCCESS", status
        (run,) = status["taskRuns"].values()
        assert run["outputs"]["value"].startswith("This is task id > task1")
        # The task pod ran as the chart's runner account, without a token.
        pods = core.list_namespaced_pod(ns, label_selector="kflow.io/execution=run").items
        assert pods and all(p.spec.service_account_name == f"{release}-kflow-runner" for p in pods)
        assert all(p.spec.automount_service_account_token is False for p in pods)
        # Its log was kept in a ConfigMap: the chart grants pods/log and configmaps.
        deadline = time.monotonic() + 60
        while not core.list_namespaced_config_map(ns, label_selector="kflow.io/execution=run").items:
            assert time.monotonic() < deadline, "the task pod's log was not kept in a ConfigMap"
            time.sleep(0.5)
        # The operator never hit a permission it lacks.
        operator_pod = core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/component=operator").items[0]
        log = core.read_namespaced_pod_log(operator_pod.metadata.name, ns)
        assert "forbidden" not in log.lower() and "(403)" not in log, log[-5000:]
    finally:
        cluster.helm("uninstall", release, "--namespace", ns, "--wait", "--timeout", "60s", check=False)
