"""Drives every Execution resource with the engine: observe pods, step, create pods, record.

Level-based and crash-safe: all that matters lives in the Execution's status and its pods.
The order of one reconcile is (1) step the engine, (2) create the pods it asks for (named
per attempt: a pod that already exists is adopted), (3) write the status. So a status that
says an attempt runs always has had its pod; after a crash the same step is recomputed and
finds its pods. Memory holds a cache of each execution's engine state, checked against a
step counter kept in the status; work per event is proportional to what changed.

The parts live beside it: tracking.py (the per-execution record), starts.py (a new or
replayed execution), loading.py (back from a stored status), status_patches.py (every status
write), concurrency.py, admission.py, pod_cleanup.py, subflows.py and notices.py; SECRET inputs
in secret_inputs.py, the KV store in kv_configmaps.py, a flow retry's next try in flow_retry.py.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from kflow.engine import (AttemptEnded, Event, ExecutionEnded, KillRequested, KillTask, RestartRequested, ResumeRequested, RetryExecution, RunTask,
                          StartSubflow, StepResult, WakeAt)
from kflow.execution import State
from kflow.operator import metrics, names, secret_inputs, status_patches, starts
from kflow.operator.admission import PodAdmission
from kflow.operator.concurrency import ConcurrencySlots, limit_of
from kflow.operator.engines import FlowEngines
from kflow.operator.execution_labels import missing_labels
from kflow.operator.flow_retry import create_try
from kflow.operator.kube import Conflict, KubeApi, NotFound
from kflow.operator.attempt_logs import ClusterAttemptLogs
from kflow.operator.kv_configmaps import ConfigMapKV
from kflow.operator.loading import observe_pods, stored_run, stored_secrets
from kflow.operator.notices import Notice, ended_notice, task_notice, waiting_notice
from kflow.operator.offloop import off_loop
from kflow.operator.pod_cleanup import PodCleanup
from kflow.operator.pod_logs import PodLogArchive
from kflow.operator.pods import pod_manifest, pod_outcome, pod_stuck
from kflow.operator.settings import OperatorSettings
from kflow.operator.status_archive import StatusArchive
from kflow.operator.status_patches import StatusPatch
from kflow.operator.subflows import SubflowLinks, parent_outcome
from kflow.operator.tracking import Key, Tracked, pod_owner

log = logging.getLogger("kflow.operator")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class ExecutionController:
    def __init__(self, api: KubeApi, settings: OperatorSettings, pods_of: Callable[[Key], Iterable[dict]] | None = None):
        self.api = api
        self.settings = settings
        self.pods_of = pods_of or (lambda key: ())
        self.tracked: dict[Key, Tracked] = {}
        self.engines = FlowEngines()
        self.slots = ConcurrencySlots()
        self.admission = PodAdmission(settings.max_pods_in_flight, settings.max_pods_per_execution)
        self.subflows = SubflowLinks(api)
        self.pod_logs = PodLogArchive(api.core)  # each pod's log, kept before the pod is deleted
        self.cleanup = PodCleanup(api, self.pod_logs, settings.keep_finished_pods, settings.collect_finished_pods == "WhenRecorded")
        self._running: dict[Key, asyncio.Task] = {}
        self._pending: set[Key] = set()
        self.metrics = metrics.attach(self)  # Prometheus: counted per persisted step, gauges read at scrape

    # -- what kopf reports ----------------------------------------------------------------------
    def execution_event(self, event_type: str | None, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        if event_type == "DELETED":
            self._forget(key)
            return
        child_ended = parent_outcome(body)
        if child_ended is not None:
            self._deliver(*child_ended)
        tracked = self.tracked.get(key)
        if tracked is None or not tracked.same_object(body):
            tracked = self.tracked[key] = Tracked.first_seen(body)
            wants_reconcile = not tracked.done
        else:
            wants_reconcile = tracked.observe(body)
        if wants_reconcile:
            self.kick(key)

    def pod_event(self, event_type: str | None, pod: dict[str, Any]) -> None:
        key = pod_owner(pod)
        if key is None or key not in self.tracked:
            return  # its execution is not loaded yet; loading checks every pod anyway
        outcome = pod_outcome(pod, deleted=event_type == "DELETED")
        if outcome is not None:
            self._deliver(key, outcome)
            if event_type != "DELETED" and pod_stuck(pod):
                # Its attempt failed but the pod would wait forever (an image that cannot be pulled).
                asyncio.get_running_loop().create_task(self.api.delete_pod(key[0], pod["metadata"]["name"]))

    def _forget(self, key: Key) -> None:
        """The Execution was deleted."""
        tracked = self.tracked.pop(key, None)
        self.slots.forget(key)
        if tracked:
            tracked.cancel_timer()
            self._free_slot(tracked)
        self._wake(self.admission.forget(key))

    # -- scheduling: one reconcile at a time per execution, coalescing bursts ---------------------
    def kick(self, key: Key) -> None:
        if key in self._running:
            self._pending.add(key)
            return
        self._running[key] = asyncio.get_running_loop().create_task(self._loop(key))

    def _deliver(self, key: Key, event: Event | None) -> None:
        """An event for an execution's next step (a pod or a child ended), if it still runs."""
        tracked = self.tracked.get(key)
        if event is not None and tracked is not None and not tracked.done:
            tracked.events.append(event)
            self.kick(key)

    def _wake(self, key: Key | None, current: Key | None = None) -> None:
        """An execution with attempts waiting for a pod may have room now."""
        if key is not None and key != current and key in self.tracked:
            self.kick(key)

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
        tracked.refreshed(body)

    # -- one reconcile ------------------------------------------------------------------------------
    async def reconcile(self, key: Key) -> None:
        tracked = self.tracked.get(key)
        if tracked is None or tracked.done:
            return
        now = _now()
        events: list[Event] = []
        if tracked.run is None:
            status = tracked.status or {}
            if not status.get("id") or status.get("current") == State.QUEUED.value:
                await self._start(key, tracked, now)
                return
            if not await self._load(tracked, status):
                return
            log.debug("%s/%s: loaded from status step %d", *key, tracked.step)
            events += await observe_pods(self.api, self.admission, key, tracked.engine, tracked.run, tracked.waiting, self.pods_of(key))
            events += await self.subflows.observe(key, tracked.engine, tracked.run)
        events += tracked.events
        tracked.events.clear()
        for event in events:
            if isinstance(event, AttemptEnded):  # its pod's slot is free (admission.py)
                self._wake(self.admission.ended(key, (event.taskrun_id, event.attempt)), key)
        run = tracked.run
        if tracked.spec.get("kill") and not run.killing and not run.execution.state.current.terminal:
            events.append(KillRequested())
        acted: dict[str, Any] = {}
        if tracked.wants("restart"):
            events.append(RestartRequested())
            acted["restarted"] = tracked.acted_on("restart")
        if tracked.wants("resume"):
            events.append(ResumeRequested(await self._resume_inputs(tracked)))
            acted["resumed"] = tracked.acted_on("resume")
        result = await off_loop(tracked.engine.step, run, events, now)  # renders: never on the event loop
        if tracked.run is not run:  # reloaded (a foreign write) while it stepped: step again from there
            tracked.events[:0] = [e for e in events if isinstance(e, AttemptEnded)]
            self._pending.add(key)
            return
        log.debug("%s/%s: %d events -> %d actions, %d task runs changed", *key, len(events), len(result.actions), len(result.changed))
        await self._apply(key, tracked, result, extra=acted or None)

    async def _start(self, key: Key, tracked: Tracked, now: datetime) -> None:
        """A new execution (or a replay) takes its flow's concurrency slot, then runs its first step."""
        execution_id = names.execution_id_for_uid(tracked.meta["uid"])
        begin = starts.from_replay if tracked.spec.get("replay") else starts.from_flow
        try:
            start = await begin(self.api, self.engines, *key, tracked.spec, execution_id, now)
        except starts.StartRefused as err:
            await self._end_before_start(key, tracked, status_patches.not_started(execution_id, self._flow_ref(tracked), str(err), now))
            return
        if start.flow is not None and not await self._take_slot(key, tracked, start, now):
            return
        execution = start.execution
        tracked.secrets_read(start.secret_values, start.secret_refs)
        tracked.running(start.engine, start.engine.load(execution, self._kv(key[0])), StatusArchive(self.settings.status_chunk_size), step=0)
        tracked.run.logs = self._attempt_logs(key)
        result = await off_loop(start.engine.start, tracked.run, now)
        if start.replayed:
            result.changed.update(tr.id for tr in execution.taskRunList)  # the copied task runs are new here
        started = status_patches.started(execution, start.snapshot, start.trigger, secret_inputs.secret_ids(start.engine.flow))
        await self._apply(key, tracked, result, extra=started)
        await self._notify(tracked, Notice("Started", start.announce))

    async def _load(self, tracked: Tracked, status: dict[str, Any]) -> bool:
        """Rebuild the engine state from a stored status (after a restart or a foreign write); False when it has ended."""
        tracked.adopt_stored(status)
        if State(status.get("current") or "CREATED").terminal and not tracked.wants("restart"):
            tracked.ended()
            return False
        if tracked.secret_values is None:  # never from status.inputs (******): from the Secret the spec references
            tracked.secrets_read(*await stored_secrets(self.api, tracked.key, tracked.spec, self.engines.of(status.get("flow") or {})))
        engine, run = stored_run(status, self.engines, self._kv(tracked.key[0]), tracked.secret_values)
        run.logs = self._attempt_logs(tracked.key)
        tracked.running(engine, run, StatusArchive.from_status(status, self.settings.status_chunk_size))
        if limit_of(engine.flow) and tracked.slot is None:  # a running one holds its slot again
            tracked.slot = (tracked.key[0], self._flow_ref(tracked))
            self.slots.hold(tracked.key, tracked.slot)
        return True

    async def _apply(self, key: Key, tracked: Tracked, result: StepResult, extra: dict[str, Any] | None = None) -> None:
        """Carry out one step: pods and child executions, then the status write, then kills, timers, Events, the end."""
        run = tracked.run
        execution = run.execution
        starting, waiting = self.admission.admit(key, [a for a in result.actions if isinstance(a, RunTask)])
        if waiting:  # status.waiting: attempts over the pod caps, and those admitted now (null)
            extra = {**(extra or {}), "waiting": waiting}
        if starting:
            await asyncio.gather(*(self._create_pod(tracked, action) for action in starting))
        for retry in (a for a in result.actions if isinstance(a, RetryExecution)):  # the flow's retry: its next try
            await create_try(self.api, key[0], tracked.meta, tracked.spec, execution.labels, retry, tracked.secret_values)
        subflows = [a for a in result.actions if isinstance(a, StartSubflow)]
        if subflows:
            ends = await asyncio.gather(*(self.subflows.start(tracked.meta, action) for action in subflows))
            for end in ends:
                self._deliver(key, end)
        if result.changed or result.execution_changed or extra:
            await self._write_status(key, tracked, result, extra)
            if result.execution_changed or extra:
                await self._label_object(key, tracked, execution.labels)
            self.cleanup.after_write(key, run, result.changed)
        self.metrics.step(key[0], tracked.engine, run, result)  # after the write: a conflict recomputes the step
        for action in result.actions:
            if isinstance(action, KillTask):
                await self._kill(key, tracked, action)
            elif isinstance(action, WakeAt):
                tracked.wake_at(max((action.at - _now()).total_seconds(), 0), lambda: self.kick(key))
        for taskrun_id, why in (waiting or {}).items():
            if why:
                self._notify_later(tracked, waiting_notice(run.taskrun(taskrun_id).taskId, why))
        for taskrun_id in result.changed:
            notice = task_notice(run.taskrun(taskrun_id), run.masker)
            if notice is not None:
                self._notify_later(tracked, notice)
        if any(isinstance(action, ExecutionEnded) for action in result.actions):
            await self._notify(tracked, ended_notice(execution))
            await self.cleanup.at_end(key, run, self.pods_of(key))
            self._free_slot(tracked)
            self._wake(self.admission.forget(key))
            tracked.ended()

    async def _create_pod(self, tracked: Tracked, action: RunTask) -> None:
        engine, run = tracked.engine, tracked.run
        invocation = engine.invocation(run, action).model_copy(update={"storage": self.settings.storage})
        if invocation.secretInputs or run.masker:  # never a value in the pod spec: the runner reads them from a mount
            invocation = secret_inputs.pod_invocation(invocation, run.masker)
        manifest = pod_manifest({"metadata": tracked.meta}, action, invocation, self.settings, engine.plan.task(action.task_id))
        secret_inputs.mount(manifest, tracked.secret_refs, invocation)
        if await self.api.create_pod(tracked.meta["namespace"], manifest):
            self.metrics.pod_created(tracked.meta["namespace"])
            return
        # Adopted: made before a crash, it may have ended while no one watched; its end event
        # is then long gone, so judge it from the pod index now.
        for pod in self.pods_of(tracked.key):
            if pod["metadata"]["name"] == manifest["metadata"]["name"]:
                outcome = pod_outcome(pod)
                if outcome is not None:
                    log.debug("%s/%s: adopted pod %s had ended", *tracked.key, pod["metadata"]["name"])
                    self._deliver(tracked.key, outcome)

    async def _kill(self, key: Key, tracked: Tracked, action: KillTask) -> None:
        """Stop one attempt: its child execution, its place in the pod queue, or its pod."""
        run = tracked.run
        taskrun = run.taskrun(action.taskrun_id)
        if tracked.engine.plan.task(taskrun.taskId).starts_execution:
            for end in await self.subflows.kill(key, tracked.engine, run, action):
                self._deliver(key, end)
        elif self.admission.drop(key, (action.taskrun_id, action.attempt)):
            self._deliver(key, AttemptEnded(action.taskrun_id, action.attempt, State.KILLED, reason="killed while waiting for a runner pod"))
        else:
            await self.cleanup.retire(key[0], names.pod_name(key[1], taskrun.taskId, action.taskrun_id, action.attempt))

    # -- writing: every patch comes from status_patches.py -----------------------------------------
    async def _write_status(self, key: Key, tracked: Tracked, result: StepResult, extra: dict[str, Any] | None) -> None:
        run = tracked.run
        # Finished task runs move to sealed chunks of status.archive in the same patch (status_archive.py).
        delta = tracked.archive.update({i: status_patches.shown_taskrun(run, i) for i in result.changed})
        if result.removed:
            tracked.dropped(result.removed)
        with tracked.writing_step() as step:
            patch = status_patches.step_patch(run, result, step, delta, tracked.removed, extra)
            body = await self.api.patch_status("executions", *key, patch.body(tracked.resource_version))
        tracked.wrote(body["metadata"]["resourceVersion"], step)
        tracked.archive.commit(delta)

    async def _write(self, key: Key, tracked: Tracked, patch: StatusPatch) -> dict[str, Any]:
        body = await self.api.patch_status("executions", *key, patch.body(tracked.resource_version))
        tracked.wrote(body["metadata"]["resourceVersion"])
        return body

    async def _end_before_start(self, key: Key, tracked: Tracked, patch: StatusPatch) -> None:
        """Record an execution that ends without running (status_patches.not_started)."""
        tracked.ended(step=1)
        await self._write(key, tracked, patch)
        final = State(patch.current)
        self.metrics.execution_ended(key[0], patch.flowId or "", final, 0.0)
        await self._notify(tracked, Notice(final.value.title(), patch.error or "", "Warning"))

    async def _label_object(self, key: Key, tracked: Tracked, labels: dict[str, str]) -> None:
        """Kestra labels (the flow's, the Execution's, a Labels task's) on the object too.

        Given the labels of the step just written: the watch event of that write may already
        have dropped `tracked.run` for a reload.
        """
        missing = missing_labels(labels, tracked.object_labels)
        if not missing:
            return
        body = await self.api.patch_execution(*key, status_patches.labels_patch(missing, tracked.resource_version))
        tracked.wrote(body["metadata"]["resourceVersion"], labels=body["metadata"].get("labels") or {})

    async def _resume_inputs(self, tracked: Tracked) -> dict[str, Any]:
        """spec.resumeInputs, SECRET ones read from their Secret (secret_inputs.resume_values)."""
        given = tracked.spec.get("resumeInputs") or {}
        inputs, refused = await secret_inputs.resume_values(self.api, *tracked.key, given, tracked.engine.flow, tracked.run.masker)
        if refused:
            await self._notify(tracked, Notice("ResumeInputRefused", refused, "Warning"))
        return inputs

    def _kv(self, k8s_namespace: str) -> ConfigMapKV:
        """The KV store of Executions in this namespace: its ConfigMaps (kv_configmaps.py)."""
        return ConfigMapKV(self.api.core, k8s_namespace)

    def _attempt_logs(self, key: Key) -> ClusterAttemptLogs:
        """Where the log Fetch task reads this Execution's attempt logs (attempt_logs.py)."""
        return ClusterAttemptLogs(self.api.core, key[0], key[1], self.settings.storage, self.settings.storage_s3_credentials_secret)

    async def _notify(self, tracked: Tracked, notice: Notice) -> None:
        await self.api.event(tracked.involved(), notice.reason, notice.message, notice.type)

    def _notify_later(self, tracked: Tracked, notice: Notice) -> None:
        asyncio.get_running_loop().create_task(self._notify(tracked, notice))

    # -- flow concurrency: limit, QUEUE / CANCEL / FAIL ----------------------------------------------
    async def _take_slot(self, key: Key, tracked: Tracked, start: starts.Start, now: datetime) -> bool:
        """True when the execution may start now; else it is queued, cancelled or failed per the flow."""
        slot = (key[0], self._flow_ref(tracked))
        refused = self.slots.take(key, slot, start.flow)
        if refused is None:
            tracked.slot = slot
            return True
        execution_id = start.execution.id
        if refused.behavior == "QUEUE":
            if (tracked.status or {}).get("current") != State.QUEUED.value:
                body = await self._write(key, tracked, status_patches.queued(execution_id, start.flow.id, now))
                tracked.status = body.get("status") or {}
                await self._notify(tracked, Notice("Queued", refused.message))
            return False
        final = State.CANCELLED if refused.behavior == "CANCEL" else State.FAILED
        await self._end_before_start(key, tracked, status_patches.not_started(execution_id, slot[1], refused.message, now, final))
        return False

    def _free_slot(self, tracked: Tracked) -> None:
        slot, tracked.slot = tracked.slot, None
        waiting = self.slots.free(tracked.key, slot)
        if waiting is not None:
            self.kick(waiting)  # the oldest waiting execution tries again (it takes the slot or waits on)

    @staticmethod
    def _flow_ref(tracked: Tracked) -> str | None:
        return (tracked.spec.get("flowRef") or {}).get("name")
