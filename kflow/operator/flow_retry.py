"""A flow retry's new try on a cluster (Kestra's CREATE_NEW_EXECUTION): a new Execution object.

The engine ends the failed Execution RETRIED and asks for the next try (`RetryExecution`); the
operator creates it at once, named `<first try>-retry<n>`, with the same flowRef, inputs, labels
(the correlation id included) and trigger, and `spec.flowRetry` saying which try it is and when
it may start: the engine keeps it CREATED until then. The name is fixed per try, so a repeated
step adopts the object instead of making a second. Every try runs the flow the first one ran
(its status snapshot), as Kestra retries the execution's own flow revision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kflow.engine.events import RetryExecution
from kflow.execution.instants import format_instant
from kflow.execution.model import ExecutionMetadata
from kflow.flow import Flow, parse_flow
from kflow.operator.kube import NotFound
from kflow.operator.resources import API_VERSION

_KEPT = ("flowRef", "inputs", "trigger")


def retry_manifest(meta: dict[str, Any], spec: dict[str, Any], labels: dict[str, str], action: RetryExecution) -> dict[str, Any]:
    first = (spec.get("flowRetry") or {}).get("firstExecution") or meta["name"]
    return {
        "apiVersion": API_VERSION,
        "kind": "Execution",
        "metadata": {"name": f"{first}-retry{action.attempt_number}", "namespace": meta["namespace"]},
        "spec": {
            **{k: spec[k] for k in _KEPT if spec.get(k) is not None},
            "labels": labels,
            "flowRetry": {
                "firstExecution": first,
                "attemptNumber": action.attempt_number,
                "scheduleDate": format_instant(action.at),
                "originalCreatedDate": format_instant(action.original_created),
            },
        },
    }


async def first_try_flow(api, namespace: str, spec: dict[str, Any]) -> Flow | None:
    """The flow the first try ran (None for an Execution that is not a retry's try)."""
    first = (spec.get("flowRetry") or {}).get("firstExecution")
    if not first:
        return None
    try:
        body = await api.get_execution(namespace, first)
    except NotFound:
        return None  # deleted meanwhile: the Flow as it is now
    snapshot = (body.get("status") or {}).get("flow")
    return parse_flow(snapshot, source=f"{snapshot.get('namespace')}.{snapshot.get('id')}") if snapshot else None


def retry_start(spec: dict[str, Any]) -> dict[str, Any]:
    """The new_execution arguments of a retry's try (none for an Execution made by a user)."""
    retry = spec.get("flowRetry")
    if not retry:
        return {}
    created = retry.get("originalCreatedDate")
    return {
        "schedule_date": _instant(retry.get("scheduleDate")),
        "metadata": ExecutionMetadata(attemptNumber=retry.get("attemptNumber") or 1, originalCreatedDate=_instant(created)),
    }


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


async def create_try(api, namespace: str, meta: dict[str, Any], spec: dict[str, Any], labels: dict[str, str],
                     action: RetryExecution, secret_values: dict[str, str] | None) -> None:
    """Create the next try. Its SECRET inputs go into a Secret written for it (an Execution may
    read only a Secret written for it, kflow.operator.secret_inputs), not the first try's."""
    from kflow.operator import secret_inputs

    manifest = retry_manifest(meta, spec, labels, action)
    name, given = manifest["metadata"]["name"], manifest["spec"].get("inputs") or {}
    if secret_values:
        manifest["spec"]["inputs"] = await secret_inputs.store_values(api, namespace, name, {**given, **secret_values}, secret_values)
    await api.create_execution(namespace, manifest)  # False: made before a crash, adopted
    if secret_values:
        await secret_inputs.adopt(api, namespace, name)

