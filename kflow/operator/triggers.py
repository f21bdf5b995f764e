"""Schedule and Flow triggers on the cluster: timers that create Executions, and reactions
to ended Executions that start the Flows listening for them.

Crash-safe and replica-safe the same way pods are: every triggered Execution has a
deterministic name (kflow.triggers.names), so creating it twice answers 409 and changes
nothing. Each Schedule trigger's progress lives in its Flow's status (`status.triggers`):
an Execution is created before the date that caused it is recorded, so a crash in between
only repeats a harmless create; a restarted operator catches up what it missed per
`recoverMissedSchedules`. The decisions themselves (which dates, which flows, what
`trigger.*` holds) are the pure functions of kflow.triggers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from kflow.execution.instants import format_instant
from kflow.execution.status import ExecutionStatus
from kflow.flow import FlowError
from kflow.flow.model import Flow
from kflow.operator.flows import flow_from_resource
from kflow.operator.kube import KubeApi, NotFound
from kflow.operator.names import label_value
from kflow.operator.resources import API_VERSION
from kflow.triggers.flow_trigger import flow_trigger_inputs, flow_variables, matches, render_inputs
from kflow.flow.triggers import FlowTrigger, Schedule
from kflow.triggers.names import flow_execution_name, schedule_execution_name
from kflow.triggers.schedule import schedule_variables, tick

log = logging.getLogger("kflow.operator.triggers")

Key = tuple[str, str]  # (kubernetes namespace, flow name)
LABEL_TRIGGER = "kflow.io/trigger"
LABEL_FLOW = "kflow.io/flow"
ANNOTATION_SCHEDULE_DATE = "kflow.io/schedule-date"
ANNOTATION_UPSTREAM = "kflow.io/upstream-execution"
_MAX_SLEEP = 3600.0  # look again at least hourly (a clock jump, an edited status)
_RETRY = 5.0


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class _Scheduler:
    ident: tuple[str, Any]  # (uid, generation) of the Flow it was started for
    task: asyncio.Task


class Triggers:
    """Holds the Flows it has seen (by event or listing) and one timer task per scheduled Flow."""

    def __init__(self, api: KubeApi, clock: Callable[[], datetime] = _now):
        self.api = api
        self.clock = clock
        self.flows: dict[Key, dict[str, Any]] = {}
        self._parsed: dict[tuple[str, Any], Flow | None] = {}
        self._schedulers: dict[Key, _Scheduler] = {}
        self._listed: set[str] = set()
        self._handled: set[tuple[str, str]] = set()

    # -- Flows --------------------------------------------------------------------------------
    def flow_event(self, event_type: str | None, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        key = (meta["namespace"], meta["name"])
        if event_type == "DELETED":
            self.flows.pop(key, None)
            self._stop(key)
            return
        self.flows[key] = body
        ident = (meta.get("uid"), meta.get("generation"))
        running = self._schedulers.get(key)
        if running is not None and running.ident == ident and not running.task.done():
            return  # a status change (often our own write): nothing to reschedule
        self._stop(key)
        flow = self.parsed(body)
        if flow is not None and any(isinstance(t, Schedule) and not t.disabled for t in flow.triggers):
            task = asyncio.get_running_loop().create_task(self._schedule_loop(key, ident, flow))
            self._schedulers[key] = _Scheduler(ident, task)

    def parsed(self, body: dict[str, Any]) -> Flow | None:
        """The Flow resource as a Kestra flow (None when invalid: its status says why)."""
        meta = body["metadata"]
        ident = (meta.get("uid"), meta.get("generation"))
        if ident not in self._parsed:
            try:
                self._parsed[ident] = flow_from_resource(body)
            except FlowError:
                self._parsed[ident] = None
        return self._parsed[ident]

    def _stop(self, key: Key) -> None:
        running = self._schedulers.pop(key, None)
        if running is not None:
            running.task.cancel()

    async def close(self) -> None:
        for key in list(self._schedulers):
            self._stop(key)

    # -- Schedule triggers --------------------------------------------------------------------
    async def _schedule_loop(self, key: Key, ident: tuple[str, Any], flow: Flow) -> None:
        while True:
            try:
                wake = await self.schedule_tick(key, ident, flow)
            except asyncio.CancelledError:
                raise
            except NotFound:
                return  # the Flow is gone
            except Exception:
                log.exception("schedule triggers of Flow %s/%s failed; retrying", *key)
                wake = self.clock() + timedelta(seconds=_RETRY)
            if wake is None:
                return
            delay = (wake - self.clock()).total_seconds()
            await asyncio.sleep(min(max(delay, 0.0), _MAX_SLEEP))

    async def schedule_tick(self, key: Key, ident: tuple[str, Any], flow: Flow) -> datetime | None:
        """Create the Executions due now, record progress; the instant to look again."""
        body = await self.api.get_flow(*key)  # fresh status: another replica may have moved on
        if (body["metadata"].get("uid"), body["metadata"].get("generation")) != ident:
            return None  # replaced or edited: its own event starts a new loop
        stored = (body.get("status") or {}).get("triggers") or {}
        now = self.clock()
        patch: dict[str, Any] = {}
        wakes: list[datetime] = []
        schedules = [t for t in flow.triggers if isinstance(t, Schedule)]
        for trigger in schedules:
            state = stored.get(trigger.id) or {}
            since = _date(state.get("since")) or now
            step = tick(trigger, _date(state.get("lastDate")), now, since)
            for date in step.dates:
                await self._create_scheduled(body, flow, trigger, date)
            new = {
                "lastDate": format_instant(step.last) if step.last else None,
                "nextDate": format_instant(step.next) if step.next and not trigger.disabled else None,
                "since": format_instant(since),
            }
            if new != {k: state.get(k) for k in new}:
                patch[trigger.id] = new
            if step.next is not None and not trigger.disabled:
                wakes.append(step.next)
        for gone in set(stored) - {t.id for t in schedules}:
            patch[gone] = None  # a removed trigger; re-adding it starts afresh, as in Kestra
        if patch:
            await self.api.patch_status("flows", *key, {"status": {"triggers": patch}})
        return min(wakes) if wakes else None

    async def _create_scheduled(self, body: dict[str, Any], flow: Flow, trigger: Schedule, date: datetime) -> None:
        meta = body["metadata"]
        variables = schedule_variables(trigger, date)
        try:
            inputs = render_inputs(trigger.inputs, {"trigger": variables, "flow": {"id": flow.id, "namespace": flow.namespace}})
        except Exception as err:
            await self._warn(body, f"trigger {trigger.id}: inputs for {variables['date']} not rendered, no execution: {err}")
            return
        name = schedule_execution_name(meta["name"], trigger.id, date)
        annotations = {ANNOTATION_SCHEDULE_DATE: format_instant(date)}
        created = await self.api.create_execution(meta["namespace"], self._execution(meta, trigger.id, name, inputs, variables, annotations))
        log.info("%s/%s: trigger %s for %s -> execution %s%s", meta["namespace"], meta["name"], trigger.id, format_instant(date), name, "" if created else " (existed)")

    def _execution(self, meta: dict[str, Any], trigger_id: str, name: str, inputs: dict[str, Any], variables: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": "Execution",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "labels": {LABEL_FLOW: label_value(meta["name"]), LABEL_TRIGGER: label_value(trigger_id)},
                "annotations": annotations,
            },
            "spec": {"flowRef": {"name": meta["name"]}, "inputs": inputs, "trigger": variables},
        }

    async def _warn(self, body: dict[str, Any], message: str) -> None:
        log.warning("Flow %s/%s: %s", body["metadata"]["namespace"], body["metadata"]["name"], message)
        involved = {"apiVersion": API_VERSION, "kind": "Flow", "metadata": body["metadata"]}
        await self.api.event(involved, "TriggerFailed", message, "Warning")

    # -- Flow triggers ------------------------------------------------------------------------
    async def execution_event(self, event_type: str | None, body: dict[str, Any]) -> None:
        """An Execution changed: once it has ended, start the Flows whose Flow triggers match."""
        if event_type == "DELETED":
            self._handled.discard((body["metadata"]["namespace"], body["metadata"].get("uid")))
            return
        status = ExecutionStatus.read(body.get("status"))
        if not status.ended:
            return
        meta = body["metadata"]
        namespace = meta["namespace"]
        seen = (namespace, meta.get("uid"))
        if seen in self._handled:
            return
        await self._ensure_listed(namespace)
        info = status.state_info
        ended = info.histories[-1].date if info and info.histories else None
        upstream = status
        for (ns, _), flow_body in list(self.flows.items()):
            if ns != namespace:
                continue
            flow = self.parsed(flow_body)
            if flow is None:
                continue
            created = _date(flow_body["metadata"].get("creationTimestamp"))
            if ended is not None and created is not None and ended < created:
                continue  # ended before this Flow existed: not an event it could have heard
            for trigger in flow.triggers:
                if isinstance(trigger, FlowTrigger) and matches(trigger, flow.namespace, flow.id, upstream):
                    await self._create_flow_triggered(flow_body, trigger, upstream)
        self._handled.add(seen)

    async def _ensure_listed(self, namespace: str) -> None:
        """Flows of a namespace before its first ended execution is judged (start-up order)."""
        if namespace in self._listed:
            return
        for body in await self.api.list_flows(namespace):
            self.flows.setdefault((namespace, body["metadata"]["name"]), body)
        self._listed.add(namespace)

    async def _create_flow_triggered(self, body: dict[str, Any], trigger: FlowTrigger, upstream: ExecutionStatus) -> None:
        meta = body["metadata"]
        variables = flow_variables(upstream)
        try:
            inputs = flow_trigger_inputs(trigger, upstream, variables)
        except Exception as err:
            await self._warn(body, f"trigger {trigger.id}: inputs from execution {upstream.id} not rendered, no execution: {err}")
            return
        name = flow_execution_name(meta["name"], trigger.id, str(upstream.id))
        annotations = {ANNOTATION_UPSTREAM: str(upstream.id)}
        created = await self.api.create_execution(meta["namespace"], self._execution(meta, trigger.id, name, inputs, variables, annotations))
        log.info("%s/%s: trigger %s on execution %s (%s) -> execution %s%s", meta["namespace"], meta["name"], trigger.id, upstream.id, upstream.current, name, "" if created else " (existed)")
