"""What a new Execution starts from: its Flow resource and inputs, or (a replay) another execution's status.

Both read the API and return a `Start` (engine, the new Kestra execution, the flow snapshot
the status keeps) or raise `StartRefused` with one message naming the field that is wrong;
the controller records that message as the execution's error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kflow.engine import Engine
from kflow.engine.ids import _base62
from kflow.execution import Execution, State
from kflow.execution.status import execution_from_status
from kflow.flow import FlowError
from kflow.flow.model import Flow
from kflow.operator.engines import FlowEngines, snapshot_of
from kflow.operator.flows import flow_from_resource
from kflow.operator.kube import NotFound


class StartRefused(Exception):
    """The execution cannot start; the message says why and names the field."""


@dataclass
class Start:
    engine: Engine
    execution: Execution
    snapshot: dict[str, Any]  # status.flow
    announce: str  # the Started event's message
    flow: Flow | None = None  # the Flow resource's flow (None for a replay: its limit does not apply)
    trigger: dict[str, Any] | None = None
    replayed: bool = False  # its copied task runs are new to this status


def execution_id_of(uid: str) -> str:
    """The Kestra execution id of an Execution resource: derived from its uid, stable across restarts."""
    return _base62(int(hashlib.sha256(uid.encode()).hexdigest()[:34], 16))


async def from_flow(api: Any, engines: FlowEngines, namespace: str, spec: dict[str, Any], execution_id: str, now: datetime) -> Start:
    """A run of the Flow resource spec.flowRef names, with spec.inputs checked against its inputs."""
    from kflow.flow.inputs import InputsError, resolve_inputs

    ref = (spec.get("flowRef") or {}).get("name")
    if not ref:
        raise StartRefused("spec.flowRef.name is required: the name of the Flow to run")
    try:
        flow_body = await api.get_flow(namespace, ref)
    except NotFound:
        raise StartRefused(f"Flow {ref!r} not found in namespace {namespace!r}; apply it first (kubectl get flows)") from None
    try:
        flow = flow_from_resource(flow_body)
        inputs = resolve_inputs(flow.inputs, spec.get("inputs") or {})
    except (FlowError, InputsError) as err:
        raise StartRefused(str(err)) from None
    snapshot = snapshot_of(flow)
    engine = engines.of(snapshot, parsed=flow)
    trigger = spec.get("trigger") or None
    execution = engine.new_execution(execution_id, inputs, now, labels=spec.get("labels") or {}, trigger=trigger)
    return Start(engine, execution, snapshot, f"execution {execution.id} of flow {flow.namespace}.{flow.id} started", flow=flow, trigger=trigger)


async def from_replay(api: Any, engines: FlowEngines, namespace: str, spec: dict[str, Any], execution_id: str, now: datetime) -> Start:
    """A new execution from another's status (spec.replay): what ran before the chosen task run is kept."""
    from kflow.engine.restart import ReplayError, replay

    source = spec["replay"]
    try:
        original = await api.get_execution(namespace, source["execution"])
    except NotFound:
        raise StartRefused(f"spec.replay.execution: no Execution {source['execution']!r} in namespace {namespace!r}") from None
    status = original.get("status") or {}
    if not status.get("flow") or not State(status.get("current") or "CREATED").terminal:
        raise StartRefused(f"spec.replay.execution: {source['execution']!r} has not ended; replay an ended execution")
    engine = engines.of(status["flow"])
    try:
        execution = replay(engine, execution_from_status(status, engine.plan.order), source["taskRunId"], execution_id, now)
    except ReplayError as err:
        raise StartRefused(f"spec.replay.taskRunId: {err}") from None
    execution.labels = {**execution.labels, **(spec.get("labels") or {})}
    announce = f"execution {execution.id} replays {source['execution']} from task run {source['taskRunId']}"
    return Start(engine, execution, status["flow"], announce, replayed=True)
