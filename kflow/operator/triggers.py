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
from kflow.execution.states import TERMINAL_STATES
from kflow.execution.status import ExecutionStatus
from kflow.flow import FlowError
from kflow.flow.model import Flow
from kflow.operator.flows import flow_from_resource
from kflow.operator.kube import KubeApi, NotFound
from kflow.operator.names import label_value
from kflow.operator.resources import API_VERSION
from kflow.triggers.flow_trigger import flow_trigger_inputs, flow_variables, matches, passes_filters, render_inputs
from kflow.triggers.preconditions import Stateful, evaluate, stateful
from kflow.triggers import http_poll
from kflow.flow.triggers import FlowTrigger, HttpTrigger, Schedule
from kflow.operator.secret_inputs import adopt, secret_ids, store_values
from kflow.triggers.names import flow_execution_name, schedule_execution_name
from kflow.triggers.schedule import BATCH, backfill_dates, backfill_key, schedule_variables, tick
from kflow.triggers.stop_after import is_stopped, stop_record, stops

log = logging.getLogger("kflow.operator.triggers")

Key = tuple[str, str]  # (kubernetes namespace, flow name)
LABEL_TRIGGER = "kflow.io/trigger"
LABEL_FLOW = "kflow.io/flow"
ANNOTATION_SCHEDULE_DATE = "kflow.io/schedule-date"
ANNOTATION_UPSTREAM = "kflow.io/upstream-execution"
ANNOTATION_BACKFILL = "kflow.io/backfill"
ANNOTATION_GENERATION = "kflow.io/flow-generation"  # the Flow generation a polled run was started under
_MAX_SLEEP = 3600.0  # look again at least hourly (a clock jump, an edited status)
_RETRY = 5.0


MAX_RESPONSE_BYTES = 262144  # the response goes into the Execution's spec.trigger


async def _http_call(call: http_poll.Request, timeout: float) -> dict[str, Any]:
    """The response as the condition sees it; ValueError when its body is too large to keep."""
    import aiohttp

    from kflow.triggers.webhook import multimap

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async with session.request(call.method, call.uri, headers=call.headers, data=call.body) as response:
            raw = await response.content.read(MAX_RESPONSE_BYTES + 1)
            if len(raw) > MAX_RESPONSE_BYTES:
                raise ValueError(f"the response body is larger than {MAX_RESPONSE_BYTES} bytes")
            return http_poll.response_context(response.status, multimap(response.headers.items(), lower=True), raw.decode("utf-8", errors="replace"))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def execution_manifest(meta: dict[str, Any], trigger_id: str, name: str, inputs: dict[str, Any], variables: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    """The Execution a trigger of the Flow `meta` starts: labelled by flow and trigger, `spec.trigger` = `variables`."""
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
        self._locks: dict[Key, asyncio.Lock] = {}

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
        if flow is not None and any(isinstance(t, (Schedule, HttpTrigger)) and not t.disabled for t in flow.triggers):
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
        generation = body["metadata"].get("generation")
        for trigger in schedules:
            state = stored.get(trigger.id) or {}
            if is_stopped(state, generation):
                if state.get("nextDate"):
                    patch[trigger.id] = {"nextDate": None}  # stopAfter: nothing more is due
                continue
            since = _date(state.get("since")) or now
            step = tick(trigger, _date(state.get("lastDate")), now, since)
            for date in step.dates:
                await self._create_scheduled(body, flow, trigger, date)
            new = {
                "lastDate": format_instant(step.last) if step.last else None,
                "nextDate": format_instant(step.next) if step.next and not trigger.disabled else None,
                "since": format_instant(since),
                **await self._backfill(body, flow, trigger, state, now),
            }
            if new != {k: state.get(k) for k in new}:
                patch[trigger.id] = new
            if step.next is not None and not trigger.disabled:
                wakes.append(step.next)
            if new.get("backfillKey") and not new.get("backfillDone") and not trigger.backfill.paused:
                wakes.append(now)  # a full batch went out: the next one at once
        for trigger in (t for t in flow.triggers if isinstance(t, HttpTrigger) and not t.disabled):
            state = stored.get(trigger.id) or {}
            if is_stopped(state, generation):
                continue
            last = _date(state.get("lastDate"))
            if http_poll.due(trigger, last, now):
                if await self._poll(body, flow, trigger, now):
                    last = now
                    patch[trigger.id] = {"lastDate": format_instant(now), "nextDate": format_instant(http_poll.next_call(trigger, now))}
            wakes.append(http_poll.next_call(trigger, last) if last else now + timedelta(seconds=trigger.interval_seconds))
        for gone in set(stored) - {t.id for t in flow.triggers}:
            patch[gone] = None  # a removed trigger; re-adding it starts afresh, as in Kestra
        if patch:
            await self.api.patch_status("flows", *key, {"status": {"triggers": patch}})
        return min(wakes) if wakes else None

    async def _backfill(self, body: dict[str, Any], flow: Flow, trigger: Schedule, state: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Start the next batch of the trigger's backfill; the progress to record."""
        key = backfill_key(trigger)
        if key is None:
            return {"backfillKey": None, "backfillLastDate": None, "backfillDone": None}
        same = state.get("backfillKey") == key
        last = _date(state.get("backfillLastDate")) if same else None
        if same and state.get("backfillDone"):
            return {"backfillKey": key, "backfillLastDate": state.get("backfillLastDate"), "backfillDone": True}
        dates = backfill_dates(trigger, last, now, limit=BATCH)
        for date in dates:
            await self._create_scheduled(body, flow, trigger, date, backfill=True)
        last = dates[-1] if dates else last
        done = not trigger.backfill.paused and len(dates) < BATCH
        return {"backfillKey": key, "backfillLastDate": format_instant(last) if last else None, "backfillDone": done}

    async def _create_scheduled(self, body: dict[str, Any], flow: Flow, trigger: Schedule, date: datetime, backfill: bool = False) -> None:
        meta = body["metadata"]
        variables = schedule_variables(trigger, date)
        declared = trigger.backfill.inputs if backfill and trigger.backfill.inputs is not None else trigger.inputs
        try:
            inputs = render_inputs(declared, {"trigger": variables, "flow": {"id": flow.id, "namespace": flow.namespace}})
        except Exception as err:
            await self._warn(body, f"trigger {trigger.id}: inputs for {variables['date']} not rendered, no execution: {err}")
            return
        # A backfill has names of its own: Kestra replays a date even when it already ran.
        name = schedule_execution_name(meta["name"], f"{trigger.id}-backfill" if backfill else trigger.id, date)
        annotations = {ANNOTATION_SCHEDULE_DATE: format_instant(date), **({ANNOTATION_BACKFILL: "true"} if backfill else {})}
        manifest = execution_manifest(meta, trigger.id, name, inputs, variables, annotations)
        if backfill and trigger.backfill.labels:
            manifest["spec"]["labels"] = dict(trigger.backfill.labels)
        created = await self._create(meta, flow, manifest)
        log.info("%s/%s: trigger %s for %s -> execution %s%s", meta["namespace"], meta["name"], trigger.id, format_instant(date), name, "" if created else " (existed)")

    async def _poll(self, body: dict[str, Any], flow: Flow, trigger: HttpTrigger, now: datetime) -> bool:
        """One call of an HTTP trigger (False: skipped, an execution of it still runs); an Execution when its condition holds."""
        meta = body["metadata"]
        if await self._held(meta, trigger):
            return False
        context = {"id": flow.id, "namespace": flow.namespace}
        try:
            call = http_poll.request(trigger, context)
            response = await _http_call(call, trigger.timeout_seconds)
            if not http_poll.condition_met(trigger, response, context):
                return True
        except (http_poll.PollError, OSError, asyncio.TimeoutError, ValueError) as err:
            await self._warn(body, f"trigger {trigger.id}: poll of {trigger.uri} failed, no execution: {err}")
            return True
        variables = http_poll.trigger_variables(call.uri, response)
        try:
            inputs = render_inputs(trigger.inputs, {"trigger": variables, "flow": context})
        except Exception as err:
            await self._warn(body, f"trigger {trigger.id}: inputs not rendered, no execution: {err}")
            return True
        name = schedule_execution_name(meta["name"], trigger.id, now)
        annotations = {ANNOTATION_GENERATION: str(meta.get("generation"))}
        created = await self._create(meta, flow, execution_manifest(meta, trigger.id, name, inputs, variables, annotations))
        log.info("%s/%s: trigger %s polled %s (%s) -> execution %s%s", meta["namespace"], meta["name"], trigger.id, call.uri, response["statusCode"], name, "" if created else " (existed)")
        return True

    async def _held(self, meta: dict[str, Any], trigger: HttpTrigger) -> bool:
        """No call while a run it started is going (allowConcurrent false), nor once one of this
        generation ended in a stopAfter state (its stop may not be recorded yet)."""
        items = await self.api.list_executions(meta["namespace"], f"{LABEL_FLOW}={label_value(meta['name'])},{LABEL_TRIGGER}={label_value(trigger.id)}")
        for item in items:
            current = ExecutionStatus.read(item.get("status") or {}).current
            if not trigger.allowConcurrent and current not in TERMINAL_STATES:
                return True
            generation = ((item["metadata"].get("annotations") or {}).get(ANNOTATION_GENERATION))
            if stops(trigger.stopAfter, current) and generation == str(meta.get("generation")):
                return True
        return False

    async def _create(self, meta: dict[str, Any], flow: Flow, execution: dict[str, Any]) -> bool:
        """Create the Execution; its SECRET inputs go into a Secret written for it, which it then
        owns (kflow.operator.secret_inputs)."""
        namespace, name = meta["namespace"], execution["metadata"]["name"]
        given = execution["spec"]["inputs"] or {}
        execution["spec"]["inputs"] = await store_values(self.api, namespace, name, given, secret_ids(flow))
        created = await self.api.create_execution(namespace, execution)
        if execution["spec"]["inputs"] is not given:
            await adopt(self.api, namespace, name)
        return created

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
        upstream = ExecutionStatus.read(body.get("status"))
        if not upstream.ended:
            return
        meta = body["metadata"]
        namespace = meta["namespace"]
        seen = (namespace, meta.get("uid"))
        if seen in self._handled:
            return
        await self._ensure_listed(namespace)
        await self._stop_after(body, upstream)
        state = upstream.state_info
        ended = state.histories[-1].date if state and state.histories else None
        for (ns, _), flow_body in list(self.flows.items()):
            if ns != namespace:
                continue
            flow = self.parsed(flow_body)
            if flow is None:
                continue
            created = _date(flow_body["metadata"].get("creationTimestamp"))
            if ended is not None and created is not None and ended < created:
                continue  # ended before this Flow existed: not an event it could have heard
            stored = (flow_body.get("status") or {}).get("triggers") or {}
            for trigger in flow.triggers:
                if is_stopped(stored.get(trigger.id), flow_body["metadata"].get("generation")):
                    continue
                if not isinstance(trigger, FlowTrigger):
                    continue
                rules = stateful(trigger, flow_variables)
                if rules is None:
                    if matches(trigger, flow.namespace, flow.id, upstream):
                        await self._create_flow_triggered(flow_body, trigger, upstream)
                elif passes_filters(trigger, flow.namespace, flow.id, upstream):
                    await self._preconditions(flow_body, trigger, rules, upstream, ended or self.clock())
        self._handled.add(seen)

    async def _preconditions(self, flow_body: dict[str, Any], trigger: FlowTrigger, rules: Stateful, upstream: ExecutionStatus, ended: datetime) -> None:
        """Conditions met across several executions: count this one, fire when all are met in the window."""
        meta = flow_body["metadata"]
        key = (meta["namespace"], meta["name"])
        async with self._locks.setdefault(key, asyncio.Lock()):  # one evaluation at a time per Flow
            fresh = await self.api.get_flow(*key)
            stored = ((fresh.get("status") or {}).get("triggers") or {}).get(trigger.id) or {}
            outcome = evaluate(rules, stored, upstream, ended)
            if outcome.fire:
                await self._create_flow_triggered(fresh, trigger, upstream)  # before the state: a crash repeats a 409
            before = stored.get("preconditionsMet") or {}
            new: dict[str, Any] = {
                "preconditionsMet": {**{k: None for k in before if k not in outcome.met}, **outcome.met} or None,
                "windowStart": outcome.window_start,
                **({"lastFired": format_instant(ended)} if outcome.fire else {}),
            }
            if outcome.met != before or outcome.window_start != stored.get("windowStart") or outcome.fire:
                await self.api.patch_status("flows", *key, {"status": {"triggers": {trigger.id: new}}})

    async def _stop_after(self, body: dict[str, Any], status: ExecutionStatus) -> None:
        """stopAfter: an execution a trigger started ended in one of its states: stop that trigger."""
        meta = body["metadata"]
        label = (meta.get("labels") or {}).get(LABEL_TRIGGER)
        flow_name = ((body.get("spec") or {}).get("flowRef") or {}).get("name")
        flow_body = self.flows.get((meta["namespace"], flow_name)) if label and flow_name else None
        flow = self.parsed(flow_body) if flow_body is not None else None
        if flow is None:
            return
        generation = flow_body["metadata"].get("generation")
        stored = (flow_body.get("status") or {}).get("triggers") or {}
        for trigger in flow.triggers:
            if label_value(trigger.id) != label or not stops(trigger.stopAfter, status.current) or is_stopped(stored.get(trigger.id), generation):
                continue
            record = stop_record(meta["name"], status.current, generation, format_instant(self.clock()))
            await self.api.patch_status("flows", meta["namespace"], flow_name, {"status": {"triggers": {trigger.id: record}}})
            # seen at once by the next ended execution, before the watch brings the Flow back
            status_now = dict(flow_body.get("status") or {})
            status_now["triggers"] = {**(status_now.get("triggers") or {}), trigger.id: {**(stored.get(trigger.id) or {}), **record}}
            self.flows[(meta["namespace"], flow_name)] = flow_body = {**flow_body, "status": status_now}
            stored = status_now["triggers"]
            message = f"trigger {trigger.id} stopped (stopAfter): {record['stoppedBy']}; edit the Flow's spec to start it again"
            log.info("Flow %s/%s: %s", meta["namespace"], flow_name, message)
            await self.api.event({"apiVersion": API_VERSION, "kind": "Flow", "metadata": flow_body["metadata"]}, "TriggerStopped", message)

    async def _ensure_listed(self, namespace: str) -> None:
        """Flows of a namespace before its first ended execution is judged (start-up order)."""
        if namespace in self._listed:
            return
        for body in await self.api.list_flows(namespace):
            self.flows.setdefault((namespace, body["metadata"]["name"]), body)
        self._listed.add(namespace)

    async def _create_flow_triggered(self, body: dict[str, Any], trigger: FlowTrigger, upstream: ExecutionStatus) -> None:
        meta = body["metadata"]
        try:  # both read the upstream's task runs (a StatusError when one cannot be read back)
            variables = flow_variables(upstream)
            inputs = flow_trigger_inputs(trigger, upstream, variables)
        except Exception as err:
            await self._warn(body, f"trigger {trigger.id}: inputs from execution {upstream.id} not rendered, no execution: {err}")
            return
        name = flow_execution_name(meta["name"], trigger.id, str(upstream.id))
        annotations = {ANNOTATION_UPSTREAM: str(upstream.id)}
        created = await self._create(meta, self.parsed(body), execution_manifest(meta, trigger.id, name, inputs, variables, annotations))
        log.info("%s/%s: trigger %s on execution %s (%s) -> execution %s%s", meta["namespace"], meta["name"], trigger.id, upstream.id, upstream.current, name, "" if created else " (existed)")
