"""Rebuilding an execution's engine state from its stored status, and catching up with its pods.

After an operator restart, a foreign write or a conflict, the status is all that is known:
the engine state comes back from it, then each running attempt's pod says how it did while
no one watched (a Subflow's child Execution says it in subflows.py). SECRET inputs come back
from the Secret the spec references (status.inputs shows ******).
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

from kflow.engine import AttemptEnded, Engine, Event, ExecutionRun, RunTask
from kflow.kv import KVStore
from kflow.execution import State
from kflow.execution.status import execution_from_status
from kflow.operator import names, secret_inputs
from kflow.operator.admission import PodAdmission
from kflow.operator.engines import FlowEngines
from kflow.operator.kube import NotFound
from kflow.operator.pods import pod_attempt, pod_outcome
from kflow.operator.secret_inputs import SecretInputError

log = logging.getLogger("kflow.operator")

POD_GONE = "the task's pod is gone (deleted while the operator was away)"


def stored_run(status: dict[str, Any], engines: FlowEngines, kv: KVStore | None = None,
               secret_values: dict[str, str] | None = None) -> tuple[Engine, ExecutionRun]:
    """The engine of the stored flow snapshot and the execution the status records, loaded
    with the namespace's KV store and the SECRET inputs' values (read by `stored_secrets`)."""
    engine = engines.of(status.get("flow") or {})
    execution = execution_from_status(status, engine.plan.order)
    for declared in engine.flow.inputs:  # a merge patch drops null values: put them back
        execution.inputs.setdefault(declared.id, None)
    execution.inputs.update(secret_values or {})  # status.inputs shows them as ******
    return engine, engine.load(execution, kv)


async def stored_secrets(api: Any, key: tuple[str, str], spec: dict[str, Any], engine: Engine) -> tuple[dict[str, str], secret_inputs.Refs]:
    """Before a reload: the SECRET inputs' values and references, from the Secret the spec (a replay:
    the original's spec) references. Unreadable now: the tasks see them as null, and a warning says why."""
    ids = secret_inputs.secret_ids(engine.flow)
    if not ids:
        return {}, {}
    name = key[1]
    try:
        if spec.get("replay"):
            name = spec["replay"]["execution"]
            spec = (await api.get_execution(key[0], name)).get("spec") or {}
        return await secret_inputs.read_values(api, key[0], name, spec.get("inputs") or {}, ids)
    except (SecretInputError, NotFound) as err:
        log.warning("%s/%s: SECRET inputs not readable, tasks see them as null: %s", *key, err)
        return {}, {}


async def observe_pods(api: Any, admission: PodAdmission, key: tuple[str, str], engine: Engine, run: ExecutionRun,
                       waiting: set[str], pods: Iterable[dict[str, Any]]) -> list[Event]:
    """After a load: how did each running attempt's pod do while we were not watching?

    `pods` is the pod index, which lags the API server: a pod created a moment ago may not be
    in it yet (a reload right after a write that made a pod). Only the API server says a pod is
    gone. An attempt listed in `waiting` (status.waiting) never had a pod: it waits again."""
    by_attempt = {}
    for pod in pods:
        attempt = pod_attempt(pod)
        if attempt is not None:
            by_attempt[attempt] = pod
    events: list[Event] = []
    for taskrun_id in list(run.index.running_runnables):
        taskrun = run.taskrun(taskrun_id)
        attempt = len(taskrun.attempts) - 1
        if taskrun.state.current != State.RUNNING:
            continue  # waiting for a retry: the engine's timer side
        task = engine.plan.task(taskrun.taskId)
        if task.starts_execution:
            continue  # a Subflow has a child Execution, no pod: subflows.py
        pod = by_attempt.get((taskrun_id, attempt))
        if pod is None and taskrun_id in waiting:
            admission.requeue(key, RunTask(taskrun_id, attempt, task.id, task.timeout_seconds()))
            continue
        if pod is None:
            pod = await api.get_pod(key[0], names.pod_name(key[1], taskrun.taskId, taskrun_id, attempt))
        if pod is None:
            events.append(AttemptEnded(taskrun_id, attempt, State.FAILED, reason=POD_GONE))
            continue
        admission.running(key, (taskrun_id, attempt))
        outcome = pod_outcome(pod)
        if outcome is not None:
            events.append(outcome)
    return events
