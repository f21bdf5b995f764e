"""kopf wiring: watch Flows, Executions and kflow's pods, hand every event to the controller.

Only `on.event` and an index are used: they keep no state on the objects (no annotations,
no extra PATCH per event). The pod index is filled from a full listing before any handler
runs, so after a restart the controller sees every pod before it judges a missing one.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import kopf

from kflow.execution.instants import format_instant
from kflow.operator import kopf_tuning
from kflow.operator.controller import ExecutionController
from kflow.operator.flows import flow_status
from kflow.operator.kube import KubeApi, api_client
from kflow.operator.names import MANAGED_BY
from kflow.operator.resources import GROUP, VERSION
from kflow.operator.settings import OperatorSettings
from kflow.operator.triggers import Triggers

_state: dict[str, Any] = {}


def controller() -> ExecutionController:
    return _state["controller"]


@kopf.on.startup()
async def _startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.posting.enabled = False  # Events are posted by the controller, one per transition
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.inactivity_timeout = 600
    settings.networking.request_timeout = 60
    settings.scanning.disabled = True
    kopf_tuning.tune(settings, kopf.get_default_registry())  # no deep copy of every object per watch event
    config = OperatorSettings.from_env()
    _state["pods"] = None
    _state["controller"] = ExecutionController(_api(), config, pods_of=_pods_of)
    _state["triggers"] = Triggers(_state["controller"].api)


def _api() -> KubeApi:
    return KubeApi(api_client())


def _pods_of(key):
    index = _state.get("pods")
    if index is None:
        return ()
    return list(index.get(key, ()))


@kopf.index("pods", labels=MANAGED_BY)
def kflow_pods(body: kopf.Body, namespace: str, **_: Any):
    """Each kflow pod, by its execution: just what judging its end needs."""
    meta = body.get("metadata") or {}
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == "Execution" and ref.get("controller"):
            spec = body.get("spec") or {}
            containers = spec.get("containers") or [{}]
            return {
                (namespace, ref["name"]): {
                    "metadata": {k: meta.get(k) for k in ("name", "namespace", "labels", "annotations", "ownerReferences")},
                    "spec": {
                        "activeDeadlineSeconds": spec.get("activeDeadlineSeconds"),
                        "containers": [{k: c.get(k) for k in ("name", "image", "resources")} for c in containers],
                    },
                    "status": dict(body.get("status") or {}),
                }
            }
    return None


@kopf.on.event(GROUP, VERSION, "executions")
async def _execution_event(event: dict, kflow_pods: kopf.Index, **_: Any) -> None:
    _state["pods"] = kflow_pods
    controller().execution_event(event.get("type"), event["object"])


@kopf.on.event("", "v1", "pods", labels=MANAGED_BY)
async def _pod_event(event: dict, kflow_pods: kopf.Index, **_: Any) -> None:
    _state["pods"] = kflow_pods
    controller().pod_event(event.get("type"), event["object"])


@kopf.on.event(GROUP, VERSION, "flows")
async def _flow_event(event: dict, **_: Any) -> None:
    body = event["object"]
    if event.get("type") == "DELETED":
        return
    meta = body.get("metadata") or {}
    if (body.get("status") or {}).get("observedGeneration") == meta.get("generation"):
        return
    patch = flow_status(body, format_instant(datetime.now(timezone.utc)))
    try:
        await controller().api.patch_status("flows", meta["namespace"], meta["name"], patch)
    except Exception as err:  # the flow may be gone already
        kopf.warn(body, reason="StatusFailed", message=str(err))


# -- triggers: separate handlers, so each sees every event whatever the others skip -----------
@kopf.on.event(GROUP, VERSION, "flows")
async def _flow_trigger_event(event: dict, **_: Any) -> None:
    _state["triggers"].flow_event(event.get("type"), event["object"])


@kopf.on.event(GROUP, VERSION, "executions")
async def _execution_trigger_event(event: dict, **_: Any) -> None:
    await _state["triggers"].execution_event(event.get("type"), event["object"])


@kopf.on.cleanup()
async def _stop_triggers(**_: Any) -> None:
    if "triggers" in _state:
        await _state["triggers"].close()
