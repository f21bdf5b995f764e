"""Logs outlive pods with the chart's default settings (no internal storage; finished pods kept
only on failure): the operator keeps each pod's log, bounded, in a ConfigMap before deleting
the pod, and `kflow logs` reads it. Real cluster, operator as a process, CLI as a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from kflow.operator.pod_logs import archived_logs, bounded_log
from tests.cli.conftest import CliEnv
from tests.cli.test_commands import ok
from tests.operator.support import why_not_success

pytestmark = pytest.mark.cluster

SHELL = "io.kestra.plugin.scripts.shell.Commands"
FLOWS = f"""id: chatty
namespace: company.team
tasks:
  - {{id: hello, type: io.kestra.plugin.core.log.Log, message: "hello from chatty"}}
  - {{id: sh, type: {SHELL}, commands: ["echo shell line one", "echo shell line two"]}}
  - {{id: boxed, type: {SHELL}, containerImage: localhost/kflow-test:busybox, commands: ["echo from the script container"]}}
---
id: broken
namespace: company.team
tasks:
  - {{id: fails, type: {SHELL}, commands: ["echo about to fail", "exit 3"]}}
"""
# 100 MB in 1,000-byte lines between a first and a last line we can recognise.
BIG = f"""id: big
namespace: company.team
tasks:
  - id: flood
    type: {SHELL}
    commands:
      - echo FIRST-LINE
      - python3 -c "import sys; sys.stdout.write(('y' * 999 + chr(10)) * 100_000)"
      - echo LAST-LINE
"""


def default_env(cluster, k8s_namespace, operator_factory, kflow, **env: str) -> CliEnv:
    # The chart's defaults: keepFinishedPods OnFailure, collection AtEnd, no storage (support.py keeps every pod).
    operator = operator_factory(**{"KFLOW_KEEP_FINISHED_PODS": "OnFailure", **env})
    return CliEnv(str(cluster.kubeconfig), k8s_namespace, operator, kflow)


def wait_for(what: str, check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.3)
    return result


def describe(cluster, env: CliEnv, name: str) -> str:
    proc = subprocess.run([str(cluster.kubectl_bin), "--kubeconfig", env.kubeconfig, "-n", env.namespace, "describe", "execution", name],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def run_flow(env: CliEnv, flow: str, timeout: float = 300) -> tuple[str, dict]:
    name = ok(env.run("execute", flow)).splitlines()[0]
    return name, env.kflow.wait(name, timeout=timeout)


@pytest.mark.parametrize("collect", ["AtEnd", "WhenRecorded"])
def test_logs_after_success_and_failure_once_pods_are_gone(cluster, k8s_namespace, operator_factory, kflow, collect, tmp_path):
    env = default_env(cluster, k8s_namespace, operator_factory, kflow, KFLOW_COLLECT_FINISHED_PODS=collect)
    (tmp_path / "flows.yaml").write_text(FLOWS)
    ok(env.run("apply", str(tmp_path / "flows.yaml")))
    good, done = run_flow(env, "chatty")
    assert done["status"]["current"] == "SUCCESS", why_not_success(done)
    wait_for("the finished pods were not collected", lambda: not env.kflow.pods(good))
    lines = ok(env.run("logs", good)).splitlines()
    assert any(line.startswith("[hello] ") and line.endswith("hello from chatty") for line in lines), lines
    assert [line.split(" ", 1)[0] for line in lines if "shell line" in line] == ["[sh]", "[sh]"], lines
    assert any(line.startswith("[boxed] ") and line.endswith("from the script container") for line in lines), lines
    assert ok(env.run("logs", good, "sh")).count("shell line") == 2
    assert sorted(ok(env.run("logs", good, "-f")).splitlines()) == sorted(lines)  # -f on an ended execution
    kept = env.kflow.core.list_namespaced_config_map(env.namespace, label_selector=f"kflow.io/execution={good}").items
    assert sorted(cm.metadata.labels["kflow.io/task"] for cm in kept) == ["boxed", "hello", "sh"]
    assert {cm.metadata.owner_references[0].name for cm in kept} == {good}  # goes with its Execution
    events = describe(cluster, env, good)
    assert "ExecutionSuccess" in events and "TaskSuccess" not in events, events  # no Event per task that just succeeded

    bad, done = run_flow(env, "broken")
    assert done["status"]["current"] == "FAILED"
    pod = env.kflow.pods(bad)[0].metadata.name  # kept: it failed
    assert "about to fail" in ok(env.run("logs", bad))
    wait_for("the kept pod's log was not kept", lambda: env.kflow.core.list_namespaced_config_map(
        env.namespace, field_selector=f"metadata.name={pod}").items)
    env.kflow.core.delete_namespaced_pod(pod, env.namespace, grace_period_seconds=0)
    wait_for("the failed pod was not deleted", lambda: not env.kflow.pods(bad))
    lines = ok(env.run("logs", bad)).splitlines()
    assert any(line.startswith("[fails] ") and line.endswith("about to fail") for line in lines), lines
    events = describe(cluster, env, bad)
    assert "ExecutionFailed" in events and "TaskFailed" in events and "exited with code 3" in events, events


def test_a_100_mb_log_is_kept_as_its_head_and_tail(cluster, k8s_namespace, operator_factory, kflow, tmp_path):
    # Pods kept, so the copy can be compared with what the kubelet serves for the same pod.
    env = default_env(cluster, k8s_namespace, operator_factory, kflow, KFLOW_KEEP_FINISHED_PODS="Always")
    (tmp_path / "big.yaml").write_text(BIG)
    ok(env.run("apply", str(tmp_path / "big.yaml")))
    peak_before = peak_rss(env.operator.proc.pid)
    name, done = run_flow(env, "big", timeout=600)
    assert done["status"]["current"] == "SUCCESS", why_not_success(done)
    assert len(json.dumps(done["status"])) < 64 * 1024
    pod = env.kflow.pods(name)[0].metadata.name
    def kept_copy():
        listing = env.kflow.core.list_namespaced_config_map(env.namespace, field_selector=f"metadata.name={pod}", _preload_content=False)
        return json.loads(listing.data)["items"]
    kept = wait_for("the pod's log was not kept", kept_copy, timeout=180)
    # The kubelet rotates a running container's log past 10 MiB and serves only the current
    # file, so how much of the 100 MB it still holds varies; the copy is that, bounded.
    served = env.kflow.core.read_namespaced_pod_log(pod, env.namespace, container="task", _preload_content=False).data
    copy = archived_logs(kept[0])["task"]
    assert copy == bounded_log([served]).decode("utf-8", "replace")
    assert len(json.dumps(kept[0])) < 1024 * 1024 and len(copy.encode()) <= 128 * 1024 + 64 * 1024 + 100
    if len(served) > 128 * 1024 + 64 * 1024:
        head, marker, tail = re.split(r"^(… [\d,]+ bytes omitted …)$", copy, flags=re.M)
        assert int(marker.split()[1].replace(",", "")) == len(served) - len(head.encode()) - len(tail[1:].encode())
    env.kflow.core.delete_namespaced_pod(pod, env.namespace, grace_period_seconds=0)
    wait_for("the pod was not deleted", lambda: not env.kflow.pods(name))
    assert ok(env.run("logs", name, "--no-prefix")) == copy
    # The operator read it as a stream: its peak memory barely moved, and it still works.
    assert env.operator.proc.poll() is None
    assert peak_rss(env.operator.proc.pid) - peak_before < 64 * 1024 * 1024
    (tmp_path / "small.yaml").write_text(FLOWS)
    ok(env.run("apply", str(tmp_path / "small.yaml")))
    good, done = run_flow(env, "chatty")
    assert done["status"]["current"] == "SUCCESS", why_not_success(done)


def peak_rss(pid: int) -> int:
    """The process's peak resident memory in bytes (VmHWM)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")
