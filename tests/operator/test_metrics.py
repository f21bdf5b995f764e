"""The operator's Prometheus metrics: counted once per change the engine reports, and served.

Unit tests drive the recorder with real engine steps (and hand-made StepResults); the cluster
test runs a flow with a retried, allowed failure under a real operator, scrapes /metrics,
restarts the operator and checks that nothing already ended is counted again.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from kflow.engine import AttemptEnded, Engine, StepResult
from kflow.execution import State
from kflow.flow import load_flow
from kflow.operator import metrics as metrics_module
from kflow.operator.metrics import MetricsPortError, OperatorMetrics, port_from
from tests.engine.simulate import T0
from tests.operator.test_helm import CHART as ROOT_CHART
from tests.operator.test_helm import (
    HELM,
    NO_HELM,
    RELEASE_NS,
    env_of,
    helm,
    of_kind,
    one,
    operator_container,
    render,
)

RETURN = "io.kestra.plugin.core.debug.Return"
OLD_RETURN = "io.kestra.core.tasks.debugs.Return"
NS = "team-a"
ROOT = Path(__file__).resolve().parents[2]

FLOW = f"""
id: metered
namespace: t
tasks:
  - {{id: first, type: {OLD_RETURN}, format: one}}
  - {{id: flaky, type: {RETURN}, format: "{{{{ outputs.nope.value }}}}", allowFailure: true, retry: {{type: constant, interval: PT1S, maxAttempt: 2}}}}
  - {{id: last, type: {RETURN}, format: three}}
"""


def value(m: OperatorMetrics, name: str, **labels: str) -> float:
    return m.registry.get_sample_value(name, labels) or 0.0


def total(m: OperatorMetrics, name: str) -> float:
    return sum(s.value for f in m.registry.collect() for s in f.samples if s.name == name)


class Driver:
    """Steps a real engine as a shell would, handing every persisted step to the recorder."""

    def __init__(self, m: OperatorMetrics, text: str = FLOW):
        self.m = m
        self.engine = Engine(load_flow(text))
        self.run = self.engine.load(self.engine.new_execution("e1", {}, T0))
        self.now = T0
        self.record(self.engine.start(self.run, self.now))

    def record(self, result: StepResult) -> StepResult:
        self.m.step(NS, self.engine, self.run, result)
        self.result = result
        return result

    def end(self, task_id: str, state: State, seconds: float = 2) -> StepResult:
        self.now += timedelta(seconds=seconds)
        taskrun = next(t for t in self.run.index.by_id.values() if t.taskId == task_id)
        return self.record(self.engine.step(self.run, [AttemptEnded(taskrun.id, len(taskrun.attempts) - 1, state, reason="boom" if state.failed else None)], self.now))

    def tick(self, seconds: float) -> StepResult:
        self.now += timedelta(seconds=seconds)
        return self.record(self.engine.step(self.run, [], self.now))


def test_counts_task_runs_and_the_execution_once_per_terminal_transition():
    m = OperatorMetrics(CollectorRegistry())
    d = Driver(m)
    assert m.registry.get_sample_value("kflow_taskruns_total", {"namespace": NS, "flow": "metered", "task_type": RETURN, "state": "SUCCESS"}) is None
    d.end("first", State.SUCCESS, seconds=3)
    d.end("flaky", State.FAILED)  # attempt 1 of 2: RETRYING, not terminal, not counted
    assert total(m, "kflow_taskruns_total") == 1  # just `first`
    d.tick(1)  # the retry is due: attempt 2 starts
    d.end("flaky", State.FAILED)  # allowFailure: the task run ends WARNING
    d.end("last", State.SUCCESS)
    assert d.run.execution.state.current == State.WARNING
    assert total(m, "kflow_taskruns_total") == 3

    # Both spellings of Return are one task type: the canonical name.
    assert value(m, "kflow_taskruns_total", namespace=NS, flow="metered", task_type=RETURN, state="SUCCESS") == 2
    assert value(m, "kflow_taskruns_total", namespace=NS, flow="metered", task_type=RETURN, state="WARNING") == 1
    assert value(m, "kflow_taskrun_duration_seconds_count", namespace=NS, flow="metered", task_type=RETURN) == 3
    assert value(m, "kflow_taskrun_duration_seconds_sum", namespace=NS, flow="metered", task_type=RETURN) == pytest.approx(3 + 2 + 1 + 2 + 2)
    assert value(m, "kflow_executions_total", namespace=NS, flow="metered", state="WARNING") == 1
    assert value(m, "kflow_execution_duration_seconds_count", namespace=NS, flow="metered") == 1
    assert value(m, "kflow_execution_duration_seconds_sum", namespace=NS, flow="metered") == pytest.approx(10)

    # The same step handed over twice would count twice: what the controller must never do,
    # and why it records each step once, after its status write.
    before = value(m, "kflow_executions_total", namespace=NS, flow="metered", state="WARNING")
    d.tick(5)  # an ended execution: the engine reports nothing more
    assert d.result.changed == set() and d.result.actions == []
    assert value(m, "kflow_executions_total", namespace=NS, flow="metered", state="WARNING") == before


def test_a_reloaded_status_counts_nothing():
    """After a restart the engine state comes from the status: terminal task runs are not changes."""
    m = OperatorMetrics(CollectorRegistry())
    d = Driver(m)
    d.end("first", State.SUCCESS)
    stored = d.run.execution.model_copy(deep=True)

    fresh = OperatorMetrics(CollectorRegistry())  # a new process
    run = d.engine.load(stored)
    fresh.step(NS, d.engine, run, d.engine.step(run, [], d.now))
    assert value(fresh, "kflow_taskruns_total", namespace=NS, flow="metered", task_type=RETURN, state="SUCCESS") == 0

    # A repeated report of the attempt that ended before the restart changes nothing either.
    first = next(t for t in run.index.by_id.values() if t.taskId == "first")
    result = d.engine.step(run, [AttemptEnded(first.id, 0, State.SUCCESS)], d.now)
    fresh.step(NS, d.engine, run, result)
    assert first.id not in result.changed
    assert value(fresh, "kflow_taskruns_total", namespace=NS, flow="metered", task_type=RETURN, state="SUCCESS") == 0


def test_a_step_result_naming_non_terminal_task_runs_counts_nothing():
    m = OperatorMetrics(CollectorRegistry())
    d = Driver(m)
    running = {t.id for t in d.run.index.by_id.values()}
    m.step(NS, d.engine, d.run, StepResult(changed=running))
    assert total(m, "kflow_taskruns_total") == 0


def test_pods_reconciles_and_errors():
    m = OperatorMetrics(CollectorRegistry())
    m.pod_created(NS)
    m.pod_created(NS)
    m.reconcile_failed()

    async def fails():
        raise RuntimeError("api down")

    asyncio.run(m.timed(asyncio.sleep(0, result=1)))
    with pytest.raises(RuntimeError):
        asyncio.run(m.timed(fails()))
    assert value(m, "kflow_pods_created_total", namespace=NS) == 2
    assert value(m, "kflow_reconcile_errors_total") == 1
    assert value(m, "kflow_reconcile_seconds_count") == 2  # a failed reconcile's latency counts too


def test_gauges_are_read_from_the_controller_when_scraped():
    m = OperatorMetrics(CollectorRegistry())
    run = SimpleNamespace(execution=SimpleNamespace(flowId="metered"))
    tracked = {
        (NS, "a"): SimpleNamespace(done=False, run=run, status=None),
        (NS, "b"): SimpleNamespace(done=False, run=run, status=None),
        (NS, "c"): SimpleNamespace(done=True, run=None, status=None),  # ended
        (NS, "d"): SimpleNamespace(done=False, run=None, status={}),  # not started yet
        (NS, "e"): SimpleNamespace(done=False, run=None, status={"id": "x", "current": "SUCCESS", "flowId": "metered"}),  # ended, not loaded yet
        ("team-b", "f"): SimpleNamespace(done=False, run=None, status={"id": "y", "current": "RUNNING", "flowId": "other"}),  # not loaded yet
        ("team-b", "g"): SimpleNamespace(done=False, run=None, status={"id": "z", "current": "QUEUED", "flowId": "other"}),  # flow concurrency
    }
    controller = SimpleNamespace(tracked=tracked, _pending={(NS, "a")}, _running={(NS, "a"): None, (NS, "b"): None})
    assert value(m, "kflow_reconcile_queue_depth") == 0  # no controller attached: zero, not absent
    m.attach(controller)
    assert value(m, "kflow_executions_running", namespace=NS, flow="metered") == 2
    assert value(m, "kflow_executions_running", namespace="team-b", flow="other") == 1
    assert value(m, "kflow_reconcile_queue_depth") == 2
    del tracked[(NS, "a")]
    controller._pending.clear()
    controller._running.clear()
    assert value(m, "kflow_executions_running", namespace=NS, flow="metered") == 1
    assert value(m, "kflow_reconcile_queue_depth") == 0


def test_metrics_port_from_flag_env_and_default(monkeypatch):
    monkeypatch.delenv("KFLOW_METRICS_PORT", raising=False)
    assert port_from(None) == 8080
    assert port_from(9100) == 9100
    monkeypatch.setenv("KFLOW_METRICS_PORT", "0")
    assert port_from(None) == 0
    assert port_from(9100) == 9100  # the flag wins
    monkeypatch.setenv("KFLOW_METRICS_PORT", "metrics")
    with pytest.raises(MetricsPortError, match="KFLOW_METRICS_PORT must be a port number"):
        port_from(None)
    with pytest.raises(MetricsPortError, match="also the --liveness port"):
        port_from(8080, "http://0.0.0.0:8080/healthz")
    with pytest.raises(MetricsPortError, match="between 0 and 65535"):
        port_from(70000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serving_exposes_the_registry_and_says_when_the_port_is_taken():
    m = OperatorMetrics(CollectorRegistry())
    m.pod_created(NS)
    port = free_port()

    async def scenario() -> str:
        runner = await metrics_module.serve(port, "127.0.0.1", m)
        try:
            loop = asyncio.get_running_loop()
            text = await loop.run_in_executor(None, lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode())
            with pytest.raises(OSError):
                await metrics_module.serve(port, "127.0.0.1", m)
        finally:
            await runner.cleanup()
        return text

    text = asyncio.run(scenario())
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert [s.value for s in families["kflow_pods_created"].samples if s.name == "kflow_pods_created_total"] == [1.0]


def test_cli_refuses_a_metrics_port_it_cannot_bind():
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "kflow.operator", "--namespace", "nowhere", "--metrics-port", str(port)],
            check=False, capture_output=True, text=True, timeout=60, env={k: v for k, v in os.environ.items() if k != "KFLOW_METRICS_PORT"},
        )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(f"kflow operator: cannot serve metrics on 0.0.0.0:{port}")
    assert "Traceback" not in proc.stderr


# -- on the real cluster --------------------------------------------------------------------------


def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape_until(port: int, ready, timeout: float = 60) -> dict:
    """Scrape until `ready(samples)`: the operator records a step just after its status write."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            samples = scrape(port)
            if ready(samples):
                return samples
        except OSError:
            samples = None  # not listening yet
        if time.monotonic() > deadline:
            raise AssertionError(f"metrics never got ready on port {port}: {samples}")
        time.sleep(0.3)


@pytest.mark.cluster
def test_operator_metrics_match_the_run_and_survive_a_restart(kflow, operator_factory, k8s_namespace):
    port = free_port()
    operator = operator_factory(KFLOW_METRICS_PORT=str(port))
    ns = k8s_namespace
    kflow.apply_flow(FLOW)
    kflow.execute("metered", "metered-1")
    kflow.execute("missing-flow", "orphan-1")  # ends FAILED at once: its Flow does not exist
    assert kflow.wait("metered-1", timeout=180)["status"]["current"] == "WARNING"
    assert kflow.wait("orphan-1")["status"]["current"] == "FAILED"
    pods = len(kflow.pods("metered-1"))
    assert pods == 4  # first, flaky twice (a retry), last: the test keeps finished pods

    s = scrape_until(port, lambda s: sample(s, "kflow_executions_total", namespace=ns, flow="metered", state="WARNING") == 1)
    assert sample(s, "kflow_taskruns_total", namespace=ns, flow="metered", task_type=RETURN, state="SUCCESS") == 2
    assert sample(s, "kflow_taskruns_total", namespace=ns, flow="metered", task_type=RETURN, state="WARNING") == 1
    assert sum(v for (name, labels), v in s.items() if name == "kflow_taskruns_total") == 3
    assert sample(s, "kflow_taskrun_duration_seconds_count", namespace=ns, flow="metered", task_type=RETURN) == 3
    assert sample(s, "kflow_pods_created_total", namespace=ns) == pods
    assert sample(s, "kflow_execution_duration_seconds_count", namespace=ns, flow="metered") == 1
    assert sample(s, "kflow_execution_duration_seconds_sum", namespace=ns, flow="metered") > 0
    assert sample(s, "kflow_executions_total", namespace=ns, flow="missing-flow", state="FAILED") == 1
    assert sample(s, "kflow_executions_running", namespace=ns, flow="metered") == 0
    assert sample(s, "kflow_reconcile_seconds_count") >= 4  # at least one per step of the run
    assert sample(s, "kflow_reconcile_errors_total") == 0
    assert not any("execution" in key for _, labels in s for key, _ in labels)  # bounded labels only

    # A new process reloads both ended executions from their status: it counts neither again.
    operator.stop()
    operator.start()
    kflow.apply_flow(FLOW.replace("id: metered", "id: after-restart"))
    kflow.execute("after-restart", "after-1")
    assert kflow.wait("after-1", timeout=180)["status"]["current"] == "WARNING"  # seen after the old ones were listed
    s = scrape_until(port, lambda s: sample(s, "kflow_executions_total", namespace=ns, flow="after-restart", state="WARNING") == 1)
    assert sum(v for (name, labels), v in s.items() if name == "kflow_executions_total") == 1
    assert sum(v for (name, labels), v in s.items() if name == "kflow_taskruns_total" and ("flow", "metered") in labels) == 0
    assert sum(v for (name, labels), v in s.items() if name == "kflow_taskruns_total") == 3
    assert sample(s, "kflow_pods_created_total", namespace=ns) == 4  # the new execution's pods only
    assert sample(s, "kflow_execution_duration_seconds_count", namespace=ns, flow="metered") == 0


# -- the Helm chart ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def helm_env(tmp_path_factory) -> dict[str, str]:
    """Environment for the helm binary test_helm.py finds, with a throwaway helm home."""
    if HELM is None:
        pytest.skip(NO_HELM)
    home = tmp_path_factory.mktemp("helm-home")
    return dict(os.environ, HELM_CACHE_HOME=str(home / "cache"), HELM_CONFIG_HOME=str(home / "config"), HELM_DATA_HOME=str(home / "data"))


def test_chart_lint_is_clean_with_metrics_on_and_off(helm_env):
    for values in (
        ["--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.labels.release=prometheus"],
        ["--set", "metrics.enabled=false"],
    ):
        proc = helm(helm_env, "lint", "--strict", str(ROOT_CHART), *values)
        assert "0 chart(s) failed" in proc.stdout and "[WARNING]" not in proc.stdout, proc.stdout


def test_chart_serves_metrics_behind_a_service(helm_env):
    docs = render(helm_env)
    container = operator_container(docs)
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert {"name": "metrics", "containerPort": 8080, "protocol": "TCP"} in container["ports"]
    assert env_of(container)["KFLOW_METRICS_PORT"] == "8080"
    liveness = container["command"][container["command"].index("--liveness") + 1]
    assert port_from(int(env_of(container)["KFLOW_METRICS_PORT"]), liveness) == 8080  # no clash with kopf's probe port
    service = one(docs, "Service", "kflow-metrics")
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert not of_kind(docs, "ServiceMonitor")  # off by default: its CRD may not exist


def test_chart_service_monitor_scrapes_the_metrics_service(helm_env):
    docs = render(helm_env, **{"metrics.serviceMonitor.enabled": "true", "metrics.serviceMonitor.interval": "15s",
                               "metrics.serviceMonitor.labels.release": "prometheus"})
    monitor = one(docs, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "15s"}]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [RELEASE_NS]}
    selected = [s for s in of_kind(docs, "Service") if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()]
    assert [s["metadata"]["name"] for s in selected] == ["kflow-metrics"]


def test_chart_metrics_off_and_bad_values(helm_env):
    docs = render(helm_env, **{"metrics.enabled": "false", "metrics.serviceMonitor.enabled": "true"})
    container = operator_container(docs)
    assert env_of(container)["KFLOW_METRICS_PORT"] == "0"
    assert all(p["name"] != "metrics" for p in container["ports"])
    assert [s["metadata"]["name"] for s in of_kind(docs, "Service")] == ["kflow-webhook"] and not of_kind(docs, "ServiceMonitor")
    proc = helm(helm_env, "template", "kflow", str(ROOT_CHART), "--set", "metrics.port=8081", check=False)
    assert proc.returncode != 0 and "metrics.port and operator.healthPort are both 8081" in proc.stderr
    proc = helm(helm_env, "template", "kflow", str(ROOT_CHART), "--set", "metrics.serviceMonitor.interval=often", check=False)
    assert proc.returncode != 0 and "interval" in proc.stderr


@pytest.mark.cluster
def test_helm_release_serves_metrics_through_its_service(cluster, k8s_api, k8s_namespace, kflow):
    """The chart's operator pod answers /metrics through the metrics Service (via the API server's proxy)."""
    from kubernetes import client

    ns = k8s_namespace
    release = f"m{ns[-6:]}"
    repository, _, tag = cluster.project_image.rpartition(":")
    proc = cluster.helm(
        "install", release, str(ROOT_CHART), "--namespace", ns, "--set", f"image.repository={repository}", "--set", f"image.tag={tag}",
        "--set", "image.pullPolicy=Never", "--set", f"namespaces={{{ns}}}", "--wait", "--timeout", "180s", check=False,
    )
    core = client.CoreV1Api(k8s_api)

    def scraped() -> dict:
        response = core.connect_get_namespaced_service_proxy_with_path(f"{release}-kflow-metrics:metrics", ns, "metrics", _preload_content=False)
        text = response.data.decode()
        return {(s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples}

    try:
        if proc.returncode != 0:
            pods = core.list_namespaced_pod(ns).items
            states = [(p.metadata.name, p.status.phase, [c.state.to_dict() for c in p.status.container_statuses or []]) for p in pods]
            pytest.fail(f"helm install failed:\n{proc.stdout}\n{proc.stderr}\n{states}")
        kflow.apply_flow((ROOT / "examples" / "sample-task.yaml").read_text())
        kflow.execute("sample-task", "run")
        assert kflow.wait("run")["status"]["current"] == "SUCCESS"
        deadline = time.monotonic() + 60
        while (s := scraped()) and sample(s, "kflow_executions_total", namespace=ns, flow="sample-task", state="SUCCESS") != 1:
            assert time.monotonic() < deadline, s
            time.sleep(0.5)
        assert sample(s, "kflow_pods_created_total", namespace=ns) == 1
        assert sample(s, "kflow_taskruns_total", namespace=ns, flow="sample-task", task_type=RETURN, state="SUCCESS") == 1
        assert sample(s, "process_resident_memory_bytes") > 0  # the process collectors come along
    finally:
        cluster.helm("uninstall", release, "--namespace", ns, "--wait", "--timeout", "60s", check=False)
