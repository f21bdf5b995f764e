"""What a new Execution starts from: its Flow resource and inputs, or (a replay) another execution's status.

Both read the API and return a `Start` (engine, the new Kestra execution, the flow snapshot
the status keeps) or raise `StartRefused` with one message naming the field that is wrong;
the controller records that message as the execution's error. SECRET inputs are read here from
the Secret `spec.inputs` references (a replay: the original's), never from a status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kflow.engine import Engine
from kflow.execution import Execution, State
from kflow.execution.status import execution_from_status
from kflow.flow import FlowError
from kflow.flow.model import Flow
from kflow.operator import secret_inputs
from kflow.operator.engines import FlowEngines, snapshot_of
from kflow.operator.flow_retry import first_try_flow, retry_start
from kflow.operator.flows import flow_from_resource
from kflow.operator.kube import NotFound
from kflow.operator.secret_inputs import SecretInputError
from kflow.tasks.subflow import with_task_outputs


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
    secret_values: dict[str, str] = field(default_factory=dict)  # SECRET inputs, read from their Secret
    secret_refs: secret_inputs.Refs = field(default_factory=dict)  # input id -> (Secret, key), mounted in pods


async def from_flow(api: Any, engines: FlowEngines, namespace: str, name: str, spec: dict[str, Any], execution_id: str, now: datetime) -> Start:
    """A run of the Flow resource spec.flowRef names (a flow retry's try: the flow its first try ran),
    with spec.inputs checked against its inputs, SECRET ones read from the Secret they reference."""
    from kflow.flow.inputs import InputsError, resolve_inputs

    ref = (spec.get("flowRef") or {}).get("name")
    if not ref:
        raise StartRefused("spec.flowRef.name is required: the name of the Flow to run")
    try:
        flow = await first_try_flow(api, namespace, spec) or await _flow_of(api, namespace, ref, spec)
        given = spec.get("inputs") or {}
        values, refs = await secret_inputs.read_values(api, namespace, name, given, secret_inputs.secret_ids(flow))
        inputs = resolve_inputs(flow.inputs, {**given, **values})
    except (FlowError, InputsError, SecretInputError) as err:
        raise StartRefused(str(err)) from None
    snapshot = snapshot_of(flow)
    engine = engines.of(snapshot, parsed=flow)
    trigger = spec.get("trigger") or None
    execution = engine.new_execution(execution_id, inputs, now, labels=spec.get("labels") or {}, trigger=trigger, **retry_start(spec))
    return Start(engine, execution, snapshot, f"execution {execution.id} of flow {flow.namespace}.{flow.id} started", flow=flow, trigger=trigger,
                 secret_values=values, secret_refs=refs)


async def _flow_of(api: Any, namespace: str, ref: str, spec: dict[str, Any]) -> Flow:
    """The Flow resource's flow; a parent Subflow's `outputs` (spec.outputs) as its outputs."""
    try:
        flow_body = await api.get_flow(namespace, ref)
    except NotFound:
        raise StartRefused(f"Flow {ref!r} not found in namespace {namespace!r}; apply it first (kubectl get flows)") from None
    return with_task_outputs(flow_from_resource(flow_body), spec.get("outputs"))


async def from_replay(api: Any, engines: FlowEngines, namespace: str, name: str, spec: dict[str, Any], execution_id: str, now: datetime) -> Start:
    """A new execution from another's status (spec.replay): what ran before the chosen task run is kept;
    SECRET inputs from the Secret the original's spec references (its status shows ******)."""
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
    try:
        values, refs = await secret_inputs.read_values(api, namespace, source["execution"], (original.get("spec") or {}).get("inputs") or {},
                                                       secret_inputs.secret_ids(engine.flow), "the replayed execution's spec.inputs")
    except SecretInputError as err:
        raise StartRefused(str(err)) from None
    execution.inputs.update(values)
    execution.labels = {**execution.labels, **(spec.get("labels") or {})}
    announce = f"execution {execution.id} replays {source['execution']} from task run {source['taskRunId']}"
    return Start(engine, execution, status["flow"], announce, replayed=True, secret_values=values, secret_refs=refs)
