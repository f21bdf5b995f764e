"""Prometheus metrics of the operator, counted from what the engine reports.

Counters move only on a change this process made and persisted: a task run is counted when a
step of this process turns it terminal (it is in `StepResult.changed` and its state is final)
and the status holding that step was written; an execution when a step ends it
(`ExecutionEnded`). A status reloaded after a restart changes nothing, so nothing is counted
twice; a step lost to a write conflict is recomputed and counted once, when it is written.
Gauges (executions running, the reconcile queue) are read from the controller at scrape time.

Labels are bounded: the Kubernetes namespace, the flow id and the canonical task type; never
an execution or task run id.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kflow.execution import State
from kflow.execution.status import ExecutionStatus

if TYPE_CHECKING:
    from aiohttp import web

    from kflow.engine import Engine, ExecutionRun, StepResult

T = TypeVar("T")
log = logging.getLogger("kflow.operator")

# Executions and task runs last from a second to hours; a reconcile from a millisecond to seconds.
RUN_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600, 86400)
RECONCILE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class OperatorMetrics:
    """The operator's metrics in one registry; the controller calls in, `/metrics` reads out."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.executions = Counter("kflow_executions_total", "Executions ended, by final state.", ["namespace", "flow", "state"], registry=r)
        self.execution_seconds = Histogram(
            "kflow_execution_duration_seconds", "Duration of ended executions, start to end.", ["namespace", "flow"], buckets=RUN_BUCKETS, registry=r
        )
        self.taskruns = Counter(
            "kflow_taskruns_total", "Task runs that reached a final state, by that state.", ["namespace", "flow", "task_type", "state"], registry=r
        )
        self.taskrun_seconds = Histogram(
            "kflow_taskrun_duration_seconds",
            "Duration of task runs that reached a final state, all attempts included.",
            ["namespace", "flow", "task_type"],
            buckets=RUN_BUCKETS,
            registry=r,
        )
        self.pods = Counter("kflow_pods_created_total", "Task pods created (an adopted pod is not counted).", ["namespace"], registry=r)
        self.reconcile_seconds = Histogram("kflow_reconcile_seconds", "Latency of one reconcile of an execution.", buckets=RECONCILE_BUCKETS, registry=r)
        self.reconcile_errors = Counter("kflow_reconcile_errors_total", "Reconciles that raised an error (retried after 1 s).", registry=r)
        self._live = _Live()
        r.register(self._live)

    # -- what the controller reports -------------------------------------------------------------
    def attach(self, controller: Any) -> OperatorMetrics:
        """Read the gauges from this controller (the last one attached wins)."""
        self._live.controller = controller
        return self

    def step(self, namespace: str, engine: Engine, run: ExecutionRun, result: StepResult) -> None:
        """Count one engine step, once its status is written (never failing the reconcile)."""
        try:
            self._step(namespace, engine, run, result)
        except Exception:  # a metrics bug must not stop executions
            log.exception("recording metrics of execution %s failed", run.execution.id)

    def _step(self, namespace: str, engine: Engine, run: ExecutionRun, result: StepResult) -> None:
        from kflow.engine import ExecutionEnded

        flow = run.execution.flowId
        for taskrun_id in result.changed:
            taskrun = run.taskrun(taskrun_id)
            state = taskrun.state
            if not state.current.terminal:
                continue
            task = engine.plan.task(taskrun.taskId)
            task_type = task.type_name or task.type
            self.taskruns.labels(namespace, flow, task_type, state.current.value).inc()
            if state.start_date and state.end_date:
                self.taskrun_seconds.labels(namespace, flow, task_type).observe((state.end_date - state.start_date).total_seconds())
        for action in result.actions:
            if isinstance(action, ExecutionEnded):
                info = run.execution.state
                seconds = (info.end_date - info.start_date).total_seconds() if info.start_date and info.end_date else 0.0
                self.execution_ended(namespace, flow, action.state, seconds)

    def execution_ended(self, namespace: str, flow: str, state: State, seconds: float) -> None:
        self.executions.labels(namespace, flow, state.value).inc()
        self.execution_seconds.labels(namespace, flow).observe(seconds)

    def pod_created(self, namespace: str) -> None:
        self.pods.labels(namespace).inc()

    def reconcile_failed(self) -> None:
        self.reconcile_errors.inc()

    async def timed(self, reconcile: Awaitable[T]) -> T:
        """Await one reconcile, observing its latency whether it succeeds or not."""
        with self.reconcile_seconds.time():
            return await reconcile

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _Live(Collector):
    """Gauges read from the controller when scraped: nothing to keep in step by hand."""

    controller: Any = None

    def collect(self) -> Iterator[Metric]:
        running = GaugeMetricFamily("kflow_executions_running", "Executions started and not ended (queued ones excluded).", labels=["namespace", "flow"])
        depth = GaugeMetricFamily("kflow_reconcile_queue_depth", "Executions being reconciled or waiting for a reconcile.")
        counts: dict[tuple[str, str], int] = {}
        waiting = 0
        controller = self.controller
        if controller is not None:
            for (namespace, _), tracked in list(controller.tracked.items()):
                flow = _running_flow(tracked)
                if flow is not None:
                    counts[(namespace, flow)] = counts.get((namespace, flow), 0) + 1
            waiting = len(set(controller._pending) | set(controller._running))
        for (namespace, flow), count in sorted(counts.items()):
            running.add_metric([namespace, flow], count)
        depth.add_metric([], waiting)
        yield running
        yield depth


def _running_flow(tracked: Any) -> str | None:
    """The flow id of a tracked execution that has started and not ended, else None."""
    if tracked.done:
        return None
    if tracked.run is not None:
        return tracked.run.execution.flowId
    status = ExecutionStatus.summary(tracked.status)
    current = status.state_now or State.CREATED
    if not status.id or current.terminal or current in (State.CREATED, State.QUEUED):
        return None  # not started yet, queued behind the flow's concurrency limit, or ended
    return status.flowId or ""


_default: OperatorMetrics | None = None


def default() -> OperatorMetrics:
    """The process's metrics, with Python's process, GC and platform collectors beside them."""
    global _default
    if _default is None:
        from prometheus_client import GCCollector, PlatformCollector, ProcessCollector

        registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        _default = OperatorMetrics(registry)
    return _default


def attach(controller: Any) -> OperatorMetrics:
    """The process's metrics, reading the gauges from `controller`."""
    return default().attach(controller)


class MetricsPortError(Exception):
    """A metrics port that cannot be used, in one line saying what to do."""


def port_from(flag: int | None, liveness: str | None = None) -> int:
    """The metrics port: the --metrics-port flag, else KFLOW_METRICS_PORT, else the default."""
    import os
    from urllib.parse import urlsplit

    from kflow.operator.settings import OperatorSettings

    raw = flag if flag is not None else os.environ.get("KFLOW_METRICS_PORT", OperatorSettings.model_fields["metrics_port"].default)
    try:
        port = int(raw)
    except ValueError:
        raise MetricsPortError(f"KFLOW_METRICS_PORT must be a port number (0 disables metrics), got {raw!r}") from None
    if not 0 <= port <= 65535:
        raise MetricsPortError(f"the metrics port must be between 0 and 65535 (0 disables metrics), got {port}")
    if port and liveness and urlsplit(liveness).port == port:
        raise MetricsPortError(f"the metrics port {port} is also the --liveness port; give --metrics-port another one")
    return port


@asynccontextmanager
async def serving(port: int) -> AsyncIterator[None]:
    """/metrics served on the running loop for the duration of the block (nothing when port is 0)."""
    if not port:
        yield
        return
    try:
        runner = await serve(port)
    except OSError as err:
        raise MetricsPortError(f"cannot serve metrics on 0.0.0.0:{port}: {err.strerror or err} (choose another --metrics-port; 0 disables)") from None
    log.info("serving metrics on http://0.0.0.0:%d/metrics", port)
    try:
        yield
    finally:
        await runner.cleanup()


async def serve(port: int, host: str = "0.0.0.0", metrics: OperatorMetrics | None = None) -> web.AppRunner:
    """Serve GET /metrics on kopf's own event loop (gauges read the controller without locks).

    Raises OSError when the port cannot be bound; the caller says so in one line.
    """
    from aiohttp import web

    source = metrics or default()

    async def handle(_: web.Request) -> web.Response:
        return web.Response(body=source.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
