"""An in-memory double of the Kubernetes API surface kflow's operator uses — a TEST DOUBLE OF THE
API, not of kflow: everything under test (controller, engine, pod builders, status patches) is
the real code; only the API server, kopf's watch and the kubelet are played by this file.

What it keeps faithful: Executions, Flows, Pods, ConfigMaps, Secrets and Events by (namespace, name);
`create` of an existing name is a 409 (`KubeApi.create_*` answer False), `get`/`patch` of a missing
one a 404 (`NotFound`), a patch carrying `metadata.resourceVersion` that is not the current one a
409 (`Conflict`), JSON merge patches (None removes a key), a resourceVersion bumped per write.
Watch events are delivered as kopf would: after the write's reply (`watch_first=True`: before it,
which the real API server sometimes does), to the controller attached with `attach`. The test
plays the kubelet with `succeed_pod` / `fail_pod`, which set a pod's status as a real one would
(phase, the `task` container's termination message) and deliver the pod's watch event.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from types import SimpleNamespace
from typing import Any

from kubernetes.client.exceptions import ApiException

from kflow.operator.kube import Conflict, NotFound

Key = tuple[str, str]


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """RFC 7386 JSON merge patch, in place."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        elif isinstance(value, dict):
            target[key] = {}
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeKube:
    """The API server's objects and the calls of `kflow.operator.kube.KubeApi`, in memory."""

    def __init__(self, watch_first: bool = False):
        self.watch_first = watch_first
        self.executions: dict[Key, dict[str, Any]] = {}
        self.flows: dict[Key, dict[str, Any]] = {}
        self.pods: dict[Key, dict[str, Any]] = {}
        self.config_maps: dict[Key, dict[str, Any]] = {}
        self.secrets: dict[Key, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.pod_creates: list[str] = []  # every create_pod call, by name, duplicates included
        self.status_patches: list[dict[str, Any]] = []  # every status patch the API server accepted
        self.controller: Any = None
        self.core = FakeCore(self)
        self._versions = itertools.count(1)
        self._uids = itertools.count(1)

    def attach(self, controller: Any) -> None:
        """Deliver watch events to `controller` (kopf's part); a new one replaces an old one (a restart)."""
        self.controller = controller

    # -- the controller's KubeApi calls ------------------------------------------------------------
    async def create_pod(self, namespace: str, manifest: dict[str, Any]) -> bool:
        name = manifest["metadata"]["name"]
        self.pod_creates.append(name)
        if (namespace, name) in self.pods:
            return False
        pod = copy.deepcopy(manifest)
        pod["metadata"].update(namespace=namespace, uid=self._uid(), resourceVersion=self._version())
        pod["status"] = {"phase": "Pending"}
        self.pods[(namespace, name)] = pod
        self._watch("pod", "ADDED", pod)
        return True

    async def delete_pod(self, namespace: str, name: str) -> None:
        pod = self.pods.pop((namespace, name), None)
        if pod is not None:
            self._watch("pod", "DELETED", pod)

    async def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        pod = self.pods.get((namespace, name))
        return copy.deepcopy(pod) if pod is not None else None

    async def get_flow(self, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._get(self.flows, namespace, name))

    async def list_flows(self, namespace: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(body) for (ns, _), body in self.flows.items() if ns == namespace]

    async def get_execution(self, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._get(self.executions, namespace, name))

    async def create_execution(self, namespace: str, body: dict[str, Any]) -> bool:
        name = body["metadata"]["name"]
        if (namespace, name) in self.executions:
            return False
        self.add_execution(namespace, body)
        return True

    async def patch_execution(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self._patch(namespace, name, patch)

    async def patch_status(self, plural: str, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        if plural == "flows":
            merge(self._get(self.flows, namespace, name), {"status": patch["status"]})
            return copy.deepcopy(self.flows[(namespace, name)])
        body = self._patch(namespace, name, {"metadata": patch.get("metadata") or {}, "status": patch["status"]}, status=True)
        self.status_patches.append(copy.deepcopy(patch["status"]))
        await asyncio.sleep(0)  # the reply comes back later than the write
        return body

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._get(self.secrets, namespace, name))

    async def create_secret(self, namespace: str, manifest: dict[str, Any]) -> bool:
        if (namespace, manifest["metadata"]["name"]) in self.secrets:
            return False
        self.add_secret(namespace, manifest)
        return True

    async def replace_secret(self, namespace: str, name: str, manifest: dict[str, Any]) -> None:
        self._get(self.secrets, namespace, name)
        self.add_secret(namespace, manifest)

    async def patch_secret(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        merge(self._get(self.secrets, namespace, name), patch)

    async def event(self, involved: dict[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        self.events.append({"name": involved["metadata"]["name"], "reason": reason, "message": message, "type": type_})

    # -- what a user or the kubelet does -----------------------------------------------------------
    def add_flow(self, namespace: str, name: str, spec: dict[str, Any]) -> None:
        self.flows[(namespace, name)] = {"apiVersion": "kflow.io/v1alpha1", "kind": "Flow",
                                         "metadata": {"name": name, "namespace": namespace, "generation": 1, "uid": self._uid()}, "spec": spec}

    def add_execution(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """`kubectl create` of an Execution (or the operator's child Execution)."""
        stored = copy.deepcopy(body)
        stored.setdefault("apiVersion", "kflow.io/v1alpha1")
        stored.setdefault("kind", "Execution")
        stored["metadata"].update(namespace=namespace, uid=self._uid(), resourceVersion=self._version())
        self.executions[(namespace, stored["metadata"]["name"])] = stored
        self._watch("execution", "ADDED", stored)
        return stored

    def add_secret(self, namespace: str, manifest: dict[str, Any]) -> None:
        """`kubectl create secret` (or the operator's Secret of a child's SECRET inputs)."""
        stored = copy.deepcopy(manifest)
        stored["metadata"].update(namespace=namespace, uid=self._uid(), resourceVersion=self._version())
        self.secrets[(namespace, stored["metadata"]["name"])] = stored

    def succeed_pod(self, namespace: str, name: str, outputs: dict[str, Any] | None = None) -> None:
        self._end_pod(namespace, name, "Succeeded", {"exitCode": 0, "reason": "Completed",
                                                     "message": json.dumps({"state": "SUCCESS", "outputs": outputs or {}})})

    def fail_pod(self, namespace: str, name: str, exit_code: int, message: str) -> None:
        self._end_pod(namespace, name, "Failed", {"exitCode": exit_code, "reason": "Error", "message": message})

    def pods_of(self, key: Key) -> list[dict[str, Any]]:
        """kopf's pod index: the pods an Execution controls."""
        return [copy.deepcopy(pod) for (ns, _), pod in self.pods.items() if ns == key[0] and _controller(pod) == key[1]]

    def replay_watch(self) -> None:
        """What kopf does when it starts: an event for every Execution there is (a restarted operator)."""
        for body in list(self.executions.values()):
            self._watch("execution", None, body)

    # -- inside ------------------------------------------------------------------------------------
    def _end_pod(self, namespace: str, name: str, phase: str, terminated: dict[str, Any]) -> None:
        pod = self.pods[(namespace, name)]
        pod["status"] = {"phase": phase, "containerStatuses": [{"name": "task", "state": {"terminated": terminated}}]}
        pod["metadata"]["resourceVersion"] = self._version()
        self._watch("pod", "MODIFIED", pod)

    def _patch(self, namespace: str, name: str, patch: dict[str, Any], status: bool = False) -> dict[str, Any]:
        body = self._get(self.executions, namespace, name)
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted is not None and wanted != body["metadata"]["resourceVersion"]:
            raise Conflict(f"the object has been modified: {wanted} is not {body['metadata']['resourceVersion']}")
        changes = {k: v for k, v in patch.items() if k != "metadata"}
        if status:  # the status subresource changes only the status
            changes = {"status": patch["status"]}
        else:
            changes.pop("status", None)
        body.setdefault("status", {})
        merge(body, changes)
        labels = (patch.get("metadata") or {}).get("labels")
        if labels and not status:
            merge(body["metadata"].setdefault("labels", {}), labels)
        body["metadata"]["resourceVersion"] = self._version()
        self._watch("execution", "MODIFIED", body)
        return copy.deepcopy(body)

    def _watch(self, kind: str, event_type: str | None, body: dict[str, Any]) -> None:
        if self.controller is None:
            return
        controller, snapshot = self.controller, copy.deepcopy(body)
        handler = controller.execution_event if kind == "execution" else controller.pod_event
        if self.watch_first and kind == "execution" and event_type == "MODIFIED":
            handler(event_type, snapshot)
        else:
            asyncio.get_running_loop().call_soon(handler, event_type, snapshot)

    @staticmethod
    def _get(store: dict[Key, dict[str, Any]], namespace: str, name: str) -> dict[str, Any]:
        try:
            return store[(namespace, name)]
        except KeyError:
            raise NotFound(f"{name} not found in {namespace}") from None

    def _version(self) -> str:
        return str(next(self._versions))

    def _uid(self) -> str:
        return f"uid-{next(self._uids)}"


class FakeCore:
    """The few CoreV1Api calls of pod_logs.PodLogArchive (synchronous, as the client's are)."""

    def __init__(self, kube: FakeKube):
        self.kube = kube
        self.api_client = self  # sanitize_for_serialization: the objects here are dicts already

    @staticmethod
    def sanitize_for_serialization(obj: Any) -> Any:
        return obj

    def read_namespaced_config_map(self, name: str, namespace: str, **_: Any) -> SimpleNamespace:
        if (namespace, name) not in self.kube.config_maps:
            raise ApiException(status=404, reason="Not Found")
        return _model(self.kube.config_maps[(namespace, name)])

    def list_namespaced_config_map(self, namespace: str, label_selector: str = "", **_: Any) -> SimpleNamespace:
        wanted = dict(term.split("=", 1) for term in label_selector.split(",") if term)
        items = [_model(body) for (ns, _), body in sorted(self.kube.config_maps.items()) if ns == namespace
                 and all((body["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())]
        return SimpleNamespace(items=items)

    def replace_namespaced_config_map(self, name: str, namespace: str, body: dict[str, Any], **_: Any) -> None:
        if (namespace, name) not in self.kube.config_maps:
            raise ApiException(status=404, reason="Not Found")
        self.kube.config_maps[(namespace, name)] = copy.deepcopy(body)

    def delete_namespaced_config_map(self, name: str, namespace: str, **_: Any) -> None:
        if self.kube.config_maps.pop((namespace, name), None) is None:
            raise ApiException(status=404, reason="Not Found")

    def read_namespaced_pod(self, name: str, namespace: str, _preload_content: bool = True, **_: Any) -> Any:
        if (namespace, name) not in self.kube.pods:
            raise ApiException(status=404, reason="Not Found")
        pod = copy.deepcopy(self.kube.pods[(namespace, name)])
        return pod if _preload_content else _Log(json.dumps(pod).encode())

    def read_namespaced_pod_log(self, name: str, namespace: str, **_: Any) -> _Log:
        return _Log(f"log of {name}\n".encode())

    def create_namespaced_config_map(self, namespace: str, body: dict[str, Any], **_: Any) -> _Log:
        if (namespace, body["metadata"]["name"]) in self.kube.config_maps:
            raise ApiException(status=409, reason="Conflict")
        self.kube.config_maps[(namespace, body["metadata"]["name"])] = copy.deepcopy(body)
        return _Log(json.dumps(body).encode())


def _model(body: dict[str, Any]) -> SimpleNamespace:
    """A ConfigMap as the client's model object shows it (attributes, not keys)."""
    meta = body["metadata"]
    return SimpleNamespace(data=copy.deepcopy(body.get("data")),
                           metadata=SimpleNamespace(name=meta["name"], labels=dict(meta.get("labels") or {}), annotations=dict(meta.get("annotations") or {})))


class _Log:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, _: int):
        yield self.data

    def release_conn(self) -> None:
        pass

    def close(self) -> None:
        pass


def _controller(pod: dict[str, Any]) -> str | None:
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref["name"]
    return None


async def settle(controller: Any, timeout: float = 30) -> None:
    """Until no reconcile runs nor is due. Engine steps run in a thread pool (offloop.py), so how
    many loop turns that takes depends on the threads: wait on time, not on a turn count."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    quiet = 0
    while loop.time() < deadline:
        await asyncio.sleep(0.01)
        quiet = quiet + 1 if not controller._running else 0
        if quiet >= 3:  # a few idle turns: watch events delivered with call_soon have landed
            return
    raise AssertionError("reconciles did not settle")
