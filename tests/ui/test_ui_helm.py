"""The chart's `ui.*` values: the UI's Deployment, ClusterIP Service, its own ServiceAccount and
least-privilege RBAC (create/patch Executions only with ui.allowActions, never in token mode)."""

from __future__ import annotations

import pytest

from tests.operator.test_helm import HELM, helm_env, of_kind, one, render, sets, helm, CHART  # noqa: F401

pytestmark = pytest.mark.skipif(HELM is None, reason="no helm binary (tests/cluster/up builds one)")


def ui_rules(docs) -> dict[tuple[str, str], set[str]]:
    role = one(docs, "ClusterRole", "kflow-ui")
    out: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


def ui_deployment(docs):
    return one(docs, "Deployment", "kflow-ui")


def test_no_ui_unless_enabled(helm_env):
    docs = render(helm_env)
    assert not [d for d in docs if d["metadata"]["name"].endswith("-ui")]


def test_ui_reads_and_acts_with_its_own_account(helm_env):
    docs = render(helm_env, **{"ui.enabled": "true"})
    assert ui_rules(docs) == {
        ("kflow.io", "flows"): {"get", "list", "watch"},
        ("kflow.io", "executions"): {"get", "list", "watch", "create", "patch"},
        ("", "events"): {"get", "list", "watch"},
        ("", "pods"): {"get", "list"},
        ("", "pods/log"): {"get"},
        ("", "secrets"): {"create", "patch", "delete"},  # the Execute form's SECRET inputs, in a Secret the Execution owns
    }
    binding = one(docs, "ClusterRoleBinding", "kflow-ui")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kflow-ui", "namespace": "kflow-system"}]
    service = one(docs, "Service", "kflow-ui")
    assert service["spec"]["type"] == "ClusterIP" and service["spec"]["ports"][0]["port"] == 8090
    pod = ui_deployment(docs)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "kflow-ui"
    (container,) = pod["containers"]
    assert container["command"][:4] == ["python", "-m", "kflow.cli.main", "ui"]
    assert "--all-namespaces" in container["command"] and "--read-only" not in container["command"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_read_only_and_token_mode_never_grant_writes(helm_env):
    for values in ({"ui.allowActions": "false"}, {"ui.auth": "token"}):
        docs = render(helm_env, **{"ui.enabled": "true", **values})
        assert ui_rules(docs)[("kflow.io", "executions")] == {"get", "list", "watch"}, values
        assert ("", "secrets") not in ui_rules(docs), values
    command = ui_deployment(render(helm_env, **{"ui.enabled": "true", "ui.allowActions": "false"}))["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "--read-only" in command
    command = ui_deployment(render(helm_env, **{"ui.enabled": "true", "ui.auth": "token"}))["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--auth") + 1] == "token"


def test_one_watched_namespace_is_the_uis(helm_env):
    docs = render(helm_env, **{"ui.enabled": "true", "namespaces": "{team-a}"})
    binding = one(docs, "RoleBinding", "kflow-ui")
    assert binding["metadata"]["namespace"] == "team-a"
    command = ui_deployment(docs)["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--namespace") + 1] == "team-a"
    proc = helm(helm_env, "template", "kflow", str(CHART), *sets({"ui.enabled": "true", "namespaces": "{a,b}"}), check=False)
    assert proc.returncode != 0 and "ui.namespace" in proc.stderr


@pytest.mark.parametrize("values", [{"ui.enabled": "true"}, {"ui.enabled": "true", "ui.auth": "token", "namespaces": "{team-a}"}])
def test_lint_is_clean_with_the_ui(helm_env, values):
    proc = helm(helm_env, "lint", "--strict", str(CHART), *sets(values))
    assert "0 chart(s) failed" in proc.stdout, proc.stdout
