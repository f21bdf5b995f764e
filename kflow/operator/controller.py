"""Drives every Execution resource with the engine: observe pods, step, create pods, record.

Level-based and crash-safe: all that matters lives in the Execution's status and its pods.
The order of one reconcile is (1) step the engine, (2) create the pods it asks for (named
per attempt: a pod that already exists is adopted), (3) write the status. So a status that
says an attempt runs always has had its pod; after a crash the same step is recomputed and
finds its pods. Memory holds a cache of each execution's engine state, checked against a
step counter kept in the status; work per event is proportional to what changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from kflow.engine import (
    AttemptEnded,
    Engine,
    Event,
    ExecutionEnded,
    ExecutionRun,
    KillRequested,
    KillTask,
    RestartRequested,
    ResumeRequested,
    RetryExecution,
    RunTask,
    StartSubflow,
    StepResult,
    WakeAt,
)
from kflow.operator.flow_retry import first_try_flow, retry_manifest, retry_start
from kflow.operator.kv_configmaps import ConfigMapKV
from kflow.execution import State, StateInfo, TaskRun
from kflow.execution.instants import format_instant
from kflow.flow import FlowError, parse_flow
from kflow.flow.durations import format_duration
from kflow.masking import shown_inputs
from kflow.operator import metrics, names
from kflow.operator.admission import PodAdmission
from kflow.operator.flows import flow_from_resource
from kflow.operator.execution_labels import missing_labels
from kflow.operator.kube import Conflict, KubeApi, NotFound
from kflow.operator.pod_logs import PodLogArchive
from kflow.operator.offloop import off_loop
from kflow.operator.pods import pod_attempt, pod_manifest, pod_outcome, pod_stuck
from kflow.operator.resources import execution_from_status
from kflow.operator import secret_inputs
from kflow.operator.secret_inputs import SecretInputError
from kflow.execution.secret_inputs import resume_secret_ids
from kflow.operator.settings import OperatorSettings
from kflow.operator.subflows import child_manifest, child_name, child_outcome, find_flow, parent_of, running_children, with_task_outputs
from kflow.operator.status_archive import StatusArchive

log = logging.getLogger("kflow.operator")

Key = tuple[str, str]  # (kubernetes namespace, execution name)


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Tracked:
    """What the operator holds for one Execution between events."""

    meta: dict[str, Any]
    spec: dict[str, Any]
    resource_version: str
    status: dict[str, Any] | None  # the stored status, kept only until it is loaded
    step: int = 0  # status.step of the state held in `run`
    engine: Engine | None = None
    run: ExecutionRun | None = None
    events: list[Event] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None
    done: bool = False
    restarted: int = 0  # the spec.restart value acted on (status.restarted)
    resumed: int = 0  # the spec.resume value acted on (status.resumed)
    slot: tuple[str, str] | None = None  # (namespace, flow) whose concurrency slot it holds
    removed: set[str] = field(default_factory=set)  # status.removed: task runs a restart dropped
    archive: StatusArchive | None = None  # which finished task runs status.taskRuns still holds
    waiting: set[str] = field(default_factory=set)  # status.waiting when loaded: attempts with no pod yet (admission.py)
    writing: int = -1  # the step of our status write in flight: its watch event may come before the reply
    object_labels: dict[str, str] = field(default_factory=dict)  # metadata.labels as last seen
    secret_values: dict[str, str] | None = None  # SECRET inputs read from their Secret (secret_inputs.py); None: not yet
    secret_refs: dict[str, tuple[str, str]] = field(default_factory=dict)  # input id -> (Secret, key), for pods

    def involved(self) -> dict[str, Any]:
        return {"apiVersion": "kflow.io/v1alpha1", "kind": "Execution", "metadata": self.meta}


class ExecutionController:
    def __init__(self, api: KubeApi, settings: OperatorSettings, pods_of: Callable[[Key], Iterable[dict]] | None = None):
        self.api = api
        self.settings = settings
        self.pods_of = pods_of or (lambda key: ())
        self.pod_logs = PodLogArchive(api.core)  # each pod's log, kept before the pod is deleted
        self.tracked: dict[Key, Tracked] = {}
        self._engines: dict[str, Engine] = {}
        self._running: dict[Key, asyncio.Task] = {}
        self._pending: set[Key] = set()
        self._slots: dict[tuple[str, str], set[Key]] = {}  # (namespace, flow) -> executions running
        self._queued: dict[tuple[str, str], dict[Key, None]] = {}  # ... and those waiting, oldest first
        self.admission = PodAdmission(settings.max_pods_in_flight, settings.max_pods_per_execution)
        self.metrics = metrics.attach(self)  # Prometheus: counted per persisted step, gauges read at scrape

    # -- what kopf reports ----------------------------------------------------------------------
    def execution_event(self, event_type: str | None, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        if event_type == "DELETED":
            tracked = self.tracked.pop(key, None)
            if tracked and tracked.timer:
                tracked.timer.cancel()
            for queued in self._queued.values():
                queued.pop(key, None)
            if tracked:
                self._free_slot(tracked)
            self._wake(self.admission.forget(key))
            return
        status = body.get("status") or {}
        self._notify_parent(body)
        tracked = self.tracked.get(key)
        if tracked is None or tracked.meta.get("uid") != meta.get("uid"):
            tracked = self.tracked[key] = Tracked(meta=_meta(meta), spec=body.get("spec") or {}, resource_version=meta["resourceVersion"], status=status, step=-1)
        else:
            if meta["resourceVersion"] == tracked.resource_version and tracked.run is not None:
                return  # the echo of our own last write: nothing changed since, nothing to step
            tracked.spec = body.get("spec") or {}
            step = status.get("step", 0)
            if step >= tracked.step:  # an event older than our last write carries an older version
                tracked.resource_version = meta["resourceVersion"]
            if step > tracked.step and tracked.step >= 0 and step != tracked.writing:  # written by someone else: reload from it
                tracked.run, tracked.status, tracked.step, tracked.done = None, status, -1, False
        tracked.object_labels = meta.get("labels") or {}
        tracked.restarted = max(tracked.restarted, status.get("restarted") or 0)
        tracked.resumed = max(tracked.resumed, status.get("resumed") or 0)
        if tracked.done and _wants(tracked, "restart"):  # reopen from the final status
            tracked.run, tracked.status, tracked.step, tracked.done = None, status, -1, False
        if tracked.done:  # ended: only a restart (above) wakes it
            return
        self.kick(key)

    def pod_event(self, event_type: str | None, pod: dict[str, Any]) -> None:
        key = _owner(pod)
        if key is None or key not in self.tracked:
            return  # its execution is not loaded yet; loading checks every pod anyway
        outcome = pod_outcome(pod, deleted=event_type == "DELETED")
        if outcome is not None:
            self.tracked[key].events.append(outcome)
            self.kick(key)
            if event_type != "DELETED" and pod_stuck(pod):
                # Its attempt failed but the pod would wait forever (an image that cannot be pulled).
                asyncio.get_running_loop().create_task(self.api.delete_pod(key[0], pod["metadata"]["name"]))

    # -- scheduling: one reconcile at a time per execution, coalescing bursts ---------------------
    def kick(self, key: Key) -> None:
        if key in self._running:
            self._pending.add(key)
            return
        self._running[key] = asyncio.get_running_loop().create_task(self._loop(key))

    async def _loop(self, key: Key) -> None:
        try:
            while True:
                self._pending.discard(key)
                try:
                    await self.metrics.timed(self.reconcile(key))
                except Conflict:
                    await self._refresh(key)
                    self._pending.add(key)
                except Exception:
                    log.exception("reconciling execution %s/%s failed; will retry", *key)
                    self.metrics.reconcile_failed()
                    await asyncio.sleep(1)
                    self._pending.add(key)
                if key not in self._pending:
                    return
        finally:
            self._running.pop(key, None)

    async def _refresh(self, key: Key) -> None:
        """After a conflict: read the object again and rebuild from its status."""
        tracked = self.tracked.get(key)
        if tracked is None:
            return
        try:
            body = await self.api.get_execution(*key)
        except NotFound:
            self.tracked.pop(key, None)
            return
        tracked.resource_version = body["metadata"]["resourceVersion"]
        tracked.spec = body.get("spec") or {}
        tracked.run, tracked.status, tracked.step, tracked.done = None, body.get("status") or {}, -1, False

    # -- one reconcile ------------------------------------------------------------------------------
    async def reconcile(self, key: Key) -> None:
        tracked = self.tracked.get(key)
        if tracked is None or tracked.done:
            return
        now = _now()
        if tracked.run is None:
            status = tracked.status or {}
            if not status.get("id") or status.get("current") == State.QUEUED.value:
                await self._start(key, tracked, now)
                return
            await self._read_secret_inputs(key, tracked, status)
            if not self._load(tracked, status):
                return
            log.debug("%s/%s: loaded from status step %d", *key, tracked.step)
            events = await self._observe_all(key, tracked)
            events.extend(await self._observe_subflows(key, tracked))
        else:
            events = []
        events.extend(tracked.events)
        tracked.events.clear()
        for event in events:
            if isinstance(event, AttemptEnded):  # its pod's slot is free (admission.py)
                self._wake(self.admission.ended(key, (event.taskrun_id, event.attempt)), key)
        run = tracked.run
        if tracked.spec.get("kill") and not run.killing and not run.execution.state.current.terminal:
            events.append(KillRequested())
        control: dict[str, Any] = {}
        if _wants(tracked, "restart"):
            events.append(RestartRequested())
            control["restarted"] = tracked.restarted = tracked.spec["restart"]
        if _wants(tracked, "resume"):
            events.append(ResumeRequested(await self._resume_inputs(key, tracked)))
            control["resumed"] = tracked.resumed = tracked.spec["resume"]
        result = await off_loop(tracked.engine.step, run, events, now)  # renders: never on the event loop
        if tracked.run is not run:  # reloaded (a foreign write) while it stepped: step again from there
            tracked.events[:0] = [e for e in events if isinstance(e, AttemptEnded)]
            self._pending.add(key)
            return
        log.debug("%s/%s: %d events -> %d actions, %d task runs changed", *key, len(events), len(result.actions), len(result.changed))
        await self._apply(key, tracked, result, extra=control or None)

    async def _start(self, key: Key, tracked: Tracked, now: datetime) -> None:
        from kflow.flow.inputs import InputsError, resolve_inputs

        ref = (tracked.spec.get("flowRef") or {}).get("name")
        execution_id = _execution_id(tracked.meta["uid"])
        if tracked.spec.get("replay"):  # the original's flow snapshot and inputs, not the Flow's today
            await self._start_replay(key, tracked, execution_id, ref, now)
            return
        try:
            if not ref:
                raise _StartError("spec.flowRef.name is required: the name of the Flow to run")
            flow = await first_try_flow(self.api, key[0], tracked.spec)  # a flow retry's try: the first try's flow
            if flow is None:
                try:
                    flow_body = await self.api.get_flow(key[0], ref)
                except NotFound:
                    raise _StartError(f"Flow {ref!r} not found in namespace {key[0]!r}; apply it first (kubectl get flows)") from None
                flow = with_task_outputs(flow_from_resource(flow_body), tracked.spec.get("outputs"))  # a parent Subflow's `outputs`
            given = tracked.spec.get("inputs") or {}
            values, tracked.secret_refs = await secret_inputs.read_values(self.api, *key, given, secret_inputs.secret_ids(flow))
            inputs = resolve_inputs(flow.inputs, {**given, **values})
            tracked.secret_values = values
        except (_StartError, FlowError, InputsError, SecretInputError) as err:
            await self._fail_to_start(key, tracked, execution_id, ref, str(err), now)
            return
        if not await self._take_slot(key, tracked, flow, ref, execution_id, now):
            return
        snapshot = flow.model_dump(mode="json", by_alias=True, exclude_unset=True)
        engine = self._engine(snapshot)
        trigger = tracked.spec.get("trigger") or None
        execution = engine.new_execution(execution_id, inputs, now, labels=tracked.spec.get("labels") or {}, trigger=trigger,
                                         **retry_start(tracked.spec))
        tracked.engine, tracked.run = engine, engine.load(execution, self._kv(key[0]))
        tracked.archive = StatusArchive(self.settings.status_chunk_size)
        tracked.status, tracked.step = None, 0
        result = await off_loop(engine.start, tracked.run, now)
        await self._apply(key, tracked, result, extra={"flow": snapshot, "inputs": inputs, "labels": execution.labels, "id": execution.id, "namespace": execution.namespace, "flowId": execution.flowId, "flowRevision": execution.flowRevision, **({"trigger": trigger} if trigger else {}),
                                                    **execution.model_dump(mode="json", include={"scheduleDate", "metadata"}, exclude_none=True)})
        await self.api.event(tracked.involved(), "Started", f"execution {execution.id} of flow {flow.namespace}.{flow.id} started")

    async def _fail_to_start(self, key: Key, tracked: Tracked, execution_id: str, ref: str | None, message: str, now: datetime,
                             final: State = State.FAILED) -> None:
        state = StateInfo.new(State.CREATED, now)
        state.to(final, now)
        patch = {
            "metadata": {"resourceVersion": tracked.resource_version},
            "status": {"id": execution_id, "flowId": ref, "state": state.model_dump(mode="json"), "current": final.value, "error": message, "step": 1, "progress": "0/0", "startDate": format_instant(now), "duration": "PT0S"},
        }
        tracked.step, tracked.done = 1, True
        body = await self.api.patch_status("executions", *key, patch)
        tracked.resource_version = body["metadata"]["resourceVersion"]
        self.metrics.execution_ended(key[0], ref or "", final, 0.0)
        await self.api.event(tracked.involved(), final.value.title(), message, "Warning")

    def _load(self, tracked: Tracked, status: dict[str, Any]) -> bool:
        """Rebuild the engine state from a stored status (after a restart or a foreign write)."""
        tracked.step = status.get("step", 0)
        tracked.status = None
        # What the stored status says was acted on: a write lost to a conflict is redone.
        tracked.restarted, tracked.resumed = status.get("restarted") or 0, status.get("resumed") or 0
        tracked.removed = set(status.get("removed") or ())
        if State(status.get("current") or "CREATED").terminal and not _wants(tracked, "restart"):
            tracked.done = True
            return False
        engine = self._engine(status.get("flow") or {})
        execution = execution_from_status(status, engine.plan.order)
        for declared in engine.flow.inputs:  # a merge patch drops null values: put them back
            execution.inputs.setdefault(declared.id, None)
        execution.inputs.update(tracked.secret_values or {})  # status.inputs shows them as ******
        tracked.engine = engine
        tracked.run = engine.load(execution, self._kv(tracked.meta["namespace"]))
        if (engine.flow.concurrency or {}).get("limit") and tracked.slot is None:  # a running one holds its slot again
            tracked.slot = (tracked.meta["namespace"], (tracked.spec.get("flowRef") or {}).get("name"))
            self._slots.setdefault(tracked.slot, set()).add((tracked.meta["namespace"], tracked.meta["name"]))
        tracked.archive = StatusArchive.from_status(status, self.settings.status_chunk_size)
        tracked.waiting = set(status.get("waiting") or ())
        return True

    async def _observe_all(self, key: Key, tracked: Tracked) -> list[Event]:
        """After a load: how did each running attempt's pod do while we were not watching?

        The pod index lags the API server: a pod created a moment ago may not be in it yet (a
        reload right after a write that made a pod). Only the API server says a pod is gone."""
        pods = {}
        for pod in self.pods_of(key):
            attempt = pod_attempt(pod)
            if attempt is not None:
                pods[attempt] = pod
        events: list[Event] = []
        run = tracked.run
        for taskrun_id in list(run.index.running_runnables):
            taskrun = run.taskrun(taskrun_id)
            attempt = len(taskrun.attempts) - 1
            if taskrun.state.current != State.RUNNING:
                continue  # waiting for a retry: the engine's timer side
            if tracked.engine.plan.task(taskrun.taskId).starts_execution:
                continue  # a Subflow has a child Execution, no pod: _observe_subflows
            pod = pods.get((taskrun_id, attempt))
            if pod is None and taskrun_id in tracked.waiting:  # never had a pod: it waits again
                task = tracked.engine.plan.task(taskrun.taskId)
                self.admission.requeue(key, RunTask(taskrun_id, attempt, task.id, task.timeout_seconds()))
                continue
            if pod is None:
                pod = await self.api.get_pod(key[0], names.pod_name(key[1], taskrun.taskId, taskrun_id, attempt))
            if pod is None:
                events.append(AttemptEnded(taskrun_id, attempt, State.FAILED, reason="the task's pod is gone (deleted while the operator was away)"))
                continue
            self.admission.running(key, (taskrun_id, attempt))
            outcome = pod_outcome(pod)
            if outcome is not None:
                events.append(outcome)
        return events

    async def _apply(self, key: Key, tracked: Tracked, result: StepResult, extra: dict[str, Any] | None = None) -> None:
        run = tracked.run
        execution = run.execution
        starts, waiting = self.admission.admit(key, [a for a in result.actions if isinstance(a, RunTask)])
        if waiting:  # status.waiting: attempts over the pod caps, and those admitted now (null)
            extra = {**(extra or {}), "waiting": waiting}
        if starts:
            await asyncio.gather(*(self._create_pod(tracked, run, action) for action in starts))
        for retry in (a for a in result.actions if isinstance(a, RetryExecution)):  # the flow's retry: the next try
            await self.api.create_execution(key[0], retry_manifest(tracked.meta, tracked.spec, execution.labels, retry))
        subflows = [a for a in result.actions if isinstance(a, StartSubflow)]
        if subflows:
            await asyncio.gather(*(self._start_subflow(key, tracked, action) for action in subflows))
        if result.changed or result.execution_changed or extra:
            await self._write_status(key, tracked, result, extra)
            if result.execution_changed or extra:
                await self._label_object(key, tracked, execution.labels)
            if self.settings.collect_finished_pods == "WhenRecorded":
                self._collect_recorded(key, run, result.changed)
        self.metrics.step(key[0], tracked.engine, run, result)  # after the write: a conflict recomputes the step
        for action in result.actions:
            if isinstance(action, KillTask) and tracked.engine.plan.task(run.taskrun(action.taskrun_id).taskId).starts_execution:
                await self._kill_subflow(key, tracked, run, action)
            elif isinstance(action, KillTask) and self.admission.drop(key, (action.taskrun_id, action.attempt)):
                tracked.events.append(AttemptEnded(action.taskrun_id, action.attempt, State.KILLED, reason="killed while waiting for a runner pod"))
                self.kick(key)
            elif isinstance(action, KillTask):
                taskrun = run.taskrun(action.taskrun_id)
                await self._retire_pod(key[0], names.pod_name(key[1], taskrun.taskId, action.taskrun_id, action.attempt))
            elif isinstance(action, WakeAt):
                self._wake_at(key, tracked, action.at)
        for taskrun_id, reason in (waiting or {}).items():
            if reason:
                asyncio.get_running_loop().create_task(self.api.event(tracked.involved(), "TaskWaiting", f"task {run.taskrun(taskrun_id).taskId}: {reason}"))
        for taskrun_id in result.changed:
            taskrun = run.taskrun(taskrun_id)
            state = taskrun.state.current
            if state in (State.CREATED,):
                continue
            reason = taskrun.attempts[-1].reason if taskrun.attempts and state.failed else None
            message = f"task {taskrun.taskId}{f'[{taskrun.value}]' if taskrun.value else ''} {state.value}"
            if len(taskrun.attempts) > 1:
                message += f" (attempt {len(taskrun.attempts)})"
            if reason:
                message += f": {reason}"
            message = run.masker.mask(message)  # a loop value may be one
            asyncio.get_running_loop().create_task(self.api.event(tracked.involved(), f"Task{state.value.title()}", message, "Warning" if state.failed else "Normal"))
        if any(isinstance(action, ExecutionEnded) for action in result.actions):
            final = execution.state.current
            await self.api.event(tracked.involved(), f"Execution{final.value.title()}", f"execution {execution.id} ended {final.value}", "Warning" if final.failed else "Normal")
            await self._collect_pods(key, run)
            self._free_slot(tracked)
            self._wake(self.admission.forget(key))
            tracked.done, tracked.run, tracked.engine = True, None, None
            if tracked.timer:
                tracked.timer.cancel()

    async def _create_pod(self, tracked: Tracked, run: ExecutionRun, action: RunTask) -> None:
        invocation = tracked.engine.invocation(run, action).model_copy(update={"storage": self.settings.storage})
        if invocation.secretInputs or run.masker:  # never a value in the pod spec: the runner reads them from a mount
            invocation = secret_inputs.pod_invocation(invocation, run.masker)
        body = {"metadata": tracked.meta}
        manifest = pod_manifest(body, action, invocation, self.settings, tracked.engine.plan.task(action.task_id))
        secret_inputs.mount(manifest, tracked.secret_refs, invocation)
        if await self.api.create_pod(tracked.meta["namespace"], manifest):
            self.metrics.pod_created(tracked.meta["namespace"])
            return
        # Adopted: made before a crash, it may have ended while no one watched; its end event
        # is then long gone, so judge it from the pod index now.
        key = (tracked.meta["namespace"], tracked.meta["name"])
        for pod in self.pods_of(key):
            if pod["metadata"]["name"] == manifest["metadata"]["name"]:
                outcome = pod_outcome(pod)
                if outcome is not None:
                    log.debug("%s/%s: adopted pod %s had ended", *key, pod["metadata"]["name"])
                    tracked.events.append(outcome)
                    self.kick(key)

    async def _write_status(self, key: Key, tracked: Tracked, result: StepResult, extra: dict[str, Any] | None) -> None:
        run = tracked.run
        execution = run.execution
        index = run.index
        status: dict[str, Any] = {
            "step": tracked.step + 1,
            "state": execution.state.model_dump(mode="json"),
            "current": execution.state.current.value,
            "progress": f"{index.terminal_count}/{len(index.by_id)}",
            "startDate": format_instant(execution.state.start_date),
            "outputs": run.masker.mask_value(execution.outputs),  # None removes them (a restart)
            "error": execution.error,
        }
        if result.execution_changed:
            status["labels"] = execution.labels  # a Labels task changes them
        # Finished task runs move to sealed chunks of status.archive in the same patch (status_archive.py).
        delta = tracked.archive.update({i: _shown_taskrun(run, i) for i in result.changed})
        status.update(delta.fragment())
        if result.removed:
            tracked.removed |= result.removed
            status["removed"] = sorted(tracked.removed)
            for taskrun_id in result.removed:
                status["taskRuns"][taskrun_id] = None
                tracked.archive.pending.pop(taskrun_id, None)
        if execution.state.current.terminal:
            seconds = (execution.state.end_date - execution.state.start_date).total_seconds()
            status["duration"] = format_duration(round(seconds, 3))
        if extra:
            status.update(extra)
        if "inputs" in status:  # SECRET inputs as ******
            status["inputs"] = shown_inputs(status["inputs"], secret_inputs.secret_ids(tracked.engine.flow))
        patch = {"metadata": {"resourceVersion": tracked.resource_version}, "status": status}
        tracked.writing = tracked.step + 1
        try:
            body = await self.api.patch_status("executions", *key, patch)
        finally:
            tracked.writing = -1
        tracked.step += 1
        tracked.resource_version = body["metadata"]["resourceVersion"]
        tracked.archive.commit(delta)

    async def _label_object(self, key: Key, tracked: Tracked, labels: dict[str, str]) -> None:
        """Kestra labels (the flow's, the Execution's, a Labels task's) on the object too.

        Given the labels of the step just written: the watch event of that write may already
        have dropped `tracked.run` for a reload.
        """
        missing = missing_labels(labels, tracked.object_labels)
        if not missing:
            return
        patch = {"metadata": {"labels": missing, "resourceVersion": tracked.resource_version}}
        body = await self.api.patch_execution(*key, patch)
        tracked.resource_version = body["metadata"]["resourceVersion"]
        tracked.object_labels = body["metadata"].get("labels") or {}

    def _collect_recorded(self, key: Key, run: ExecutionRun, changed: Iterable[str]) -> None:
        """Delete, per the keep policy, the pods of attempts whose end the status now records."""
        policy = self.settings.keep_finished_pods
        doomed = []
        for taskrun_id in changed:
            taskrun = run.taskrun(taskrun_id)
            attempt = _ended_attempt(taskrun)
            if attempt is not None and policy != "Always" and (policy == "Never" or not taskrun.attempts[attempt].state.current.failed):
                doomed.append(names.pod_name(key[1], taskrun.taskId, taskrun_id, attempt))
        if doomed:
            asyncio.get_running_loop().create_task(self._delete_pods(key[0], doomed))

    async def _delete_pods(self, namespace: str, doomed: list[str]) -> None:
        for outcome in await asyncio.gather(*(self._retire_pod(namespace, name) for name in doomed), return_exceptions=True):
            if isinstance(outcome, Exception):  # left for _collect_pods at the end
                log.warning("deleting a finished pod in %s failed: %s", namespace, outcome)

    async def _collect_pods(self, key: Key, run: ExecutionRun) -> None:
        """Delete finished pods per the keep policy, once the execution's status holds their results.
        Kept pods' logs are kept too, in the background: a later manual delete loses nothing."""
        policy = self.settings.keep_finished_pods
        doomed = []
        for pod in self.pods_of(key):
            attempt = pod_attempt(pod)
            if attempt is None or attempt[0] not in run.index.by_id:
                continue
            taskrun = run.taskrun(attempt[0])
            failed = attempt[1] < len(taskrun.attempts) and taskrun.attempts[attempt[1]].state.current.failed
            if policy == "Never" or (policy != "Always" and not failed):
                doomed.append(pod["metadata"]["name"])
            else:
                asyncio.get_running_loop().create_task(self.pod_logs.keep(key[0], pod["metadata"]["name"]))
        await asyncio.gather(*(self._retire_pod(key[0], name) for name in doomed))

    async def _retire_pod(self, namespace: str, name: str) -> None:
        """A finished (or killed) pod goes, its log kept first (pod_logs.py)."""
        await self.pod_logs.keep(namespace, name)
        await self.api.delete_pod(namespace, name)

    def _wake_at(self, key: Key, tracked: Tracked, at: datetime) -> None:
        if tracked.timer:
            tracked.timer.cancel()
        delay = max((at - _now()).total_seconds(), 0)
        tracked.timer = asyncio.get_running_loop().call_later(delay, self.kick, key)

    async def _start_replay(self, key: Key, tracked: Tracked, execution_id: str, ref: str | None, now: datetime) -> None:
        """A new execution from another's status: what ran before the chosen task run is kept."""
        from kflow.engine.restart import ReplayError, replay

        source = tracked.spec["replay"]
        try:
            original = await self.api.get_execution(key[0], source["execution"])
        except NotFound:
            await self._fail_to_start(key, tracked, execution_id, ref, f"spec.replay.execution: no Execution {source['execution']!r} in namespace {key[0]!r}", now)
            return
        status = original.get("status") or {}
        if not status.get("flow") or not State(status.get("current") or "CREATED").terminal:
            await self._fail_to_start(key, tracked, execution_id, ref, f"spec.replay.execution: {source['execution']!r} has not ended; replay an ended execution", now)
            return
        engine = self._engine(status["flow"])
        try:
            execution = replay(engine, execution_from_status(status, engine.plan.order), source["taskRunId"], execution_id, now)
            values, tracked.secret_refs = await secret_inputs.read_values(self.api, key[0], source["execution"], (original.get("spec") or {}).get("inputs") or {},
                                                                        secret_inputs.secret_ids(engine.flow), "the replayed execution's spec.inputs")
        except ReplayError as err:
            await self._fail_to_start(key, tracked, execution_id, ref, f"spec.replay.taskRunId: {err}", now)
            return
        except SecretInputError as err:
            await self._fail_to_start(key, tracked, execution_id, ref, str(err), now)
            return
        execution.inputs.update(values)  # the original's status shows them as ******
        tracked.secret_values = values
        execution.labels = {**execution.labels, **(tracked.spec.get("labels") or {})}
        tracked.engine, tracked.run = engine, engine.load(execution, self._kv(key[0]))
        tracked.archive = StatusArchive(self.settings.status_chunk_size)
        tracked.status, tracked.step = None, 0
        result = engine.start(tracked.run, now)
        result.changed.update(tr.id for tr in execution.taskRunList)  # the copied task runs are new here
        await self._apply(key, tracked, result, extra={"flow": status["flow"], "inputs": execution.inputs, "labels": execution.labels, "id": execution.id,
                                                       "namespace": execution.namespace, "flowId": execution.flowId, "flowRevision": execution.flowRevision,
                                                       "originalId": execution.originalId})
        await self.api.event(tracked.involved(), "Started", f"execution {execution.id} replays {source['execution']} from task run {source['taskRunId']}")

    async def _read_secret_inputs(self, key: Key, tracked: Tracked, status: dict[str, Any]) -> None:
        """Before a reload: the SECRET inputs' values, from the Secret its spec (or, for a replay,
        the original's spec) references; status.inputs only shows ******."""
        ids = secret_inputs.secret_ids(self._engine(status.get("flow") or {}).flow) if status.get("flow") else []
        if tracked.secret_values is not None or not ids:
            return
        name, spec = key[1], tracked.spec
        try:
            if spec.get("replay"):
                name = spec["replay"]["execution"]
                spec = (await self.api.get_execution(key[0], name)).get("spec") or {}
            tracked.secret_values, tracked.secret_refs = await secret_inputs.read_values(self.api, key[0], name, spec.get("inputs") or {}, ids)
        except (SecretInputError, NotFound) as err:  # its tasks see the inputs as null
            log.warning("%s/%s: SECRET inputs not readable, tasks see them as null: %s", *key, err)
            tracked.secret_values = {}

    async def _resume_inputs(self, key: Key, tracked: Tracked) -> dict[str, Any]:
        """spec.resumeInputs, SECRET ones read from the Secret `kflow resume` wrote; their values
        are masked from then on (a Pause's output `onResume` shows ******, also to later tasks)."""
        given = tracked.spec.get("resumeInputs") or {}
        ids = resume_secret_ids(tracked.engine.flow.model_dump(mode="json", by_alias=True, exclude_unset=True))
        if not ids:
            return given
        try:
            values, _ = await secret_inputs.read_values(self.api, *key, given, ids, "spec.resumeInputs")
        except SecretInputError as err:  # the Pause fails naming the input, as for any invalid one
            await self.api.event(tracked.involved(), "ResumeInputRefused", str(err), "Warning")
            return {k: v for k, v in given.items() if k not in ids}
        for value in values.values():
            tracked.run.masker.add(value)
        return {**given, **values}

    async def _store_child_secrets(self, key: Key, tracked: Tracked, manifest: dict[str, Any]) -> None:
        """A child's SECRET inputs go into a Secret owned by the parent (which owns the child)."""
        if not manifest["spec"]["inputs"]:
            return
        try:
            ids = secret_inputs.secret_ids(flow_from_resource(await self.api.get_flow(key[0], manifest["spec"]["flowRef"]["name"])))
        except (FlowError, NotFound):  # the child fails to start on its own, naming why
            return
        owner = {"apiVersion": "kflow.io/v1alpha1", "metadata": tracked.meta}
        manifest["spec"]["inputs"] = await secret_inputs.store_values(self.api, key[0], manifest["metadata"]["name"], manifest["spec"]["inputs"], ids, owner)

    # -- subflows: child Execution resources ------------------------------------------------------------
    def _notify_parent(self, body: dict[str, Any]) -> None:
        """A child Execution ended: its parent's Subflow attempt ended with it."""
        outcome = child_outcome(body)
        if outcome is None:
            return
        parent_key = (body["metadata"]["namespace"], parent_of(body)[0])
        parent = self.tracked.get(parent_key)
        if parent is not None and not parent.done:
            parent.events.append(outcome)
            self.kick(parent_key)

    async def _start_subflow(self, key: Key, tracked: Tracked, action: StartSubflow) -> None:
        flow_name = find_flow(await self.api.list_flows(key[0]), action.namespace, action.flow_id)
        if flow_name is None:
            reason = _no_flow(action.task_id, action.namespace, action.flow_id, key[0])
            tracked.events.append(AttemptEnded(action.taskrun_id, action.attempt, State.FAILED, reason=reason, iteration=action.iteration))
            self.kick(key)
            return
        manifest = child_manifest(tracked.meta, action, flow_name)
        await self._store_child_secrets(key, tracked, manifest)
        await self.api.create_execution(key[0], manifest)  # False: made before a crash, adopted
        if not action.wait:
            tracked.events.append(AttemptEnded(action.taskrun_id, action.attempt, State.SUCCESS, {"executionId": manifest["metadata"]["name"]}, iteration=action.iteration))
            self.kick(key)
            return
        try:  # it may have ended while no one watched
            outcome = child_outcome(await self.api.get_execution(key[0], manifest["metadata"]["name"]))
        except NotFound:
            outcome = None
        if outcome is not None:
            tracked.events.append(outcome)
            self.kick(key)

    async def _observe_subflows(self, key: Key, tracked: Tracked) -> list[Event]:
        """After a load: did a running Subflow's child end while we were away?"""
        run, events = tracked.run, []
        for taskrun_id in list(run.index.running_runnables):
            taskrun = run.taskrun(taskrun_id)
            task = tracked.engine.plan.task(taskrun.taskId)
            if not task.starts_execution or taskrun.state.current != State.RUNNING:
                continue
            attempt = len(taskrun.attempts) - 1
            for child_id, iteration in running_children(run.execution.id, taskrun, task):  # a ForEachItem: one per batch
                name = child_name(key[1], task.id, child_id)
                try:
                    outcome = child_outcome(await self.api.get_execution(key[0], name))
                except NotFound:  # never made (its flow is missing), or deleted since
                    reason = f"its child execution {name} is gone (deleted?)"
                    if find_flow(await self.api.list_flows(key[0]), task.namespace, task.flowId) is None:
                        reason = _no_flow(task.id, task.namespace, task.flowId, key[0])
                    outcome = AttemptEnded(taskrun_id, attempt, State.FAILED, reason=reason, iteration=iteration)
                if outcome is not None:
                    events.append(outcome)
        return events

    async def _kill_subflow(self, key: Key, tracked: Tracked, run: ExecutionRun, action: KillTask) -> None:
        taskrun = run.taskrun(action.taskrun_id)
        for child_id, iteration in running_children(run.execution.id, taskrun, tracked.engine.plan.task(taskrun.taskId)):
            try:
                await self.api.patch_execution(key[0], child_name(key[1], taskrun.taskId, child_id), {"spec": {"kill": True}})
            except NotFound:
                tracked.events.append(AttemptEnded(action.taskrun_id, action.attempt, State.KILLED, iteration=iteration))
                self.kick(key)

    # -- flow concurrency: limit, QUEUE / CANCEL / FAIL ----------------------------------------------
    async def _take_slot(self, key: Key, tracked: Tracked, flow, ref: str, execution_id: str, now: datetime) -> bool:
        """True when the execution may start now; else it is queued, cancelled or failed per the flow."""
        limit = (flow.concurrency or {}).get("limit")
        slot = (key[0], ref)
        holders = self._slots.setdefault(slot, set())
        if not limit or key in holders or len(holders) < int(limit):
            holders.add(key)
            tracked.slot = slot
            self._queued.get(slot, {}).pop(key, None)
            return True
        behavior = str((flow.concurrency or {}).get("behavior") or "QUEUE").upper()
        message = f"flow {flow.namespace}.{flow.id} already runs {len(holders)} execution(s), its concurrency limit"
        if behavior == "QUEUE":
            self._queued.setdefault(slot, {})[key] = None
            if (tracked.status or {}).get("current") != State.QUEUED.value:
                state = StateInfo.new(State.CREATED, now)
                state.to(State.QUEUED, now)
                patch = {"metadata": {"resourceVersion": tracked.resource_version},
                         "status": {"id": execution_id, "flowId": flow.id, "state": state.model_dump(mode="json"), "current": "QUEUED", "progress": "0/0"}}
                body = await self.api.patch_status("executions", *key, patch)
                tracked.resource_version = body["metadata"]["resourceVersion"]
                tracked.status = body.get("status") or {}
                await self.api.event(tracked.involved(), "Queued", f"{message}; queued until one ends")
            return False
        await self._fail_to_start(key, tracked, execution_id, ref, f"{message}; behavior {behavior}", now,
                                  State.CANCELLED if behavior == "CANCEL" else State.FAILED)
        return False

    def _free_slot(self, tracked: Tracked) -> None:
        slot, tracked.slot = tracked.slot, None
        if slot is None:
            return
        self._slots.get(slot, set()).discard((tracked.meta["namespace"], tracked.meta["name"]))
        queued = self._queued.get(slot)
        if queued:
            self.kick(next(iter(queued)))  # the oldest waiting execution tries again (it takes the slot or waits on)

    def _wake(self, key: Key | None, current: Key | None = None) -> None:
        """An execution with attempts waiting for a pod may have room now."""
        if key is not None and key != current and key in self.tracked:
            self.kick(key)

    def _kv(self, k8s_namespace: str) -> ConfigMapKV:
        """The KV store of Executions in this namespace: its ConfigMaps (kv_configmaps.py)."""
        return ConfigMapKV(self.api.core, k8s_namespace)

    def _engine(self, snapshot: dict[str, Any]) -> Engine:
        """One engine per distinct flow snapshot, shared by its executions."""
        digest = hashlib.sha256(json.dumps(snapshot, sort_keys=True).encode()).hexdigest()
        engine = self._engines.get(digest)
        if engine is None:
            engine = self._engines[digest] = Engine(parse_flow(snapshot, source=f"{snapshot.get('namespace')}.{snapshot.get('id')}"))
        return engine


class _StartError(Exception):
    pass


def _no_flow(task_id: str, namespace: str, flow_id: str, k8s_namespace: str) -> str:
    return (f"task {task_id!r}: no Flow of namespace {namespace!r} and id {flow_id!r} in Kubernetes namespace "
            f"{k8s_namespace!r}; apply it first")


def _wants(tracked: Tracked, what: str) -> bool:
    """Has the user raised spec.restart / spec.resume past the value last acted on?"""
    acted = tracked.restarted if what == "restart" else tracked.resumed
    return int(tracked.spec.get(what) or 0) > acted


def _meta(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta.get(k) for k in ("name", "namespace", "uid")}


def _owner(pod: dict[str, Any]) -> Key | None:
    meta = pod.get("metadata") or {}
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == "Execution" and ref.get("controller"):
            return meta.get("namespace"), ref.get("name")
    return None


def _shown_taskrun(run: ExecutionRun, taskrun_id: str) -> dict[str, Any]:
    """A task run as the status shows it to everyone: a SECRET input's value masked in its
    outputs (an engine task's, a Pause's onResume); reasons the engine masked already. Ids and
    states are never masked (a short value could match one)."""
    data = run.taskrun(taskrun_id).model_dump(mode="json", exclude_none=True)
    if run.masker and data.get("outputs"):
        data["outputs"] = run.masker.mask_value(data["outputs"])
    return data


def _ended_attempt(taskrun: TaskRun) -> int | None:
    """The attempt that ended in the step that changed `taskrun`: the last, or the one before a retry just made."""
    attempts = taskrun.attempts
    if attempts and attempts[-1].state.current.terminal:
        return len(attempts) - 1
    if len(attempts) > 1 and attempts[-1].state.current == State.CREATED and attempts[-2].state.current.terminal:
        return len(attempts) - 2
    return None


def _execution_id(uid: str) -> str:
    from kflow.operator.names import execution_id_for_uid

    return execution_id_for_uid(uid)

