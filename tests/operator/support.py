"""Driving the operator and its resources from tests and benchmarks, through the real API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.cluster.images import PROJECT_IMAGE

ROOT = Path(__file__).parents[2]


# Flows the trigger tests share: the API-double tests of the trigger logic
# (test_triggers_backfill_stop.py) and the real cluster's (test_triggers_issue16_cluster.py).
# A Schedule with a backfill over 1-3 January (06:00 each) that stops after a FAILED run: the
# 2nd's run fails.
DAILY_REPORT = """
id: daily-report
namespace: company.team
inputs:
  - {id: day, type: STRING}
tasks:
  - id: check
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ inputs.day == '2026-01-02' }}"
    errorMessage: "no data for {{ inputs.day }}"
  - {id: report, type: io.kestra.plugin.core.debug.Return, format: "report {{ inputs.day }}"}
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 6 * * *"
    inputs: {day: "{{ trigger.date | date('yyyy-MM-dd') }}"}
    stopAfter: [FAILED]
    backfill:
      start: "2026-01-01T00:00:00Z"
      end: "2026-01-03T23:00:00Z"
      labels: {source: backfill}
"""
# A Flow trigger whose preconditions wait for both upstream flows to succeed.
JOIN = """
id: join
namespace: company.team
tasks: [{id: joined, type: io.kestra.plugin.core.debug.Return, format: "after {{ trigger.flowId }} {{ trigger.executionId }}"}]
triggers:
  - id: both
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: both
      flows:
        - {namespace: company.team, flowId: extract-orders}
        - {namespace: company.team, flowId: extract-customers}
"""


def apply_crds(k8s_api) -> list[str]:
    """Create or replace kflow's CRDs from crds/ and wait until they are established."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    ext = client.ApiextensionsV1Api(k8s_api)
    names = []
    for path in sorted((ROOT / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        names.append(crd["metadata"]["name"])
        try:
            current = ext.read_custom_resource_definition(crd["metadata"]["name"])
            crd["metadata"]["resourceVersion"] = current.metadata.resource_version
            ext.replace_custom_resource_definition(crd["metadata"]["name"], crd)
        except ApiException as err:
            if err.status != 404:
                raise
            ext.create_custom_resource_definition(crd)
    deadline = time.monotonic() + 30
    for name in names:
        while True:
            conditions = ext.read_custom_resource_definition(name).status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                break
            assert time.monotonic() < deadline, f"CRD {name} not established"
            time.sleep(0.2)
    return names


class Operator:
    """`python -m kflow.operator` in a process of its own, so a test can kill it at any instant."""

    def __init__(self, kubeconfig: str, namespace: str, log_dir: Path, env: dict[str, str], verbose: bool = True, sources: Path = ROOT):
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.log_dir = log_dir
        self.env = env
        self.verbose = verbose  # benchmarks measure its CPU without a log line per handler
        self.sources = sources  # where `python -m` finds kflow (its working directory)
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.log_dir / f"operator-{self.starts}.log", "w")
        env = {
            **os.environ,
            "KUBECONFIG": self.kubeconfig,
            "KFLOW_IMAGE": PROJECT_IMAGE,
            "KFLOW_IMAGE_PULL_POLICY": "Never",
            "KFLOW_KEEP_FINISHED_PODS": "Always",
            "KFLOW_METRICS_PORT": "0",  # operators of parallel tests share this host's ports
            **self.env,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kflow.operator", "--namespace", self.namespace, *(["--verbose"] if self.verbose else [])],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.sources,
        )

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as a crashed or evicted operator."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        paths = sorted(self.log_dir.glob("operator-*.log"), key=lambda p: int(p.stem.split("-")[1]))
        return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in paths)


class Kflow:
    """Apply flows, create executions, wait for them: through the real API, as kubectl would."""

    def __init__(self, api_client, namespace: str):
        from kubernetes import client

        self.namespace = namespace
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)

    def apply_flow(self, text: str, name: str | None = None) -> dict[str, Any]:
        spec = yaml.safe_load(text)
        name = name or spec["id"]
        body = {"apiVersion": "kflow.io/v1alpha1", "kind": "Flow", "metadata": {"name": name}, "spec": spec}
        return self.custom.create_namespaced_custom_object("kflow.io", "v1alpha1", self.namespace, "flows", body)

    def execute(self, flow: str, name: str, inputs: dict | None = None, **spec: Any) -> dict[str, Any]:
        body = {
            "apiVersion": "kflow.io/v1alpha1",
            "kind": "Execution",
            "metadata": {"name": name},
            "spec": {"flowRef": {"name": flow}, "inputs": inputs or {}, **spec},
        }
        return self.custom.create_namespaced_custom_object("kflow.io", "v1alpha1", self.namespace, "executions", body)

    def get(self, plural: str, name: str) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object("kflow.io", "v1alpha1", self.namespace, plural, name)

    def patch_spec(self, name: str, spec: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object("kflow.io", "v1alpha1", self.namespace, "executions", name, {"spec": spec})

    def wait(self, name: str, timeout: float = 120, until=None) -> dict[str, Any]:
        """The Execution once its state is final (or `until(execution)` holds)."""
        deadline = time.monotonic() + timeout
        while True:
            execution = self.get("executions", name)
            status = execution.get("status") or {}
            if (until(execution) if until else status.get("current") in ("SUCCESS", "WARNING", "FAILED", "KILLED")):
                return execution
            if time.monotonic() > deadline:
                raise AssertionError(f"execution {name} did not finish in {timeout}s: {status.get('current')} {status.get('progress')}")
            time.sleep(0.3)

    def wait_flow(self, name: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            flow = self.get("flows", name)
            if (flow.get("status") or {}).get("valid"):
                return flow
            assert time.monotonic() < deadline, f"flow {name} never validated"
            time.sleep(0.2)

    def pods(self, execution: str | None = None) -> list:
        selector = f"kflow.io/execution={execution}" if execution else "app.kubernetes.io/managed-by=kflow"
        return self.core.list_namespaced_pod(self.namespace, label_selector=selector).items

    def events(self, name: str) -> list:
        return [e for e in self.core.list_namespaced_event(self.namespace).items if e.involved_object.name == name]


def taskruns(execution: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Task runs by task id (the tests' flows have no loops)."""
    return {tr["taskId"]: tr for tr in (execution["status"].get("taskRuns") or {}).values()}


def why_not_success(execution: dict[str, Any]) -> str:
    """What an assertion on an execution's state prints: its error and each failed attempt's reason."""
    from kflow.operator.resources import taskruns_from_status

    status = execution.get("status") or {}
    lines = [f"{execution['metadata']['name']}: {status.get('current')} {status.get('progress')} error={status.get('error')!r}"]
    for run in taskruns_from_status(status):
        for number, attempt in enumerate(run.get("attempts") or []):
            state = (attempt.get("state") or {}).get("current")
            if state in ("FAILED", "KILLED") or attempt.get("reason"):
                value = f"[{run['value']}]" if run.get("value") else ""
                lines.append(f"  {run['taskId']}{value} attempt {number}: {state}: {attempt.get('reason')}")
    return "\n".join(lines)
